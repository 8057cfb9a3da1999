// The four ways a benchmark client reaches the compositor: directly, through wayvio (socket or shm), through waypipe.
import { closeSync, existsSync, ftruncateSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { clientEnv, type ClientEnv, type Compositor } from '../compositors';
import { sleep, spawnManaged, waylandAnswers, type Managed } from '../processes';
import { repoRoot } from '../test-clients';
import { startRelay, type Relay } from './byte-relay';

export const PATH_NAMES = ['direct', 'wayvio', 'wayvio-shm', 'waypipe'] as const;
export type PathName = (typeof PATH_NAMES)[number];

export const PATH_TITLES: Record<PathName, string> = {
  direct: 'direct',
  wayvio: 'wayvio (unix channel)',
  'wayvio-shm': 'wayvio --shm',
  waypipe: 'waypipe',
};

/** The flags the waypipe path runs with: waypipe's own defaults, nothing added. */
export const WAYPIPE_FLAGS = 'no flags beyond --socket/--display: defaults (--compress none, --threads 0 = nproc/2, GPU protocols not blocked)';

/** Size of the file in /dev/shm that both wayvio proxies map on the wayvio-shm path (sparse). */
export const SHM_REGION_BYTES = 256 * 1024 * 1024;

/** A path, started, that clients can connect to. */
export interface RunningPath {
  readonly name: PathName;
  /** Where a client connects. */
  readonly env: ClientEnv;
  /** The proxy process on the client's side (wayvio guest, waypipe server) and beside the compositor (wayvio host, waypipe client). */
  readonly guestPid?: number;
  readonly hostPid?: number;
  /** Counts the bytes between the two proxies. */
  readonly relay?: Relay;
  /** stderr of the proxies so far, for failure messages. */
  logs(): string;
  stop(): Promise<void>;
}

export interface PathOptions {
  /** Node flags for the wayvio proxy processes (e.g. --cpu-prof). */
  nodeArgs?: (role: 'guest' | 'host') => string[];
  /** Count channel bytes with a relay between the proxies (default); false joins them directly. */
  relay?: boolean;
}

/** Time a proxy may take to exit (a --cpu-prof proxy writes its profile on the way out). */
const STOP_GRACE_MS = 15000;

/** Things started so far, stopped in reverse order: the client's side first, so its peer sees it go. */
class Started {
  private readonly stops: Array<() => Promise<void> | void> = [];
  private readonly procs: Managed[] = [];

  add(stop: () => Promise<void> | void): void {
    this.stops.push(stop);
  }

  spawn(command: string, args: string[], env: NodeJS.ProcessEnv): Managed {
    const m = spawnManaged(command, args, { env });
    this.procs.push(m);
    this.add(() => m.stop(STOP_GRACE_MS));
    return m;
  }

  logs(): string {
    return this.procs.map((p) => p.stderrTail().trim().split('\n').slice(-15).join('\n')).filter(Boolean).join('\n---\n');
  }

  async stopAll(): Promise<void> {
    while (this.stops.length > 0) await this.stops.pop()?.();
  }
}

export async function startPath(name: PathName, compositor: Compositor, opts: PathOptions = {}): Promise<RunningPath> {
  if (name === 'direct') return { name, env: compositor.env, logs: () => '', stop: async () => undefined };
  const started = new Started();
  const dir = mkdtempSync(join('/tmp', `wayvio-bench-${name}-`));
  started.add(() => rmSync(dir, { recursive: true, force: true }));
  const display = join(dir, `wayland-${name}`);
  const hostSocket = join(dir, 'host.sock'); // the proxy beside the compositor listens here
  const relaySocket = join(dir, 'relay.sock'); // the client-side proxy connects here
  try {
    let host: Managed;
    let guest: Managed;
    let relay: Relay | undefined;
    const useRelay = opts.relay ?? true;
    /** The relay, when counting; the socket the client-side proxy connects to. */
    const startCounting = async (): Promise<string> => {
      if (!useRelay) return hostSocket;
      const r = await startRelay(relaySocket, hostSocket);
      started.add(() => r.stop());
      relay = r;
      return relaySocket;
    };
    if (name === 'waypipe') {
      host = started.spawn('waypipe', ['--socket', hostSocket, 'client'], clientEnv(compositor.env));
      await until(async () => existsSync(hostSocket), host, 'the waypipe client socket');
      const channel = await startCounting();
      guest = started.spawn('waypipe', ['--socket', channel, '--display', display, 'server', '--', 'sleep', 'infinity'], clientEnv({ XDG_RUNTIME_DIR: dir, WAYLAND_DISPLAY: display }));
    } else {
      const common = ['--log-level', 'warn'];
      if (name === 'wayvio-shm') {
        const region = join('/dev/shm', `${dir.split('/').pop()}-region`);
        const fd = openSync(region, 'w');
        started.add(() => rmSync(region, { force: true }));
        ftruncateSync(fd, SHM_REGION_BYTES);
        closeSync(fd);
        common.push('--shm', region);
      }
      const env = clientEnv({ XDG_RUNTIME_DIR: dir, WAYLAND_DISPLAY: '' });
      delete env.WAYLAND_DISPLAY;
      const wayvio = (role: 'guest' | 'host'): string[] => [...(opts.nodeArgs?.(role) ?? []), join(repoRoot(), 'bin', 'wayvio.js'), role];
      host = started.spawn(process.execPath, [...wayvio('host'), '--channel', `unix-listen:${hostSocket}`, '--compositor', compositor.socketPath, ...common], env);
      await until(async () => existsSync(hostSocket), host, 'the wayvio host channel socket');
      const channel = await startCounting();
      guest = started.spawn(process.execPath, [...wayvio('guest'), '--channel', `unix:${channel}`, '--socket', display, ...common], env);
    }
    await until(() => waylandAnswers(display), guest, `the ${name} display to answer`);
    return {
      name,
      env: { XDG_RUNTIME_DIR: dir, WAYLAND_DISPLAY: display },
      guestPid: guest.pid,
      hostPid: host.pid,
      relay,
      logs: () => started.logs(),
      stop: () => started.stopAll(),
    };
  } catch (err) {
    const tail = started.logs();
    await started.stopAll();
    throw new Error(`${PATH_TITLES[name]} did not start: ${(err as Error).message}${tail ? `\n${tail}` : ''}`);
  }
}

async function until(ready: () => Promise<boolean>, proc: Managed, what: string, timeoutMs = 15000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await ready())) {
    if (proc.proc.exitCode !== null || proc.proc.signalCode !== null) throw new Error(`exited (${proc.proc.exitCode ?? proc.proc.signalCode}) while waiting for ${what}`);
    if (Date.now() > end) throw new Error(`no ${what} within ${timeoutMs} ms`);
    await sleep(20);
  }
}
