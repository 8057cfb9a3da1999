// Each ceiling of one guest client, reached on purpose: the request one past it throws QuotaError naming the ceiling; below it, and after frees, it passes.
import t from 'tap';
import { CEILINGS, Ceilings } from '../../host-proxy/model/ceilings';
import { SurfaceRoles } from '../../host-proxy/model/surface-roles';
import { QuotaError } from '../../host-proxy/host-pools';
import type { ArgValue } from '../../protocol/wire-codec';

/** The number of the request that threw QuotaError (1-based), with its error; null when none did. */
function firstOver(send: (i: number) => void, count: number): { at: number; error: QuotaError } | null {
  for (let i = 1; i <= count; i++) {
    try {
      send(i);
    } catch (e) {
      if (!(e instanceof QuotaError)) throw e;
      return { at: i, error: e };
    }
  }
  return null;
}

t.test('the ceilings are generous numbers', async (t) => {
  t.same(CEILINGS, { bufferSide: 16384, surfaces: 4096, subsurfaces: 1024, subsurfaceDepth: 16, framesPending: 1024, regionRectangles: 1024, popupsOpen: 64 });
});

t.test('live wl_surfaces: the one past the ceiling ends the client; destroyed ones do not count', async (t) => {
  const c = new Ceilings();
  const over = firstOver((i) => c.request('wl_compositor.create_surface', 3, [100 + i]), CEILINGS.surfaces + 5);
  t.equal(over?.at, CEILINGS.surfaces + 1);
  t.equal(over?.error.limit, 'ceiling-surfaces');
  t.match(over?.error.message, /wl_compositor#3\.create_surface makes 4097 live wl_surfaces, more than 4096 \(the surfaces ceiling\)/);
  const d = new Ceilings();
  t.equal(firstOver((i) => {
    d.request('wl_compositor.create_surface', 3, [100 + i]);
    d.request('wl_surface.destroy', 100 + i, []);
  }, CEILINGS.surfaces * 2), null, 'created and destroyed, again and again');
});

t.test('live wl_subsurfaces', async (t) => {
  const c = new Ceilings();
  const over = firstOver((i) => c.request('wl_subcompositor.get_subsurface', 4, [5000 + i, 100 + i, 1]), CEILINGS.subsurfaces + 5);
  t.equal(over?.at, CEILINGS.subsurfaces + 1);
  t.equal(over?.error.limit, 'ceiling-subsurfaces');
  const d = new Ceilings();
  for (let i = 1; i <= CEILINGS.subsurfaces; i++) d.request('wl_subcompositor.get_subsurface', 4, [5000 + i, 100 + i, 1]);
  d.request('wl_subsurface.destroy', 5001, []);
  t.doesNotThrow(() => d.request('wl_subcompositor.get_subsurface', 4, [9999, 9999, 1]), 'one destroyed, one more');
});

t.test('sub-surface depth, growing down a chain or by hanging a deep tree below a leaf', async (t) => {
  const roles = new SurfaceRoles();
  const over = firstOver((i) => roles.request('wl_subcompositor.get_subsurface', 4, [500 + i, 100 + i, 99 + i]), 40);
  t.equal(over?.at, CEILINGS.subsurfaceDepth + 1, 'surface 100 is the root, 16 levels below it pass');
  t.equal(over?.error.limit, 'ceiling-subsurfaceDepth');
  t.match(over?.error.message, /makes a sub-surface tree 17 deep/);
  const joined = new SurfaceRoles();
  const chain = (base: number, n: number): void => {
    for (let i = 1; i <= n; i++) joined.request('wl_subcompositor.get_subsurface', 4, [base * 10 + i, base + i, base + i - 1]);
  };
  chain(1000, 10);
  chain(2000, 10);
  t.throws(() => joined.request('wl_subcompositor.get_subsurface', 4, [7, 2000, 1010]), QuotaError, 'two trees of 10 joined make 21 levels');
});

t.test('frame callbacks the compositor has not answered', async (t) => {
  const c = new Ceilings();
  const frame = (i: number): void => c.request('wl_surface.frame', 10, [1000 + i]);
  const over = firstOver(frame, CEILINGS.framesPending + 5);
  t.equal(over?.at, CEILINGS.framesPending + 1);
  t.equal(over?.error.limit, 'ceiling-framesPending');
  const d = new Ceilings();
  for (let i = 1; i <= CEILINGS.framesPending; i++) d.request('wl_surface.frame', 10, [1000 + i]);
  d.event?.('wl_callback.done', 1001, [5]);
  d.event?.('wl_display.delete_id', 1, [1002]);
  t.doesNotThrow(() => d.request('wl_surface.frame', 10, [5001]), 'one answered with done');
  t.doesNotThrow(() => d.request('wl_surface.frame', 10, [5002]), 'one freed with its surface (delete_id)');
  t.throws(() => d.request('wl_surface.frame', 10, [5003]), QuotaError, 'and then the ceiling again');
  const steady = new Ceilings();
  t.equal(firstOver((i) => {
    steady.request('wl_surface.frame', 10, [20]);
    steady.event?.('wl_callback.done', 20, [i]);
    steady.event?.('wl_display.delete_id', 1, [20]);
  }, 5000), null, 'a client drawing frame after frame never gets near it');
});

t.test('rectangles of one wl_region', async (t) => {
  const c = new Ceilings();
  c.request('wl_compositor.create_region', 3, [40]);
  const rect: ArgValue[] = [0, 0, 1, 1];
  const over = firstOver((i) => c.request(i % 2 === 0 ? 'wl_region.add' : 'wl_region.subtract', 40, rect), CEILINGS.regionRectangles + 5);
  t.equal(over?.at, CEILINGS.regionRectangles + 1);
  t.equal(over?.error.limit, 'ceiling-regionRectangles');
  t.match(over?.error.message, /wl_region#40\.(add|subtract) gives it 1025 rectangles/);
  c.request('wl_region.destroy', 40, []);
  c.request('wl_compositor.create_region', 3, [40]);
  t.doesNotThrow(() => c.request('wl_region.add', 40, rect), 'a new region under the same id starts at 0');
});

t.test('buffer sides', async (t) => {
  const c = new Ceilings();
  t.doesNotThrow(() => c.request('wl_shm_pool.create_buffer', 5, [10, 0, 16384, 16384, 65536, 0]), '16384 x 16384 passes');
  t.equal(firstOver(() => c.request('wl_shm_pool.create_buffer', 5, [11, 0, 16385, 1, 65540, 0]), 1)?.error.limit, 'ceiling-bufferSide', '16385 wide');
  t.equal(firstOver(() => c.request('wl_shm_pool.create_buffer', 5, [12, 0, 1, 16385, 4, 0]), 1)?.error.limit, 'ceiling-bufferSide', '16385 high');
});
