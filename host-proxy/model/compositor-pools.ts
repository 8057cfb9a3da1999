// The shm pools as the compositor holds them for one client: the memory behind each, and how many mappings it keeps.
import { ProtocolError } from '../../protocol/protocol-error';
import type { ArgValue } from '../../protocol/wire-codec';
import type { HostPool, HostPools, HostRegion, RegionRef } from '../host-pools';
import { bytesPerPixel } from './shm-formats';

/**
 * What the compositor got with wl_shm.create_pool: a dup of a memfd pool (the compositor maps that file;
 * its size only grows, and it outlives the guest's resource id), or the shared-memory region.
 */
export type PoolMemory = { kind: 'memfd'; pool: HostPool } | { kind: 'region'; resource: number };

interface CompositorPool {
  memory: PoolMemory;
  /** The size the compositor maps now: from create_pool, then each resize. */
  size: number;
  /** The wl_shm_pool is not destroyed yet (its id may be reused once it is). */
  alive: boolean;
  buffers: number;
}

/**
 * libwayland-server keeps a pool's mapping while the wl_shm_pool or any wl_buffer made from it lives, so
 * each such pool is one mapping in the compositor (vm.max_map_count is the compositor's, not ours).
 */
export class CompositorPools {
  /** Live wl_shm_pools by id. */
  private readonly pools = new Map<number, CompositorPool>();
  /** Every pool the compositor maps: the live ones and destroyed ones a buffer keeps, whose ids may be reused. */
  private readonly mapped = new Set<CompositorPool>();
  /** wl_buffer id → the pool it was made from. */
  private readonly bufferPools = new Map<number, CompositorPool>();
  /** The formats wl_shm.format announced; argb8888 (0) and xrgb8888 (1) every compositor supports. */
  private readonly formats = new Set<number>([0, 1]);

  constructor(private readonly hostPools: HostPools) {}

  /** Pools the compositor maps for this client now. */
  get mappings(): number {
    return this.mapped.size;
  }

  /**
   * Checks and records a wl_shm, wl_shm_pool or wl_buffer request (`resource`: that of the message's fd).
   * Returns the args the compositor gets instead, null to forward it unchanged, or 'drop'. Region pools
   * change on their way: the compositor maps the whole region, so sizes become the region's, resizes are
   * dropped and buffer offsets are shifted by the pool's place in it.
   */
  request(name: string, id: number, args: ArgValue[], resource: number | undefined): ArgValue[] | null | 'drop' {
    switch (name) {
      case 'wl_shm.create_pool': {
        const memory = this.create(id, args[0] as number, resource, args[2] as number);
        return memory.kind === 'region' ? [args[0], args[1], (this.hostPools.region as HostRegion).size] : null;
      }
      case 'wl_shm_pool.resize':
        this.resize(id, args[0] as number);
        return this.pools.get(id)?.memory.kind === 'region' ? 'drop' : null;
      case 'wl_shm_pool.create_buffer': {
        const [buffer, offset, width, height, stride, format] = args as number[];
        const shifted = this.createBuffer(id, buffer, offset, width, height, stride, format);
        return shifted === offset ? null : [buffer, shifted, width, height, stride, args[5]];
      }
      case 'wl_shm_pool.destroy':
        this.destroyPool(id);
        return null;
      case 'wl_buffer.destroy':
        this.destroyBuffer(id);
        return null;
      default:
        return null;
    }
  }

  /** wl_shm.format: a format the client may use. */
  event(name: string, _id: number, args: readonly ArgValue[]): void {
    if (name === 'wl_shm.format') this.formats.add(args[0] as number);
  }

  /** wl_shm.create_pool with the fd of `resource` and `size`: throws when it does not fit that memory. */
  private create(shmId: number, poolId: number, resource: number | undefined, size: number): PoolMemory {
    const memory = resource === undefined ? undefined : this.memoryOf(resource);
    if (memory === undefined) throw new ProtocolError('BAD_ARGUMENT', 'wl_shm.create_pool: the fd is not an shm pool resource (wl_shm.invalid_fd)', { objectId: shmId, entry: 'wl_shm.invalid_fd' });
    const have = this.sizeOf(memory);
    if (size <= 0) throw new ProtocolError('BAD_ARGUMENT', `wl_shm.create_pool: size ${size} is not positive (wl_shm.invalid_stride)`, { objectId: shmId, entry: 'wl_shm.invalid_stride' });
    if (size > have) throw new ProtocolError('BAD_ARGUMENT', `wl_shm.create_pool: size ${size} does not fit the ${have}-byte pool (wl_shm.invalid_fd)`, { objectId: shmId, entry: 'wl_shm.invalid_fd' });
    const pool: CompositorPool = { memory, size, alive: true, buffers: 0 };
    this.pools.set(poolId, pool);
    this.mapped.add(pool);
    return memory;
  }

