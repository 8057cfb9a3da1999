// Region allocator: alignment, first fit, growth in place, merging on release, and a random soak against a model.
import t from 'tap';
import { checkFdLeaks } from '../helpers/fd-leak';
import { Prng } from '../helpers/prng';
import { REGION_ALIGN, RegionAllocator } from '../../protocol/region-allocator';

checkFdLeaks(t);

t.test('alloc, grow, release', async (t) => {
  const a = new RegionAllocator(64 * 1024 + 100);
  t.equal(a.alloc(0), null, 'zero bytes is no block');
  const x = a.alloc(1)!;
  const y = a.alloc(5000)!;
  t.equal(x, 0);
  t.equal(y, REGION_ALIGN, 'page aligned');
  t.equal(a.bytesUsed, 3 * REGION_ALIGN);
  t.notOk(a.grow(x, 2 * REGION_ALIGN), 'x cannot grow into y');
  t.ok(a.grow(y, 10 * REGION_ALIGN), 'y grows into the free space after it');
  t.equal(a.alloc(10 * REGION_ALIGN), null, 'the rest is too small (the tail past the last page is unusable)');
  a.release(x);
  a.release(y);
  t.equal(a.bytesUsed, 0);
  t.equal(a.alloc(16 * REGION_ALIGN), 0, 'freed blocks merged back into one');
});

t.test('random allocations never overlap and all space comes back', async (t) => {
  const size = 256 * REGION_ALIGN;
  const a = new RegionAllocator(size);
  const rng = new Prng(7);
  const live = new Map<number, number>();
  let overlaps = 0;
  for (let i = 0; i < 5000; i++) {
    const op = rng.below(3);
    if (op === 0 || live.size === 0) {
      const want = 1 + rng.below(20 * REGION_ALIGN);
      const off = a.alloc(want);
      if (off === null) continue;
      for (const [o, s] of live) if (off < o + s && o < off + want) overlaps++;
      if (off + want > size) overlaps++;
      live.set(off, want);
    } else if (op === 1) {
      const [o] = [...live.keys()].slice(rng.below(live.size));
      a.release(o);
      live.delete(o);
    } else {
      const [o, s] = [...live.entries()][rng.below(live.size)];
      const bigger = s + rng.below(8 * REGION_ALIGN);
      if (a.grow(o, bigger)) {
        for (const [o2, s2] of live) if (o2 !== o && o < o2 + s2 && o2 < o + bigger) overlaps++;
        live.set(o, bigger);
      }
    }
  }
  t.equal(overlaps, 0, 'no two live blocks overlap');
  for (const o of live.keys()) a.release(o);
  t.equal(a.bytesUsed, 0);
  t.equal(a.alloc(size), 0, 'the whole region is one free block again');
});
