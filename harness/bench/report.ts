// Turns the runs into results (medians, ratios against direct and waypipe) and prints them as one table.
import type { RunSample } from './measure';
import { PATH_TITLES, type PathName } from './paths';
import type { Scenario } from './scenarios';
import { maxOf, medianOf } from './stats';

export interface PathResult {
  path: PathName;
  title: string;
  /** Why the path could not run (then the figures below are null). */
  error: string | null;
  /** Median over runs (frames, or round trips, per second; all clients together). */
  fps: number | null;
  /** fps divided by the direct path's, and by waypipe's. */
  vsDirect: number | null;
  vsWaypipe: number | null;
  /** Median over runs of each run's median and p99 latency per frame, milliseconds. */
  latencyMs: { median: number | null; p99: number | null };
  /** Channel bytes per timed frame, from the counting run (null on the direct path or with --no-bytes). */
  bytesPerFrame: { up: number; down: number; total: number } | null;
  /** CPU seconds of each proxy during the timed part, median over runs. */
  cpuSeconds: { guest: number | null; host: number | null };
  /** Peak resident set (VmHWM, summed over a side's processes), the largest seen over the runs, MiB. */
  peakRssMiB: { guest: number | null; host: number | null };
  runs: RunSample[];
  /** The extra run through the byte-counting relay (its speed is not used: the relay slows it down). */
  countingRun: RunSample | null;
}

export interface ScenarioResult {
  id: string;
  title: string;
  clients: number;
  /** Timed frames (or round trips) per client and run. */
  count: number;
  unit: 'frames' | 'roundtrips';
  /** /proc/loadavg's 1-minute figure when the scenario started and ended (the machine may be shared). */
  load1: { start: number; end: number };
  paths: PathResult[];
}

export interface Machine {
  nproc: number;
  cpu: string;
  kernel: string;
  node: string;
  waypipe: string;
  sway: string;
  /** /proc/loadavg's 1-minute figure when the benchmark started and ended. */
  load1: { start: number; end: number };
}

export interface BenchReport {
  date: string;
  machine: Machine;
  settings: { runs: number; quick: boolean; countBytes: boolean; compositor: string; waypipe: string; shmRegionBytes: number };
  scenarios: ScenarioResult[];
}

export function summarize(path: PathName, runs: RunSample[], countingRun: RunSample | null, error: string | null): PathResult {
  const b = countingRun?.bytes ?? null;
  const n = countingRun?.frames ?? 1;
  const mib = (v: number | null): number | null => (v === null ? null : v / 1024 / 1024);
  return {
    path,
    title: PATH_TITLES[path],
    error,
    fps: medianOf(runs.map((r) => r.fps)),
    vsDirect: null,
    vsWaypipe: null,
    latencyMs: { median: medianOf(runs.map((r) => r.latencyMs.median)), p99: medianOf(runs.map((r) => r.latencyMs.p99)) },
    bytesPerFrame: b === null ? null : { up: b.up / n, down: b.down / n, total: (b.up + b.down) / n },
    cpuSeconds: { guest: medianOf(runs.map((r) => r.cpuSeconds.guest)), host: medianOf(runs.map((r) => r.cpuSeconds.host)) },
    peakRssMiB: { guest: mib(maxOf(runs.map((r) => r.peakRssBytes.guest))), host: mib(maxOf(runs.map((r) => r.peakRssBytes.host))) },
    runs,
    countingRun,
  };
}

export function scenarioResult(s: Scenario, quick: boolean, paths: PathResult[], load1: { start: number; end: number }): ScenarioResult {
  const fpsOf = (name: PathName): number | null => paths.find((p) => p.path === name)?.fps ?? null;
  const direct = fpsOf('direct');
  const waypipe = fpsOf('waypipe');
  for (const p of paths) {
    p.vsDirect = p.fps !== null && direct ? p.fps / direct : null;
    p.vsWaypipe = p.fps !== null && waypipe ? p.fps / waypipe : null;
  }
  return { id: s.id, title: s.title, clients: s.clients, count: quick ? s.quickCount : s.count, unit: s.unit, load1, paths };
}

