// Seeded mutations of channel frames and Wayland messages: bit flips, lies in size fields, truncation, splicing,
// random kinds/connections/resources, huge sizes, and well-formed random frames.
import { encodeFrame } from '../../protocol/channel-codec';
import { FrameKind, PipeMode, type Frame } from '../../protocol/channel-frames';
import type { Prng } from '../helpers/prng';
import type { Corpus } from './corpus';

export const INTERESTING_U32 = [
  0, 1, 2, 3, 4, 7, 8, 11, 12, 13, 16, 255, 256, 4095, 4096, 4097, 65535, 65536, 0x3fffffff, 0x7fffffff,
  0x80000000, 0x80000001, 0xff000000, 0xfffffffe, 0xffffffff,
];
const INTERESTING_U64 = [0, 1, 4096, 2 ** 31, 2 ** 32, 2 ** 40, 2 ** 53 - 1, 2 ** 53, 2 ** 63, 2 ** 64 - 1];
const KINDS = Object.values(FrameKind).filter((v): v is number => typeof v === 'number');

/** A copy (Buffer's slice() would be a view). */
function copy(b: Uint8Array, end = b.byteLength): Uint8Array {
  return new Uint8Array(b.subarray(0, end));
}

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

function setSize(frame: Uint8Array, size = frame.byteLength): void {
  if (frame.byteLength >= 4) view(frame).setUint32(0, size >>> 0, true);
}

function interesting32(rng: Prng): number {
  return rng.below(4) === 0 ? rng.u32() : rng.pick(INTERESTING_U32);
}

function setU64(frame: Uint8Array, at: number, value: number): void {
  if (at + 8 > frame.byteLength) return;
  const v = view(frame);
  v.setUint32(at, value % 2 ** 32, true);
  v.setUint32(at + 4, Math.floor(value / 2 ** 32) % 2 ** 32, true);
}

/** A well-formed frame of a random kind with random (often hostile) field values. */
export function randomFrame(rng: Prng, conn: number): Uint8Array {
  const resource = rng.below(3) === 0 ? interesting32(rng) : 1 + rng.below(8);
  const size = rng.below(3) === 0 ? rng.pick(INTERESTING_U64.filter((n) => n <= 2 ** 53 - 1)) : rng.below(1 << 20);
  const data = rng.bytes(1 + rng.below(rng.below(8) === 0 ? 4000 : 64));
  const frames: Frame[] = [
    { kind: FrameKind.Open, conn, description: 'fuzz' },
    { kind: FrameKind.Close, conn, code: rng.below(7), reason: 'fuzz' },
    { kind: FrameKind.Wayland, conn, resources: Array.from({ length: rng.below(4) }, () => resource), data: alignedBytes(rng) },
    { kind: FrameKind.ShmCreate, conn, resource, size },
    { kind: FrameKind.ShmResize, conn, resource, size },
    { kind: FrameKind.ResWrite, conn, resource, offset: rng.below(3) === 0 ? size : rng.below(1 << 16), data },
    { kind: FrameKind.ShmRef, conn, resource, regionOffset: rng.below(1 << 20) * 4096, size },
    rectFrame(rng, conn, resource, size),
    { kind: FrameKind.ResDrop, conn, resource },
    { kind: FrameKind.FileCreate, conn, resource, flags: rng.below(2), size: size % (32 << 20) },
    { kind: FrameKind.PipeOpen, conn, resource, mode: rng.below(2) === 0 ? PipeMode.ReadEnd : PipeMode.WriteEnd },
    { kind: FrameKind.PipeData, conn, resource, data },
    { kind: FrameKind.PipeClose, conn, resource },
    { kind: FrameKind.Credit, conn, resource, bytes: 1 + rng.below(1 << 20) },
  ];
  return encodeFrame(rng.pick(frames));
}

/** RES_WRITE_RECT with rows that fit its data (as the codec demands) but hostile offsets and strides. */
function rectFrame(rng: Prng, conn: number, resource: number, size: number): Frame {
  const rowBytes = 1 + rng.below(64);
  const rows = 1 + rng.below(16);
  const stride = rng.below(4) === 0 ? rng.pick(INTERESTING_U32) : rowBytes + rng.below(4096);
  const offset = rng.below(3) === 0 ? size : rng.below(1 << 16);
  return { kind: FrameKind.ResWriteRect, conn, resource, offset, stride: Math.max(stride, rowBytes), rowBytes, rows, data: rng.bytes(rows * rowBytes) };
}

