// A read-only mapping of a client's pool, made on first use and dropped on resize and release.
import { mmap, munmap } from '../../link/memory';
import type { GuestPool } from './shm-types';

/** Unmaps the pool's mapping (on resize and release); the next use maps it again. */
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

/** After a guarded copy found the file shorter than the mapping: from now on, pread. */
export function poolShrank(pool: GuestPool): void {
  dropPoolView(pool);
  pool.viewFailed = true;
}
