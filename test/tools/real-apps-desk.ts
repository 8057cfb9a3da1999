// The desk real-apps.ts runs apps on: headless sway and both proxies as the unprivileged test user, logs in files.
import { execFile, spawn } from 'node:child_process';
import { chmodSync, chownSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureSwayUser } from '../../harness/compositors';
import { sleep, waylandAnswers } from '../../harness/processes';
import { repoRoot } from '../../harness/test-clients';
import { VirtualPointer } from './virtual-pointer';

/** A process whose stdout and stderr go to one log file; stop() ends its whole process group. */
export interface Logged {
  readonly pid: number;
  readonly logFile: string;
  /** The exit code or signal name, once the process is gone. */
  readonly exited: Promise<number | string>;
  exitStatus(): number | string | undefined;
  /** SIGTERM to the group, SIGKILL after graceMs; resolves once the leader is gone. */
  stop(graceMs?: number): Promise<void>;
}

export interface User {
  uid: number;
  gid: number;
}

export function spawnLogged(command: string, args: readonly string[], env: NodeJS.ProcessEnv, logFile: string, user: User, cwd: string): Logged {
  const fd = openSync(logFile, 'a');
  chownSync(logFile, user.uid, user.gid);
  const proc = spawn(command, args, { env, cwd, detached: true, stdio: ['ignore', fd, fd], uid: user.uid, gid: user.gid });
  closeSync(fd);
  const pid = proc.pid ?? -1;
  let status: number | string | undefined;
  const exited = new Promise<number | string>((resolve) => {
    proc.once('error', (err) => resolve((status = `spawn failed: ${err.message}`)));
    proc.once('exit', (code, signal) => resolve((status = code ?? signal ?? 'unknown')));
  });
  const kill = (signal: NodeJS.Signals): void => {
    try {
      if (pid > 0) process.kill(-pid, signal);
    } catch {
      // the group is gone
    }
  };
  const groupAlive = (): boolean => {
    try {
      process.kill(-pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  /** SIGTERM to the whole group; what is left of it after graceMs (the leader or helpers it started) gets SIGKILL. */
  const stop = async (graceMs = 3000): Promise<void> => {
    if (pid <= 0) return;
    kill('SIGTERM');
    const end = Date.now() + graceMs;
    while (groupAlive() && Date.now() < end) await sleep(50);
    kill('SIGKILL');
    await exited;
  };
  return { pid, logFile, exited, exitStatus: () => status, stop };
}

/** The part of a log file written since `offset` (bytes), and the new offset. */
export function logSince(file: string, offset: number): { text: string; offset: number } {
  const all = existsSync(file) ? readFileSync(file) : Buffer.alloc(0);
  return { text: all.subarray(Math.min(offset, all.length)).toString('utf8'), offset: all.length };
}

export interface DeskOptions {
  width: number;
  height: number;
  /** Where logs and screenshots go (kept). */
  outDir: string;
  hostArgs?: string[];
}

export interface Desk {
  readonly user: User;
  readonly outDir: string;
  /** sway's runtime dir and socket name: what an app run directly on sway gets. */
  readonly swayEnv: { XDG_RUNTIME_DIR: string; WAYLAND_DISPLAY: string };
  /** The guest proxy's runtime dir and socket name (sway's socket is not in that dir). */
  readonly guestEnv: { XDG_RUNTIME_DIR: string; WAYLAND_DISPLAY: string };
  readonly swaySock: string;
  readonly sway: Logged;
  readonly host: Logged;
  readonly guest: Logged;
  /** A fresh directory owned by the test user (an app's HOME or profile). */
  userDir(name: string): string;
  swaymsg(...args: string[]): Promise<string>;
  tree(): Promise<SwayNode>;
  /** grim of the whole output into outDir/name.png; returns the path, or an error text. */
  screenshot(name: string): Promise<string>;
  /** A virtual pointer on sway (headless sway has no input devices of its own). */
  readonly pointer: VirtualPointer;
  /**
   * wtype on sway (a virtual keyboard: the focused window gets the keys). Each wtype is a new keyboard with its own
   * keymap, so it waits a little before the first key: keys sent at once lose their first characters.
   */
  type(args: string[]): Promise<void>;
  /** Which of sway, host proxy and guest proxy have exited (with their status). */
  deaths(): string[];
  stop(): Promise<void>;
}

export interface SwayNode {
  id: number;
  type: string;
  name: string | null;
  app_id?: string | null;
  pid?: number;
  shell?: string;
  visible?: boolean;
  rect: { x: number; y: number; width: number; height: number };
  window_properties?: { class?: string; title?: string };
  nodes: SwayNode[];
  floating_nodes?: SwayNode[];
}

/** Every window (view) in sway's tree. */
export function views(node: SwayNode): SwayNode[] {
  const own = node.shell !== undefined ? [node] : [];
  return [...own, ...node.nodes.flatMap(views), ...(node.floating_nodes ?? []).flatMap(views)];
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 10000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { env, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const said = /"error": "([^"]*)"/.exec(stdout)?.[1] ?? `${stderr} ${stdout}`.trim().split('\n')[0];
      if (err) reject(new Error(`${cmd} ${args.filter((a) => !a.startsWith('/')).join(' ')} failed: ${said || err.message.split('\n')[0]}`));
      else resolve(stdout);
    });
  });
}

function ownedDir(path: string, user: User): string {
  mkdirSync(path, { recursive: true, mode: 0o700 });
  chmodSync(path, 0o700);
  chownSync(path, user.uid, user.gid);
  return path;
}

