// A hostile guest fills pipes nobody reads: --max-pipe-bytes ends the client that passed it; memory and fds come back.
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import t from 'tap';
import { checkFdLeaks } from '../helpers/fd-leak';
import { startWeston, type Compositor } from '../../harness/compositors';
import { startProxyPair, type ProxyPair } from '../helpers/proxy-pair';
import { RawGuest } from '../helpers/raw-guest';
import { waylandInfo } from '../../harness/test-clients';
import { fdCount, rssBytes, waitFor } from '../helpers/wait';
import { INITIAL_PIPE_CREDIT } from '../../link/pipe-bridge';
import { CloseCode, FrameKind, PipeMode } from '../../protocol/channel-frames';

checkFdLeaks(t);

const MiB = 1024 * 1024;
const PIPE_BYTES = 8 * MiB;
/** Pipes per round: filled to their credit they would make the host hold 200 MiB without the bound. */
const PIPES = 800;
const CLIENTS = 4;
/**
 * RSS this process may grow by while attacked, and keep after: the bound's 8 MiB, plus the channel
 * bytes read and not yet collected, plus what glibc keeps in its heap for reuse after free().
 * Without the bound one round grows RSS by more than 150 MiB.
 */
const RSS_MARGIN = 64 * MiB;

let weston: Compositor;
let pair: ProxyPair;

t.before(async () => {
  weston = await startWeston();
  pair = await startProxyPair({ compositorPath: weston.socketPath, limits: { pipeBytes: PIPE_BYTES } });
});
t.teardown(async () => {
  await pair?.stop();
  await weston?.stop();
});

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const mib = (n: number): string => `${(n / MiB).toFixed(1)} MiB`;

/** One round: CLIENTS clients open PIPES pipes (the host keeps both ends) and send each its whole credit. */
async function fillPipes(g: RawGuest, firstConn: number): Promise<void> {
  for (let c = firstConn; c < firstConn + CLIENTS; c++) await g.openWithRegistry(c, `pipe filler ${c}`);
  const chunk = Buffer.alloc(64 * 1024, 0x5a);
  for (let i = 0; i < PIPES; i++) {
    const conn = firstConn + (i % CLIENTS);
    const resource = 1 + Math.floor(i / CLIENTS);
    g.send({ kind: FrameKind.PipeOpen, conn, resource, mode: PipeMode.ReadEnd });
    for (let sent = 0; sent < INITIAL_PIPE_CREDIT; sent += chunk.byteLength) g.send({ kind: FrameKind.PipeData, conn, resource, data: chunk });
    if (i % 64 === 63) await g.roundtrip(conn, 10000); // lets the host read as the guest writes
  }
  for (let c = firstConn; c < firstConn + CLIENTS; c++) await g.roundtrip(c, 10000);
}

