// Real compositors for the demo, the benchmark and the tests: weston and sway, headless, each in a private runtime dir.
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sleep, waylandAnswers, spawnManaged, type Managed } from './processes';

/** What a Wayland client needs to reach a compositor. */
export interface ClientEnv {
  XDG_RUNTIME_DIR: string;
  WAYLAND_DISPLAY: string;
}

export interface Compositor {
  readonly kind: 'weston' | 'sway';
  /** Private runtime dir (mode 0700) holding the socket; removed by stop(). */
  readonly runtimeDir: string;
  /** The socket's name inside runtimeDir (what WAYLAND_DISPLAY holds). */
  readonly display: string;
  readonly socketPath: string;
  /** Only XDG_RUNTIME_DIR and WAYLAND_DISPLAY: merge into a client's environment, see clientEnv(). */
  readonly env: ClientEnv;
  readonly width: number;
  readonly height: number;
  readonly pid: number;
  /** How the compositor exited (code or signal name), or undefined while it runs. */
  exitStatus(): number | string | undefined;
  /** The compositor's stderr so far (last 64 KiB), for failure messages. */
  log(): string;
  /** Ends the compositor (and its helper processes) and removes runtimeDir. Safe to call twice. */
  stop(): Promise<void>;
}

export interface CompositorOptions {
  width?: number;
  height?: number;
  /** How long to wait for the compositor to answer on its socket. */
  startTimeoutMs?: number;
}

export const SWAY_USER = 'wayvio-test';

/** process.env without any display variables of the caller's session, plus `env`. */
export function clientEnv(env: ClientEnv, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...process.env };
  for (const key of ['WAYLAND_DISPLAY', 'WAYLAND_SOCKET', 'DISPLAY', 'WAYLAND_DEBUG', 'SWAYSOCK']) delete out[key];
  return { ...out, ...env, ...extra };
}

const WESTON_INI = `# written by wayvio's test harness: nothing moves, blinks or locks
[core]
idle-time=0
xwayland=false

[shell]
startup-animation=none
close-animation=none
animation=none
focus-animation=none
panel-position=none
locking=false
background-color=0xff204060
`;

/** weston 10 with the headless backend, pixman renderer and --debug (for weston-screenshooter). */
export async function startWeston(opts: CompositorOptions = {}): Promise<Compositor> {
  const width = opts.width ?? 1024;
  const height = opts.height ?? 768;
  const runtimeDir = mkdtempSync(join(tmpdir(), 'wayvio-weston-'));
  chmodSync(runtimeDir, 0o700);
  const display = 'wayland-wayvio-test';
  const config = join(runtimeDir, 'weston.ini');
  writeFileSync(config, WESTON_INI);
  const args = [
    '--backend=headless-backend.so',
    '--use-pixman',
    '--debug',
    `--config=${config}`,
    `--socket=${display}`,
    `--width=${width}`,
    `--height=${height}`,
    '--idle-time=0',
  ];
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: runtimeDir, XDG_RUNTIME_DIR: runtimeDir };
  const proc = spawnManaged('weston', args, { env, cwd: runtimeDir });
  return finishStart('weston', proc, runtimeDir, () => display, width, height, opts.startTimeoutMs);
}

/**
 * sway 1.7 with the wlroots headless backend and pixman renderer, as the unprivileged SWAY_USER when we are
 * root (sway refuses root). Its socket is owned by that user in a 0700 dir that user owns: root (the tests,
 * the proxies) connects through CAP_DAC_OVERRIDE; another unprivileged user could not.
 */
