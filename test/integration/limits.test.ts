// Every host limit, hit on purpose: the client that asked is ended (or refused) with a clear line; the proxy and the others go on.
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { checkFdLeaks } from '../helpers/fd-leak';
import { clientEnv, startWeston, type Compositor } from '../../harness/compositors';
import { spawnManaged } from '../../harness/processes';
import { startProxyPair, type ProxyPair, type PairOptions } from '../helpers/proxy-pair';
import { RawClient } from '../helpers/raw-client';
import { RawGuest, request } from '../helpers/raw-guest';
import { buildTestClients, startPatternClient, waylandInfo, type TestClients } from '../../harness/test-clients';
import { waitFor } from '../helpers/wait';
import { CloseCode, FrameKind, PipeMode } from '../../protocol/channel-frames';
import { mappedBytes } from '../../native/test-only';

checkFdLeaks(t);

let weston: Compositor;
let clients: TestClients;

t.before(async () => {
  clients = await buildTestClients();
  weston = await startWeston();
});
t.teardown(async () => {
  await weston?.stop();
});

async function pairWith(t: Test, limits: PairOptions['limits']): Promise<ProxyPair> {
  const pair = await startProxyPair({ compositorPath: weston.socketPath, limits });
  t.teardown(() => pair.stop());
  return pair;
}

async function rawGuest(t: Test, pair: ProxyPair): Promise<RawGuest> {
  const g = await RawGuest.attach(join(pair.env.XDG_RUNTIME_DIR, 'channel'));
  t.teardown(() => g.destroy());
  return g;
}

function logged(pair: ProxyPair, re: RegExp): string | undefined {
  return pair.logs.find((l) => re.test(l));
}

/** The guest proxy still serves a real client. */
async function stillServes(t: Test, pair: ProxyPair): Promise<void> {
  const globals = await waylandInfo(pair);
  t.ok(globals.some((g) => g.interface === 'wl_compositor'), 'wayland-info through the same guest proxy still works');
}

t.test('--max-shm-bytes: the pool that would pass the quota ends its client; others keep theirs', async (t) => {
  const pair = await pairWith(t, { shmTotal: 1024 * 1024 });
  const g = await rawGuest(t, pair);
  await g.openWithRegistry(1);
  await g.openWithRegistry(2);
  g.send({ kind: FrameKind.ShmCreate, conn: 1, resource: 1, size: 600 * 1024 });
  t.ok(await g.roundtrip(1), 'client 1 holds a 600 KiB pool');
  g.send({ kind: FrameKind.ShmCreate, conn: 2, resource: 1, size: 600 * 1024 });
  const close = await g.closeOf(2);
  t.equal(close?.code, CloseCode.QuotaExceeded, `client 2 ended with QUOTA: ${close?.reason}`);
  t.match(close?.reason, /shm quota exceeded: 614400 \+ 614400 > 1048576 bytes \(--max-shm-bytes\)/);
  t.ok(logged(pair, /client 2: warn: limit reached, client ended: shm quota exceeded/), 'the host logged one clear line');
  t.ok(await g.roundtrip(1), 'client 1 is still served');
  t.equal(pair.host.quota.used, 600 * 1024, 'only client 1\'s pool is charged');
  g.send({ kind: FrameKind.Close, conn: 1, code: 0, reason: 'done' });
  t.ok(await waitFor(() => pair.host.quota.used === 0), 'the quota is free again once client 1 went');

  // the same through real clients: a window bigger than the quota fails, a small one and wayland-info work
  const small = await pairWith(t, { shmTotal: 96 * 1024 });
  const big = spawnManaged(clients.testClient, ['pattern', '--width', '256', '--height', '256'], { env: clientEnv(small.env) });
  t.teardown(() => big.stop());
  t.equal(await big.exited, 1, 'a 256x256 client exits 1 under a 96 KiB quota');
  t.match(big.stderrTail(), /protocol error/, `it was told: ${big.stderrTail().trim().split('\n').pop()}`);
  t.ok(logged(small, /limit reached, client ended: shm quota exceeded/), 'and the host said why');
  const fits = await startPatternClient(clients, small, { width: 64, height: 64 });
  t.pass('a 64x64 client fits and shows its first frame');
  await fits.stop();
  await stillServes(t, small);
});

