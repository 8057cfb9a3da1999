// Over the channel the guest sends only bytes that changed since the host got them, checked in pixels
// on the host: a client that damages everything but changes little, one that changes everything
// (diffing switches itself off), and a pool that grows.
import { closeSync, ftruncateSync, writeSync } from 'node:fs';
import t from 'tap';
import { checkFdLeaks } from '../helpers/fd-leak';
import { startProxyPair, westonPairForFile } from '../helpers/proxy-pair';
import { RawClient } from '../helpers/raw-client';
import { describeSearch, findPattern, patternPixel, screenshot } from '../helpers/screenshot';
import { dup, memfdCreate } from '../../native/index';
import type { GuestClient } from '../../guest-proxy/guest-client';

checkFdLeaks(t);

const W = 160;
const H = 120;
const STRIDE = W * 4;
const BUFFER_BYTES = STRIDE * H;
const fixture = westonPairForFile(t);

function guestClients(): GuestClient[] {
  return [...(fixture.pair.guest as unknown as { clients: Map<number, GuestClient> }).clients.values()];
}

/** The pattern with a square of side 8 at (x, y) in `color`, or the pattern alone. */
function picture(square: { x: number; y: number; color: number } | null): (x: number, y: number) => number {
  return (x, y) => (square !== null && x >= square.x && x < square.x + 8 && y >= square.y && y < square.y + 8 ? square.color : patternPixel(x, y));
}

function paint(fd: number, base: number, pixel: (x: number, y: number) => number): void {
  const bytes = Buffer.alloc(BUFFER_BYTES);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) bytes.writeUInt32LE(pixel(x, y) >>> 0, y * STRIDE + x * 4);
  writeSync(fd, bytes, 0, bytes.byteLength, base);
}

/** A toplevel with a pool of `buffers` buffers (at least `poolBytes`); commit() paints a buffer, damages all of it and waits for its frame. */
async function window(buffers: number, poolBytes = buffers * BUFFER_BYTES) {
  const c = new RawClient(fixture.pair.socketPath);
  const { surface, shm } = await c.toplevel();
  const fd = memfdCreate('diff-test');
  ftruncateSync(fd, poolBytes);
  const pool = c.send(shm, 'create_pool', [0, 0, poolBytes], [dup(fd)]);
  const ids = Array.from({ length: buffers }, (_, i) => c.send(pool, 'create_buffer', [0, i * BUFFER_BYTES, W, H, STRIDE, 1]));
  const commit = async (buffer: number, pixel: (x: number, y: number) => number): Promise<void> => {
    paint(fd, buffer * BUFFER_BYTES, pixel);
    c.send(surface, 'attach', [ids[buffer], 0, 0]);
    c.send(surface, 'damage_buffer', [0, 0, W, H]);
    const cb = c.send(surface, 'frame', [0]);
    c.send(surface, 'commit', []);
    await c.until(() => c.events.some((e) => e.objectId === cb && e.name === 'done'));
  };
  const guest = (): GuestClient => guestClients().at(-1)!;
  const close = (): void => {
    closeSync(fd);
    c.close();
  };
  return { c, fd, pool, surface, ids, commit, guest, close };
}

t.test('damage of everything for a small change: only the change crosses, and the host shows it exactly', async (t) => {
  const w = await window(2);
  await w.commit(0, picture(null));
  await w.commit(1, picture(null));
  t.equal(w.guest().shm.tracker.allPools()[0]!.diff, 'later', 'no shadow for first commits');
  // a redraw of a whole buffer sent before makes the shadow; each buffer is sent whole once more into it
  await w.commit(0, picture(null));
  await w.commit(1, picture(null));
  const before = { ...w.guest().stats };
  let last = null as { x: number; y: number; color: number } | null;
  for (let i = 0; i < 10; i++) {
    last = { x: 10 + i * 13, y: 20 + i * 7, color: 0xff000000 | (0x1f3f7f * (i + 1)) };
    await w.commit(i % 2, picture(last));
  }
  const s = w.guest().stats;
  const sent = s.shmBytes - before.shmBytes;
  const damaged = 10 * BUFFER_BYTES;
  t.ok(sent < damaged / 20, `sent ${sent} of ${damaged} damaged bytes`);
  t.equal(s.shmBytesUnchanged - before.shmBytesUnchanged, damaged - sent, 'the rest counted as unchanged');
  t.equal(typeof w.guest().shm.tracker.allPools()[0]!.diff, 'object', 'diffing stays on');
  const found = findPattern(await screenshot(fixture.weston), W, H, picture(last));
  t.ok(found.position !== null, `the host shows the last frame: ${describeSearch(found)}`);
  t.equal(w.c.error(), undefined, 'no protocol error');
  w.close();
});

t.test('a client that damages only what it changed gets no shadow: its damage goes out as before', async (t) => {
  const w = await window(2);
  await w.commit(0, picture(null));
  await w.commit(1, picture(null));
  for (let i = 0; i < 6; i++) {
    const square = { x: 8 * i, y: 8 * i, color: 0xff00ff00 };
    paint(w.fd, (i % 2) * BUFFER_BYTES, picture(square));
    w.c.send(w.surface, 'attach', [w.ids[i % 2], 0, 0]);
    w.c.send(w.surface, 'damage_buffer', [0, 0, W, 8 * i + 8]);
    const cb = w.c.send(w.surface, 'frame', [0]);
    w.c.send(w.surface, 'commit', []);
    await w.c.until(() => w.c.events.some((e) => e.objectId === cb && e.name === 'done'));
  }
  t.equal(w.guest().shm.tracker.allPools()[0]!.diff, 'later', 'never compared, no memory spent on a copy');
  t.equal(w.guest().stats.shmBytesUnchanged, 0);
  w.close();
});

