// The shared-memory fast path on one machine: both proxies map one file, as QEMU's ivshmem backend would be.
import { closeSync, ftruncateSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { checkFdLeaks } from '../helpers/fd-leak';
import { startWeston, clientEnv, type Compositor } from '../../harness/compositors';
import { sleep, spawnManaged } from '../../harness/processes';
import { startProxyPair, type ProxyPair } from '../helpers/proxy-pair';
import { RawClient } from '../helpers/raw-client';
import { describeSearch, findPattern, screenshot } from '../helpers/screenshot';
import { buildTestClients, startPatternClient, type TestClients } from '../../harness/test-clients';
import { dup, memfdCreate } from '../../native/index';
import type { GuestClient } from '../../guest-proxy/guest-client';

checkFdLeaks(t);

const REGION = 32 * 1024 * 1024;
let weston: Compositor;
let pair: ProxyPair;
let clients: TestClients;
let dir: string;

t.before(async () => {
  clients = await buildTestClients();
  weston = await startWeston();
  dir = mkdtempSync(join(tmpdir(), 'wayvio-region-'));
  const file = join(dir, 'region');
  const fd = openSync(file, 'w');
  ftruncateSync(fd, REGION);
  closeSync(fd);
  pair = await startProxyPair({ compositorPath: weston.socketPath, shm: file });
});
t.teardown(async () => {
  await pair?.stop();
  await weston?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function guestClients(): GuestClient[] {
  return [...(pair.guest as unknown as { clients: Map<number, GuestClient> }).clients.values()];
}

t.test('both sides agree to use the region', async (t) => {
  t.ok(pair.logs.some((l) => /guest: channel up: .*shared memory on/.test(l)), 'guest says shared memory is on');
  t.ok(pair.logs.some((l) => /host channel \d+: guest connected .*shared memory on/.test(l)), 'host says so too');
});

t.test('pixels arrive exactly, and no pixel bytes cross the channel', async (t) => {
  const client = await startPatternClient(clients, pair, { width: 320, height: 240 });
  try {
    const found = findPattern(await screenshot(weston), 320, 240);
    t.ok(found.position !== null, `pattern found: ${describeSearch(found)}`);
    const [c] = guestClients();
    t.equal(c.stats.shmBytes, 0, 'nothing sent over the channel');
    t.ok(c.stats.regionBytes >= 320 * 240 * 4, `the whole buffer was copied into the region once (${c.stats.regionBytes} bytes)`);
  } finally {
    await client.stop();
  }
});

t.test('weston-simple-shm animates through the region', async (t) => {
  const ch = [...pair.host.channels.values()][0];
  const before = ch.session.stats.bytesIn;
  const proc = spawnManaged('weston-simple-shm', [], { env: clientEnv(pair.env) });
  await sleep(1500);
  const commits = guestClients()[0]?.stats.commits ?? 0;
  t.equal(proc.proc.exitCode, null, `still running (${proc.stderrTail()})`);
  await proc.stop();
  const perFrame = (ch.session.stats.bytesIn - before) / Math.max(1, commits);
  t.ok(commits > 20, `${commits} frames`);
  t.ok(perFrame < 2000, `only messages on the channel: ${perFrame.toFixed(0)} bytes per frame`);
});

t.test('pool growth in place, by moving, and the host checks buffer offsets', async (t) => {
  const c = new RawClient(pair.socketPath);
  const reg = await c.getRegistry();
  const shm = c.bind(reg, 'wl_shm', 1);
  const fd = memfdCreate('grower');
  ftruncateSync(fd, 1 << 20);
  const pool = c.send(shm, 'create_pool', [0, 0, 4096], [dup(fd)]);
  c.send(pool, 'resize', [8192]);
  const blocker = c.send(shm, 'create_pool', [0, 0, 4096], [dup(fd)]);
  c.send(pool, 'resize', [1 << 20]);
  c.send(pool, 'create_buffer', [0, (1 << 20) - 4096, 32, 32, 128, 1]);
  await c.roundtrip();
  t.equal(c.error(), undefined, 'growing (in place, then by moving) works');
  c.send(blocker, 'create_buffer', [0, 0, 64, 64, 256, 1]);
  await c.roundtrip();
  t.ok(c.error() === undefined || c.closed, 'a buffer beyond its 4096-byte pool is refused');
  t.ok(pair.logs.some((l) => /create_buffer: 64x64 stride 256 at 0 does not fit the 4096-byte pool/.test(l)), 'the host refused it');
  closeSync(fd);
  c.close();
});

t.test('a client that shrinks its pool under the guest\'s mapping gets zeros; nobody crashes', async (t) => {
  const bystander = await startPatternClient(clients, pair, { width: 64, height: 64 });
  const c = new RawClient(pair.socketPath);
  const reg = await c.getRegistry();
  const compositor = c.bind(reg, 'wl_compositor', 4);
  const shm = c.bind(reg, 'wl_shm', 1);
  const size = 64 * 64 * 4;
  const fd = memfdCreate('shrinker');
  writeSync(fd, Buffer.alloc(size, 0x11));
  const pool = c.send(shm, 'create_pool', [0, 0, size], [dup(fd)]);
  const buffer = c.send(pool, 'create_buffer', [0, 0, 64, 64, 256, 1]);
  const surface = c.send(compositor, 'create_surface', [0]);
  const commit = async (): Promise<void> => {
    c.send(surface, 'attach', [buffer, 0, 0]);
    c.send(surface, 'damage_buffer', [0, 0, 64, 64]);
    c.send(surface, 'commit', []);
    await c.roundtrip();
  };
  const regionBytes = (): Buffer => {
    const guestPool = [...guestClients().at(-1)!.shm.pools.values()][0]; // this client connected last
    const out = Buffer.alloc(size);
    const r = openSync(join(dir, 'region'), 'r');
    readSync(r, out, 0, size, guestPool!.block!.offset);
    closeSync(r);
    return out;
  };
  await commit();
  t.equal(regionBytes().every((b) => b === 0x11), true, 'the first commit copied the pixels from the mapping');
  ftruncateSync(fd, 0);
  await commit();
  t.equal(c.error(), undefined, 'no error for the client');
  t.notOk(c.closed, 'the client is still connected');
  t.equal(regionBytes().every((b) => b === 0), true, 'the bytes past the new end arrived as zeros');
  ftruncateSync(fd, size);
  writeSync(fd, Buffer.alloc(size, 0x22), 0, size, 0);
  await commit();
  t.equal(regionBytes().every((b) => b === 0x22), true, 'the pool grew back: later commits read the file again (pread)');
  t.equal(bystander.process.proc.exitCode, null, 'the other client keeps running');
  closeSync(fd);
  c.close();
  await bystander.stop();
});
