// The benchmark: one sway, every scenario on every path, N runs each; returns the report (never judges speed).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { startSway, type Compositor } from '../compositors';
import { buildTestClients } from '../test-clients';
import { measureRun, type RunSample } from './measure';
import { PATH_NAMES, SHM_REGION_BYTES, WAYPIPE_FLAGS, startPath, type PathName, type PathOptions, type RunningPath } from './paths';
import { bytes, scenarioResult, sig, summarize, type BenchReport, type Machine, type PathResult } from './report';
import { SCENARIOS, type Scenario } from './scenarios';

export interface BenchOptions {
  runs: number;
  quick: boolean;
  scenarios: readonly Scenario[];
  paths: readonly PathName[];
  /** One more run per cell, through the byte-counting relay, for the channel bytes (default true). */
  countBytes: boolean;
  /** Write a V8 CPU profile of each wayvio proxy process into this directory. */
  cpuProfDir?: string;
  /** Progress lines (stderr). */
  progress: (line: string) => void;
}

export const DEFAULT_OPTIONS: Omit<BenchOptions, 'progress'> = { runs: 3, quick: false, scenarios: SCENARIOS, paths: PATH_NAMES, countBytes: true };

const RUN_TIMEOUT_MS = 600000;

function load1(): number {
  return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
}

function firstLine(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).split('\n')[0].trim();
  } catch (err) {
    return `${command}: ${(err as Error).message.split('\n')[0]}`;
  }
}

function machine(loadAtStart: number): Machine {
  const model = /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpus()[0]?.model ?? 'unknown';
  return {
    nproc: cpus().length,
    cpu: model.trim(),
    kernel: release(),
    node: process.version,
    waypipe: firstLine('waypipe', ['--version']),
    sway: firstLine('sway', ['--version']),
    load1: { start: loadAtStart, end: loadAtStart },
  };
}

export async function runBenchmark(options: BenchOptions): Promise<BenchReport> {
  const loadAtStart = load1();
  const { testClient } = await buildTestClients();
  const sway = await startSway({ width: 1920, height: 1080 });
  const report: BenchReport = {
    date: new Date().toISOString(),
    machine: machine(loadAtStart),
    settings: {
      runs: options.runs,
      quick: options.quick,
      countBytes: options.countBytes,
      compositor: 'sway 1920x1080 headless, pixman renderer, as an unprivileged user',
      waypipe: WAYPIPE_FLAGS,
      shmRegionBytes: SHM_REGION_BYTES,
    },
    scenarios: [],
  };
  try {
    for (const scenario of options.scenarios) {
      const start = load1();
      const results: PathResult[] = [];
      for (const name of options.paths) results.push(await runPath(options, scenario, name, sway, testClient));
      report.scenarios.push(scenarioResult(scenario, options.quick, results, { start, end: load1() }));
    }
  } finally {
    await sway.stop();
  }
  report.machine.load1.end = load1();
  return report;
}

/**
 * N timed runs with the proxies joined directly, then (unless disabled) one run through the byte-counting relay:
 * the relay costs about as much CPU as a proxy, so it never shares a run with the figures it would slow down.
 */
async function runPath(options: BenchOptions, scenario: Scenario, name: PathName, sway: Compositor, client: string): Promise<PathResult> {
  const runs: RunSample[] = [];
  let counted: RunSample | null = null;
  try {
    await withPath(options, scenario, name, sway, false, async (path) => {
      for (let i = 1; i <= options.runs; i++) {
        const r = await measureRun(path, scenario, client, options.quick, RUN_TIMEOUT_MS);
        runs.push(r);
        options.progress(`${scenario.id} / ${name}: run ${i}/${options.runs}: ${sig(r.fps)} fps, median ${sig(r.latencyMs.median)} ms`);
      }
    });
    if (options.countBytes && name !== 'direct') {
      await withPath(options, scenario, name, sway, true, async (path) => {
        counted = await measureRun(path, scenario, client, options.quick, RUN_TIMEOUT_MS);
        options.progress(`${scenario.id} / ${name}: counting run: ${bytes(counted.bytes === null ? null : (counted.bytes.up + counted.bytes.down) / counted.frames)} bytes per frame`);
      });
    }
    return summarize(name, runs, counted, null);
  } catch (err) {
    options.progress(`${scenario.id} / ${name}: failed: ${(err as Error).message}`);
    return summarize(name, runs, counted, (err as Error).message);
  }
}

async function withPath(options: BenchOptions, scenario: Scenario, name: PathName, sway: Compositor, relay: boolean, body: (path: RunningPath) => Promise<void>): Promise<void> {
  const opts: PathOptions = { relay };
  if (options.cpuProfDir !== undefined && !relay) {
    const dir = options.cpuProfDir;
    opts.nodeArgs = (role) => ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-name', `${scenario.id}.${name}.${role}.${Date.now()}.cpuprofile`];
  }
  const path = await startPath(name, sway, opts);
  try {
    await body(path);
  } finally {
    await path.stop();
  }
}
