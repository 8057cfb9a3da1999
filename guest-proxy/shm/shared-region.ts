// The guest's view of the shared-memory region (ivshmem BAR or a file both sides map) and its block allocator.
import { closeSync, existsSync, fstatSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { mmap, munmap } from '../../link/memory';
import { RegionAllocator } from '../../protocol/region-allocator';

/** A block of the region holding one pool's bytes; freed when the pool and its buffers are gone. */
export interface RegionBlock {
  offset: number;
  size: number;
  refs: number;
}

const IVSHMEM = { vendor: '0x1af4', device: '0x1110' };

/** Finds the BAR of an ivshmem-plain PCI device (vendor 1af4, device 1110). */
export function findIvshmem(sysfs = '/sys/bus/pci/devices'): string | null {
  if (!existsSync(sysfs)) return null;
  for (const dev of readdirSync(sysfs).sort()) {
    const read = (f: string): string => {
      try {
        return readFileSync(join(sysfs, dev, f), 'utf8').trim();
      } catch {
        return '';
      }
    };
    if (read('vendor') === IVSHMEM.vendor && read('device') === IVSHMEM.device) return join(sysfs, dev, 'resource2');
  }
  return null;
}

export class SharedRegion {
  readonly allocator: RegionAllocator;
  readonly bytes: Uint8Array;

  private constructor(readonly path: string, private readonly mapping: ArrayBuffer) {
    this.bytes = new Uint8Array(mapping);
    this.allocator = new RegionAllocator(mapping.byteLength);
  }

  get size(): number {
    return this.bytes.byteLength;
  }

  /** Maps PATH read-write; `ivshmem` looks the PCI device up. */
  static open(pathOrIvshmem: string): SharedRegion {
    const path = pathOrIvshmem === 'ivshmem' ? findIvshmem() : pathOrIvshmem;
    if (path === null) throw new Error('no ivshmem PCI device (1af4:1110) found; give the region file with --shm PATH');
    const fd = openSync(path, 'r+');
    try {
      const size = fstatSync(fd).size;
      if (size <= 0) throw new Error(`${path} has no size; a shared-memory region must be a sized file or PCI BAR`);
      return new SharedRegion(path, mmap(fd, size, 0, true));
    } finally {
      closeSync(fd);
    }
  }

  allocate(size: number): RegionBlock | null {
    const offset = this.allocator.alloc(size);
    return offset === null ? null : { offset, size, refs: 1 };
  }

  grow(block: RegionBlock, size: number): boolean {
    if (!this.allocator.grow(block.offset, size)) return false;
    block.size = size;
    return true;
  }

  unref(block: RegionBlock): void {
    if (--block.refs === 0) this.allocator.release(block.offset);
  }

  close(): void {
    munmap(this.mapping);
  }
}