t.test('--max-pool-bytes: one pool (or a resize) beyond it ends the client', async (t) => {
  const pair = await pairWith(t, { shmPool: 64 * 1024 });
  const g = await rawGuest(t, pair);
  await g.openWithRegistry(1);
  g.send({ kind: FrameKind.ShmCreate, conn: 1, resource: 1, size: 128 * 1024 });
  const c1 = await g.closeOf(1);
  t.equal(c1?.code, CloseCode.QuotaExceeded, `create: ${c1?.reason}`);
  t.match(c1?.reason, /pool of 131072 bytes exceeds the per-pool limit of 65536 \(--max-pool-bytes\)/);
  await g.openWithRegistry(2);
  g.send({ kind: FrameKind.ShmCreate, conn: 2, resource: 1, size: 32 * 1024 });
  g.send({ kind: FrameKind.ShmResize, conn: 2, resource: 1, size: 96 * 1024 });
  const c2 = await g.closeOf(2);
  t.equal(c2?.code, CloseCode.QuotaExceeded, `resize: ${c2?.reason}`);
  t.equal(pair.host.quota.used, 0, 'nothing stays charged');
  t.ok(await waitFor(() => mappedBytes() === 0), 'no pool stays mapped');
  await stillServes(t, pair);
});

t.test('--max-clients: the client over the limit is refused with a reason, the others run on', async (t) => {
  const pair = await pairWith(t, { clients: 2 });
  const a = await startPatternClient(clients, pair, { width: 32, height: 32 });
  const b = await startPatternClient(clients, pair, { width: 32, height: 32 });
  const third = new RawClient(pair.socketPath);
  t.teardown(() => third.close());
  third.send(1, 'get_registry', [0]);
  t.ok(await third.until(() => third.error() !== undefined), 'a third client gets wl_display.error');
  t.match(String(third.error()?.args[2]), /wayvio host: at most 2 clients per guest/, 'saying why');
  t.ok(logged(pair, /client limit of 2 reached; refusing client 3 \(--max-clients\)/), 'the host logged the refusal');
  t.ok(await waitFor(() => pair.guest.clientCount === 2), 'the guest dropped the refused client');
  t.equal(a.process.proc.exitCode, null, 'the first client runs on');
  t.equal(b.process.proc.exitCode, null, 'the second client runs on');
  await b.stop();
  t.ok(await waitFor(() => pair.host.clientCount === 1), 'one client left');
  await stillServes(t, pair);
  await a.stop();
});

