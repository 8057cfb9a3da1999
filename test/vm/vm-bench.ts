// Frames per second of the C bench client run INSIDE the QEMU guest, shown on sway headless on the host, three
// ways over the same virtio-serial port: wayvio, wayvio with the ivshmem region (--shm), and waypipe (bridged
// to the port by test/vm/bridge.ts on both sides). Not a test: `node dist/test/vm/vm-bench.js [--frames N]
// [--runs N] [--no-rows]` prints a table and the exact commands. See docs/vm-test.md ("Frames per second in the VM").
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startSway, clientEnv, type Compositor } from '../../harness/compositors';
import { sleep, spawnManaged, type Managed } from '../../harness/processes';
import { buildTestClients, repoRoot, type TestClients } from '../../harness/test-clients';
import { prepareVmAssets } from './vm-assets';
import { createShmFile, PORT_NAME, QemuVm, vmAccel, type GuestCommand } from './qemu-vm';

const { values: opts } = parseArgs({
  options: {
    frames: { type: 'string', default: '60' },
    runs: { type: 'string', default: '3' },
    'no-rows': { type: 'boolean', default: false },
    modes: { type: 'string', default: 'wayvio,wayvio-shm,waypipe' },
  },
});
const FRAMES = Number(opts.frames);
const RUNS = Number(opts.runs);
const MODES = String(opts.modes).split(',');
const WIDTH = 1920;
const HEIGHT = 1080;
const SHM_MIB = 64;
const WAYVIO = join(repoRoot(), 'bin', 'wayvio.js');
const BRIDGE = join(repoRoot(), 'dist', 'test', 'vm', 'bridge.js');
const STEP_MS = 60000;
const RUN_MS = 300000;

const started = Date.now();
const since = (): string => `${((Date.now() - started) / 1000).toFixed(1)} s`;
const say = (msg: string): void => console.log(`# [${since()}] ${msg}`);
const loadavg = (): string => readFileSync('/proc/loadavg', 'utf8').trim();
const commands: string[] = [];
const cmd = (where: string, line: string): void => {
  if (!commands.includes(`${where}: ${line}`)) commands.push(`${where}: ${line}`);
};

interface Result {
  mode: string;
  damage: string;
  fps: number;
  latencyMedian: number;
  seconds: number;
}
const results: Result[] = [];

let vm: QemuVm | undefined;
let sway: Compositor | undefined;
let clients: TestClients;
const procs = new Set<Managed>();

function spawnHost(command: string, args: string[], env: NodeJS.ProcessEnv): Managed {
  const m = spawnManaged(command, args, { env });
  procs.add(m);
  return m;
}

async function stopHost(m: Managed | undefined): Promise<void> {
  if (m === undefined) return;
  await m.stop();
  procs.delete(m);
}

async function waitFor(read: () => string, text: string, timeoutMs: number, what: string): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!read().includes(text)) {
    if (vm?.exited) throw new Error(`waiting for ${what}: qemu exited\n${vm.diagnostics()}`);
    if (Date.now() > until) throw new Error(`waiting for ${what}: no '${text}' within ${timeoutMs} ms; so far:\n${read()}`);
    await sleep(25);
  }
}

function clientCommand(damage: string): string {
  return `${clients.testClient} bench --width ${WIDTH} --height ${HEIGHT} --frames ${FRAMES} --damage ${damage}`;
}

/** Runs the bench client in the guest (`prefix` wraps it) and records its fps. */
async function benchOnce(mode: string, damage: string, prefix: string, i: number): Promise<void> {
  const line = `${prefix}${clientCommand(damage)}`;
  cmd('guest', line);
  const r = await (vm as QemuVm).run(`exec ${line}\n`, RUN_MS);
  const json = r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (r.code !== 0 || json === undefined) throw new Error(`${mode} run ${i}: exit ${r.code}; stdout: ${r.stdout}; stderr: ${r.stderr}`);
  const o = JSON.parse(json) as { fps: number; seconds: number; latency_ms: { median: number } };
  results.push({ mode, damage, fps: o.fps, latencyMedian: o.latency_ms.median, seconds: o.seconds });
  say(`${mode} --damage ${damage} run ${i}: ${o.fps.toFixed(2)} fps, latency median ${o.latency_ms.median.toFixed(1)} ms (${o.seconds.toFixed(1)} s)`);
}

async function benchAll(mode: string, prefix: string, between: () => Promise<void> = async () => undefined, around?: (run: () => Promise<void>) => Promise<void>): Promise<void> {
  const wrap = around ?? ((run: () => Promise<void>) => run());
  for (let i = 1; i <= RUNS; i++) {
    await wrap(() => benchOnce(mode, 'full', prefix, i));
    await between();
  }
  if (!opts['no-rows']) {
    await wrap(() => benchOnce(mode, 'rows:10', prefix, 1));
    await between();
  }
}

async function wayvio(shm: string | undefined, label: string): Promise<void> {
  const q = vm as QemuVm;
  const sw = sway as Compositor;
  const hostArgs = ['host', '--channel', `unix:${q.channelSocket()}`, '--compositor', sw.socketPath, ...(shm ? ['--shm', shm] : [])];
  cmd('host', `node bin/wayvio.js ${hostArgs.join(' ')}`);
  const host = spawnHost('node', [WAYVIO, ...hostArgs], clientEnv(sw.env));
  const guestLine = `node ${WAYVIO} guest --channel virtio:${PORT_NAME} --socket wayland-0${shm ? ' --shm ivshmem' : ''}`;
  cmd('guest', guestLine);
  const guest = q.exec(`echo $$ > guest-proxy.pid\nexec ${guestLine}\n`);
  try {
    await waitFor(() => guest.stderr(), 'channel up', STEP_MS, `${label}: the guest proxy's channel`);
    const up = guest.stderr().split('\n').find((l) => l.includes('channel up')) ?? '';
    say(`${label}: ${up.trim()}`);
    if (shm && !/shared memory on/.test(up)) throw new Error(`${label}: shared memory is not on:\n${guest.stderr()}\n${host.stderrTail()}`);
    if (shm) await waitFor(() => host.stderrTail(), 'shared memory on', STEP_MS, `${label}: the host proxy's shared memory`);
    await benchAll(label, 'env WAYLAND_DISPLAY=wayland-0 ');
  } finally {
    await q.run('kill $(cat guest-proxy.pid)', STEP_MS);
    await guest.wait(STEP_MS).catch(() => undefined);
    await stopHost(host);
  }
}

