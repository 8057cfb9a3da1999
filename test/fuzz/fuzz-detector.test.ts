// The fuzzers' failure detectors can fail: a bystander killed, a compositor crashed by a request sent to it directly
// (bypassing the host) and a compositor stopped (SIGSTOP: no wl_display.sync answer) are each seen and counted.
import t from 'tap';
import { checkFdLeaks } from '../helpers/fd-leak';
import { replay } from '../helpers/crash-replay';
import { startProxyPair } from '../helpers/proxy-pair';
import { waitFor } from '../helpers/wait';
import { buildTestClients } from '../../harness/test-clients';
import { CRASH_SEQUENCES } from './crash-sequences';
import { FuzzWatch } from './fuzz-watch';
import { HANG_MS, RestartingCompositor } from './restarting-compositor';

checkFdLeaks(t);

t.test('weston: a dead bystander, a crash and a hang each become a failure of the run', { timeout: 120000 }, async (t) => {
  const clients = await buildTestClients();
  const compositor = await RestartingCompositor.start('weston');
  const pair = await startProxyPair({ compositorPath: compositor.path });
  const watch = await FuzzWatch.start(compositor, pair, clients);
  t.teardown(async () => {
    await watch.stop();
    await pair.stop();
    await compositor.stop();
  });
  await watch.check();
  t.same(watch.failures(), [], 'nothing to report while all runs');

  const [pid] = watch.bystanderPids();
  process.kill(pid, 'SIGKILL');
  t.ok(await waitFor(() => watch.bystanderDeaths === 1, 10000), 'the pattern client killed: a bystander death');
  t.match(watch.failures().join('\n'), /bystander died while the compositor lived: the pattern client/, 'named in the failures');
  t.equal(compositor.failures.length, 0, 'and no compositor failure');

  // docs/compositor-crashes.md: weston 10 dereferences the destroyed parent (a use after free)
  const seq = CRASH_SEQUENCES.find((s) => s.name === 'sub-parent-destroyed-place-above')!;
  const direct = await replay(compositor.compositor.socketPath, seq, true);
  direct.client.close();
  t.ok(await waitFor(() => compositor.crashes === 1, 10000), 'a crash sent directly to weston is counted');
  t.match(compositor.failures[0], { how: 'crash', kind: 'weston', status: /^exited/ }, 'as a crash, with its exit status');
  t.ok(compositor.failures[0].log.length > 0, 'and weston\'s log');

  await waitFor(() => watch.bystanderPids().length > 0, 20000);
  const stoppedPid = compositor.compositor.pid;
  process.kill(stoppedPid, 'SIGSTOP');
  t.ok(await waitFor(() => compositor.hangs === 1, HANG_MS * 4), 'a stopped weston (no sync answer) is counted as a hang');
  t.match(compositor.failures[1], { how: 'hang', status: /no answer to wl_display.sync/ }, 'as a hang');

  await waitFor(() => watch.bystanderPids().length > 0, 20000);
  await watch.check();
  t.equal(watch.bystanderDeaths, 1, 'the bystanders that died with the compositor are its failures, not counted again');
  t.equal(watch.failures().length, 3, `three failures in all: the run that saw them fails (${watch.failures().map((f) => f.split('\n')[0]).join('; ')})`);
  t.ok(await waitFor(() => compositor.compositor.pid !== stoppedPid && compositor.compositor.exitStatus() === undefined), 'weston started again');
});
