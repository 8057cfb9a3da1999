// Both proxies as real `wayvio host` / `wayvio guest` processes (so each one's fds and RSS can be measured).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClientEnv } from '../../harness/compositors';
import { httpGet } from './http-get';
import { spawnManaged, type Managed } from '../../harness/processes';
import { repoRoot } from '../../harness/test-clients';
import { fdCount, rssBytes, waitFor } from './wait';

export interface ProcessPair {
  host: Managed;
  guest: Managed;
  env: ClientEnv;
  /** http://127.0.0.1:PORT of the host's --status. */
  statusUrl: string;
  /** fds and RSS of both proxy processes now. */
  measure(): ProxyFigures;
  stop(): Promise<void>;
}

export interface ProxyFigures {
  hostFds: number;
  guestFds: number;
  hostRss: number;
  guestRss: number;
}

export function formatFigures(f: ProxyFigures): string {
  const mib = (n: number): string => `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `host ${f.hostFds} fds, RSS ${mib(f.hostRss)}; guest ${f.guestFds} fds, RSS ${mib(f.guestRss)}`;
}

function wayvioEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of ['XDG_RUNTIME_DIR', 'WAYLAND_DISPLAY', 'WAYLAND_SOCKET', 'DISPLAY', 'WAYLAND_DEBUG', 'WAYVIO_TRACE']) delete env[key];
  return env;
}

export async function startProcessPair(compositorPath: string, hostArgs: string[] = [], guestArgs: string[] = []): Promise<ProcessPair> {
  const wayvio = join(repoRoot(), 'bin', 'wayvio.js');
  const dir = mkdtempSync(join(tmpdir(), 'wayvio-procs-'));
  const channel = join(dir, 'channel');
  const socket = join(dir, 'wayland-guest');
  const host = spawnManaged(process.execPath, [wayvio, 'host', '--channel', `unix-listen:${channel}`, '--compositor', compositorPath, '--status', '127.0.0.1:0', ...hostArgs], { env: wayvioEnv() });
  const guest = spawnManaged(process.execPath, [wayvio, 'guest', '--channel', `unix:${channel}`, '--socket', socket, ...guestArgs], { env: wayvioEnv() });
  const stop = async (): Promise<void> => {
    await Promise.all([guest.stop(), host.stop()]);
    rmSync(dir, { recursive: true, force: true });
  };
  const up = await waitFor(() => /^wayvio guest: channel up/m.test(guest.stderrTail()) && /status on http/.test(host.stderrTail()), 15000);
  const port = /status on http:\/\/127\.0\.0\.1:(\d+)\//.exec(host.stderrTail())?.[1];
  if (!up || port === undefined) {
    await stop();
    throw new Error(`the proxies did not come up:\nhost: ${host.stderrTail()}\nguest: ${guest.stderrTail()}`);
  }
  return {
    host, guest, statusUrl: `http://127.0.0.1:${port}`,
    env: { XDG_RUNTIME_DIR: dir, WAYLAND_DISPLAY: socket },
    measure: () => ({ hostFds: fdCount(host.pid), guestFds: fdCount(guest.pid), hostRss: rssBytes(host.pid), guestRss: rssBytes(guest.pid) }),
    stop,
  };
}

/** The host's /status, parsed. */
export async function hostStatusOf(pair: ProcessPair): Promise<{ guest: { clients: number; shmBytes: number; fds: number }; totals: { clients: number; violations: number; internalErrors: number; commits: number } }> {
  return JSON.parse((await httpGet(`${pair.statusUrl}/status`)).body) as never;
}