/** Random Wayland-looking bytes: headers with plausible object ids, opcodes and sizes. */
function alignedBytes(rng: Prng): Uint8Array {
  const words = 2 + rng.below(16);
  const out = new Uint8Array(words * 4);
  const v = view(out);
  for (let i = 0; i < words; i++) v.setUint32(i * 4, rng.below(2) === 0 ? rng.below(40) : interesting32(rng), true);
  v.setUint32(4, (Math.min(words * 4, 8 + 4 * rng.below(words)) << 16) | rng.below(8), true);
  return out;
}

/** Where each kind keeps its u64 sizes and offsets (from the frame's start). */
const U64_FIELDS: Partial<Record<number, number[]>> = {
  [FrameKind.ShmCreate]: [16], [FrameKind.ShmResize]: [16], [FrameKind.FileCreate]: [16], [FrameKind.ResWrite]: [16],
  [FrameKind.ShmRef]: [16, 24], [FrameKind.ResWriteRect]: [20],
};

type FrameMutation = (rng: Prng, frames: Uint8Array[], corpus: Corpus, conn: number) => void;

/** One frame (copied, so the corpus stays intact) picked at random; null when there is none. */
function pickIndex(rng: Prng, frames: Uint8Array[]): number {
  return frames.length === 0 ? -1 : rng.below(frames.length);
}

function mutateOne(frames: Uint8Array[], i: number, fn: (f: Uint8Array) => Uint8Array | void): void {
  if (i < 0) return;
  const c = copy(frames[i]);
  try {
    frames[i] = fn(c) ?? c;
  } catch (e) {
    if (!(e instanceof RangeError)) throw e; // a field beyond a frame cut short: leave the frame as it is
  }
}

/** Offsets of the messages in a WAYLAND frame's Wayland data (after the resource list). */
function waylandMessages(f: Uint8Array): { start: number; offsets: number[] } | null {
  if (f.byteLength < 16 || f[4] !== FrameKind.Wayland) return null;
  const n = view(f).getUint32(12, true);
  const start = 16 + 4 * n;
  if (start > f.byteLength) return null;
  const offsets: number[] = [];
  for (let off = start; off + 8 <= f.byteLength;) {
    offsets.push(off);
    const size = view(f).getUint32(off + 4, true) >>> 16;
    if (size < 8) break;
    off += size;
  }
  return { start, offsets };
}