  /** wl_shm_pool.resize: the protocol only lets a pool grow, and the host only as far as the memory the compositor maps. */
  private resize(poolId: number, size: number): void {
    const p = this.live(poolId, 'resize');
    const have = this.sizeOf(p.memory);
    if (size < p.size || size > have) {
      // libwayland-server posts invalid_stride for a shrinking pool; a pool grown past its file is an fd too small
      const entry = size < p.size ? 'wl_shm.invalid_stride' : 'wl_shm.invalid_fd';
      throw new ProtocolError('BAD_ARGUMENT', `wl_shm_pool#${poolId}.resize(${size}): a pool of ${p.size} bytes may grow only up to the ${have} bytes of memory the compositor maps (${entry})`, { objectId: poolId, entry });
    }
    p.size = size;
  }

  /**
   * wl_shm_pool.create_buffer: an announced format, rows of at least width * bytes per pixel (libwayland only
   * asks stride >= width, so a renderer would read the last row past the pool), and the buffer inside the pool
   * (overflow-safe: every term is a double). Returns the offset the compositor sees: a region pool's buffers
   * are shifted by its place in the region.
   */
  private createBuffer(poolId: number, bufferId: number, offset: number, width: number, height: number, stride: number, format: number): number {
    const p = this.live(poolId, 'create_buffer');
    if (!this.formats.has(format)) {
      throw new ProtocolError('BAD_ARGUMENT', `wl_shm_pool#${poolId}.create_buffer: format 0x${format.toString(16)} was not announced by wl_shm.format (wl_shm.invalid_format)`, { objectId: poolId, entry: 'wl_shm.invalid_format' });
    }
    const size = Math.min(p.size, this.sizeOf(p.memory));
    const row = width * bytesPerPixel(format);
    if (offset < 0 || width <= 0 || height <= 0 || stride < row || offset + stride * height > size) {
      throw new ProtocolError('BAD_ARGUMENT', `wl_shm_pool#${poolId}.create_buffer: ${width}x${height} stride ${stride} at ${offset} does not fit the ${size}-byte pool with rows of ${row} bytes (wl_shm.invalid_stride)`, { objectId: poolId, entry: 'wl_shm.invalid_stride' });
    }
    p.buffers++;
    this.bufferPools.set(bufferId, p);
    return p.memory.kind === 'region' ? (this.hostPools.ref(p.memory.resource) as RegionRef).offset + offset : offset;
  }

  private destroyPool(poolId: number): void {
    const p = this.pools.get(poolId);
    if (p === undefined) return;
    this.pools.delete(poolId);
    p.alive = false;
    this.release(p);
  }

  private destroyBuffer(bufferId: number): void {
    const p = this.bufferPools.get(bufferId);
    if (p === undefined) return;
    this.bufferPools.delete(bufferId);
    p.buffers--;
    this.release(p);
  }

  private release(p: CompositorPool): void {
    if (!p.alive && p.buffers === 0) this.mapped.delete(p);
  }

  private live(poolId: number, request: string): CompositorPool {
    const p = this.pools.get(poolId);
    if (p === undefined) throw new ProtocolError('UNKNOWN_OBJECT', `wl_shm_pool#${poolId}.${request}: not a live pool`);
    return p;
  }

  private memoryOf(resource: number): PoolMemory | undefined {
    if (this.hostPools.ref(resource) !== undefined) return { kind: 'region', resource };
    const pool = this.hostPools.get(resource);
    return pool === undefined ? undefined : { kind: 'memfd', pool };
  }

  /**
   * A memfd pool keeps its last size after the guest dropped it. A region pool is the block the guest
   * placed it in now (0 once dropped); the compositor maps the whole region and sees shifted offsets.
   */
  private sizeOf(memory: PoolMemory): number {
    if (memory.kind === 'memfd') return memory.pool.size;
    return this.hostPools.ref(memory.resource)?.size ?? 0;
  }
}