async function waitUntil(pred: () => boolean | Promise<boolean>, timeoutMs: number, what: string, logs: string[]): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > end) {
      const tails = logs.map((f) => `${f}:\n${logSince(f, 0).text.split('\n').slice(-15).join('\n')}`).join('\n');
      throw new Error(`${what} within ${timeoutMs} ms\n${tails}`);
    }
    await sleep(50);
  }
}

function swayConfig(width: number, height: number): string {
  return [
    '# written by test/tools/real-apps: sway draws its own title bars (to see client-side ones doubled)',
    'xwayland disable',
    'swaybg_command -',
    `output * mode ${width}x${height}`,
    'default_border normal',
    'default_floating_border normal',
    'focus_follows_mouse no',
    '',
  ].join('\n');
}

/** A clean environment for the test user's processes: no display variables of ours. */
export function baseEnv(home: string, runtimeDir: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: home,
    XDG_RUNTIME_DIR: runtimeDir,
    LANG: 'C.UTF-8',
    USER: 'wayvio-test',
    LOGNAME: 'wayvio-test',
  };
}

export async function startDesk(opts: DeskOptions): Promise<Desk> {
  if (process.getuid?.() !== 0) throw new Error('real-apps runs as root: it starts sway and the apps as the user wayvio-test');
  const user = ensureSwayUser();
  mkdirSync(opts.outDir, { recursive: true });
  const top = ownedDir(mkdtempSync('/tmp/wayvio-apps-'), user);
  const swayDir = ownedDir(join(top, 'sway'), user);
  const guestDir = ownedDir(join(top, 'guest'), user);
  const homes = ownedDir(join(top, 'homes'), user);
  chmodSync(top, 0o711);
  const config = join(swayDir, 'sway.config');
  writeFileSync(config, swayConfig(opts.width, opts.height));
  chownSync(config, user.uid, user.gid);
  const log = (name: string): string => join(opts.outDir, `${name}.log`);

  const swayEnv = { ...baseEnv(swayDir, swayDir), WLR_BACKENDS: 'headless', WLR_RENDERER: 'pixman', WLR_LIBINPUT_NO_DEVICES: '1' };
  const sway = spawnLogged('sway', ['-c', config], swayEnv, log('sway'), user, swayDir);
  const started: Logged[] = [sway];
  const stopAll = async (): Promise<void> => {
    for (const p of started.reverse()) await p.stop();
    rmSync(top, { recursive: true, force: true });
  };
  try {
    let display = '';
    await waitUntil(
      async () => {
        display = readdirSync(swayDir).find((n) => /^wayland-\d+$/.test(n)) ?? '';
        return display !== '' && (await waylandAnswers(join(swayDir, display)));
      },
      15000,
      'sway did not answer on its socket',
      [log('sway')],
    );
    const swaySock = join(swayDir, readdirSync(swayDir).find((n) => /^sway-ipc\..*\.sock$/.test(n)) ?? 'sway-ipc-missing');

    const wayvio = join(repoRoot(), 'bin', 'wayvio.js');
    const channel = join(guestDir, 'channel');
    const proxyEnv = baseEnv(guestDir, guestDir);
    const host = spawnLogged(
      process.execPath,
      [wayvio, 'host', '--channel', `unix-listen:${channel}`, '--compositor', join(swayDir, display), '--status', '127.0.0.1:0', ...(opts.hostArgs ?? [])],
      proxyEnv,
      log('host'),
      user,
      guestDir,
    );
    started.push(host);
    await waitUntil(() => existsSync(channel), 15000, 'the host proxy did not listen on its channel', [log('host')]);
    const guest = spawnLogged(process.execPath, [wayvio, 'guest', '--channel', `unix:${channel}`, '--socket', 'wayland-guest'], proxyEnv, log('guest'), user, guestDir);
    started.push(guest);
    await waitUntil(
      async () => /channel up/.test(logSince(log('guest'), 0).text) && (await waylandAnswers(join(guestDir, 'wayland-guest'))),
      15000,
      'the guest proxy did not come up',
      [log('host'), log('guest')],
    );

    const pointer = await VirtualPointer.create(join(swayDir, display), opts.width, opts.height);
    const asRootOnSway = { ...baseEnv('/root', swayDir), WAYLAND_DISPLAY: display, SWAYSOCK: swaySock };
    const swaymsg = (...args: string[]): Promise<string> => run('swaymsg', ['-s', swaySock, ...args], asRootOnSway);
    let homeCount = 0;
    return {
      user,
      outDir: opts.outDir,
      swayEnv: { XDG_RUNTIME_DIR: swayDir, WAYLAND_DISPLAY: display },
      guestEnv: { XDG_RUNTIME_DIR: guestDir, WAYLAND_DISPLAY: 'wayland-guest' },
      swaySock,
      sway,
      host,
      guest,
      userDir: (name) => ownedDir(join(homes, `${++homeCount}-${name}`), user),
      swaymsg,
      tree: async () => JSON.parse(await swaymsg('-t', 'get_tree', '-r')) as SwayNode,
      screenshot: async (name) => {
        const file = join(opts.outDir, `${name}.png`);
        try {
          await run('grim', [file], asRootOnSway);
          return statSync(file).size > 0 ? file : `${file} is empty`;
        } catch (err) {
          return `no screenshot: ${(err as Error).message}`;
        }
      },
      type: async (args) => {
        await run('wtype', ['-s', '400', ...args], asRootOnSway);
      },
      deaths: () =>
        [['sway', sway], ['host proxy', host], ['guest proxy', guest]]
          .filter(([, p]) => (p as Logged).exitStatus() !== undefined)
          .map(([name, p]) => `${name as string} exited (${(p as Logged).exitStatus()})`),
      pointer,
      stop: async () => {
        pointer.close();
        await stopAll();
      },
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
