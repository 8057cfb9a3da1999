// diffRows: finds what changed in a mapping against a shadow copy and brings the shadow up to date.
import t from 'tap';
import { ftruncateSync } from 'node:fs';
import { checkFdLeaks } from '../helpers/fd-leak';
import { DIFF_GAP_BYTES, closeAll, diffRows, maxDiffSpans, memfdCreate, mmap, munmap } from '../../native/index';

checkFdLeaks(t);

function mapping(size: number): { fd: number; src: ArrayBuffer; bytes: Uint8Array } {
  const fd = memfdCreate('wayvio-diff');
  ftruncateSync(fd, size);
  const src = mmap(fd, size, 0, true);
  return { fd, src, bytes: new Uint8Array(src) };
}

/** Runs diffRows over rows and returns the spans, each with the shadow's bytes right after. */
function diff(src: ArrayBuffer, shadow: Uint8Array, offset: number, rowBytes: number, rows = 1, stride = rowBytes) {
  const spans = new Float64Array(2 * maxDiffSpans(rowBytes, rows));
  const r = diffRows(src, shadow, offset, rowBytes, rows, stride, spans);
  const list: { offset: number; length: number; data: Uint8Array }[] = [];
  for (let i = 0; i < r.spans; i++) {
    const [at, length] = [spans[2 * i]!, spans[2 * i + 1]!];
    list.push({ offset: at, length, data: shadow.slice(at, at + length) });
  }
  return { intact: r.intact, spans: list };
}

t.test('random changes: the spans carry every changed byte, and the shadow ends equal to the source', async (t) => {
  const size = 256 * 1024;
  const { fd, src, bytes } = mapping(size);
  let seed = 11;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed % n;
  };
  for (let i = 0; i < size; i++) bytes[i] = rand(256);
  const shadow = bytes.slice();
  for (let round = 0; round < 20; round++) {
    const before = shadow.slice();
    for (let k = rand(40); k > 0; k--) {
      const at = rand(size - 300);
      bytes.fill(rand(256), at, at + 1 + rand(300));
    }
    const start = rand(4096);
    const length = size - start - rand(4096);
    const { intact, spans } = diff(src, shadow, start, length);
    t.ok(intact);
    t.same(shadow.subarray(start, start + length), bytes.subarray(start, start + length), `round ${round}: the shadow caught up`);
    let last = start;
    for (const s of spans) {
      t.ok(s.offset >= last && s.offset + s.length <= start + length, 'spans in order, inside the range');
      t.same(s.data, bytes.subarray(s.offset, s.offset + s.length), 'the shadow holds the source bytes of the span');
      last = s.offset + s.length;
    }
    // every byte that differed from the old shadow is inside some span
    const covered = new Uint8Array(size);
    for (const s of spans) covered.fill(1, s.offset, s.offset + s.length);
    let missed = 0;
    for (let i = start; i < start + length; i++) if (before[i] !== bytes[i] && covered[i] === 0) missed++;
    t.equal(missed, 0, 'no changed byte left out');
    // outside the range nothing moved
    t.same(shadow.subarray(0, start), before.subarray(0, start));
  }
  munmap(src);
  closeAll([fd]);
});

t.test('nearby changes make one span, distant ones two; nothing changed, nothing sent', async (t) => {
  const { fd, src, bytes } = mapping(64 * 1024);
  const shadow = new Uint8Array(64 * 1024);
  t.same(diff(src, shadow, 0, 65536).spans, [], 'equal: no spans');
  bytes[100] = 1;
  bytes[100 + DIFF_GAP_BYTES / 2] = 1;
  bytes[20000] = 1;
  const spans = diff(src, shadow, 0, 65536).spans.map((s) => [s.offset, s.length]);
  t.same(spans, [[64, 128 + 64], [19968, 64]], 'changes in 64-byte blocks; the close pair shares a span');
  t.same(diff(src, shadow, 0, 65536).spans, [], 'the shadow is up to date now');
  munmap(src);
  closeAll([fd]);
});

t.test('strided rows: only the rows are compared and copied', async (t) => {
  const { fd, src, bytes } = mapping(16 * 1024);
  bytes.fill(7);
  const shadow = new Uint8Array(16 * 1024);
  const { spans } = diff(src, shadow, 1024, 128, 4, 1024);
  t.same(spans.map((s) => [s.offset, s.length]), [[1024, 128], [2048, 128], [3072, 128], [4096, 128]]);
  t.equal(shadow[1024 + 128], 0, 'bytes between the rows are not touched');
  t.equal(shadow[1024 + 127], 7);
  munmap(src);
  closeAll([fd]);
});

t.test('bad arguments throw before anything is read', async (t) => {
  const { fd, src } = mapping(8192);
  const shadow = new Uint8Array(8192);
  const spans = new Float64Array(2 * maxDiffSpans(8192));
  t.throws(() => diffRows(src, shadow, 0, 8192, 1, 8192, new Float64Array(2)), { code: 'ERANGE' }, 'spans too small');
  t.throws(() => diffRows(src, new Uint8Array(4096), 0, 8192, 1, 8192, spans), { code: 'ERANGE' }, 'past the shadow');
  t.throws(() => diffRows(src, shadow, 4096, 8192, 1, 8192, spans), { code: 'ERANGE' }, 'past the source');
  t.throws(() => diffRows(src, shadow, 0, 16, 2 ** 40, 2 ** 40, spans), { code: 'ERANGE' }, 'huge rows do not wrap around');
  t.throws(() => diffRows(new ArrayBuffer(8192), shadow, 0, 16, 1, 16, spans), { code: 'EINVAL' }, 'the source must come from mmap');
  t.throws(() => diffRows(src, shadow, -64, 16, 1, 16, spans), { code: 'ERR_OUT_OF_RANGE' }, 'sizes are whole numbers >= 0');
  t.throws(() => diffRows(src, shadow, 0, 1.5, 1, 16, spans), { code: 'ERR_OUT_OF_RANGE' });
  t.throws(() => diffRows(src, shadow, 0, 16, 1, 16, new Uint32Array(4) as unknown as Float64Array), { name: 'TypeError' }, 'spans must be a Float64Array');
  munmap(src);
  closeAll([fd]);
});

t.test('a file that shrank under the mapping reads as zeros: the shadow holds what was sent', async (t) => {
  const { fd, src, bytes } = mapping(1024 * 1024);
  bytes.fill(0x5a);
  const shadow = new Uint8Array(1024 * 1024).fill(0x11);
  ftruncateSync(fd, 4096);
  const { intact, spans } = diff(src, shadow, 0, 1024 * 1024);
  t.equal(intact, false, 'the fault is reported');
  t.ok(spans.length > 0, 'the changes before the fault are reported');
  t.ok(shadow.subarray(8192).every((b) => b === 0), 'past the end: zeros, in the shadow as in what is sent');
  munmap(src);
  closeAll([fd]);
});