async function waypipe(): Promise<void> {
  const q = vm as QemuVm;
  const sw = sway as Compositor;
  const dir = mkdtempSync(join(tmpdir(), 'wayvio-vm-bench-'));
  const hostSock = join(dir, 'wph.sock');
  const clientArgs = ['--no-gpu', '--socket', hostSock, 'client'];
  cmd('host', `waypipe ${clientArgs.join(' ')}`);
  const wpClient = spawnHost('waypipe', clientArgs, clientEnv(sw.env));
  const bridgeArgs = [`unix:${q.channelSocket()}`, `unix:${hostSock}`];
  cmd('host', `node dist/test/vm/bridge.js ${bridgeArgs.join(' ')}   (kept connected to QEMU; SIGUSR1 after each run makes a new connection to waypipe's socket)`);
  const hb = spawnHost('node', [BRIDGE, ...bridgeArgs], process.env);
  let sessions = 1;
  await waitFor(() => hb.stdout(), 'connected 1', STEP_MS, 'the host bridge');
  const guestBridgeLine = `node ${BRIDGE} --keep-open listen:/tmp/wp.sock virtio:${PORT_NAME}`;
  cmd('guest', guestBridgeLine);
  const guestBridge: GuestCommand = q.exec(`echo $$ > bridge.pid\nexec ${guestBridgeLine}\n`);
  try {
    await guestBridge.waitForLine('listening', STEP_MS);
    await benchAll('waypipe', 'waypipe --no-gpu --socket /tmp/wp.sock server -- ', async () => {
      // a fresh connection to waypipe's client socket per run; the guest bridge keeps the port open and drops
      // whatever the previous session left
      hb.proc.kill('SIGUSR1');
      sessions++;
      await waitFor(() => hb.stdout(), `connected ${sessions}`, STEP_MS, 'the host bridge');
      await sleep(500);
    });
  } catch (e) {
    console.log(`# host bridge stderr:\n${hb.stderrTail()}\n# waypipe client stderr:\n${wpClient.stderrTail()}\n# guest bridge stderr:\n${guestBridge.stderr()}`);
    throw e;
  } finally {
    await q.run('kill $(cat bridge.pid)', STEP_MS);
    await stopHost(hb);
    await stopHost(wpClient);
    rmSync(dir, { recursive: true, force: true });
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function table(): string {
  const rows = ['| path | damage | runs | fps (each) | median fps | median latency (ms) |', '|---|---|---|---|---|---|'];
  for (const mode of MODES) {
    for (const damage of ['full', 'rows:10']) {
      const rs = results.filter((r) => r.mode === mode && r.damage === damage);
      if (rs.length === 0) continue;
      rows.push(
        `| ${mode} | ${damage} | ${rs.length} | ${rs.map((r) => r.fps.toFixed(2)).join(', ')} | ${median(rs.map((r) => r.fps)).toFixed(2)} | ${median(rs.map((r) => r.latencyMedian)).toFixed(1)} |`,
      );
    }
  }
  return rows.join('\n');
}

async function main(): Promise<void> {
  say(`load before: ${loadavg()}; accelerator ${vmAccel()}; ${FRAMES} frames of ${WIDTH}x${HEIGHT} per run, ${RUNS} runs`);
  const [assets, c] = await Promise.all([prepareVmAssets(say), buildTestClients()]);
  clients = c;
  sway = await startSway({ width: WIDTH, height: HEIGHT });
  const shmFile = createShmFile(`wayvio-vm-bench-${process.pid}`, SHM_MIB);
  try {
    vm = await QemuVm.start(assets, { timeoutMs: Number(process.env.WAYVIO_VM_TIMEOUT_MS ?? 1800000), shm: { path: shmFile, sizeMiB: SHM_MIB } });
    say(`qemu: ${vm.commandLine()}`);
    await vm.waitForAgent(STEP_MS);
    say('guest agent up');
    for (const mode of MODES) {
      try {
        if (mode === 'wayvio') await wayvio(undefined, 'wayvio');
        else if (mode === 'wayvio-shm') await wayvio(shmFile, 'wayvio-shm');
        else if (mode === 'waypipe') await waypipe();
        else throw new Error(`unknown mode ${mode}`);
      } catch (e) {
        say(`${mode} FAILED: ${(e as Error).message}`);
      }
    }
  } finally {
    await vm?.powerOff();
    await vm?.stop();
    for (const m of procs) await m.stop();
    await sway.stop();
    rmSync(shmFile, { force: true });
  }
  console.log(`\n${table()}\n`);
  console.log(`load after: ${loadavg()}; ${(await import('node:os')).cpus().length} cpus; ${since()} in all`);
  console.log('commands:');
  for (const l of commands) console.log(`  ${l}`);
}

main().catch((e: Error) => {
  console.error(e.stack ?? e.message);
  process.exitCode = 1;
  for (const m of procs) void m.stop();
  void vm?.stop(true);
});
