// Damage math and per-buffer dirty tracking: what bytes each commit must send, including double buffering.
import t from 'tap';
import { checkFdLeaks } from '../helpers/fd-leak';
import { DamageRegion, boundingBox, bytesPerPixel, damageWrites, mergeRanges, rectPieces, surfaceToBuffer } from '../../protocol/damage';
import { ShmTracker } from '../../guest-proxy/shm/shm-tracker';
import type { GuestPool } from '../../guest-proxy/shm/shm-types';

checkFdLeaks(t);

const layout = { offset: 1000, width: 100, height: 50, stride: 400, bpp: 4 };

t.test('surface damage converts to buffer coordinates only when that is certain', async (t) => {
  t.same(surfaceToBuffer({ x: 1, y: 2, w: 3, h: 4 }, 2, 0, false), { x: 2, y: 4, w: 6, h: 8 });
  t.equal(surfaceToBuffer({ x: 1, y: 2, w: 3, h: 4 }, 1, 1, false), null, 'a transform: whole buffer');
  t.equal(surfaceToBuffer({ x: 1, y: 2, w: 3, h: 4 }, 1, 0, true), null, 'a viewport: whole buffer');
});

t.test('writes for full, wide, narrow, clipped and unknown-format damage', async (t) => {
  const full = new DamageRegion();
  full.addFull();
  t.same(damageWrites(full, layout, 1 << 20), { ranges: [{ start: 1000, end: 1000 + 49 * 400 + 400 }], rects: [] });
  const wide = new DamageRegion();
  wide.add({ x: 10, y: 5, w: 80, h: 2 });
  t.same(damageWrites(wide, layout, 1 << 20).ranges, [{ start: 1000 + 5 * 400, end: 1000 + 6 * 400 + 400 }], 'most of a row: whole rows');
  const narrow = new DamageRegion();
  narrow.add({ x: 10, y: 5, w: 8, h: 3 });
  t.same(damageWrites(narrow, layout, 1 << 20), { ranges: [], rects: [{ start: 1000 + 5 * 400 + 40, stride: 400, rowBytes: 32, rows: 3 }] }, 'narrow: a strided rect');
  const outside = new DamageRegion();
  outside.add({ x: -50, y: 45, w: 60, h: 100 });
  t.same(damageWrites(outside, layout, 1 << 20).rects, [{ start: 1000 + 45 * 400, stride: 400, rowBytes: 40, rows: 5 }], 'clipped to the buffer');
  t.same(damageWrites(narrow, { ...layout, bpp: null }, 1 << 20).ranges, [{ start: 1000 + 5 * 400, end: 1000 + 7 * 400 + 400 }], 'unknown format: whole rows');
  t.same(damageWrites(narrow, layout, 1000 + 6 * 400 + 40 + 32).rects[0].rows, 2, 'rows past the pool end are dropped');
  t.same(damageWrites(full, layout, 3000).ranges, [{ start: 1000, end: 3000 }], 'ranges clamp to the pool');
});

t.test('ranges merge when close, many rects collapse to their bounding box', async (t) => {
  t.same(mergeRanges([{ start: 200, end: 300 }, { start: 0, end: 50 }, { start: 330, end: 400 }], 1000), [{ start: 0, end: 50 }, { start: 200, end: 400 }], 'gaps up to 64 bytes merge, wider ones do not');
  const many = new DamageRegion();
  for (let i = 0; i < 40; i++) many.add({ x: i, y: i, w: 1, h: 1 });
  t.ok(many.rects.length <= 32, `the list stays bounded (${many.rects.length})`);
  const same = new DamageRegion();
  same.add({ x: 5, y: 5, w: 10, h: 10 });
  same.add({ x: 5, y: 5, w: 10, h: 10 });
  same.add({ x: 6, y: 6, w: 2, h: 2 });
  t.same(same.rects, [{ x: 5, y: 5, w: 10, h: 10 }], 'covered rects are not added again');
  t.same(boundingBox(many.rects), { x: 0, y: 0, w: 40, h: 40 }, 'and still covers every rect');
  t.equal(bytesPerPixel(0), 4, 'argb8888');
  t.equal(bytesPerPixel(0x34325258), 4, 'XR24 fourcc');
  t.equal(bytesPerPixel(0x3231564e), null, 'NV12 is not a packed format');
});