t.test('--max-objects: a client creating objects without end is ended, with the last messages logged', async (t) => {
  const pair = await pairWith(t, { objects: 64 });
  const bystander = await startPatternClient(clients, pair, { width: 32, height: 32 });
  const c = new RawClient(pair.socketPath);
  t.teardown(() => c.close());
  const reg = await c.getRegistry();
  const compositor = c.bind(reg, 'wl_compositor', 4);
  for (let i = 0; i < 100; i++) c.send(compositor, 'create_region', [0]);
  t.ok(await c.until(() => c.error() !== undefined), 'the client gets wl_display.error');
  t.match(String(c.error()?.args[2]), /wayvio host: wl_compositor.create_region makes 65 live objects, more than 64 \(--max-objects\)/);
  t.ok(logged(pair, /limit reached, client ended: wl_compositor\.create_region makes 65 live objects/), 'the host logged why');
  t.ok(logged(pair, /last 20 messages of client \d+:/), 'and the messages that led there');
  t.ok(logged(pair, /^host channel \d+ client \d+: warn: {4}-> wl_compositor#\d+\.create_region\(new id wl_region#\d+\)$/), 'formatted as WAYVIO_TRACE does');
  t.equal(bystander.process.proc.exitCode, null, 'the other client runs on');
  await bystander.stop();
  await stillServes(t, pair);
});

t.test('--max-fds: files and pipes the guest makes the host hold are counted; the one too many ends its client', async (t) => {
  const pair = await pairWith(t, { fds: 8 });
  const g = await rawGuest(t, pair);
  await g.openWithRegistry(1); // 1 fd: its compositor connection
  for (let r = 1; r <= 3; r++) g.send({ kind: FrameKind.FileCreate, conn: 1, resource: r, flags: 0, size: 16 }); // 4
  g.send({ kind: FrameKind.PipeOpen, conn: 1, resource: 4, mode: PipeMode.ReadEnd }); // 6: pipe end + bridge
  t.ok(await g.roundtrip(1), 'within the limit all is well');
  t.equal(pair.host.fdsInUse(), 6, 'the host holds 6 fds for it: connection, 3 files, a pipe end and its bridge');
  g.send({ kind: FrameKind.FileCreate, conn: 1, resource: 5, flags: 0, size: 16 }); // 7
  g.send({ kind: FrameKind.FileCreate, conn: 1, resource: 6, flags: 0, size: 16 }); // 8: the limit
  g.send({ kind: FrameKind.FileCreate, conn: 1, resource: 7, flags: 0, size: 16 }); // 9: one too many
  const close = await g.closeOf(1);
  t.equal(close?.code, CloseCode.QuotaExceeded, `ended: ${close?.reason}`);
  t.match(close?.reason, /the guest would make the host hold 9 fds, more than 8 \(--max-fds\)/);
  t.ok(await waitFor(() => pair.host.fdsInUse() === 0), 'every fd of that client is released');
  t.equal(pair.host.quota.used, 0, 'file bytes are uncharged too');
  await stillServes(t, pair);
});

t.test('--max-frame-size: the guest proxy keeps under it; a raw guest that does not loses its channel only', async (t) => {
  const pair = await pairWith(t, { frameSize: 16 * 1024 });
  const client = await startPatternClient(clients, pair, { width: 200, height: 200 });
  t.pass('a 200x200 client (160 KB buffers) is served through 16 KiB frames');
  const g = await rawGuest(t, pair);
  await g.openWithRegistry(1);
  g.send({ kind: FrameKind.ShmCreate, conn: 1, resource: 1, size: 64 * 1024 });
  g.send({ kind: FrameKind.ResWrite, conn: 1, resource: 1, offset: 0, data: new Uint8Array(32 * 1024) });
  const err = await g.closed;
  t.match(err?.message ?? '', /FRAME_TOO_LARGE/, `the raw channel ended: ${err?.message}`);
  t.ok(logged(pair, /bad frame from the peer: FRAME_TOO_LARGE/), 'the host logged the code');
  t.equal(client.process.proc.exitCode, null, 'the real client runs on');
  t.ok(pair.guest.connected, 'the real guest keeps its channel');
  await client.stop();
  await stillServes(t, pair);
});

t.test('--max-channels: a channel over the limit gets GOODBYE with the reason', async (t) => {
  const pair = await pairWith(t, { channels: 1 });
  const g = await RawGuest.attach(join(pair.env.XDG_RUNTIME_DIR, 'channel'));
  const err = await g.closed;
  t.match(err?.message ?? '', /peer said goodbye: at most 1 channels at once/, `refused: ${err?.message}`);
  t.ok(logged(pair, /refused: 1 channel\(s\) open, the limit is 1 \(--max-channels\)/), 'the host logged the refusal');
  t.equal(pair.host.totals.limitHits['max-channels'], 1, 'and counted it');
  t.ok(pair.guest.connected, 'the first channel is untouched');
  await stillServes(t, pair);
});

t.test('a limit hit ends that client only: requests of other clients on the same channel still flow', async (t) => {
  const pair = await pairWith(t, { objects: 32 });
  const g = await rawGuest(t, pair);
  const names = await g.openWithRegistry(1);
  await g.openWithRegistry(2);
  const comp = g.newId(1);
  const regions: Uint8Array[] = [request('wl_registry', 'bind', 2, [names.get('wl_compositor') ?? 0, { interface: 'wl_compositor', version: 1, id: comp }])];
  for (let i = 0; i < 40; i++) regions.push(request('wl_compositor', 'create_region', comp, [g.newId(1)]));
  g.wayland(1, regions);
  const close = await g.closeOf(1);
  t.equal(close?.code, CloseCode.QuotaExceeded, `client 1: ${close?.reason}`);
  t.ok(await g.roundtrip(2), 'client 2 answers a round trip');
});
