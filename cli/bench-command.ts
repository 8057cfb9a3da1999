// `wayvio bench`: direct, wayvio and waypipe side by side on sway headless; prints one table, never fails on speed.
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { PATH_NAMES, type PathName } from '../harness/bench/paths';
import { formatHeader, formatLegend, formatTable } from '../harness/bench/report';
import { DEFAULT_OPTIONS, runBenchmark } from '../harness/bench/run-bench';
import { SCENARIOS } from '../harness/bench/scenarios';
import { UsageError, parse } from './usage';

function pick<T extends string>(list: string | undefined, known: readonly T[], what: string): T[] | undefined {
  if (list === undefined) return undefined;
  const names = list.split(',').filter(Boolean);
  const bad = names.filter((n) => !(known as readonly string[]).includes(n));
  if (bad.length > 0 || names.length === 0) throw new UsageError(`--${what} ${list}: choose from ${known.join(',')}`);
  return names as T[];
}

export async function benchCommand(argv: string[]): Promise<void> {
  const { values } = parse(argv, {
    runs: { type: 'string' },
    quick: { type: 'boolean' },
    json: { type: 'string' },
    scenarios: { type: 'string' },
    paths: { type: 'string' },
    'no-bytes': { type: 'boolean' },
    'cpu-prof': { type: 'string' },
  });
  const quick = values.quick === true;
  const runs = Number((values.runs as string | undefined) ?? (quick ? '1' : String(DEFAULT_OPTIONS.runs)));
  if (!Number.isInteger(runs) || runs < 1 || runs > 100) throw new UsageError('--runs takes a whole number from 1 to 100');
  const ids = pick(values.scenarios as string | undefined, SCENARIOS.map((s) => s.id), 'scenarios');
  const paths = pick<PathName>(values.paths as string | undefined, PATH_NAMES, 'paths') ?? DEFAULT_OPTIONS.paths;
  const cpuProfDir = values['cpu-prof'] === undefined ? undefined : resolve(values['cpu-prof'] as string);
  if (cpuProfDir !== undefined) mkdirSync(cpuProfDir, { recursive: true });

  const report = await runBenchmark({
    runs,
    quick,
    scenarios: ids === undefined ? SCENARIOS : SCENARIOS.filter((s) => ids.includes(s.id)),
    paths,
    countBytes: values['no-bytes'] !== true,
    cpuProfDir,
    progress: (line) => void process.stderr.write(`wayvio bench: ${line}\n`),
  });
  process.stdout.write(`${formatHeader(report)}\n\n${formatTable(report)}\n\n${formatLegend(report)}\n`);
  if (values.json !== undefined) writeFileSync(values.json as string, JSON.stringify(report, null, 2) + '\n');
  if (cpuProfDir !== undefined) process.stdout.write(`CPU profiles of the wayvio proxies: ${cpuProfDir}\n`);
  const failed = report.scenarios.flatMap((s) => s.paths.filter((p) => p.error !== null).map((p) => `${s.id}/${p.path}`));
  if (failed.length > 0) throw new Error(`could not run: ${failed.join(', ')} (see above)`);
}
