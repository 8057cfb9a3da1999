// A QEMU guest for the VM test: the host's root over 9p, one virtio-serial port, and commands run by guest-agent.sh.
import { closeSync, existsSync, ftruncateSync, mkdirSync, openSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sleep, spawnManaged, type Managed } from '../../harness/processes';
import { repoRoot } from '../../harness/test-clients';
import type { VmAssets } from './vm-assets';

/** Where the read-write share is mounted inside the guest (a tmpfs /run of the chroot). */
export const GUEST_SHARE = '/run/wayvio-vm';
/** The virtio-serial port name the proxies use (the first port; more are org.wayvio.1, ...). */
export const PORT_NAME = 'org.wayvio.0';

export interface VmOptions {
  /** `tcg` (default; what works on these machines) or `kvm` (right on a real machine). Default: $WAYVIO_VM_ACCEL. */
  accel?: string;
  memoryMiB?: number;
  cpus?: number;
  /** QEMU is killed after this long whatever happens (the outer timeout). */
  timeoutMs?: number;
  /** virtio-serial port names, each with a chardev socket QEMU listens on. Default: [PORT_NAME]. */
  ports?: string[];
  /** An ivshmem-plain device backed by this host file (create it first, see createShmFile()); the guest sees PCI 1af4:1110. */
  shm?: { path: string; sizeMiB: number };
}

/** Creates (or truncates) a /dev/shm file of sizeMiB for the ivshmem device; remove it with rmSync after the run. */
export function createShmFile(name: string, sizeMiB: number): string {
  const path = join('/dev/shm', name);
  const fd = openSync(path, 'w', 0o600);
  try {
    ftruncateSync(fd, sizeMiB * 1024 * 1024);
  } finally {
    closeSync(fd);
  }
  return path;
}

export interface GuestCommand {
  readonly id: number;
  /** The command's stdout so far. */
  stdout(): string;
  stderr(): string;
  /** The exit status once it ended, else null. */
  exitCode(): number | null;
  /** Resolves with the exit status; rejects after timeoutMs. */
  wait(timeoutMs: number): Promise<number>;
  /** Resolves once a whole stdout line equals `line`; rejects when the command ends first or after timeoutMs. */
  waitForLine(line: string, timeoutMs: number): Promise<void>;
}

/** The accelerator: WAYVIO_VM_ACCEL, else tcg (KVM hangs on these paravirtualised hosts; use kvm on real machines). */
export function vmAccel(): string {
  return process.env.WAYVIO_VM_ACCEL || 'tcg';
}

export function qemuArgs(
  assets: Pick<VmAssets, 'kernel' | 'initramfs'>,
  run: { share: string; serialLog: string; sockets: ReadonlyMap<string, string> },
  o: VmOptions = {},
): string[] {
  const agent = join(repoRoot(), 'test', 'vm', 'guest-agent.sh');
  const accel = o.accel ?? vmAccel();
  return [
    '-accel', accel,
    '-cpu', process.env.WAYVIO_VM_CPU || (accel === 'tcg' ? 'max' : 'host'),
    '-smp', String(o.cpus ?? 2),
    '-m', `${o.memoryMiB ?? 1536}M`,
    '-machine', 'q35',
    '-nodefaults', '-no-user-config', '-display', 'none', '-monitor', 'none',
    '-no-reboot',
    '-serial', `file:${run.serialLog}`,
    '-kernel', assets.kernel,
    '-initrd', assets.initramfs,
    '-append', `console=ttyS0 panic=-1 quiet wayvio.agent=${agent} wayvio.share=${GUEST_SHARE} wayvio.repo=${repoRoot()}`,
    '-virtfs', 'local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap',
    '-virtfs', `local,path=${repoRoot()},mount_tag=repo,security_model=none,readonly=on,multidevs=remap`,
    '-virtfs', `local,path=${run.share},mount_tag=results,security_model=none,multidevs=remap`,
    '-device', 'virtio-serial-pci',
    ...[...run.sockets].flatMap(([name, path], i) => [
      '-chardev', `socket,id=wl${i},path=${path},server=on,wait=off`,
      '-device', `virtserialport,chardev=wl${i},name=${name}`,
    ]),
    ...(o.shm === undefined
      ? []
      : ['-object', `memory-backend-file,id=shm0,mem-path=${o.shm.path},size=${o.shm.sizeMiB}M,share=on`, '-device', 'ivshmem-plain,memdev=shm0']),
  ];
}

export class QemuVm {
  /** Host dir of this run: share/ (the guest's GUEST_SHARE), serial.log, channel-N.sock. */
  readonly runDir: string;
  readonly share: string;
  readonly serialLog: string;
  /** Port name → the socket QEMU listens on for the host proxy (the port's host end). */
  readonly sockets: ReadonlyMap<string, string>;
  readonly args: string[];
  readonly bootedAt: number;
  private readonly proc: Managed;
  private nextId = 0;
  private exitCode: number | string | undefined;

  private constructor(assets: VmAssets, o: VmOptions) {
    this.runDir = mkdtempSync(join(tmpdir(), 'wayvio-vm-'));
    this.share = join(this.runDir, 'share');
    mkdirSync(join(this.share, 'cmd'), { recursive: true });
    mkdirSync(join(this.share, 'out'), { recursive: true });
    this.serialLog = join(this.runDir, 'serial.log');
    this.sockets = new Map((o.ports ?? [PORT_NAME]).map((name, i) => [name, join(this.runDir, `channel-${i}.sock`)]));
    this.args = qemuArgs(assets, this, o);
    const timeoutS = Math.ceil((o.timeoutMs ?? 120000) / 1000);
    // the outer timeout: coreutils timeout ends QEMU even if this process is stuck
    this.proc = spawnManaged('timeout', ['-k', '5', String(timeoutS), 'qemu-system-x86_64', ...this.args]);
    this.bootedAt = Date.now();
    void this.proc.exited.then((code) => {
      this.exitCode = code;
    });
  }

