// Channel codec: round trip of every frame kind, reassembly at every split point, and every malformed case.
import t, { type Test } from 'tap';
import { checkFdLeaks } from '../helpers/fd-leak';
import { decodeFrame, encodeFrame, readFrameHeader } from '../../protocol/channel-codec';
import { ChannelReader } from '../../protocol/channel-reader';
import {
  CHANNEL_VERSION, ChannelError, DEFAULT_MAX_FRAME_SIZE, FrameKind, PipeMode, type Frame,
} from '../../protocol/channel-frames';

checkFdLeaks(t);

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

const sample: Frame[] = [
  { kind: FrameKind.Hello, conn: 0, minVersion: 1, maxVersion: CHANNEL_VERSION, capabilities: 1, maxFrameSize: DEFAULT_MAX_FRAME_SIZE, shmRegionSize: 64 * 1024 * 1024, software: 'wayvio 0.1.0' },
  { kind: FrameKind.Goodbye, conn: 0, code: 0, reason: 'shutting down' },
  { kind: FrameKind.Open, conn: 7, description: 'pid 42 weston-simple-shm' },
  { kind: FrameKind.Close, conn: 7, code: 1, reason: 'wl_surface#12: bad damage' },
  { kind: FrameKind.Wayland, conn: 7, resources: [3, 5], data: hex('01000000 00000c00 02000000') },
  { kind: FrameKind.ShmCreate, conn: 7, resource: 3, size: 8294400 },
  { kind: FrameKind.ShmResize, conn: 7, resource: 3, size: 2 ** 40 },
  { kind: FrameKind.ResWrite, conn: 7, resource: 3, offset: 4096, data: new Uint8Array(1000).fill(0xab) },
  { kind: FrameKind.ShmRef, conn: 7, resource: 9, regionOffset: 1 << 20, size: 1 << 16 },
  { kind: FrameKind.ResDrop, conn: 7, resource: 3 },
  { kind: FrameKind.FileCreate, conn: 7, resource: 0x80000001, flags: 1, size: 48000 },
  { kind: FrameKind.PipeOpen, conn: 7, resource: 11, mode: PipeMode.WriteEnd },
  { kind: FrameKind.PipeData, conn: 7, resource: 11, data: new TextEncoder().encode('clipboard text') },
  { kind: FrameKind.PipeClose, conn: 7, resource: 11 },
  { kind: FrameKind.Credit, conn: 7, resource: 11, bytes: 65536 },
  { kind: FrameKind.ResWriteRect, conn: 7, resource: 3, offset: 7680 * 10 + 400, stride: 7680, rowBytes: 8, rows: 3, data: new Uint8Array(24).fill(7) },
];

function decodeOne(bytes: Uint8Array): Frame {
  const h = readFrameHeader(bytes, 0, DEFAULT_MAX_FRAME_SIZE);
  if (h === null) throw new Error('short');
  return decodeFrame(bytes, h);
}

t.test('every frame kind round-trips', async (t) => {
  for (const f of sample) t.same(decodeOne(encodeFrame(f)), f, FrameKind[f.kind]);
});

t.test('hex fixtures from docs/channel-protocol.md', async (t) => {
  t.equal(toHex(encodeFrame({ kind: FrameKind.Open, conn: 7, description: 'pid 42' })), '14000000' + '10000000' + '07000000' + '0600' + '706964203432');
  t.equal(toHex(encodeFrame({ kind: FrameKind.PipeClose, conn: 7, resource: 11 })), '10000000' + '42000000' + '07000000' + '0b000000');
  t.equal(toHex(encodeFrame({ kind: FrameKind.Wayland, conn: 7, resources: [3], data: hex('01000000 00000c00 02000000') })),
    '20000000' + '12000000' + '07000000' + '01000000' + '03000000' + '0100000000000c0002000000');
  t.equal(toHex(encodeFrame({ kind: FrameKind.ResWrite, conn: 2, resource: 1, offset: 16, data: hex('aabbccdd') })),
    '20000000' + '22000000' + '02000000' + '01000000' + '00000000' + '1000000000000000' + 'aabbccdd');
});