t.test('a client that changes every byte: diffing switches off, the damage goes out whole, the picture stays right', async (t) => {
  const w = await window(2);
  let pixel = picture(null);
  for (let i = 0; i < 8; i++) {
    pixel = ((k) => (x: number, y: number) => (patternPixel(x, y) ^ (0x010203 * (k + 1))) >>> 0)(i);
    await w.commit(i % 2, pixel);
  }
  t.equal(w.guest().shm.tracker.allPools()[0]!.diff, 'off', 'off after a window that saved nothing');
  const sentBefore = w.guest().stats.shmBytes;
  await w.commit(0, picture(null));
  t.equal(w.guest().stats.shmBytes - sentBefore, BUFFER_BYTES, 'the next commit sends its whole damage');
  const found = findPattern(await screenshot(fixture.weston), W, H, picture(null));
  t.ok(found.position !== null, `the host shows it: ${describeSearch(found)}`);
  w.close();
});

t.test('a pool that grows: the shadow grows with it, and a buffer in the new part arrives exactly', async (t) => {
  const w = await window(1);
  await w.commit(0, picture(null));
  await w.commit(0, picture(null));
  ftruncateSync(w.fd, 2 * BUFFER_BYTES);
  w.c.send(w.pool, 'resize', [2 * BUFFER_BYTES]);
  const grown = w.c.send(w.pool, 'create_buffer', [0, BUFFER_BYTES, W, H, STRIDE, 1]);
  const square = { x: 60, y: 60, color: 0xff123456 };
  paint(w.fd, BUFFER_BYTES, picture(square));
  w.c.send(w.surface, 'attach', [grown, 0, 0]);
  w.c.send(w.surface, 'damage_buffer', [0, 0, W, H]);
  const cb = w.c.send(w.surface, 'frame', [0]);
  w.c.send(w.surface, 'commit', []);
  await w.c.until(() => w.c.events.some((e) => e.objectId === cb && e.name === 'done'));
  const diff = w.guest().shm.tracker.allPools()[0]!.diff;
  t.ok(typeof diff === 'object' && diff.shadow.byteLength === 2 * BUFFER_BYTES, 'the shadow covers the grown pool');
  const found = findPattern(await screenshot(fixture.weston), W, H, picture(square));
  t.ok(found.position !== null, `the host shows the new buffer: ${describeSearch(found)}`);
  t.equal(w.c.error(), undefined, 'no protocol error');
  w.close();
});

t.test('a pool too large to keep a copy of is not compared: its damage goes out whole', async (t) => {
  const w = await window(1, 129 * 1024 * 1024);
  await w.commit(0, picture(null));
  const sentBefore = w.guest().stats.shmBytes;
  await w.commit(0, picture(null));
  t.equal(w.guest().shm.tracker.allPools()[0]!.diff, 'off', 'no shadow for a 129 MiB pool');
  t.equal(w.guest().stats.shmBytes - sentBefore, BUFFER_BYTES, 'an unchanged frame is sent whole');
  const found = findPattern(await screenshot(fixture.weston), W, H, picture(null));
  t.ok(found.position !== null, `the host shows it: ${describeSearch(found)}`);
  w.close();
});

t.test('rectangles with rows wider than the host allows in a frame go out in pieces, compared or not', async (t) => {
  // a host that takes frames of at most 8 KiB; rows of 8160 bytes in a 16800-byte stride are a narrow rectangle
  const small = await startProxyPair({ compositorPath: fixture.weston.socketPath, limits: { frameSize: 8192 } });
  t.teardown(() => small.stop());
  const width = 4200;
  const height = 4;
  const stride = width * 4;
  const c = new RawClient(small.socketPath);
  const { surface, shm } = await c.toplevel();
  const fd = memfdCreate('wide-test');
  ftruncateSync(fd, stride * height);
  const pool = c.send(shm, 'create_pool', [0, 0, stride * height], [dup(fd)]);
  const buffer = c.send(pool, 'create_buffer', [0, 0, width, height, stride, 1]);
  const frame = async (fill: number, damage: [number, number, number, number]): Promise<void> => {
    writeSync(fd, Buffer.alloc(stride * height, fill), 0, stride * height, 0);
    c.send(surface, 'attach', [buffer, 0, 0]);
    c.send(surface, 'damage_buffer', damage);
    c.send(surface, 'commit', []);
    await c.roundtrip();
  };
  await frame(1, [0, 0, 2040, 2]); // the first commit sends all of the buffer anyway
  await frame(2, [0, 0, 2040, 2]); // a narrow rectangle, sent whole
  await frame(3, [0, 0, width, height]); // a redraw: the shadow is made
  await frame(4, [0, 0, width, height]);
  await frame(5, [0, 0, 2040, 2]); // a narrow rectangle, compared
  t.equal(c.error(), undefined, 'no protocol error');
  t.ok(small.logs.every((l) => !/FRAME_TOO_LARGE|bad frame/.test(l)), 'the host took every frame');
  const client = [...(small.guest as unknown as { clients: Map<number, GuestClient> }).clients.values()][0]!;
  t.equal(typeof client.shm.tracker.allPools()[0]!.diff, 'object', 'the last frames went through the comparison');
  closeSync(fd);
  c.close();
});
