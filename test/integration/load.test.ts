// Load: 200 clients at once through one pair of real proxy processes; memory and fds per client, and all back after.
import t from 'tap';
import { checkFdLeaks } from '../helpers/fd-leak';
import { startWeston, type Compositor } from '../../harness/compositors';
import { formatFigures, hostStatusOf, startProcessPair, type ProcessPair } from '../helpers/proxy-processes';
import { buildTestClients, startPatternClient, waylandInfo, type PatternClient, type TestClients } from '../../harness/test-clients';
import { waitForAsync, waitFor } from '../helpers/wait';

checkFdLeaks(t);

const CLIENTS = Number(process.env.WAYVIO_LOAD_CLIENTS ?? 200);
const MiB = 1024 * 1024;
let weston: Compositor;
let clients: TestClients;
let pair: ProcessPair;

t.before(async () => {
  clients = await buildTestClients();
  weston = await startWeston();
  pair = await startProcessPair(weston.socketPath);
});
t.teardown(async () => {
  await pair?.stop();
  await weston?.stop();
});

t.test(`${CLIENTS} concurrent clients through one pair`, async (t) => {
  await waylandInfo(pair);
  await waylandInfo(pair);
  const base = pair.measure();
  t.comment(`at rest: ${formatFigures(base)}`);
  const started = Date.now();
  const running: PatternClient[] = [];
  t.teardown(() => Promise.all(running.map((c) => c.stop())));
  // start them in waves of 25 so that 2 cores are not asked to fork 200 processes in one instant
  for (let i = 0; i < CLIENTS; i += 25) {
    const wave = await Promise.all(Array.from({ length: Math.min(25, CLIENTS - i) }, () => startPatternClient(clients, pair, { width: 64, height: 48, timeoutMs: 60000 })));
    running.push(...wave);
  }
  const status = await hostStatusOf(pair);
  t.equal(status.guest.clients, CLIENTS, `the host serves ${CLIENTS} clients at once (all showed their first frame in ${((Date.now() - started) / 1000).toFixed(1)} s)`);
  const peak = pair.measure();
  t.comment(`with ${CLIENTS} clients: ${formatFigures(peak)}; guest shm held by the host ${(status.guest.shmBytes / MiB).toFixed(1)} MiB`);
  t.comment(`per client: host ${((peak.hostRss - base.hostRss) / CLIENTS / 1024).toFixed(0)} KiB and ${((peak.hostFds - base.hostFds) / CLIENTS).toFixed(1)} fds; guest ${((peak.guestRss - base.guestRss) / CLIENTS / 1024).toFixed(0)} KiB and ${((peak.guestFds - base.guestFds) / CLIENTS).toFixed(1)} fds`);
  t.ok(peak.hostRss - base.hostRss < 200 * MiB, 'the host grew by less than 200 MiB');
  t.ok(peak.guestRss - base.guestRss < 200 * MiB, 'the guest grew by less than 200 MiB');
  t.ok((await waylandInfo(pair)).length > 0, 'one more client is served alongside');
  t.ok(running.every((c) => c.process.proc.exitCode === null), 'every client still runs');

  await Promise.all(running.splice(0).map((c) => c.stop()));
  t.ok(await waitForAsync(async () => (await hostStatusOf(pair)).guest.clients === 0, 20000), 'all clients gone on the host');
  t.ok(await waitFor(() => pair.measure().hostFds <= base.hostFds && pair.measure().guestFds <= base.guestFds, 10000),
    `fds back to the baseline (${base.hostFds} host, ${base.guestFds} guest) or below: ${formatFigures(pair.measure())}`);
  const after = pair.measure();
  t.comment(`after: ${formatFigures(after)}`);
  const totals = (await hostStatusOf(pair)).totals;
  t.equal(totals.violations, 0, 'no client ended with an error');
  t.equal(totals.internalErrors, 0, 'no internal error');
});
