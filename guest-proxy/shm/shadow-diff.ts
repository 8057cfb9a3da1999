// Over the channel, sends only the parts of a commit's damage that differ from what the host holds.
// A pool gets a shadow copy of the host's bytes once a client redraws and damages a whole buffer
// it had sent before (as toolkits that damage everything do); damage is then compared with the
// shadow natively, for as long as that saves enough bytes to pay for the compare.
import { copyRows, diffRows, maxDiffSpans } from '../../link/memory';
import { ShadowSource } from './byte-sources';
import { DamageSender } from './damage-sender';
import { dropPoolView, poolShrank, poolView } from './pool-view';
import type { ShmPort } from './shm-port';
import type { CommittedBuffer, GuestPool, PoolDiff } from './shm-types';

/** Compared commits of a pool per verdict on whether comparing pays. */
const WINDOW_COMMITS = 4;
/** Comparing goes on while a window sends at most this share of its damaged bytes. */
const KEEP_RATIO = 0.75;
/** Channel bytes of a RES_WRITE besides its data. */
const FRAME_OVERHEAD = 32;
/** Larger pools are never compared: their shadow would cost the guest as much memory again. */
export const MAX_SHADOW_BYTES = 128 * 1024 * 1024;

let spans = new Float64Array(0);

/**
 * Sends the writes of a commit from the pool's shadow: only what changed for a buffer the shadow
 * holds, all of it (copied into the shadow) otherwise. False when the pool has no shadow: then
 * the caller sends the damage whole. After a window that saved too little, the pool is never
 * compared again and its shadow is dropped.
 */
export function sendChangedDamage(port: ShmPort, { buffer, writes, damagedWhole, sentWhole }: CommittedBuffer, maxPiece: number): boolean {
  const pool = buffer.pool;
  const redraw = damagedWhole && buffer.committed;
  buffer.committed = true;
  if (pool.diff === 'off' || (pool.diff === 'later' && !redraw)) return false;
  const view = pool.size <= MAX_SHADOW_BYTES ? poolView(pool) : null;
  const state = view === null ? null : pool.diff === 'later' ? newPoolDiff(pool.size) : pool.diff;
  if (view === null || state === null) {
    pool.diff = 'off';
    return false;
  }
  pool.diff = state;
  const sender = new DamageSender(new ShadowSource(port, pool.resource, state.shadow), maxPiece);
  let damaged = 0;
  let intact = true;
  const compared = state.valid.has(buffer);
  if (compared) {
    let mostSpans = 0;
    for (const r of writes.ranges) mostSpans = Math.max(mostSpans, maxDiffSpans(r.end - r.start));
    for (const w of writes.rects) mostSpans = Math.max(mostSpans, maxDiffSpans(w.rowBytes, w.rows));
    if (spans.length < 2 * mostSpans) spans = new Float64Array(2 * mostSpans);
    for (const r of writes.ranges) {
      const result = diffRows(view, state.shadow, r.start, r.end - r.start, 1, r.end - r.start, spans);
      intact &&= result.intact;
      sender.spans(spans, result.spans);
      damaged += r.end - r.start;
    }
    for (const w of writes.rects) {
      const result = diffRows(view, state.shadow, w.start, w.rowBytes, w.rows, w.stride, spans);
      intact &&= result.intact;
      sender.spans(spans, result.spans);
      damaged += w.rows * w.rowBytes;
    }
  } else {
    // the host's copy of this buffer is not known here yet: all of the damage, through the shadow
    for (const r of writes.ranges) intact = copyRows(view, r.start, state.shadow, r.start, r.end - r.start) && intact;
    for (const w of writes.rects) intact = copyRows(view, w.start, state.shadow, w.start, w.rowBytes, w.rows, w.stride) && intact;
    sender.send(writes);
    damaged = sender.bytes;
    if (sentWhole) state.valid.add(buffer);
  }
  port.stats.shmBytes += sender.bytes;
  port.stats.shmBytesUnchanged += damaged - sender.bytes;

  if (!intact) {
    // the client shrank its file: zeros went out for what was past its end; from now on, pread or sendfile
    pool.diff = 'off';
    poolShrank(pool);
    return true;
  }
  if (!compared) return true;
  state.commits++;
  state.damaged += damaged;
  state.sent += sender.bytes + sender.pieces * FRAME_OVERHEAD;
  if (state.commits >= WINDOW_COMMITS) {
    if (state.sent > KEEP_RATIO * state.damaged) stopComparing(pool);
    else {
      state.commits = 0;
      state.damaged = 0;
      state.sent = 0;
    }
  }
  return true;
}

/** A resized pool's shadow grows with it; the host's memfd grows by zeros, and so does the shadow. */
export function growShadow(pool: GuestPool): void {
  if (typeof pool.diff === 'string' || pool.diff.shadow.byteLength >= pool.size) return;
  const grown = pool.size <= MAX_SHADOW_BYTES ? newPoolDiff(pool.size) : null;
  if (grown === null) {
    stopComparing(pool); // the host's copy is still right; only comparing stops
    return;
  }
  grown.shadow.set(pool.diff.shadow);
  pool.diff.shadow = grown.shadow;
}

/** For good: the shadow goes (frames in flight keep it alive), and the mapping unless a region copy maps it again. */
function stopComparing(pool: GuestPool): void {
  pool.diff = 'off';
  dropPoolView(pool);
}

function newPoolDiff(size: number): PoolDiff | null {
  try {
    return { shadow: new Uint8Array(size), valid: new WeakSet(), commits: 0, damaged: 0, sent: 0 };
  } catch {
    return null; // no memory for a shadow: the damage goes out whole
  }
}
