// Guest side of shm: the client's pools, their buffers, viewports, and each surface's damage per buffer.
import { bytesPerPixel, damageWrites, DamageRegion, surfaceToBuffer } from '../../protocol/damage';
import type { RegionBlock } from './shared-region';
import type { CommittedBuffer, GuestBuffer, GuestPool, SurfaceState } from './shm-types';

export class ShmTracker {
  readonly pools = new Map<number, GuestPool>();
  readonly buffers = new Map<number, GuestBuffer>();
  readonly surfaces = new Map<number, SurfaceState>();
  /** wp_viewport id → its surface. */
  private readonly viewports = new Map<number, number>();

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
    this.buffers.set(id, { id, pool, offset, width, height, stride, format, dirty, block: pool.block, committed: false });
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
        id, attached: false, pendingBuffer: null, currentBuffer: null, bufferDamage: [], surfaceDamage: [],
        scale: 1, pendingScale: 1, transform: 0, pendingTransform: 0, viewport: false, buffers: new Set(),
      };
      this.surfaces.set(id, s);
    }
    return s;
  }

  destroySurface(id: number): void {
    this.surfaces.delete(id);
  }

  attach(surfaceId: number, bufferId: number | null): void {
    const s = this.surface(surfaceId);
    s.attached = true;
    s.pendingBuffer = bufferId;
  }

  /** wp_viewporter.get_viewport: surface damage of a viewported surface maps to the whole buffer. */
  addViewport(viewportId: number, surfaceId: number): void {
    this.viewports.set(viewportId, surfaceId);
    this.surface(surfaceId).viewport = true;
  }

  destroyViewport(viewportId: number): void {
    const surfaceId = this.viewports.get(viewportId);
    if (surfaceId === undefined) return;
    this.viewports.delete(viewportId);
    const s = this.surfaces.get(surfaceId);
    if (s !== undefined) s.viewport = false;
  }

  /**
   * Applies a wl_surface.commit: spreads this commit's damage to every buffer of the surface and
   * returns the committed shm buffer with the parts of it that must be sent, or null.
   */
  commit(surfaceId: number): CommittedBuffer | null {
    const s = this.surface(surfaceId);
    s.scale = s.pendingScale;
    s.transform = s.pendingTransform;
    if (s.attached) s.currentBuffer = s.pendingBuffer;
    s.attached = false;
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
