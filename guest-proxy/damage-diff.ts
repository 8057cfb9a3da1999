// Over the channel, sends only the parts of a commit's damage that differ from what the host holds.
// A pool gets a shadow copy of the host's bytes once a client redraws and damages a whole buffer
// it had sent before (as toolkits that damage everything do); damage is then compared with the
// shadow natively, for as long as that saves enough bytes to pay for the compare.
import { copyRows, diffRows, maxDiffSpans } from '../native/index';
import { FrameKind } from '../protocol/channel-frames';
import { BufferPool } from '../link/buffer-pool';
import { rectPieces, type RectWrite } from '../protocol/damage';
import type { GuestClient } from './guest-client';
import { dropPoolView, poolView } from './region-copy';
import type { CommittedBuffer, GuestBuffer, GuestPool } from './shm-tracker';

/** Compared commits of a pool per verdict on whether comparing pays. */
const WINDOW_COMMITS = 4;
/** Comparing goes on while a window sends at most this share of its damaged bytes. */
const KEEP_RATIO = 0.75;
/** Channel bytes of a RES_WRITE besides its data. */
const FRAME_OVERHEAD = 32;
/** Larger pools are never compared: their shadow would cost the guest as much memory again. */
const MAX_SHADOW_BYTES = 128 * 1024 * 1024;

/** The pool's bytes as the host holds them, and what comparing sent in the current window. */
export interface PoolDiff {
  /** Every byte sent since the shadow was made is here as sent; others are zero. */
  shadow: Uint8Array;
  /** Buffers sent whole since the shadow was made: only their damage can be compared. */
  valid: WeakSet<GuestBuffer>;
  commits: number;
  damaged: number;
  sent: number;
}

/** Buffers committed at least once: damage of the whole buffer after that is a redraw. */
const committedBefore = new WeakSet<GuestBuffer>();
let spans = new Float64Array(0);
/** Rectangles are packed into these until the channel sent them. */
const rectBuffers = new BufferPool(8 * 1024 * 1024);

/**
 * Sends the writes of a commit from the pool's shadow: only what changed for a buffer the shadow
 * holds, all of it (copied into the shadow) otherwise. False when the pool has no shadow: then
 * the caller sends the damage whole. After a window that saved too little, the pool is never
 * compared again and its shadow is dropped.
 */
export function sendChangedDamage(c: GuestClient, { buffer, writes, damagedWhole, sentWhole }: CommittedBuffer, chunkMax: number): boolean {
  const pool = buffer.pool;
  const redraw = damagedWhole && committedBefore.has(buffer);
  committedBefore.add(buffer);
  if (pool.diff === false || (pool.diff === null && !redraw)) return false;
  const view = pool.size <= MAX_SHADOW_BYTES ? poolView(pool) : null;
  const state = view === null ? null : (pool.diff ?? newPoolDiff(pool.size));
  if (view === null || state === null) {
    pool.diff = false;
    return false;
  }
  pool.diff = state;
  const sender = new SpanSender(c, pool.resource, state.shadow, chunkMax);
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
      sender.sendSpans(spans, result.spans);
      damaged += r.end - r.start;
    }
    for (const w of writes.rects) {
      const result = diffRows(view, state.shadow, w.start, w.rowBytes, w.rows, w.stride, spans);
      intact &&= result.intact;
      sender.sendSpans(spans, result.spans);
      damaged += w.rows * w.rowBytes;
    }
  } else {
    // the host's copy of this buffer is not known here yet: all of the damage, through the shadow
    for (const r of writes.ranges) {
      intact = copyRows(view, r.start, state.shadow, r.start, r.end - r.start) && intact;
      sender.sendRange(r.start, r.end - r.start);
      damaged += r.end - r.start;
    }
    for (const w of writes.rects) {
      intact = copyRows(view, w.start, state.shadow, w.start, w.rowBytes, w.rows, w.stride) && intact;
      sender.sendRect(w);
      damaged += w.rows * w.rowBytes;
    }
    if (sentWhole) state.valid.add(buffer);
  }
  c.stats.shmBytes += sender.sent;
  c.stats.shmBytesUnchanged += damaged - sender.sent;

  if (!intact) {
    // the client shrank its file: zeros went out for what was past its end; from now on, pread or sendfile
    pool.viewFailed = true;
    stopComparing(pool);
    return true;
  }
  if (!compared) return true;
  state.commits++;
  state.damaged += damaged;
  state.sent += sender.sent + sender.frames * FRAME_OVERHEAD;
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
  if (pool.diff === null || pool.diff === false || pool.diff.shadow.byteLength >= pool.size) return;
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
  pool.diff = false;
  dropPoolView(pool);
}

function newPoolDiff(size: number): PoolDiff | null {
  try {
    return { shadow: new Uint8Array(size), valid: new WeakSet(), commits: 0, damaged: 0, sent: 0 };
  } catch {
    return null; // no memory for a shadow: the damage goes out whole
  }
}

/**
 * Sends parts of the shadow as RES_WRITE frames: lent views, since only a later commit of the same
 * buffer changes those bytes, and the client may draw it again only after the compositor
 * released it, so after these frames left. Rectangles are packed into one RES_WRITE_RECT.
 */
class SpanSender {
  sent = 0;
  frames = 0;

  constructor(private readonly c: GuestClient, private readonly resource: number, private readonly shadow: Uint8Array, private readonly chunkMax: number) {}

  /** `count` [offset, length] pairs; equal spans a constant stride apart are the rows of a rectangle. */
  sendSpans(spans: Float64Array, count: number): void {
    for (let i = 0; i < count;) {
      const offset = spans[2 * i]!;
      const length = spans[2 * i + 1]!;
      let rows = 1;
      const stride = i + 1 < count ? spans[2 * i + 2]! - offset : 0;
      while (i + rows < count && spans[2 * (i + rows) + 1] === length && spans[2 * (i + rows)] === offset + rows * stride && (rows + 1) * length <= this.chunkMax) rows++;
      if (rows > 1) this.sendRect({ start: offset, stride, rowBytes: length, rows });
      else this.sendRange(offset, length);
      i += rows;
    }
  }

  sendRange(offset: number, length: number): void {
    for (let k = 0; k < length; k += this.chunkMax) {
      const end = offset + Math.min(length, k + this.chunkMax);
      this.c.ctx.session.send({ kind: FrameKind.ResWrite, conn: this.c.conn, resource: this.resource, offset: offset + k, data: this.shadow.subarray(offset + k, end) });
      this.frames++;
    }
    this.sent += length;
  }

  sendRect(w: RectWrite): void {
    for (const p of rectPieces(w, this.chunkMax)) {
      const packed = rectBuffers.acquire(p.rows * p.rowBytes);
      for (let r = 0; r < p.rows; r++) {
        const from = p.start + r * p.stride;
        packed.set(this.shadow.subarray(from, from + p.rowBytes), r * p.rowBytes);
      }
      this.c.ctx.session.send({ kind: FrameKind.ResWriteRect, conn: this.c.conn, resource: this.resource, offset: p.start, stride: p.stride, rowBytes: p.rowBytes, rows: p.rows, data: packed.subarray(0, p.rows * p.rowBytes) },
        () => rectBuffers.release(packed));
      this.frames++;
    }
    this.sent += w.rows * w.rowBytes;
  }
}
