// Over the channel, sends only the parts of a commit's damage that differ from what the host holds:
// each pool's bytes as sent so far are kept in a shadow copy and compared natively, for as long as
// that saves enough bytes to pay for the compare.
import { diffRows, maxDiffSpans } from '../native/index';
import { FrameKind } from '../protocol/channel-frames';
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

/** The pool's bytes as the host holds them, and what diffing sent in the current window. */
export interface PoolDiff {
  shadow: Uint8Array;
  commits: number;
  damaged: number;
  sent: number;
}

let spans = new Float64Array(0);

/**
 * Sends what changed in `writes` as RES_WRITE frames; false when this pool is not diffed (then
 * the caller sends the damage whole). After a window that saved too little, the pool is never
 * diffed again and its shadow is dropped.
 */
export function sendChangedDamage(c: GuestClient, pool: GuestPool, writes: DamageWrites, chunkMax: number): boolean {
  if (pool.diff === false) return false;
  const view = poolView(pool);
  if (view === null) {
    pool.diff = false;
    return false;
  }
  const state: PoolDiff = pool.diff ?? { shadow: new Uint8Array(pool.size), commits: 0, damaged: 0, sent: 0 };
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
    for (let i = 0; i < count; i++) {
      const offset = spans[2 * i]!;
      const length = spans[2 * i + 1]!;
      // lent views of the shadow: only a later commit of this same buffer changes these bytes, and the
      // client may draw it again only after the compositor released it, so after these frames left
      for (let k = 0; k < length; k += chunkMax) {
        const end = offset + Math.min(length, k + chunkMax);
        c.ctx.session.send({ kind: FrameKind.ResWrite, conn: c.conn, resource: pool.resource, offset: offset + k, data: shadow.subarray(offset + k, end) });
        frames++;
      }
      sent += length;
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

/** A resized pool's shadow grows with it; the host's memfd grows by zeros, and so does the shadow. */
export function growShadow(pool: GuestPool): void {
  if (pool.diff === null || pool.diff === false || pool.diff.shadow.byteLength >= pool.size) return;
  const shadow = new Uint8Array(pool.size);
  shadow.set(pool.diff.shadow);
  pool.diff.shadow = shadow;
}