/** Joins the consecutive parts a streamed RES_WRITE or PIPE_DATA frame arrives in. */
function coalesce(frames: Frame[]): Frame[] {
  const out: Frame[] = [];
  for (const f of frames) {
    const last = out[out.length - 1];
    const joinable = last !== undefined && last.kind === f.kind && last.conn === f.conn &&
      ((f.kind === FrameKind.ResWrite && last.kind === FrameKind.ResWrite && last.resource === f.resource && last.offset + last.data.byteLength === f.offset) ||
       (f.kind === FrameKind.PipeData && last.kind === FrameKind.PipeData && last.resource === f.resource));
    if (joinable) (last as { data: Uint8Array }).data = Buffer.concat([(last as { data: Uint8Array }).data, (f as { data: Uint8Array }).data]);
    else out.push({ ...f });
  }
  return out;
}

t.test('a stream split at every byte yields the same frames', async (t) => {
  const stream = Buffer.concat(sample.map((f) => encodeFrame(f)));
  for (const step of [1, 3, 7, 12, 13, 64, 1000, stream.byteLength]) {
    const r = new ChannelReader();
    const got: Frame[] = [];
    for (let i = 0; i < stream.byteLength; i += step) got.push(...r.push(Uint8Array.from(stream.subarray(i, i + step))));
    t.same(coalesce(got).map(plain), sample.map(plain), `chunks of ${step}`);
    t.equal(r.pendingBytes, 0);
  }
});

t.test('a large RES_WRITE split across chunks streams out in parts without copies', async (t) => {
  const data = Uint8Array.from({ length: 10000 }, (_, i) => i & 0xff);
  const bytes = encodeFrame({ kind: FrameKind.ResWrite, conn: 3, resource: 5, offset: 1000, data });
  const r = new ChannelReader();
  const chunks = [bytes.slice(0, 20), bytes.slice(20, 3000), bytes.slice(3000, 9000), bytes.slice(9000)];
  const parts = chunks.flatMap((c) => r.push(c)) as (Frame & { offset: number; data: Uint8Array })[];
  t.same(parts.map((p) => [p.offset, p.data.byteLength]), [[1000, 2972], [3972, 6000], [9972, 1028]], 'consecutive parts at the right offsets');
  t.equal(parts[1].data.buffer, chunks[2].buffer, 'parts are views of the received chunks');
  t.same(Buffer.concat(parts.map((p) => p.data)), Buffer.from(data));
  t.throws(() => new ChannelReader().push(Uint8Array.from([...bytes.slice(0, 16), 1, 0, 0, 0, ...bytes.slice(20, 40)])), { code: 'BAD_RESERVED' }, 'the fixed fields are validated before streaming');
});

t.test('frameRemainder: what a begun frame still lacks, and 0 at a frame start or while data streams', async (t) => {
  const wayland = encodeFrame({ kind: FrameKind.Wayland, conn: 2, resources: [], data: new Uint8Array(100) });
  const r = new ChannelReader();
  t.equal(r.frameRemainder, 0, 'nothing received');
  r.push(wayland.slice(0, 10));
  t.equal(r.frameRemainder, 0, 'the header is not complete');
  r.push(wayland.slice(10, 40));
  t.equal(r.frameRemainder, wayland.byteLength - 40);
  t.equal(r.push(wayland.slice(40)).length, 1);
  t.equal(r.frameRemainder, 0, 'at a frame start');
  const write = encodeFrame({ kind: FrameKind.ResWrite, conn: 2, resource: 1, offset: 0, data: new Uint8Array(5000) });
  r.push(write.slice(0, 100));
  t.equal(r.frameRemainder, 0, 'a RES_WRITE streams: its data is not held back');
});

function plain(f: Frame): unknown {
  return 'data' in f ? { ...f, data: Buffer.from(f.data).toString('hex') } : f;
}

t.test('frames within one chunk are views, not copies', async (t) => {
  const bytes = encodeFrame(sample[7]);
  const [f] = new ChannelReader().push(bytes) as [Frame & { data: Uint8Array }];
  t.equal(f.data.buffer, bytes.buffer);
});

function expectCode(t: Test, code: string, bytes: Uint8Array, what: string, max = DEFAULT_MAX_FRAME_SIZE): void {
  const r = new ChannelReader(max);
  try {
    r.push(bytes);
    t.fail(`${what}: no error`);
  } catch (e) {
    t.ok(e instanceof ChannelError, `${what}: ChannelError`);
    t.equal((e as ChannelError).code, code, `${what}: ${(e as Error).message}`);
  }
  t.throws(() => r.push(new Uint8Array(0)), { code }, `${what}: the reader stays failed`);
}

function patch(frame: Frame, at: number, bytes: number[]): Uint8Array {
  const b = Uint8Array.from(encodeFrame(frame));
  b.set(bytes, at);
  return b;
}