/** Three significant digits, no exponent; '-' for null. */
export function sig(v: number | null, digits = 3): string {
  if (v === null || !Number.isFinite(v)) return '-';
  if (v === 0) return '0';
  const decimals = Math.max(0, digits - 1 - Math.floor(Math.log10(Math.abs(v))));
  return v.toFixed(Math.min(decimals, 6));
}

/** Bytes with a decimal suffix: 48, 33.0k, 8.29M. */
export function bytes(v: number | null): string {
  if (v === null) return '-';
  if (v < 1000) return v.toFixed(0);
  if (v < 1e6) return `${sig(v / 1e3)}k`;
  return `${sig(v / 1e6)}M`;
}

const COLUMNS: Array<[string, number]> = [
  ['scenario', 13], ['path', 11], ['fps', 8], ['xdirect', 8], ['xwaypipe', 9], ['lat med', 8], ['lat p99', 8],
  ['B/frame', 8], ['cpu guest', 10], ['cpu host', 9], ['rss guest', 10], ['rss host', 9],
];

function row(cells: string[]): string {
  return cells.map((c, i) => (i < 2 ? c.padEnd(COLUMNS[i][1]) : c.padStart(COLUMNS[i][1]))).join(' ').trimEnd();
}

/** The one table: a row per scenario and path. */
export function formatTable(report: BenchReport): string {
  const lines = [row(COLUMNS.map(([h]) => h)), row(COLUMNS.map(([, w]) => '-'.repeat(w)))];
  for (const s of report.scenarios) {
    s.paths.forEach((p, i) => {
      const name = i === 0 ? s.id : '';
      if (p.error !== null) {
        lines.push(row([name, p.path, `FAILED: ${p.error.replace(/\s+/g, ' ').slice(0, 110)}`]));
        return;
      }
      lines.push(
        row([
          name,
          p.path,
          sig(p.fps),
          sig(p.vsDirect),
          sig(p.vsWaypipe),
          sig(p.latencyMs.median),
          sig(p.latencyMs.p99),
          bytes(p.bytesPerFrame?.total ?? null),
          sig(p.cpuSeconds.guest),
          sig(p.cpuSeconds.host),
          sig(p.peakRssMiB.guest),
          sig(p.peakRssMiB.host),
        ]),
      );
    });
  }
  return lines.join('\n');
}

export function formatHeader(report: BenchReport): string {
  const m = report.machine;
  return [
    `wayvio bench ${report.date}: ${m.nproc} x ${m.cpu}, Linux ${m.kernel}, node ${m.node}, ${m.waypipe}, ${m.sway}`,
    `load (1 min) ${m.load1.start} at start, ${m.load1.end} at end; ${report.settings.runs} run(s) per cell${report.settings.quick ? ' (--quick)' : ''}; compositor: ${report.settings.compositor}`,
    `waypipe: ${report.settings.waypipe}`,
  ].join('\n');
}

/** What the scenario ids and the columns mean. */
export function formatLegend(report: BenchReport): string {
  const scenarios = report.scenarios.map(
    (s) => `  ${s.id.padEnd(13)} ${s.title}: ${s.count} timed ${s.unit} per client${s.clients > 1 ? `, ${s.clients} clients at once` : ''} (load ${s.load1.start} -> ${s.load1.end})`,
  );
  return [
    'scenarios:',
    ...scenarios,
    'fps: frames (round trips) per second, all clients together, median of the runs; xdirect, xwaypipe: that fps over',
    "the direct path's and waypipe's. lat med/p99: ms from wl_surface.commit to the reply of the wl_display.sync after",
    'it (round trips: the sync alone). B/frame: channel bytes per frame, both ways, counted by a relay between the two',
    'proxies in one extra run (the timed runs have no relay). cpu guest/host: CPU seconds during the timed frames of',
    'the proxy on the client side (wayvio guest, waypipe server) and of the one beside the compositor (wayvio host,',
    'waypipe client).',
    "rss guest/host: peak resident MiB (VmHWM, summed over a side's processes: waypipe forks one per connection).",
  ].join('\n');
}
