// execve: the same pid runs the new image with the given argv and environment; failures throw.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execve } from '../../native/index';

t.test('the process keeps its pid and gets the new argv and environment', async (t) => {
  const index = join(__dirname, '../../native/index.js');
  const script = `
    process.stdout.write(process.pid + '\\n');
    require(${JSON.stringify(index)}).execve('/bin/sh', ['sh', '-c', 'echo $$ "$0" "$WAYVIO_X"', 'zero'], { WAYVIO_X: 'from env' });`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
  const [before, after] = r.stdout.trim().split('\n');
  const [pid, ...rest] = after!.split(' ');
  t.equal(pid, before, 'same pid before and after');
  t.equal(rest.join(' '), 'zero from env', 'argv and env reached the new image');
});

t.test('errors throw with errno; this process is untouched', async (t) => {
  t.throws(() => execve('/nonexistent/wayvio', ['x'], {}), { code: 'ENOENT', syscall: 'execve' });
  t.throws(() => execve('/bin/true', ['a\0b'], {}), { code: 'EINVAL' });
  t.throws(() => execve('/bin/true', ['x', 1 as unknown as string], {}), { name: 'TypeError' });
});

t.test('a node profiling at a high rate survives exec (its SIGPROF must not reach the new image)', async (t) => {
  const index = join(__dirname, '../../native/index.js');
  const script = `require(${JSON.stringify(index)}).execve('/bin/sh', ['sh', '-c', 'sleep 0.05; echo survived'], {});`;
  for (let i = 0; i < 8; i++) {
    const r = spawnSync(process.execPath, ['--cpu-prof', '--cpu-prof-interval', '10', '--cpu-prof-dir', tmpdir(), '-e', script], { encoding: 'utf8' });
    if (r.signal !== null || r.stdout.trim() !== 'survived') {
      t.fail(`run ${i}: ended by ${r.signal ?? `exit ${r.status}`}, stdout ${JSON.stringify(r.stdout)}`);
      return;
    }
  }
  t.pass('8 profiled runs each reached the new image');
});
