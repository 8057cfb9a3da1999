// The guest's shm records: a client's pools, buffers and surfaces, and what a commit must send (data only).
import type { DamageRegion, DamageWrites, Rect } from '../../protocol/damage';
import type { RegionBlock } from './shared-region';

/** The pool's bytes as the host holds them, and what comparing sent in the current window (shadow-diff.ts). */
export interface PoolDiff {
  /** Every byte sent since the shadow was made is here as sent; others are zero. */
  shadow: Uint8Array;
  /** Buffers sent whole since the shadow was made: only their damage can be compared. */
  valid: WeakSet<GuestBuffer>;
  commits: number;
  damaged: number;
  sent: number;
}

/**
 * A client's pool. Over the channel its changed bytes go out (shadow-diff.ts), or all damaged bytes
 * with sendfile or pread once comparing does not pay. Into the shared region they are copied from a
 * read-only mapping (`view`) with a SIGBUS-guarded memcpy: a client that shrinks its memfd under the
 * mapping gets zeros, and pread from then on (`viewFailed`).
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
  /** Comparing with the host's bytes: 'later' until a client redraws a whole buffer, 'off' for good. */
  diff: PoolDiff | 'later' | 'off';
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
  /** Committed at least once: damage of the whole buffer after that is a redraw. */
  committed: boolean;
}

export interface SurfaceState {
  id: number;
  /** wl_surface.attach since the last commit, of pendingBuffer (null: no buffer). */
  attached: boolean;
  pendingBuffer: number | null;
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
