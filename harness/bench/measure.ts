// One timed run of a scenario on a started path: clients warm up, counters are read, the timed part runs, counters again.
import { clientEnv } from '../compositors';
import { spawnManaged, waitForLine, waitForOutputLine, type Managed } from '../processes';
import type { ByteCounts } from './byte-relay';
import type { RunningPath } from './paths';
import { readUsage, type ProcUsage } from './proc-stats';
import { clientArgs, type Scenario } from './scenarios';
import { median, p99 } from './stats';

/** What one run measured. CPU and bytes cover the timed part only; peak RSS is each process's whole life so far. */
export interface RunSample {
  /** Timed frames (or round trips), all clients together. */
  frames: number;
  /** All frames over the longest client's timed seconds (clients start together). */
  fps: number;
  latencyMs: { median: number; p99: number };
  /** Channel bytes between the proxies (null on the direct path). */
  bytes: { up: number; down: number } | null;
  cpuSeconds: { guest: number | null; host: number | null; relay: number | null };
  peakRssBytes: { guest: number | null; host: number | null };
}

interface ClientResult {
  frames: number;
  seconds: number;
  lat_ms: number[];
}

const START_TIMEOUT_MS = 120000;

function usage(pid: number | undefined): ProcUsage | null {
  return pid === undefined ? null : readUsage(pid);
}

interface Snapshot {
  guest: ProcUsage | null;
  host: ProcUsage | null;
  relay: ProcUsage | null;
  bytes: ByteCounts | null;
}

async function snapshot(path: RunningPath): Promise<Snapshot> {
  return {
    guest: usage(path.guestPid),
    host: usage(path.hostPid),
    relay: usage(path.relay?.pid),
    bytes: path.relay ? await path.relay.counts() : null,
  };
}

const cpuDelta = (a: ProcUsage | null, b: ProcUsage | null): number | null => (a && b ? b.cpuSeconds - a.cpuSeconds : null);

export async function measureRun(path: RunningPath, scenario: Scenario, clientBinary: string, quick: boolean, timeoutMs: number): Promise<RunSample> {
  const args = clientArgs(scenario, quick);
  const clients: Managed[] = [];
  try {
    for (let i = 0; i < scenario.clients; i++) clients.push(spawnManaged(clientBinary, args, { env: clientEnv(path.env), stdin: 'pipe' }));
    await Promise.all(clients.map((c) => waitForLine(c, 'warm', START_TIMEOUT_MS)));
    const before = await snapshot(path);
    for (const c of clients) c.proc.stdin?.write('go\n');
    const lines = await Promise.all(clients.map((c) => waitForOutputLine(c, (l) => l.startsWith('{'), timeoutMs, 'a result')));
    const after = await snapshot(path);
    for (const c of clients) c.proc.stdin?.end();
    const codes = await Promise.all(clients.map((c) => c.exited));
    const bad = codes.findIndex((code) => code !== 0);
    if (bad >= 0) throw new Error(`client ${bad} exited ${codes[bad]}: ${clients[bad].stderrTail()}`);

    const results = lines.map((l) => JSON.parse(l) as ClientResult);
    const frames = results.reduce((n, r) => n + r.frames, 0);
    const seconds = Math.max(...results.map((r) => r.seconds));
    const latencies = results.flatMap((r) => r.lat_ms).sort((a, b) => a - b);
    return {
      frames,
      fps: seconds > 0 ? frames / seconds : 0,
      latencyMs: { median: median(latencies), p99: p99(latencies) },
      bytes: before.bytes && after.bytes ? { up: after.bytes.up - before.bytes.up, down: after.bytes.down - before.bytes.down } : null,
      cpuSeconds: { guest: cpuDelta(before.guest, after.guest), host: cpuDelta(before.host, after.host), relay: cpuDelta(before.relay, after.relay) },
      peakRssBytes: { guest: after.guest?.peakRss ?? null, host: after.host?.peakRss ?? null },
    };
  } catch (err) {
    const logs = path.logs();
    throw new Error(`${(err as Error).message}${logs ? `\nproxy stderr:\n${logs}` : ''}`);
  } finally {
    await Promise.all(clients.map((c) => c.stop()));
  }
}
