// Over the channel, sends only the parts of a commit's damage that differ from what the host holds:
// each pool's bytes as sent so far are kept in a shadow copy and compared natively, for as long as
// that saves enough bytes to pay for the compare.
import { diffRows, maxDiffSpans } from '../native/index';
import { FrameKind } from '../protocol/channel-frames';
import { BufferPool } from '../link/buffer-pool';
import type { DamageWrites } from '../protocol/damage';
import type { GuestClient } from './guest-client';
import { dropPoolView, poolView } from './region-copy';
import type { GuestPool } from './shm-tracker';

/** Commits of a pool per verdict on whether diffing pays. */
const WINDOW_COMMITS = 4;
/** Diffing stays on while a window sends at most this share of its damaged bytes. */
const KEEP_RATIO = 0.75;
/** Channel bytes of a RES_WRITE besides its data. */
const FRAME_OVERHEAD = 32;
/** Larger pools are never compared: their shadow would cost the guest as much memory again. */
const MAX_SHADOW_BYTES = 128 * 1024 * 1024;

/** The pool's bytes as the host holds them, and what diffing sent in the current window. */
export interface PoolDiff {
  shadow: Uint8Array;
  commits: number;
  damaged: number;
  sent: number;
}

let spans = new Float64Array(0);
/** Rectangles are packed into these until the channel sent them. */
const rectBuffers = new BufferPool(8 * 1024 * 1024);

/**
 * Sends what changed in `writes` as RES_WRITE frames; false when this pool is not diffed (then
 * the caller sends the damage whole). After a window that saved too little, the pool is never
 * diffed again and its shadow is dropped.
 */
export function sendChangedDamage(c: GuestClient, pool: GuestPool, writes: DamageWrites, chunkMax: number): boolean {
  if (pool.diff === false) return false;
  const view = pool.size <= MAX_SHADOW_BYTES ? poolView(pool) : null;
  const state = view === null ? null : (pool.diff ?? newPoolDiff(pool.size));
  if (view === null || state === null) {
    pool.diff = false;
    return false;
  }
  pool.diff = state;
  let damaged = 0;
  let mostSpans = 0;
  for (const r of writes.ranges) {
    damaged += r.end - r.start;
    mostSpans = Math.max(mostSpans, maxDiffSpans(r.end - r.start));
  }
  for (const w of writes.rects) {
    damaged += w.rows * w.rowBytes;
    mostSpans = Math.max(mostSpans, maxDiffSpans(w.rowBytes, w.rows));
  }
  if (spans.length < 2 * mostSpans) spans = new Float64Array(2 * mostSpans);

  const shadow = state.shadow;
  let sent = 0;
  let frames = 0;
  let intact = true;
  const sendSpans = (count: number): void => {
    for (let i = 0; i < count;) {
      const offset = spans[2 * i]!;
      const length = spans[2 * i + 1]!;
      // a change of a rectangle is a run of equal spans a row apart: one RES_WRITE_RECT, not one frame per row
      let rows = 1;
      const stride = i + 1 < count ? spans[2 * i + 2]! - offset : 0;
      while (i + rows < count && spans[2 * (i + rows) + 1] === length && spans[2 * (i + rows)] === offset + rows * stride && (rows + 1) * length <= chunkMax) rows++;
      if (rows > 1) {
        sendRect(c, pool.resource, shadow, offset, length, rows, stride);
        frames++;
      } else {
        // lent views of the shadow: only a later commit of this same buffer changes these bytes, and the
        // client may draw it again only after the compositor released it, so after these frames left
        for (let k = 0; k < length; k += chunkMax) {
          const end = offset + Math.min(length, k + chunkMax);
          c.ctx.session.send({ kind: FrameKind.ResWrite, conn: c.conn, resource: pool.resource, offset: offset + k, data: shadow.subarray(offset + k, end) });
          frames++;
        }
      }
      sent += rows * length;
      i += rows;
    }
  };
  for (const r of writes.ranges) {
    const result = diffRows(view, shadow, r.start, r.end - r.start, 1, r.end - r.start, spans);
    intact &&= result.intact;
    sendSpans(result.spans);
  }
  for (const w of writes.rects) {
    const result = diffRows(view, shadow, w.start, w.rowBytes, w.rows, w.stride, spans);
    intact &&= result.intact;
    sendSpans(result.spans);
  }
  c.stats.shmBytes += sent;
  c.stats.shmBytesUnchanged += damaged - sent;

  if (!intact) {
    // the client shrank its file: zeros went out for what was past its end; from now on, pread or sendfile
    pool.viewFailed = true;
    dropPoolView(pool);
    pool.diff = false;
    return true;
  }
  state.commits++;
  state.damaged += damaged;
  state.sent += sent + frames * FRAME_OVERHEAD;
  if (state.commits >= WINDOW_COMMITS) {
    if (state.sent > KEEP_RATIO * state.damaged) {
      // frames in flight keep the old shadow alive; the mapping is only needed again for a region copy
      pool.diff = false;
      dropPoolView(pool);
    } else {
      state.commits = 0;
      state.damaged = 0;
      state.sent = 0;
    }
  }
  return true;
}

function newPoolDiff(size: number): PoolDiff | null {
  try {
    return { shadow: new Uint8Array(size), commits: 0, damaged: 0, sent: 0 };
  } catch {
    return null; // no memory for a shadow: the damage goes out whole
  }
}

/** Rows of the shadow packed into one RES_WRITE_RECT frame. */
function sendRect(c: GuestClient, resource: number, shadow: Uint8Array, offset: number, rowBytes: number, rows: number, stride: number): void {
  const packed = rectBuffers.acquire(rows * rowBytes);
  for (let r = 0; r < rows; r++) packed.set(shadow.subarray(offset + r * stride, offset + r * stride + rowBytes), r * rowBytes);
  c.ctx.session.send({ kind: FrameKind.ResWriteRect, conn: c.conn, resource, offset, stride, rowBytes, rows, data: packed.subarray(0, rows * rowBytes) },
    () => rectBuffers.release(packed));
}

/** A resized pool's shadow grows with it; the host's memfd grows by zeros, and so does the shadow. */
export function growShadow(pool: GuestPool): void {
  if (pool.diff === null || pool.diff === false || pool.diff.shadow.byteLength >= pool.size) return;
  const grown = pool.size <= MAX_SHADOW_BYTES ? newPoolDiff(pool.size) : null;
  if (grown === null) {
    // the host's copy is still right; only comparing stops
    pool.diff = false;
    dropPoolView(pool);
    return;
  }
  grown.shadow.set(pool.diff.shadow);
  pool.diff.shadow = grown.shadow;
}