  /** Starts QEMU; resolves once it listens on every port's socket. */
  static async start(assets: VmAssets, o: VmOptions = {}): Promise<QemuVm> {
    const vm = new QemuVm(assets, o);
    const until = Date.now() + 10000;
    while (![...vm.sockets.values()].every((p) => existsSync(p))) {
      if (vm.exitCode !== undefined) throw new Error(`qemu exited (${vm.exitCode}) at startup: ${vm.proc.stderrTail()}`);
      if (Date.now() > until) throw new Error(`qemu did not create its channel sockets within 10 s: ${vm.proc.stderrTail()}`);
      await sleep(20);
    }
    return vm;
  }

  /** The socket QEMU listens on for `port`'s host end. */
  channelSocket(port = PORT_NAME): string {
    const path = this.sockets.get(port);
    if (path === undefined) throw new Error(`the VM has no port ${port}`);
    return path;
  }

  /** The exact command line, for logs and docs. */
  commandLine(): string {
    return ['qemu-system-x86_64', ...this.args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a}'`)).join(' ');
  }

  get exited(): boolean {
    return this.exitCode !== undefined;
  }

  serial(): string {
    try {
      return readFileSync(this.serialLog, 'utf8');
    } catch {
      return '';
    }
  }

  /** What to print when something failed: QEMU's stderr and the end of the serial console. */
  diagnostics(): string {
    const serial = this.serial().split('\n').slice(-40).join('\n');
    return `qemu ${this.exited ? `exited (${this.exitCode})` : 'running'}; its stderr: ${this.proc.stderrTail().trim() || '(empty)'}\nserial console (end):\n${serial}`;
  }

  /** Resolves with the guest's uptime (s) when the agent reported ready; rejects after timeoutMs or when QEMU exits. */
  async waitForAgent(timeoutMs: number): Promise<number> {
    const marker = join(this.share, 'out', 'agent.ready');
    await this.poll(() => existsSync(marker), timeoutMs, 'the guest agent to start');
    return Number(readFileSync(marker, 'utf8').trim());
  }

  /** Runs a shell script in the guest (as root, in the chroot, cwd = the share) in the background. */
  exec(script: string): GuestCommand {
    const id = this.nextId++;
    const tmp = join(this.share, 'cmd', `.${id}.tmp`);
    writeFileSync(tmp, script);
    renameSync(tmp, join(this.share, 'cmd', `${id}.sh`));
    const out = (ext: string): string => {
      try {
        return readFileSync(join(this.share, 'out', `${id}.${ext}`), 'utf8');
      } catch {
        return '';
      }
    };
    const exitCode = (): number | null => {
      const rc = out('rc').trim();
      return rc === '' ? null : Number(rc);
    };
    const what = `guest command ${id} (${script.trim().split('\n').pop()})`;
    return {
      id,
      stdout: () => out('out'),
      stderr: () => out('err'),
      exitCode,
      wait: async (timeoutMs) => {
        await this.poll(() => exitCode() !== null, timeoutMs, `${what} to end`, () => out('err'));
        return exitCode() as number;
      },
      waitForLine: (line, timeoutMs) =>
        this.poll(
          () => {
            if (out('out').split('\n').slice(0, -1).includes(line)) return true;
            if (exitCode() !== null) throw new Error(`${what} ended (${exitCode()}) before printing '${line}'; stderr:\n${out('err')}`);
            return false;
          },
          timeoutMs,
          `'${line}' from ${what}`,
          () => out('err'),
        ),
    };
  }

  /** Runs a script in the guest and resolves with its result once it ended. */
  async run(script: string, timeoutMs: number): Promise<{ code: number; stdout: string; stderr: string }> {
    const c = this.exec(script);
    const code = await c.wait(timeoutMs);
    return { code, stdout: c.stdout(), stderr: c.stderr() };
  }

  /** Asks the agent to end (the guest powers off) and waits for QEMU; kills it after timeoutMs. */
  async powerOff(timeoutMs = 15000): Promise<number | string> {
    if (!this.exited) writeFileSync(join(this.share, 'cmd', 'stop'), '');
    const timer = setTimeout(() => void this.proc.stop(), timeoutMs);
    const code = await this.proc.exited;
    clearTimeout(timer);
    await this.proc.stop();
    return code;
  }

  /** Ends QEMU at once if it still runs. `keep` leaves the run dir for a post-mortem. */
  async stop(keep = false): Promise<void> {
    await this.proc.stop(1000);
    if (!keep) rmSync(this.runDir, { recursive: true, force: true });
  }

  private async poll(done: () => boolean, timeoutMs: number, what: string, extra?: () => string): Promise<void> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      if (done()) return;
      if (this.exited) throw new Error(`waiting for ${what}: qemu exited\n${this.diagnostics()}`);
      if (Date.now() > until) {
        const more = extra?.() ?? '';
        throw new Error(`waiting for ${what}: nothing within ${timeoutMs} ms${more ? `; stderr:\n${more}` : ''}\n${this.diagnostics()}`);
      }
      await sleep(25);
    }
  }
}
