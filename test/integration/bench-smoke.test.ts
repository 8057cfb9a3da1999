// `wayvio bench --quick` runs every scenario on every path and writes figures for each (no assertions on speed).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { checkFdLeaks } from '../helpers/fd-leak';
import { PATH_NAMES } from '../../harness/bench/paths';
import type { BenchReport } from '../../harness/bench/report';
import { SCENARIOS } from '../../harness/bench/scenarios';
import { spawnManaged } from '../../harness/processes';
import { repoRoot } from '../../harness/test-clients';

checkFdLeaks(t);
// every scenario on every path, real clients and compositors: longer than tap's default per file on a loaded 2-core machine
t.setTimeout(600000);

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

t.test('wayvio bench --quick --json FILE', { timeout: 900000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wayvio-bench-smoke-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'bench.json');
  const bench = spawnManaged(process.execPath, [join(repoRoot(), 'bin', 'wayvio.js'), 'bench', '--quick', '--json', file]);
  t.teardown(() => bench.stop());
  const code = await bench.exited;
  await bench.closed;
  t.equal(code, 0, `exit 0 (stderr ends with: ${bench.stderrTail().split('\n').slice(-20).join('\n')})`);
  t.match(bench.stdout(), /scenario\s+path\s+fps\s+xdirect\s+xwaypipe/, 'prints the table');

  const report = JSON.parse(readFileSync(file, 'utf8')) as BenchReport;
  t.ok(isNum(report.machine.nproc) && report.machine.cpu.length > 0, 'machine described');
  t.same(report.scenarios.map((s) => s.id), SCENARIOS.map((s) => s.id), 'every scenario');
  for (const s of report.scenarios) {
    t.same(s.paths.map((p) => p.path), [...PATH_NAMES], `${s.id}: every path`);
    for (const p of s.paths) {
      const where = `${s.id}/${p.path}`;
      t.equal(p.error, null, `${where} ran`);
      t.ok(isNum(p.fps) && p.fps > 0, `${where}: fps ${p.fps}`);
      t.ok(isNum(p.vsDirect) && isNum(p.vsWaypipe), `${where}: ratios against direct and waypipe`);
      t.ok(isNum(p.latencyMs.median) && isNum(p.latencyMs.p99), `${where}: latency median and p99`);
      if (p.path === 'direct') {
        t.equal(p.bytesPerFrame, null, `${where}: no channel`);
        continue;
      }
      t.ok(p.bytesPerFrame !== null && p.bytesPerFrame.total > 0, `${where}: channel bytes per frame ${p.bytesPerFrame?.total}`);
      t.ok(isNum(p.cpuSeconds.guest) && isNum(p.cpuSeconds.host), `${where}: CPU seconds of both proxies`);
      t.ok(isNum(p.peakRssMiB.guest) && p.peakRssMiB.guest > 0 && isNum(p.peakRssMiB.host) && p.peakRssMiB.host > 0, `${where}: peak RSS of both proxies`);
    }
  }
});
