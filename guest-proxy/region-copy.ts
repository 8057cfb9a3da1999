// Copies a committed buffer's damage from the client's pool into the shared region: memcpy from a
// read-only mapping of the pool, or pread once the client has shrunk its file under that mapping.
import { readSync } from 'node:fs';
import { copyRows, mmap, munmap } from '../native/index';
import type { DamageWrites } from '../protocol/damage';
import type { GuestPool } from './shm-tracker';

/** Copies `writes` from `pool` to `region` at `base`; returns the bytes copied from the client's file. */
export function copyDamageToRegion(pool: GuestPool, region: Uint8Array, base: number, writes: DamageWrites): number {
  const view = poolView(pool);
  if (view === null) return preadDamage(pool.fd, region, base, writes);
  let copied = 0;
  let intact = true;
  for (const r of writes.ranges) {
    intact = copyRows(view, r.start, region, base + r.start, r.end - r.start) && intact;
    copied += r.end - r.start;
  }
  for (const w of writes.rects) {
    intact = copyRows(view, w.start, region, base + w.start, w.rowBytes, w.rows, w.stride) && intact;
    copied += w.rows * w.rowBytes;
  }
  if (intact) return copied;
  // the client shrank its file: what was past the end arrived as zeros; from now on, pread
  dropPoolView(pool);
  pool.viewFailed = true;
  return copied;
}

/** Unmaps the pool's mapping (on resize and release); the next copy maps it again. */
export function dropPoolView(pool: GuestPool): void {
  if (pool.view !== null) munmap(pool.view);
  pool.view = null;
}

/** The pool's read-only mapping, made on first use; null once mapping failed or the file shrank under it. */
export function poolView(pool: GuestPool): ArrayBuffer | null {
  if (pool.view === null && !pool.viewFailed) {
    try {
      pool.view = mmap(pool.fd, pool.size, 0, false);
    } catch {
      pool.viewFailed = true; // e.g. the file is already shorter than the pool
    }
  }
  return pool.view;
}

function preadDamage(fd: number, region: Uint8Array, base: number, writes: DamageWrites): number {
  let copied = 0;
  for (const r of writes.ranges) copied += Math.max(0, readSync(fd, region, base + r.start, r.end - r.start, r.start));
  for (const w of writes.rects) {
    for (let i = 0, at = w.start; i < w.rows; i++, at += w.stride) copied += Math.max(0, readSync(fd, region, base + at, w.rowBytes, at));
  }
  return copied;
}
