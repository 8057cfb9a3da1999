// `npm run fuzz -- --seconds N [--compositor weston|sway] [--seed N]` and `npm run soak -- --seconds N`: the
// time-bounded suites, each run for N seconds (the guest fuzzer: N seconds per compositor, weston and sway by default).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const SUITES: Record<string, { files: string[]; env: string }> = {
  fuzz: { files: ['test/fuzz/channel-fuzz.test.js', 'test/fuzz/guest-fuzz.test.js'], env: 'WAYVIO_FUZZ_SECONDS' },
  soak: { files: ['test/integration/soak.test.js'], env: 'WAYVIO_SOAK_SECONDS' },
};

const [suite, ...rest] = process.argv.slice(2);
const chosen = SUITES[suite];
const usage = 'usage: node dist/test/long-run.js fuzz|soak [--seconds N] [--seed N] [--compositor weston|sway]\n' +
  '  every file of the suite runs for N seconds (the two fuzz files side by side; the guest fuzzer N seconds per\n' +
  '  compositor, both unless --compositor names one), plus its setup and checks\n';
if (chosen === undefined) {
  process.stderr.write(usage);
  process.exit(2);
}
const { values } = parseArgs({ args: rest, options: { seconds: { type: 'string' }, seed: { type: 'string' }, compositor: { type: 'string' } } });
const seconds = Number(values.seconds ?? (suite === 'fuzz' ? 300 : 600));
if (!Number.isFinite(seconds) || seconds <= 0) {
  process.stderr.write(`--seconds ${values.seconds}: give a positive number\n`);
  process.exit(2);
}
const compositors = values.compositor ?? 'weston,sway';
if (!compositors.split(',').every((c) => c === 'weston' || c === 'sway')) {
  process.stderr.write(`--compositor ${compositors}: weston, sway or weston,sway\n${usage}`);
  process.exit(2);
}
const env: NodeJS.ProcessEnv = { ...process.env, [chosen.env]: String(seconds), WAYVIO_FUZZ_COMPOSITORS: compositors };
if (values.seed !== undefined) env.WAYVIO_FUZZ_SEED = values.seed;
const dist = join(__dirname, '..');
const tap = join(dist, '..', 'node_modules', '.bin', 'tap');
// the fuzz files run side by side; the guest fuzzer runs once per compositor, one after the other
const perFile = seconds * (suite === 'fuzz' ? compositors.split(',').length : 1);
const r = spawnSync(tap, ['--jobs=2', `--timeout=${Math.ceil(perFile + 300)}`, ...chosen.files.map((f) => join(dist, f))], { stdio: 'inherit', env });
process.exit(r.status ?? 1);