t.test('double buffering: each buffer gets the damage since it was last sent', async (t) => {
  const released: GuestPool[] = [];
  const tracker = new ShmTracker((p) => released.push(p), () => undefined);
  tracker.addPool({ id: 10, resource: 1, fd: -1, size: 2 * 100 * 400, alive: true, buffers: 0, block: null, view: null, viewFailed: false, diff: 'later' });
  tracker.addBuffer(20, 10, 0, 100, 100, 400, 1);
  tracker.addBuffer(21, 10, 40000, 100, 100, 400, 1);
  const s = tracker.surface(30);
  const frame = (buffer: number, rect: { x: number; y: number; w: number; h: number }) => {
    tracker.attach(30, buffer);
    s.bufferDamage.push(rect);
    return tracker.commit(30);
  };
  const first = frame(20, { x: 0, y: 0, w: 100, h: 100 });
  t.same(first?.writes.ranges, [{ start: 0, end: 40000 }], 'first commit of A: whole');
  t.equal(first?.sentWhole, true);
  t.same(frame(21, { x: 0, y: 10, w: 100, h: 1 })?.writes.ranges, [{ start: 40000, end: 80000 }], 'first commit of B: whole');
  const third = frame(20, { x: 0, y: 20, w: 100, h: 1 });
  t.same(third?.writes.ranges, [{ start: 10 * 400, end: 11 * 400 }, { start: 20 * 400, end: 21 * 400 }], 'A again: its own damage plus what B changed');
  t.equal(third?.damagedWhole, false, 'a row is not a redraw');
  t.equal(third?.sentWhole, false, 'nor does it send the whole buffer');
  const fourth = frame(21, { x: 0, y: 30, w: 100, h: 1 });
  t.same(fourth?.writes.ranges, [{ start: 40000 + 20 * 400, end: 40000 + 21 * 400 }, { start: 40000 + 30 * 400, end: 40000 + 31 * 400 }]);
  const redraw = frame(20, { x: -5, y: 0, w: 200, h: 100 });
  t.equal(redraw?.damagedWhole, true, 'damage over the whole buffer is a redraw');
  t.equal(frame(21, { x: 0, y: 0, w: 100, h: 99 })?.damagedWhole, false, 'all but a row is not, whatever the buffer owes from A');
  t.equal(tracker.commit(30), null, 'a commit without damage sends nothing');
  tracker.destroyPool(10);
  t.same(released, [], 'the pool lives while buffers do');
  tracker.destroyBuffer(20);
  tracker.destroyBuffer(21);
  t.same(released.map((p) => p.id), [10], 'then it is released');
});

t.test('rectPieces: frames of whole rows, and strips of columns for rows wider than a frame', async (t) => {
  const bytesOf = (w: { start: number; stride: number; rowBytes: number; rows: number }): number[] => {
    const out: number[] = [];
    for (let r = 0; r < w.rows; r++) for (let b = 0; b < w.rowBytes; b++) out.push(w.start + r * w.stride + b);
    return out;
  };
  const rect = { start: 100, stride: 1000, rowBytes: 300, rows: 7 };
  const pieces = [...rectPieces(rect, 1000)];
  t.same(pieces.map((p) => p.rows), [3, 3, 1], 'three rows of 300 bytes fit in 1000');
  t.same(pieces.flatMap(bytesOf), bytesOf(rect), 'every byte once, in order');
  const wide = { start: 0, stride: 5000, rowBytes: 2500, rows: 2 };
  const strips = [...rectPieces(wide, 1000)];
  t.ok(strips.every((p) => p.rows * p.rowBytes <= 1000), 'each piece fits');
  t.same(strips.flatMap(bytesOf).sort((a, b) => a - b), bytesOf(wide), 'the strips cover the rectangle exactly');
});
