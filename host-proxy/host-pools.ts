// Host side of shm: a memfd per guest pool, filled from RES_WRITE frames, bounded by the guest's quota.
import { closeSync, ftruncateSync } from 'node:fs';
import { F_SEAL_SHRINK, addSeals, dup, memfdCreate, mmap, munmap } from '../native/index';
import { FrameKind, type Frame } from '../protocol/channel-frames';

export interface HostPool {
  fd: number;
  size: number;
  mapping: ArrayBuffer;
  bytes: Uint8Array;
}

/** The shared-memory region file (the host side of QEMU's ivshmem memory backend); the host never reads it. */
export interface HostRegion {
  fd: number;
  size: number;
}

/** A pool that lives in the region: the compositor gets the region's fd and translated offsets. */
export interface RegionRef {
  offset: number;
  size: number;
}

/** Shared by every client of one channel: the guest's total shm bytes. */
export class ShmQuota {
  used = 0;
  constructor(readonly maxTotal: number, readonly maxPool: number) {}
}

export class HostPools {
  private readonly pools = new Map<number, HostPool>();
  private readonly refs = new Map<number, RegionRef>();

  constructor(private readonly quota: ShmQuota, private readonly fromGuest: (resource: number) => boolean, readonly region: HostRegion | null) {}

  /** The region block of a pool resource, or undefined for a memfd pool. */
  ref(resource: number): RegionRef | undefined {
    return this.refs.get(resource);
  }

  get count(): number {
    return this.pools.size;
  }

  get bytes(): number {
    let n = 0;
    for (const p of this.pools.values()) n += p.size;
    return n;
  }

  has(resource: number): boolean {
    return this.pools.has(resource) || this.refs.has(resource);
  }

  sizeOf(resource: number): number | undefined {
    return this.pools.get(resource)?.size ?? this.refs.get(resource)?.size;
  }

  /** A new fd for the compositor (the pool keeps its own). */
  fdFor(resource: number): number | null {
    if (this.refs.has(resource)) return dup((this.region as HostRegion).fd);
    const p = this.pools.get(resource);
    return p === undefined ? null : dup(p.fd);
  }

  /** Returns null when handled, an error text for a violation, or 'unhandled' for frames of other resources. */
  onFrame(frame: Frame): string | null | 'unhandled' {
    switch (frame.kind) {
      case FrameKind.ShmCreate: {
        if (!this.fromGuest(frame.resource) || this.pools.has(frame.resource)) return `SHM_CREATE with bad or reused resource ${frame.resource}`;
        const err = this.charge(frame.size);
        if (err !== null) return err;
        const fd = memfdCreate('wayvio-shm', { cloexec: true, allowSealing: true });
        try {
          ftruncateSync(fd, frame.size);
          addSeals(fd, F_SEAL_SHRINK);
          const mapping = mmap(fd, frame.size, 0, true);
          this.pools.set(frame.resource, { fd, size: frame.size, mapping, bytes: new Uint8Array(mapping) });
        } catch (e) {
          closeSync(fd);
          this.quota.used -= frame.size;
          return `cannot create a ${frame.size}-byte pool: ${(e as Error).message}`;
        }
        return null;
      }
      case FrameKind.ShmResize: {
        const p = this.pools.get(frame.resource);
        if (p === undefined) return `SHM_RESIZE of unknown pool ${frame.resource}`;
        if (frame.size < p.size) return `SHM_RESIZE shrinks pool ${frame.resource}`;
        const err = this.charge(frame.size - p.size, frame.size);
        if (err !== null) return err;
        try {
          ftruncateSync(p.fd, frame.size);
          const mapping = mmap(p.fd, frame.size, 0, true);
          munmap(p.mapping);
          Object.assign(p, { size: frame.size, mapping, bytes: new Uint8Array(mapping) });
        } catch (e) {
          this.quota.used -= frame.size - p.size;
          return `cannot grow pool ${frame.resource}: ${(e as Error).message}`;
        }
        return null;
      }
      case FrameKind.ResWrite: {
        const p = this.pools.get(frame.resource);
        if (p === undefined) return 'unhandled';
        if (frame.offset + frame.data.byteLength > p.size) return `RES_WRITE of ${frame.data.byteLength} bytes at ${frame.offset} outside pool ${frame.resource} of ${p.size} bytes`;
        p.bytes.set(frame.data, frame.offset);
        return null;
      }
      case FrameKind.ShmRef: {
        if (this.region === null) return 'SHM_REF but no shared-memory region is in use on this channel';
        if (!this.fromGuest(frame.resource) || this.pools.has(frame.resource)) return `SHM_REF with bad resource ${frame.resource}`;
        const { regionOffset, size } = frame;
        if (size <= 0 || regionOffset % 4096 !== 0 || regionOffset + size > this.region.size) {
          return `SHM_REF of ${size} bytes at ${regionOffset} outside the ${this.region.size}-byte region`;
        }
        const old = this.refs.get(frame.resource);
        if (old !== undefined && size < old.size) return `SHM_REF shrinks pool ${frame.resource}`;
        this.refs.set(frame.resource, { offset: regionOffset, size });
        return null;
      }
      case FrameKind.ResDrop: {
        if (this.refs.delete(frame.resource)) return null;
        const p = this.pools.get(frame.resource);
        if (p === undefined) return 'unhandled';
        this.free(frame.resource, p);
        return null;
      }
      default:
        return 'unhandled';
    }
  }

  private charge(bytes: number, poolSize = bytes): string | null {
    if (poolSize > this.quota.maxPool) return `pool of ${poolSize} bytes exceeds the per-pool limit of ${this.quota.maxPool}`;
    if (this.quota.used + bytes > this.quota.maxTotal) return `shm quota exceeded: ${this.quota.used} + ${bytes} > ${this.quota.maxTotal} bytes`;
    this.quota.used += bytes;
    return null;
  }

  private free(resource: number, p: HostPool): void {
    munmap(p.mapping);
    closeSync(p.fd);
    this.quota.used -= p.size;
    this.pools.delete(resource);
  }

  destroy(): void {
    for (const [r, p] of [...this.pools]) this.free(r, p);
    this.refs.clear();
  }
}