export const MUTATIONS: Record<string, FrameMutation> = {
  bitFlip: (rng, frames) => mutateOne(frames, pickIndex(rng, frames), (f) => {
    for (let k = 1 + rng.below(4); k > 0; k--) {
      const bit = rng.below(f.byteLength * 8);
      f[bit >> 3] ^= 1 << (bit & 7);
    }
  }),
  byteSet: (rng, frames) => mutateOne(frames, pickIndex(rng, frames), (f) => {
    f[rng.below(f.byteLength)] = rng.below(2) === 0 ? rng.pick([0, 1, 0x7f, 0x80, 0xff]) : rng.below(256);
  }),
  u32Field: (rng, frames) => mutateOne(frames, pickIndex(rng, frames), (f) => {
    const at = 4 * rng.below(Math.floor(f.byteLength / 4));
    if (at === 0) return; // the size field has its own mutation
    view(f).setUint32(at, interesting32(rng), true);
  }),
  sizeLie: (rng, frames) => mutateOne(frames, pickIndex(rng, frames), (f) => {
    const lies = [f.byteLength - 4, f.byteLength + 4, f.byteLength - 1, 11, 0, 0xffffffff, 256 * 1024 + 12, 16 << 20, f.byteLength * 2];
    setSize(f, Math.max(0, rng.pick(lies)));
  }),
  truncate: (rng, frames) => mutateOne(frames, pickIndex(rng, frames), (f) => {
    const cut = copy(f, 1 + rng.below(Math.max(1, f.byteLength - 1)));
    if (rng.below(2) === 0) setSize(cut); // well framed but short of its payload; else the size lies
    return cut;
  }),
  extend: (rng, frames) => mutateOne(frames, pickIndex(rng, frames), (f) => {
    const more = new Uint8Array(f.byteLength + 1 + rng.below(64));
    more.set(f);
    more.set(rng.bytes(more.byteLength - f.byteLength), f.byteLength);
    if (rng.below(3) !== 0) setSize(more);
    return more;
  }),
  duplicate: (rng, frames) => {
    const i = pickIndex(rng, frames);
    if (i >= 0) frames.splice(rng.below(frames.length + 1), 0, frames[i]);
  },
  drop: (rng, frames) => {
    if (frames.length > 1) frames.splice(rng.below(frames.length), 1);
  },
  swap: (rng, frames) => {
    const i = pickIndex(rng, frames);
    const j = pickIndex(rng, frames);
    if (i >= 0) [frames[i], frames[j]] = [frames[j], frames[i]];
  },
  splice: (rng, frames, corpus, conn) => {
    const other = rng.pick(corpus.sessions);
    const from = rng.below(other.length);
    const piece = other.slice(from, from + 1 + rng.below(8)).map((f) => {
      const c = copy(f);
      if (rng.below(2) === 0) view(c).setUint32(8, conn, true); // into this connection, or alongside it
      return c;
    });
    frames.splice(rng.below(frames.length + 1), 0, ...piece);
  },
  kind: (rng, frames) => mutateOne(frames, pickIndex(rng, frames), (f) => {
    f[4] = rng.below(4) === 0 ? rng.below(256) : rng.pick(KINDS);
  }),
  conn: (rng, frames) => mutateOne(frames, pickIndex(rng, frames), (f) => {
    view(f).setUint32(8, rng.below(3) === 0 ? 0 : interesting32(rng), true);
  }),
  resource: (rng, frames) => mutateOne(frames, pickIndex(rng, frames), (f) => {
    if (f.byteLength >= 16 && f[4] >= FrameKind.ShmCreate) view(f).setUint32(12, interesting32(rng), true);
  }),
  hugeSize: (rng, frames) => {
    const sized = frames.map((f, i) => [f, i] as const).filter(([f]) => f.byteLength > 4 && U64_FIELDS[f[4]] !== undefined);
    if (sized.length === 0) return;
    mutateOne(frames, rng.pick(sized)[1], (f) => setU64(f, rng.pick(U64_FIELDS[f[4]] ?? [16]), rng.pick(INTERESTING_U64)));
  },
  rectStride: (rng, frames) => {
    const rects = frames.map((f, i) => [f, i] as const).filter(([f]) => f[4] === FrameKind.ResWriteRect);
    if (rects.length === 0) return;
    mutateOne(frames, rng.pick(rects)[1], (f) => view(f).setUint32(rng.pick([16, 28, 32]), interesting32(rng), true)); // rowBytes, stride, rows
  },
  waylandMessage: (rng, frames) => {
    const wl = frames.map((f, i) => [f, i] as const).filter(([f]) => f[4] === FrameKind.Wayland);
    if (wl.length === 0) return;
    mutateOne(frames, rng.pick(wl)[1], (f) => {
      const m = waylandMessages(f);
      if (m === null || m.offsets.length === 0) return;
      const at = rng.pick(m.offsets);
      const v = view(f);
      switch (rng.below(5)) {
        case 0: v.setUint32(at, rng.below(2) === 0 ? rng.below(64) : interesting32(rng), true); break; // object id
        case 1: v.setUint16(at + 4, rng.below(2) === 0 ? rng.below(24) : rng.below(65536), true); break; // opcode
        case 2: v.setUint16(at + 6, rng.pick([0, 4, 7, 8, 12, 4096, 65532, (v.getUint16(at + 6, true) + 4) & 0xffff]), true); break; // size
        case 3: if (at + 12 <= f.byteLength) v.setUint32(at + 8 + 4 * rng.below(Math.max(1, Math.floor((f.byteLength - at - 8) / 4))), interesting32(rng), true); break; // an argument
        default: { // resource count lies
          v.setUint32(12, rng.pick([0, 1, 2, 28, 255, 256, 0xffffffff]), true);
        }
      }
    });
  },
  randomFrame: (rng, frames, _corpus, conn) => {
    frames.splice(rng.below(frames.length + 1), 0, randomFrame(rng, rng.below(4) === 0 ? interesting32(rng) || 1 : conn));
  },
  garbage: (rng, frames) => {
    frames.splice(rng.below(frames.length + 1), 0, rng.bytes(1 + rng.below(64)));
  },
};

const NAMES = Object.keys(MUTATIONS);

/** A session's frames with its connection id changed to `conn`. */
export function renumber(session: Uint8Array[], conn: number): Uint8Array[] {
  return session.map((f) => {
    const c = copy(f);
    if (c.byteLength >= 12) view(c).setUint32(8, conn, true);
    return c;
  });
}

/** Applies `count` random mutations; returns their names. */
export function mutateFrames(rng: Prng, frames: Uint8Array[], corpus: Corpus, conn: number, count: number): string[] {
  const applied: string[] = [];
  for (let k = 0; k < count; k++) {
    const name = rng.pick(NAMES);
    MUTATIONS[name](rng, frames, corpus, conn);
    applied.push(name);
  }
  return applied;
}