export async function startSway(opts: CompositorOptions = {}): Promise<Compositor> {
  const width = opts.width ?? 1024;
  const height = opts.height ?? 768;
  const asRoot = process.getuid?.() === 0;
  const runtimeDir = mkdtempSync(join(tmpdir(), 'wayvio-sway-'));
  chmodSync(runtimeDir, 0o700);
  const config = join(runtimeDir, 'sway.config');
  writeFileSync(
    config,
    [
      "# written by wayvio's test harness: no bar (none is declared), no wallpaper, no Xwayland",
      'xwayland disable',
      'swaybg_command -',
      `output * mode ${width}x${height}`,
      'default_border none',
      'default_floating_border none',
      'focus_follows_mouse no',
      '',
    ].join('\n'),
  );
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: runtimeDir,
    XDG_RUNTIME_DIR: runtimeDir,
    WLR_BACKENDS: 'headless',
    WLR_RENDERER: 'pixman',
    WLR_LIBINPUT_NO_DEVICES: '1',
  };
  let ids: { uid: number; gid: number } | undefined;
  if (asRoot) {
    ids = ensureSwayUser();
    chownSync(runtimeDir, ids.uid, ids.gid);
    chownSync(config, ids.uid, ids.gid);
    checkReachable(runtimeDir);
  }
  // uid/gid make libuv drop root (setgroups(0), setgid, setuid) in the child: sway itself is the process we
  // signal. (`runuser -u` would do the same, but it sleeps 2 s before exiting when it is signalled.)
  const proc = spawnManaged('sway', ['-c', config], { env, cwd: runtimeDir, ...ids });
  return finishStart('sway', proc, runtimeDir, () => findWaylandSocket(runtimeDir), width, height, opts.startTimeoutMs);
}

/** Creates SWAY_USER if missing (a system user without home or shell) and returns its ids. */
export function ensureSwayUser(): { uid: number; gid: number } {
  const lookup = (): string | null => {
    try {
      return execFileSync('getent', ['passwd', SWAY_USER], { encoding: 'utf8' }).trim();
    } catch {
      return null;
    }
  };
  let entry = lookup();
  if (entry === null) {
    try {
      execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', SWAY_USER], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
    } catch (err) {
      // a parallel test file may have created it in the meantime
      if (lookup() === null) throw new Error(`cannot create user ${SWAY_USER} for sway: ${String(err)}`);
    }
    entry = lookup();
  }
  const fields = (entry ?? '').split(':');
  const uid = Number(fields[2]);
  const gid = Number(fields[3]);
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) throw new Error(`bad passwd entry for ${SWAY_USER}: ${entry}`);
  return { uid, gid };
}

/** The unprivileged user must be able to walk down to its runtime dir (every parent needs o+x). */
function checkReachable(dir: string): void {
  const parts = dir.split('/').filter(Boolean);
  for (let i = 1; i < parts.length; i++) {
    const parent = '/' + parts.slice(0, i).join('/');
    if ((statSync(parent).mode & 0o001) === 0) {
      throw new Error(`${SWAY_USER} cannot reach ${dir}: ${parent} is not searchable by others (set TMPDIR elsewhere)`);
    }
  }
}

/** The wayland-N socket sway created in its private runtime dir, or null while there is none. */
function findWaylandSocket(dir: string): string | null {
  for (const name of readdirSync(dir)) {
    if (!/^wayland-\d+$/.test(name)) continue;
    try {
      if (statSync(join(dir, name)).isSocket()) return name;
    } catch {
      // vanished
    }
  }
  return null;
}

async function finishStart(
  kind: 'weston' | 'sway',
  proc: Managed,
  runtimeDir: string,
  socketName: () => string | null,
  width: number,
  height: number,
  timeoutMs = 15000,
): Promise<Compositor> {
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= proc.stop().finally(() => rmSync(runtimeDir, { recursive: true, force: true }));
    return stopped;
  };
  const started = Date.now();
  let exitedWith: number | string | undefined;
  void proc.exited.then((code) => {
    exitedWith = code;
  });
  try {
    for (;;) {
      if (exitedWith !== undefined) throw new Error(`${kind} exited (${exitedWith}) during startup`);
      const name = socketName();
      if (name !== null && (await waylandAnswers(join(runtimeDir, name)))) {
        const socketPath = join(runtimeDir, name);
        return {
          kind,
          runtimeDir,
          display: name,
          socketPath,
          env: { XDG_RUNTIME_DIR: runtimeDir, WAYLAND_DISPLAY: name },
          width,
          height,
          pid: proc.pid,
          exitStatus: () => exitedWith,
          log: () => proc.stderrTail(),
          stop,
        };
      }
      if (Date.now() - started > timeoutMs) throw new Error(`${kind} did not answer on its socket within ${timeoutMs} ms`);
      await sleep(20);
    }
  } catch (err) {
    await stop();
    const tail = proc.stderrTail().split('\n').slice(-25).join('\n');
    throw new Error(`${(err as Error).message}; its stderr ends with:\n${tail}`);
  }
}
