// Soak: clients connect, draw and disconnect (or get killed) for N seconds; fds and RSS of both proxies stay flat.
// CI runs ~20 s; `npm run soak -- --seconds 600` runs 10 minutes (WAYVIO_SOAK_SECONDS).
import t from 'tap';
import { checkFdLeaks } from '../helpers/fd-leak';
import { clientEnv, startWeston, type Compositor } from '../../harness/compositors';
import { Prng } from '../helpers/prng';
import { spawnManaged } from '../../harness/processes';
import { formatFigures, hostStatusOf, startProcessPair, type ProcessPair, type ProxyFigures } from '../helpers/proxy-processes';
import { buildTestClients, runBench, startPatternClient, waylandInfo, type TestClients } from '../../harness/test-clients';
import { sleep } from '../../harness/processes';
import { waitFor, waitForAsync } from '../helpers/wait';

checkFdLeaks(t);

const SECONDS = Number(process.env.WAYVIO_SOAK_SECONDS ?? 20);
const WORKERS = 6;
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

type Kind = 'bench' | 'pattern' | 'info' | 'simple-shm' | 'killed';
const KINDS: Kind[] = ['bench', 'bench', 'pattern', 'info', 'simple-shm', 'killed'];

/** One client life; resolves with the frames it drew (as far as known). */
async function life(kind: Kind, rng: Prng): Promise<number> {
  switch (kind) {
    case 'bench': {
      const [w, h] = rng.pick([[96, 64], [256, 192], [640, 480]] as const);
      const r = await runBench(clients, pair, { width: w, height: h, frames: 10 + rng.below(30), damage: rng.pick(['full', 'rows:25', 'patch:32x32']), timeoutMs: 30000 });
      return r.frames;
    }
    case 'pattern': {
      const c = await startPatternClient(clients, pair, { width: 32 + rng.below(200), height: 32 + rng.below(200), seconds: 0 });
      await c.process.exited;
      await c.stop();
      return 1;
    }
    case 'info':
      await waylandInfo(pair);
      return 0;
    case 'simple-shm': {
      const p = spawnManaged('weston-simple-shm', [], { env: clientEnv(pair.env) });
      await sleep(150 + rng.below(300)); // a workload: let it animate a while
      await p.stop();
      return 0;
    }
    case 'killed': {
      const c = await startPatternClient(clients, pair, { width: 128, height: 96 });
      c.process.proc.kill('SIGKILL');
      await c.stop();
      return 1;
    }
  }
}

t.setTimeout((SECONDS + 180) * 1000);

t.test(`soak: ${SECONDS} s of clients coming and going`, { timeout: (SECONDS + 120) * 1000 }, async (t) => {
  // warm up: one life of each kind, then the baseline
  const warm = new Prng(1);
  for (const kind of new Set(KINDS)) await life(kind, warm);
  t.ok(await waitForAsync(async () => (await hostStatusOf(pair)).guest.clients === 0, 10000), 'warm-up clients gone');
  const base = pair.measure();
  t.comment(`baseline after warm-up: ${formatFigures(base)}`);
  const samples: { at: number; f: ProxyFigures }[] = [];
  const end = Date.now() + SECONDS * 1000;
  const counts: Record<string, number> = {};
  let frames = 0;
  let failures = 0;
  const sampler = setInterval(() => samples.push({ at: Date.now(), f: pair.measure() }), Math.max(1000, SECONDS * 50));
  await Promise.all(Array.from({ length: WORKERS }, async (_, w) => {
    const rng = new Prng(1000 + w);
    while (Date.now() < end) {
      const kind = rng.pick(KINDS);
      counts[kind] = (counts[kind] ?? 0) + 1;
      try {
        frames += await life(kind, rng);
      } catch (e) {
        failures++;
        t.fail(`${kind}: ${(e as Error).message}`);
      }
    }
  }));
  clearInterval(sampler);
  t.equal(failures, 0, 'every client life went as planned');
  t.ok(await waitForAsync(async () => (await hostStatusOf(pair)).guest.clients === 0, 20000), 'all clients gone on the host');
  t.ok(await waitFor(() => {
    const now = pair.measure();
    return now.hostFds <= base.hostFds && now.guestFds <= base.guestFds; // (an HTTP status request may still be open at the baseline)
  }, 10000), `fds back to the baseline (${base.hostFds} host, ${base.guestFds} guest) or below: ${formatFigures(pair.measure())}`);
  const after = pair.measure();
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  t.comment(`${total} client lives in ${SECONDS} s (${Object.entries(counts).map(([k, n]) => `${k} ${n}`).join(', ')}), ${frames} frames drawn`);
  t.comment(`after: ${formatFigures(after)}`);
  const peakHost = Math.max(...samples.map((s) => s.f.hostRss), after.hostRss);
  const peakGuest = Math.max(...samples.map((s) => s.f.guestRss), after.guestRss);
  t.comment(`peak RSS during the soak: host ${(peakHost / MiB).toFixed(1)} MiB, guest ${(peakGuest / MiB).toFixed(1)} MiB`);
  // flat: the second half of the run does not keep growing (a leak grows with the number of clients)
  const half = samples.filter((s) => s.at >= end - (SECONDS * 1000) / 2);
  if (half.length >= 2) {
    const growth = (pick: (f: ProxyFigures) => number): number => pick(after) - pick(half[0].f);
    t.comment(`RSS change over the second half: host ${(growth((f) => f.hostRss) / MiB).toFixed(1)} MiB, guest ${(growth((f) => f.guestRss) / MiB).toFixed(1)} MiB`);
    t.ok(growth((f) => f.hostRss) < 24 * MiB, 'host RSS flat over the second half');
    t.ok(growth((f) => f.guestRss) < 24 * MiB, 'guest RSS flat over the second half');
  }
  t.ok(after.hostRss < base.hostRss + 64 * MiB, 'host RSS near its baseline');
  t.ok(after.guestRss < base.guestRss + 64 * MiB, 'guest RSS near its baseline');
  const totals = (await hostStatusOf(pair)).totals;
  t.equal(totals.violations, 0, 'no client ended with an error');
  t.equal(totals.internalErrors, 0, 'no internal error');
});