t.test('pipes filled to their credit: the client that passes --max-pipe-bytes is ended; RSS and fds stay bounded and come back', async (t) => {
  await waylandInfo(pair); // warm up: the first client's allocations are not the attack's
  const g = await RawGuest.attach(join(pair.env.XDG_RUNTIME_DIR, 'channel'));
  t.teardown(() => g.destroy());
  gc();
  const baseFds = fdCount();
  const baseRss = rssBytes();
  const baseBuffers = process.memoryUsage().arrayBuffers;
  t.comment(`at rest: RSS ${mib(baseRss)}, ${baseFds} fds`);

  for (let round = 0; round < 3; round++) {
    const first = 1 + round * CLIENTS;
    await fillPipes(g, first);
    const peak = rssBytes();
    const closes = [...Array(CLIENTS).keys()].map((i) => g.closeFrame(first + i));
    const ended = closes.filter((c) => c !== undefined);
    t.ok(ended.length > 0, `round ${round + 1}: ${ended.length} of ${CLIENTS} clients ended at the bound`);
    t.ok(ended.every((c) => c!.code === CloseCode.QuotaExceeded), 'each with QUOTA_EXCEEDED');
    t.match(ended[0]?.reason, /^pipe buffer quota exceeded: \d+ \+ \d+ > 8388608 bytes written to pipes and not yet read \(--max-pipe-bytes\)$/, ended[0]?.reason);
    t.ok(pair.host.pipeQuota.used <= PIPE_BYTES, `the host holds ${pair.host.pipeQuota.used} pipe bytes, at most ${PIPE_BYTES}`);
    t.ok(peak < baseRss + RSS_MARGIN, `RSS while attacked: ${mib(peak)}, less than ${mib(baseRss)} + ${mib(RSS_MARGIN)}`);
    for (let c = first; c < first + CLIENTS; c++) if (g.closeFrame(c) === undefined) g.send({ kind: FrameKind.Close, conn: c, code: CloseCode.Normal, reason: 'done' });
    // frames are read in order: once a new client's round trip is back, the host has read the whole round
    await g.openWithRegistry(100 + round, 'settle');
    g.send({ kind: FrameKind.Close, conn: 100 + round, code: CloseCode.Normal, reason: 'done' });
    t.ok(await waitFor(() => pair.host.clientCount === 0), 'every filler client is gone');
    t.equal(pair.host.pipeQuota.used, 0, 'no pipe bytes stay charged');
    t.ok(await waitFor(() => fdCount() <= baseFds), `fds back to ${baseFds} (now ${fdCount()})`);
    // V8 frees array buffers after a collection, partly on a helper thread: collect until they are back
    const freed = await waitFor(() => {
      gc();
      return process.memoryUsage().arrayBuffers < baseBuffers + 2 * MiB;
    }, 3000, 50);
    const rss = rssBytes();
    t.comment(`round ${round + 1}: RSS ${mib(peak)} at the bound, ${mib(rss)} after CLOSE; array buffers ${mib(baseBuffers)} at rest, ${mib(process.memoryUsage().arrayBuffers)} after`);
    t.ok(freed, 'the queued pipe bytes were freed');
    t.ok(rss < baseRss + RSS_MARGIN, `RSS after CLOSE within ${mib(RSS_MARGIN)} of its rest (repeated rounds do not add up)`);
  }
  const logged = pair.logs.filter((l) => /limit reached, client ended: pipe buffer quota exceeded/.test(l));
  t.ok(logged.length >= 3, `the host logged each end (${logged.length} lines)`);
  t.ok((await waylandInfo(pair)).some((x) => x.interface === 'wl_compositor'), 'the next real guest client is served');
});

t.test('a pipe the host can write through charges nothing, and data within the bound flows', async (t) => {
  const g = await RawGuest.attach(join(pair.env.XDG_RUNTIME_DIR, 'channel'));
  t.teardown(() => g.destroy());
  await g.openWithRegistry(1);
  // data from the guest: the host writes it into a pipe whose read end waits for a message that passes it on
  g.send({ kind: FrameKind.PipeOpen, conn: 1, resource: 1, mode: PipeMode.ReadEnd });
  g.send({ kind: FrameKind.PipeData, conn: 1, resource: 1, data: Buffer.alloc(32 * 1024, 1) });
  t.ok(await g.roundtrip(1), 'served');
  t.equal(pair.host.pipeQuota.used, 0, '32 KiB fit in the kernel pipe: nothing queued in the host, nothing charged');
  g.send({ kind: FrameKind.PipeData, conn: 1, resource: 1, data: Buffer.alloc(128 * 1024, 1) });
  t.ok(await g.roundtrip(1), 'served');
  t.ok(pair.host.pipeQuota.used > 0 && pair.host.pipeQuota.used <= 128 * 1024, `what the pipe could not take is charged (${pair.host.pipeQuota.used})`);
  g.send({ kind: FrameKind.PipeClose, conn: 1, resource: 1 });
  g.send({ kind: FrameKind.Close, conn: 1, code: CloseCode.Normal, reason: 'done' });
  t.ok(await waitFor(() => pair.host.clientCount === 0 && pair.host.pipeQuota.used === 0), 'released when the client goes');
});
