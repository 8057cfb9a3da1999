// Host side of shm: a memfd per guest pool, filled from RES_WRITE frames, bounded by the guest's quota.
import { closeSync, ftruncateSync } from 'node:fs';
import { dup } from '../transport/fds';
import { F_SEAL_SHRINK, addSeals, memfdCreate, mmap, munmap } from '../link/memory';
import { FrameKind, type Frame } from '../protocol/channel-frames';
import { HostShortage } from '../link/host-shortage';

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

/** A limit the guest hit: the client is ended with CloseCode.QuotaExceeded (not a protocol error). */
export class QuotaError extends Error {
  constructor(readonly limit: string, message: string) {
    super(message);
    this.name = 'QuotaError';
  }
}

/** Shared by every client of the guest (all its channels): shm pool and file bytes it makes the host hold. */
export class ShmQuota {
  used = 0;
  constructor(readonly maxTotal: number, readonly maxPool: number) {}

  /** Charges `bytes` more for a pool (or file) that will be `poolSize` bytes; throws QuotaError. */
  charge(bytes: number, poolSize = bytes): void {
    if (poolSize > this.maxPool) throw new QuotaError('max-pool-bytes', `pool of ${poolSize} bytes exceeds the per-pool limit of ${this.maxPool} (--max-pool-bytes)`);
    if (this.used + bytes > this.maxTotal) throw new QuotaError('max-shm-bytes', `shm quota exceeded: ${this.used} + ${bytes} > ${this.maxTotal} bytes (--max-shm-bytes)`);
    this.used += bytes;
  }

  release(bytes: number): void {
    this.used -= bytes;
  }
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

  /** The memfd pool of a resource: the record stays valid (with its last size) after the resource is dropped. */
  get(resource: number): HostPool | undefined {
    return this.pools.get(resource);
  }

  /** Where `length` bytes of a RES_WRITE at `offset` of a memfd pool go, or null when that is not a valid write. */
  writeTarget(resource: number, offset: number, length: number): Uint8Array | null {
    const p = this.pools.get(resource);
    if (p === undefined || offset + length > p.size) return null;
    return p.bytes.subarray(offset, offset + length);
  }

  /** A new fd for the compositor (the pool keeps its own). */
  fdFor(resource: number): number | null {
    if (this.refs.has(resource)) return dup((this.region as HostRegion).fd);
    const p = this.pools.get(resource);
    return p === undefined ? null : dup(p.fd);
  }

  /**
   * Returns null when handled, an error text for a violation, or 'unhandled' for frames of other resources.
   * Throws QuotaError when the guest's quota does not allow the pool.
   */
  onFrame(frame: Frame): string | null | 'unhandled' {
    switch (frame.kind) {
      case FrameKind.ShmCreate: {
        if (!this.fromGuest(frame.resource) || this.pools.has(frame.resource)) return `SHM_CREATE with bad or reused resource ${frame.resource}`;
        this.quota.charge(frame.size);
        let fd = -1;
        try {
          // EMFILE here, ENOMEM from mmap: the host is short of resources (HostShortage); this client ends, nobody else
          fd = memfdCreate('wayvio-shm', { cloexec: true, allowSealing: true });
          ftruncateSync(fd, frame.size);
          addSeals(fd, F_SEAL_SHRINK);
          const mapping = mmap(fd, frame.size, 0, true);
          this.pools.set(frame.resource, { fd, size: frame.size, mapping, bytes: new Uint8Array(mapping) });
        } catch (e) {
          if (fd >= 0) closeSync(fd);
          this.quota.release(frame.size);
          const shortage = HostShortage.from(e, `creating a ${frame.size}-byte pool`);
          if (shortage !== null) throw shortage;
          return `cannot create a ${frame.size}-byte pool: ${(e as Error).message}`;
        }
        return null;
      }
      case FrameKind.ShmResize: {
        const p = this.pools.get(frame.resource);
        if (p === undefined) return `SHM_RESIZE of unknown pool ${frame.resource}`;
        if (frame.size < p.size) return `SHM_RESIZE shrinks pool ${frame.resource}`;
        this.quota.charge(frame.size - p.size, frame.size);
        try {
          ftruncateSync(p.fd, frame.size);
          const mapping = mmap(p.fd, frame.size, 0, true);
          munmap(p.mapping);
          Object.assign(p, { size: frame.size, mapping, bytes: new Uint8Array(mapping) });
        } catch (e) {
          this.quota.release(frame.size - p.size);
          const shortage = HostShortage.from(e, `growing pool ${frame.resource} to ${frame.size} bytes`);
          if (shortage !== null) throw shortage;
          return `cannot grow pool ${frame.resource}: ${(e as Error).message}`;
        }
        return null;
      }
      case FrameKind.ResWrite: {
        const p = this.pools.get(frame.resource);
        if (p === undefined) return 'unhandled';
        if (frame.offset + frame.data.byteLength > p.size) return `RES_WRITE of ${frame.data.byteLength} bytes at ${frame.offset} outside pool ${frame.resource} of ${p.size} bytes`;
        // data read straight into place (see writeTarget) is there already
        if (frame.data.buffer !== p.mapping || frame.data.byteOffset !== frame.offset) p.bytes.set(frame.data, frame.offset);
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
      case FrameKind.ResWriteRect: {
        const p = this.pools.get(frame.resource);
        if (p === undefined) return `RES_WRITE_RECT to unknown pool ${frame.resource}`;
        const { offset, stride, rowBytes, rows, data } = frame;
        if (offset + (rows - 1) * stride + rowBytes > p.size) return `RES_WRITE_RECT of ${rows} rows at ${offset} stride ${stride} outside pool ${frame.resource} of ${p.size} bytes`;
        for (let i = 0; i < rows; i++) p.bytes.set(data.subarray(i * rowBytes, (i + 1) * rowBytes), offset + i * stride);
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

  private free(resource: number, p: HostPool): void {
    munmap(p.mapping);
    closeSync(p.fd);
    this.quota.release(p.size);
    this.pools.delete(resource);
  }

  destroy(): void {
    for (const [r, p] of [...this.pools]) this.free(r, p);
    this.refs.clear();
  }
}