function le32(n: number): number[] {
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24];
}

t.test('malformed frames are typed errors', async (t) => {
  expectCode(t, 'FRAME_TOO_SMALL', hex('04000000 10000000 07000000'), 'size below header');
  expectCode(t, 'FRAME_TOO_LARGE', hex('ffffffff 12000000 07000000'), 'absurd size');
  expectCode(t, 'FRAME_TOO_LARGE', encodeFrame(sample[7]), 'above negotiated limit', 100);
  expectCode(t, 'UNKNOWN_FRAME_KIND', hex('0c000000 77000000 07000000'), 'unknown kind');
  expectCode(t, 'BAD_RESERVED', patch(sample[9], 5, [1]), 'header flags');
  expectCode(t, 'BAD_RESERVED', patch(sample[5], 16, [1]), 'payload reserved');
  expectCode(t, 'BAD_CONNECTION_ID', patch(sample[2], 8, [0]), 'open on connection 0');
  expectCode(t, 'BAD_CONNECTION_ID', patch(sample[0], 8, [1]), 'hello on a connection');
  expectCode(t, 'BAD_PAYLOAD_SIZE', hex('0c000000 24000000 07000000'), 'drop without resource');
  expectCode(t, 'BAD_PAYLOAD_SIZE', hex('14000000 24000000 07000000 03000000 00000000'), 'trailing bytes');
  expectCode(t, 'BAD_PAYLOAD_SIZE', hex('1a000000 12000000 07000000 00000000 01000000 00000c00 0200'), 'wayland data not whole words');
  expectCode(t, 'BAD_PAYLOAD_SIZE', hex('14000000 12000000 07000000 01000000 03000000'), 'wayland without message');
  expectCode(t, 'BAD_PAYLOAD_SIZE', hex('14000000 12000000 07000000 05000000 03000000'), 'resource ids do not fit');
  expectCode(t, 'TOO_MANY_FDS', hex('14000000 12000000 07000000 00100000 03000000'), 'fd count absurd');
  expectCode(t, 'BAD_VALUE', patch(sample[9], 12, le32(0)), 'resource 0');
  expectCode(t, 'BAD_VALUE', patch(sample[5], 20, [0, 0, 0, 0, 0, 0, 0, 0x80]), 'size beyond 2^53');
  expectCode(t, 'BAD_VALUE', patch(sample[11], 16, le32(9)), 'pipe mode');
  expectCode(t, 'BAD_VALUE', patch(sample[10], 16, le32(6)), 'file flags');
  expectCode(t, 'BAD_VALUE', patch(sample[14], 16, le32(0)), 'zero credit');
  expectCode(t, 'BAD_PAYLOAD_SIZE', hex('10000000 22000000 07000000 01000000'), 'write too short');
  expectCode(t, 'BAD_PAYLOAD_SIZE', hex('1c000000 22000000 07000000 01000000 00000000 00000000 00000000'), 'write without data');
  expectCode(t, 'BAD_STRING', patch(sample[2], 12, [0xff, 0x00]), 'string past end');
  expectCode(t, 'BAD_STRING', patch(sample[2], 14, [0xc3, 0x28]), 'invalid utf-8');
  expectCode(t, 'BAD_MAGIC', patch(sample[0], 12, [0x58]), 'hello magic');
  const rect = sample.findIndex((f) => f.kind === FrameKind.ResWriteRect);
  expectCode(t, 'BAD_VALUE', patch(sample[rect], 28, le32(4)), 'rect stride below row bytes');
  expectCode(t, 'BAD_PAYLOAD_SIZE', patch(sample[rect], 32, le32(4)), 'rect data does not match rows');
  expectCode(t, 'BAD_VALUE', patch(sample[rect], 32, le32(0)), 'rect without rows');
  expectCode(t, 'BAD_VALUE', patch(sample[0], 20, [2, 0, 1, 0]), 'hello version range');
  expectCode(t, 'BAD_VALUE', patch(sample[0], 28, le32(16)), 'hello max frame tiny');
});

t.test('encoder refuses what the decoder would refuse', async (t) => {
  t.throws(() => encodeFrame({ kind: FrameKind.Wayland, conn: 1, resources: new Array(256).fill(1), data: new Uint8Array(8) }), { code: 'TOO_MANY_FDS' });
  t.throws(() => encodeFrame({ kind: FrameKind.Open, conn: 1, description: 'x'.repeat(5000) }), { code: 'BAD_STRING' });
});
