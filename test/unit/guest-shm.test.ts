// GuestShm without a compositor: what each commit sends (pread, sendfile, shadow, region), shrinking pools, a full region.
import { closeSync, ftruncateSync, mkdtempSync, readSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { checkFdLeaks } from '../helpers/fd-leak';
import { dup, memfdCreate } from '../../native/index';
import { FrameKind, type Frame } from '../../protocol/channel-frames';
import { GuestShm } from '../../guest-proxy/shm/guest-shm';
import { SharedRegion } from '../../guest-proxy/shm/shared-region';
import type { ShmPort, ShmStats } from '../../guest-proxy/shm/shm-port';

checkFdLeaks(t);

const WIDTH = 64;
const HEIGHT = 32;
const STRIDE = WIDTH * 4;
const BUFFER_BYTES = STRIDE * HEIGHT;
const ARGB8888 = 0;

/** A port that records what the shm owner sends, as the channel would carry it. */
class RecordingPort implements ShmPort {
  readonly conn = 7;
  readonly frames: Frame[] = [];
  readonly fileWrites: { resource: number; offset: number; length: number; bytes: Buffer }[] = [];
  readonly stats: ShmStats = { commits: 0, shmBytes: 0, shmBytesUnchanged: 0, regionBytes: 0 };
  flushes = 0;
  private nextResource = 1;

  constructor(readonly maxFrameData = 256 * 1024, private readonly filesToo = false) {}

  send(frame: Frame, flushed?: () => void): void {
    // the channel would write it later; copy the bytes now, as a lent view is only valid until then
    this.frames.push('data' in frame ? { ...frame, data: Buffer.from(frame.data) } : frame);
    flushed?.();
  }

  sendFromFile(resource: number, fd: number, offset: number, length: number): boolean {
    if (!this.filesToo) return false;
    const bytes = Buffer.alloc(length);
    readSync(fd, bytes, 0, length, offset);
    this.fileWrites.push({ resource, offset, length, bytes });
    this.frames.push({ kind: FrameKind.ResWrite, conn: this.conn, resource, offset, data: bytes });
    return true;
  }

  flush(): void {
    this.flushes++;
  }

  allocateResource(): number {
    return this.nextResource++;
  }

  /** The host's copy of `resource` after every write so far (what RES_WRITE and RES_WRITE_RECT frames put there). */
  hostBytes(resource: number, size: number): Buffer {
    const out = Buffer.alloc(size);
    for (const f of this.frames) {
      if (f.kind === FrameKind.ResWrite && f.resource === resource) out.set(f.data, f.offset);
      if (f.kind === FrameKind.ResWriteRect && f.resource === resource) {
        for (let r = 0; r < f.rows; r++) out.set(f.data.subarray(r * f.rowBytes, (r + 1) * f.rowBytes), f.offset + r * f.stride);
      }
    }
    return out;
  }

  dataFrames(): Frame[] {
    return this.frames.filter((f) => f.kind === FrameKind.ResWrite || f.kind === FrameKind.ResWriteRect);
  }
}

/** A client's memfd pool holding one buffer, filled with a pattern; `paint` changes one pixel. */
class ClientPool {
  readonly fd = memfdCreate('guest-shm-test');
  readonly pixels = Buffer.alloc(BUFFER_BYTES);

  constructor(seed: number) {
    for (let i = 0; i < BUFFER_BYTES; i++) this.pixels[i] = (i * 7 + seed) & 0xff;
    writeSync(this.fd, this.pixels, 0, BUFFER_BYTES, 0);
  }

  paint(x: number, y: number, value: number): void {
    const at = y * STRIDE + x * 4;
    this.pixels.fill(value, at, at + 4);
    writeSync(this.fd, this.pixels, at, 4, at);
  }
}

/** create_pool + create_buffer + a surface: ids pool 10, buffer 11, surface 12. Returns the pool's resource. */
function setUp(shm: GuestShm, pool: ClientPool): number {
  const resources: number[] = [];
  t.ok(shm.request('wl_shm.create_pool', 3, [10, null, BUFFER_BYTES], [dup(pool.fd)], resources), 'create_pool takes its fd');
  shm.request('wl_shm_pool.create_buffer', 10, [11, 0, WIDTH, HEIGHT, STRIDE, ARGB8888], [], []);
  return resources[0];
}

function commit(shm: GuestShm, damage: [number, number, number, number], attach = true): void {
  if (attach) shm.request('wl_surface.attach', 12, [11, 0, 0], [], []);
  shm.request('wl_surface.damage_buffer', 12, damage, [], []);
  shm.request('wl_surface.commit', 12, [], [], []);
}

function tearDown(shm: GuestShm, pool: ClientPool): void {
  shm.close();
  closeSync(pool.fd);
}

t.test('over the channel with pread: the first commit sends the whole buffer, later ones only their damage', async (t) => {
  const port = new RecordingPort();
  const shm = new GuestShm(port, null);
  const pool = new ClientPool(1);
  const resource = setUp(shm, pool);
  t.same(port.frames[0], { kind: FrameKind.ShmCreate, conn: 7, resource, size: BUFFER_BYTES }, 'SHM_CREATE first');
  commit(shm, [0, 0, 1, 1]);
  t.ok(port.hostBytes(resource, BUFFER_BYTES).equals(pool.pixels), 'the host holds the whole buffer after its first commit');
  t.equal(port.stats.shmBytes, BUFFER_BYTES);
  const before = port.frames.length;
  pool.paint(5, 6, 0xab);
  commit(shm, [5, 6, 1, 1]);
  const sent = port.frames.slice(before);
  t.equal(sent.length, 1, 'one frame for a one-pixel damage');
  t.equal(port.stats.shmBytes, BUFFER_BYTES + 4, 'of 4 bytes');
  t.ok(port.hostBytes(resource, BUFFER_BYTES).equals(pool.pixels), 'and the host is up to date');
  t.equal(port.stats.commits, 2);
  tearDown(shm, pool);
  t.same(port.frames.at(-1), { kind: FrameKind.ResDrop, conn: 7, resource }, 'the pool is dropped at close');
});

t.test('with sendfile: ranges come from the file in the kernel, rectangles are read, all cut to the frame limit', async (t) => {
  const port = new RecordingPort(4096, true);
  const shm = new GuestShm(port, null);
  const pool = new ClientPool(2);
  const resource = setUp(shm, pool);
  commit(shm, [0, 0, WIDTH, HEIGHT]);
  t.ok(port.fileWrites.length >= BUFFER_BYTES / 4096, `the whole buffer went by sendfile (${port.fileWrites.length} writes)`);
  t.ok(port.fileWrites.every((w) => w.length <= 4096 - 64), 'each within the frame limit');
  for (let y = 0; y < HEIGHT; y++) pool.paint(3, y, y);
  commit(shm, [2, 0, 3, HEIGHT]);
  const rects = port.frames.filter((f) => f.kind === FrameKind.ResWriteRect);
  t.ok(rects.length >= 1, 'a narrow rectangle goes as RES_WRITE_RECT');
  t.ok(port.dataFrames().every((f) => 'data' in f && f.data.byteLength <= 4096 - 64), 'every frame within the limit');
  t.ok(port.hostBytes(resource, BUFFER_BYTES).equals(pool.pixels), 'the host holds what the client drew');
  tearDown(shm, pool);
});

t.test('a client that redraws and damages everything gets a shadow; then only changes are sent', async (t) => {
  const port = new RecordingPort();
  const shm = new GuestShm(port, null);
  const pool = new ClientPool(3);
  const resource = setUp(shm, pool);
  commit(shm, [0, 0, WIDTH, HEIGHT]); // first commit: whole, no shadow yet
  t.equal(shm.pools.get(10)?.diff, 'later');
  commit(shm, [0, 0, WIDTH, HEIGHT]); // a redraw: the shadow is made and filled
  t.equal(typeof shm.pools.get(10)?.diff, 'object', 'the pool is compared from now on');
  const sentBefore = port.stats.shmBytes;
  pool.paint(10, 10, 0x55);
  commit(shm, [0, 0, WIDTH, HEIGHT]);
  t.ok(port.stats.shmBytes - sentBefore <= 64, `a one-pixel change of a full damage sends a few bytes (${port.stats.shmBytes - sentBefore})`);
  t.ok(port.stats.shmBytesUnchanged >= BUFFER_BYTES - 64, 'the rest is counted as unchanged');
  t.ok(port.hostBytes(resource, BUFFER_BYTES).equals(pool.pixels), 'the host holds what the client drew');
  tearDown(shm, pool);
});

t.test('comparing stops for a client whose every frame changes everything', async (t) => {
  const port = new RecordingPort();
  const shm = new GuestShm(port, null);
  const pool = new ClientPool(4);
  const resource = setUp(shm, pool);
  for (let frame = 0; frame < 8; frame++) {
    for (let y = 0; y < HEIGHT; y++) for (let x = 0; x < WIDTH; x++) pool.paint(x, y, frame);
    commit(shm, [0, 0, WIDTH, HEIGHT]);
  }
  t.equal(shm.pools.get(10)?.diff, 'off', 'off after a window that saved nothing');
  t.ok(port.hostBytes(resource, BUFFER_BYTES).equals(pool.pixels), 'the host holds the last frame');
  tearDown(shm, pool);
});

t.test('a pool the client shrinks under the guest: pread sends what is there, the guest does not fault', async (t) => {
  const port = new RecordingPort();
  const shm = new GuestShm(port, null);
  const pool = new ClientPool(5);
  setUp(shm, pool);
  commit(shm, [0, 0, WIDTH, HEIGHT]);
  commit(shm, [0, 0, WIDTH, HEIGHT]); // the shadow maps the pool
  ftruncateSync(pool.fd, BUFFER_BYTES / 2);
  commit(shm, [0, 0, WIDTH, HEIGHT]);
  const p = shm.pools.get(10)!;
  t.equal(p.viewFailed, true, 'the mapping found the file short and is not used again');
  t.equal(p.diff, 'off', 'comparing is off');
  const before = port.stats.shmBytes;
  commit(shm, [0, 0, WIDTH, HEIGHT]);
  t.ok(port.stats.shmBytes > before, 'later commits still send, by pread');
  tearDown(shm, pool);
});

t.test('with a shared region: damage is copied into the pool\'s block and nothing crosses the channel', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wayvio-guest-shm-'));
  const regionFile = join(dir, 'region');
  writeFileSync(regionFile, Buffer.alloc(4 * BUFFER_BYTES));
  const region = SharedRegion.open(regionFile);
  const port = new RecordingPort();
  const shm = new GuestShm(port, region);
  const pool = new ClientPool(6);
  setUp(shm, pool);
  const ref = port.frames.find((f) => f.kind === FrameKind.ShmRef);
  t.ok(ref !== undefined && ref.kind === FrameKind.ShmRef && ref.size === BUFFER_BYTES, 'SHM_REF names the block');
  const base = ref !== undefined && ref.kind === FrameKind.ShmRef ? ref.regionOffset : -1;
  commit(shm, [0, 0, WIDTH, HEIGHT]);
  t.equal(port.dataFrames().length, 0, 'no pixel frames');
  t.ok(Buffer.from(region.bytes.subarray(base, base + BUFFER_BYTES)).equals(pool.pixels), 'the block holds the buffer');
  t.equal(port.stats.regionBytes, BUFFER_BYTES);
  // shrinking under the mapping: zeros for what is gone, then pread
  ftruncateSync(pool.fd, BUFFER_BYTES / 2);
  commit(shm, [0, 0, WIDTH, HEIGHT]);
  t.equal(shm.pools.get(10)?.viewFailed, true, 'the guarded copy found the file short');
  t.ok(region.bytes.subarray(base + BUFFER_BYTES / 2, base + BUFFER_BYTES).every((b) => b === 0), 'what was past its end arrived as zeros');
  // the region has room for 4 such pools; growing this one to 5 cannot fit
  ftruncateSync(pool.fd, 5 * BUFFER_BYTES);
  t.throws(() => shm.request('wl_shm_pool.resize', 10, [5 * BUFFER_BYTES], [], []), /region \(\d+ bytes\) is full/, 'a full region is the client\'s error, said so');
  t.equal(shm.pools.get(10)?.size, BUFFER_BYTES, 'and the pool is as it was');
  tearDown(shm, pool);
  region.close();
  rmSync(dir, { recursive: true, force: true });
});

t.test('a pool lives while its buffers do, and is dropped once both are gone', async (t) => {
  const port = new RecordingPort();
  const shm = new GuestShm(port, null);
  const pool = new ClientPool(7);
  const resource = setUp(shm, pool);
  shm.request('wl_shm_pool.destroy', 10, [], [], []);
  t.notOk(port.frames.some((f) => f.kind === FrameKind.ResDrop), 'not while the buffer lives');
  shm.request('wl_buffer.destroy', 11, [], [], []);
  t.same(port.frames.at(-1), { kind: FrameKind.ResDrop, conn: 7, resource }, 'dropped with its last buffer');
  tearDown(shm, pool);
  t.equal(port.frames.filter((f) => f.kind === FrameKind.ResDrop).length, 1, 'once');
});

t.test('a pool fd that is not a file, or smaller than the pool, is refused and closed', async (t) => {
  const port = new RecordingPort();
  const shm = new GuestShm(port, null);
  const pool = new ClientPool(8);
  t.throws(() => shm.request('wl_shm.create_pool', 3, [10, null, 2 * BUFFER_BYTES], [dup(pool.fd)], []), /does not fit the \d+-byte fd/);
  t.equal(port.frames.length, 0, 'nothing was sent');
  tearDown(shm, pool);
});
