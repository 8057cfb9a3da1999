// CompositorPools: the mappings the compositor keeps per client, when a guest reuses wl_shm_pool ids.
import t from 'tap';
import { checkFdLeaks } from '../helpers/fd-leak';
import { CompositorPools } from '../../host-proxy/model/compositor-pools';
import { HostPools, ShmQuota } from '../../host-proxy/host-pools';
import { FrameKind } from '../../protocol/channel-frames';

checkFdLeaks(t);

const POOL_BYTES = 4096;

function withPools(fn: (pools: CompositorPools) => void): void {
  const hostPools = new HostPools(new ShmQuota(1 << 20, 1 << 20), () => true, null);
  t.equal(hostPools.onFrame({ kind: FrameKind.ShmCreate, conn: 1, resource: 1, size: POOL_BYTES }), null, 'the guest pool exists');
  try {
    fn(new CompositorPools(hostPools));
  } finally {
    hostPools.destroy();
  }
}

t.test('a pool id reused while a buffer keeps the old pool mapped: both count, and every buffer can be destroyed', async (t) => {
  withPools((pools) => {
    const createPool = (): unknown => pools.request('wl_shm.create_pool', 4, [5, 0, POOL_BYTES], 1);
    const createBuffer = (buffer: number): unknown => pools.request('wl_shm_pool.create_buffer', 5, [buffer, 0, 16, 16, 64, 0], undefined);
    createPool();
    createBuffer(10);
    pools.request('wl_shm_pool.destroy', 5, [], undefined);
    t.equal(pools.mappings, 1, 'buffer 10 keeps the first pool mapped');
    createPool();
    createBuffer(12);
    t.equal(pools.mappings, 2, 'the compositor maps the first pool and the second under the same id');
    pools.request('wl_shm_pool.destroy', 5, [], undefined);
    t.doesNotThrow(() => pools.request('wl_buffer.destroy', 10, [], undefined), 'buffer 10 of the first pool');
    t.equal(pools.mappings, 1, 'the first pool is gone with its last buffer');
    t.doesNotThrow(() => pools.request('wl_buffer.destroy', 12, [], undefined), 'buffer 12 of the second pool');
    t.equal(pools.mappings, 0, 'nothing mapped once every pool and buffer is destroyed');
  });
});

t.test('reusing one pool id cannot hide mappings from the count', async (t) => {
  withPools((pools) => {
    for (let i = 0; i < 50; i++) {
      pools.request('wl_shm.create_pool', 4, [5, 0, POOL_BYTES], 1);
      pools.request('wl_shm_pool.create_buffer', 5, [100 + i, 0, 16, 16, 64, 0], undefined);
      pools.request('wl_shm_pool.destroy', 5, [], undefined);
    }
    t.equal(pools.mappings, 50, 'one mapping per pool a live buffer keeps');
  });
});
