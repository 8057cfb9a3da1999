// First-fit allocator of page-aligned blocks in the shared-memory region (pure).

export const REGION_ALIGN = 4096;

const align = (n: number): number => Math.ceil(n / REGION_ALIGN) * REGION_ALIGN;

interface Block {
  offset: number;
  size: number;
}

export class RegionAllocator {
  /** Free blocks sorted by offset, never adjacent (merged on free). */
  private free: Block[];
  private used = new Map<number, number>();

  constructor(readonly size: number) {
    const usable = Math.floor(size / REGION_ALIGN) * REGION_ALIGN;
    this.free = usable > 0 ? [{ offset: 0, size: usable }] : [];
  }

  get bytesUsed(): number {
    let n = 0;
    for (const s of this.used.values()) n += s;
    return n;
  }

  /** Offset of a new block of at least `size` bytes, or null when no free block is big enough. */
  alloc(size: number): number | null {
    if (!(size > 0)) return null;
    const need = align(size);
    const i = this.free.findIndex((b) => b.size >= need);
    if (i < 0) return null;
    const b = this.free[i];
    const offset = b.offset;
    if (b.size === need) this.free.splice(i, 1);
    else this.free[i] = { offset: b.offset + need, size: b.size - need };
    this.used.set(offset, need);
    return offset;
  }

  /** Grows the block at `offset` in place to `size` bytes if the space after it is free. */
  grow(offset: number, size: number): boolean {
    const have = this.used.get(offset);
    if (have === undefined) return false;
    const need = align(size);
    if (need <= have) return true;
    const i = this.free.findIndex((b) => b.offset === offset + have);
    if (i < 0 || this.free[i].size < need - have) return false;
    const b = this.free[i];
    if (b.size === need - have) this.free.splice(i, 1);
    else this.free[i] = { offset: b.offset + (need - have), size: b.size - (need - have) };
    this.used.set(offset, need);
    return true;
  }

  release(offset: number): void {
    const size = this.used.get(offset);
    if (size === undefined) return;
    this.used.delete(offset);
    let i = this.free.findIndex((b) => b.offset > offset);
    if (i < 0) i = this.free.length;
    this.free.splice(i, 0, { offset, size });
    const next = this.free[i + 1];
    if (next !== undefined && offset + size === next.offset) {
      this.free[i].size += next.size;
      this.free.splice(i + 1, 1);
    }
    const prev = this.free[i - 1];
    if (prev !== undefined && prev.offset + prev.size === offset) {
      prev.size += this.free[i].size;
      this.free.splice(i, 1);
    }
  }
}
