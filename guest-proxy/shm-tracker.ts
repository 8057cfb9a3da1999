// Guest side of shm: the client's pools, their buffers, and each surface's damage per buffer.
import type { RegionBlock } from './shared-region';
import type { PoolDiff } from './damage-diff';
import { bytesPerPixel, damageWrites, DamageRegion, surfaceToBuffer, type DamageWrites, type Rect } from '../protocol/damage';

/**
 * A client's pool. Over the channel its changed bytes go out (see damage-diff.ts), or all damaged
 * bytes with sendfile or pread once comparing does not pay. Into the shared
 * region they are copied from a read-only mapping (`view`) with a SIGBUS-guarded memcpy: a client
 * that shrinks its memfd under the mapping gets zeros, and pread from then on (`viewFailed`).
 */
export interface GuestPool {
  id: number;
  resource: number;
  /** The client's fd, owned by the pool; -1 once released. */
  fd: number;
  size: number;
  alive: boolean;
  buffers: number;
  /** Where the pool lives in the shared region, or null when its bytes travel over the channel. */
  block: RegionBlock | null;
  /** Read-only mapping of `fd` (`size` bytes), made on the first copy into the region or diff. */
  view: ArrayBuffer | null;
  viewFailed: boolean;
  /** Over the channel: the host's bytes, to send only changes (damage-diff.ts); null until a client redraws a whole buffer, false once off. */
  diff: PoolDiff | null | false;
}

export interface GuestBuffer {
  id: number;
  pool: GuestPool;
  offset: number;
  width: number;
  height: number;
  stride: number;
  format: number;
  /** Damage since this buffer's bytes were last sent; starts full. */
  dirty: DamageRegion;
  /** The region block its bytes go to (the pool's block when the buffer was created). */
  block: RegionBlock | null;
}

export interface SurfaceState {
  id: number;
  /** undefined: no attach since the last commit; null: a null buffer was attached. */
  pendingBuffer: number | null | undefined;
  currentBuffer: number | null;
  bufferDamage: Rect[];
  surfaceDamage: Rect[];
  scale: number;
  pendingScale: number;
  transform: number;
  pendingTransform: number;
  viewport: boolean;
  /** Buffers committed on this surface: surface damage also dirties them. */
  buffers: Set<number>;
}

/** A commit of an shm buffer: the parts of it to send now. */
export interface CommittedBuffer {
  buffer: GuestBuffer;
  writes: DamageWrites;
  /** The commit's own damage covers the buffer (a full redraw). */
  damagedWhole: boolean;
  /** `writes` are the whole buffer (its own damage and what it owes from other buffers' commits). */
  sentWhole: boolean;
}

export class ShmTracker {
  readonly pools = new Map<number, GuestPool>();
  readonly buffers = new Map<number, GuestBuffer>();
  readonly surfaces = new Map<number, SurfaceState>();

  constructor(private readonly release: (pool: GuestPool) => void, private readonly unrefBlock: (block: RegionBlock) => void) {}

  addPool(pool: GuestPool): void {
    this.pools.set(pool.id, pool);
  }

  destroyPool(id: number): void {
    const pool = this.pools.get(id);
    if (pool === undefined) return;
    pool.alive = false;
    this.pools.delete(id);
    this.maybeRelease(pool);
  }

  addBuffer(id: number, poolId: number, offset: number, width: number, height: number, stride: number, format: number): void {
    const pool = this.pools.get(poolId);
    if (pool === undefined) return;
    pool.buffers++;
    const dirty = new DamageRegion();
    dirty.addFull();
    if (pool.block !== null) pool.block.refs++;
    this.buffers.set(id, { id, pool, offset, width, height, stride, format, dirty, block: pool.block });
  }

  destroyBuffer(id: number): void {
    const buffer = this.buffers.get(id);
    if (buffer === undefined) return;
    this.buffers.delete(id);
    if (buffer.block !== null) this.unrefBlock(buffer.block);
    buffer.pool.buffers--;
    for (const s of this.surfaces.values()) s.buffers.delete(id);
    this.maybeRelease(buffer.pool);
  }

  surface(id: number): SurfaceState {
    let s = this.surfaces.get(id);
    if (s === undefined) {
      s = {
        id, pendingBuffer: undefined, currentBuffer: null, bufferDamage: [], surfaceDamage: [],
        scale: 1, pendingScale: 1, transform: 0, pendingTransform: 0, viewport: false, buffers: new Set(),
      };
      this.surfaces.set(id, s);
    }
    return s;
  }

  destroySurface(id: number): void {
    this.surfaces.delete(id);
  }

  /**
   * Applies a wl_surface.commit: spreads this commit's damage to every buffer of the surface and
   * returns the committed shm buffer with the parts of it that must be sent, or null.
   */
  commit(surfaceId: number): CommittedBuffer | null {
    const s = this.surface(surfaceId);
    s.scale = s.pendingScale;
    s.transform = s.pendingTransform;
    if (s.pendingBuffer !== undefined) s.currentBuffer = s.pendingBuffer;
    s.pendingBuffer = undefined;
    const bufferId = s.currentBuffer;
    const buffer = bufferId === null ? undefined : this.buffers.get(bufferId);

    const damage = new DamageRegion();
    for (const r of s.bufferDamage) damage.add(r);
    for (const r of s.surfaceDamage) {
      const b = surfaceToBuffer(r, s.scale, s.transform, s.viewport);
      if (b === null) damage.addFull();
      else damage.add(b);
    }
    s.bufferDamage = [];
    s.surfaceDamage = [];
    for (const id of s.buffers) this.buffers.get(id)?.dirty.addRegion(damage);
    if (buffer === undefined) return null;
    const damagedWhole = damage.covers(buffer.width, buffer.height);
    if (!s.buffers.has(buffer.id)) {
      s.buffers.add(buffer.id);
      buffer.dirty.addFull();
    }
    if (buffer.dirty.empty) return null;
    const writes = damageWrites(buffer.dirty, {
      offset: buffer.offset, width: buffer.width, height: buffer.height, stride: buffer.stride, bpp: bytesPerPixel(buffer.format),
    }, buffer.pool.size);
    const sentWhole = buffer.dirty.covers(buffer.width, buffer.height);
    buffer.dirty.clear();
    return { buffer, writes, damagedWhole, sentWhole };
  }

  /** Frees a pool once neither the pool object nor any buffer refers to it. */
  private maybeRelease(pool: GuestPool): void {
    if (!pool.alive && pool.buffers === 0) this.release(pool);
  }

  /** Every pool still held, for cleanup when the client goes away. */
  allPools(): GuestPool[] {
    const set = new Set<GuestPool>(this.pools.values());
    for (const b of this.buffers.values()) set.add(b.pool);
    return [...set];
  }
}
