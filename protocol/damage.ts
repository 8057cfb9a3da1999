// Damage math: accumulating damaged rectangles and turning them into byte ranges of an shm buffer.

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface BufferLayout {
  offset: number;
  width: number;
  height: number;
  stride: number;
  /** Bytes per pixel, or null when the format is unknown (whole rows are then sent). */
  bpp: number | null;
}

/** A byte range [start, end) of a pool. */
export interface ByteRange {
  start: number;
  end: number;
}

/** `rows` runs of `rowBytes` bytes, the first at `start`, each `stride` after the previous. */
export interface RectWrite {
  start: number;
  stride: number;
  rowBytes: number;
  rows: number;
}

/**
 * `w` cut into rectangles whose rows together fit in `maxBytes` (one frame each); rows wider than
 * that are cut into strips of columns first.
 */
export function* rectPieces(w: RectWrite, maxBytes: number): Generator<RectWrite> {
  if (w.rowBytes > maxBytes) {
    for (let col = 0; col < w.rowBytes; col += maxBytes) yield* rectPieces({ ...w, start: w.start + col, rowBytes: Math.min(maxBytes, w.rowBytes - col) }, maxBytes);
    return;
  }
  const rowsPerPiece = Math.floor(maxBytes / w.rowBytes);
  for (let row = 0; row < w.rows; row += rowsPerPiece) {
    yield { start: w.start + row * w.stride, stride: w.stride, rowBytes: w.rowBytes, rows: Math.min(rowsPerPiece, w.rows - row) };
  }
}

export interface DamageWrites {
  ranges: ByteRange[];
  rects: RectWrite[];
}

const MAX_RECTS = 32;
/** Ranges closer than this are merged: one frame header costs about as much. */
const MERGE_GAP = 64;

/** Damage accumulated for one buffer: a few rectangles, or "everything". */
export class DamageRegion {
  full = false;
  rects: Rect[] = [];

  addFull(): void {
    this.full = true;
    this.rects = [];
  }

  add(r: Rect): void {
    if (this.full || r.w <= 0 || r.h <= 0) return;
    // a rect already covered adds nothing (a client redrawing one spot damages it on every buffer)
    if (this.rects.some((o) => o.x <= r.x && o.y <= r.y && o.x + o.w >= r.x + r.w && o.y + o.h >= r.y + r.h)) return;
    this.rects.push(r);
    if (this.rects.length > MAX_RECTS) this.rects = [boundingBox(this.rects)];
  }

  addRegion(other: DamageRegion): void {
    if (other.full) this.addFull();
    else for (const r of other.rects) this.add(r);
  }

  get empty(): boolean {
    return !this.full && this.rects.length === 0;
  }

  /** Whether it includes every pixel of a width x height buffer. */
  covers(width: number, height: number): boolean {
    return this.full || this.rects.some((r) => r.x <= 0 && r.y <= 0 && r.x + r.w >= width && r.y + r.h >= height);
  }

  clear(): void {
    this.full = false;
    this.rects = [];
  }
}

export function boundingBox(rects: readonly Rect[]): Rect {
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (const r of rects) {
    x0 = Math.min(x0, r.x);
    y0 = Math.min(y0, r.y);
    x1 = Math.max(x1, r.x + r.w);
    y1 = Math.max(y1, r.y + r.h);
  }
  return { x: x0, y: y0, w: x1 - x0, h: y1 - y0 };
}

/**
 * Converts surface-coordinate damage to buffer coordinates. Returns null when the mapping
 * is not a plain scale (a transform or viewport is set): the caller then damages the whole buffer.
 */
export function surfaceToBuffer(r: Rect, scale: number, transform: number, hasViewport: boolean): Rect | null {
  if (transform !== 0 || hasViewport || scale < 1) return null;
  return { x: r.x * scale, y: r.y * scale, w: r.w * scale, h: r.h * scale };
}

/** The pixels of the buffer, clipped; null if nothing remains. */
function clip(r: Rect, width: number, height: number): Rect | null {
  const x0 = Math.max(0, r.x), y0 = Math.max(0, r.y);
  const x1 = Math.min(width, r.x + r.w), y1 = Math.min(height, r.y + r.h);
  return x1 > x0 && y1 > y0 ? { x: x0, y: y0, w: x1 - x0, h: y1 - y0 } : null;
}

/**
 * What to copy of one buffer's damage: contiguous byte ranges (sorted, merged, clamped to the pool)
 * for rectangles that span most of a row, and strided rectangle writes for narrow ones.
 */
export function damageWrites(damage: DamageRegion, layout: BufferLayout, poolSize: number): DamageWrites {
  const { offset, width, height, stride, bpp } = layout;
  const rects: RectWrite[] = [];
  if (width <= 0 || height <= 0 || stride <= 0) return { ranges: [], rects };
  const ranges: ByteRange[] = [];
  const rowBytes = bpp === null ? stride : Math.min(stride, width * bpp);
  const damaged = damage.full ? [{ x: 0, y: 0, w: width, h: height }] : damage.rects;
  for (const raw of damaged) {
    const r = clip(raw, width, height);
    if (r === null) continue;
    const wholeRows = bpp === null || (r.x === 0 && r.w === width) || r.w * bpp * 2 >= stride;
    if (wholeRows) {
      ranges.push({ start: offset + r.y * stride, end: offset + (r.y + r.h - 1) * stride + rowBytes });
      continue;
    }
    const start = offset + r.y * stride + r.x * bpp;
    const bytes = r.w * bpp;
    if (start < 0) continue;
    const rows = Math.min(r.h, Math.floor((poolSize - start - bytes) / stride) + 1);
    if (rows > 0) rects.push({ start, stride, rowBytes: bytes, rows });
  }
  return { ranges: mergeRanges(ranges, poolSize), rects };
}

export function mergeRanges(ranges: ByteRange[], limit: number): ByteRange[] {
  const clamped = ranges
    .map((r) => ({ start: Math.max(0, r.start), end: Math.min(limit, r.end) }))
    .filter((r) => r.end > r.start)
    .sort((a, b) => a.start - b.start);
  const out: ByteRange[] = [];
  for (const r of clamped) {
    const last = out[out.length - 1];
    if (last !== undefined && r.start <= last.end + MERGE_GAP) last.end = Math.max(last.end, r.end);
    else out.push({ ...r });
  }
  return out;
}

const fourcc = (s: string): number => (s.charCodeAt(0) | (s.charCodeAt(1) << 8) | (s.charCodeAt(2) << 16) | (s.charCodeAt(3) << 24)) >>> 0;

const BPP = new Map<number, number>([
  [0, 4], [1, 4], // wl_shm argb8888, xrgb8888
  ...['AR24', 'XR24', 'AB24', 'XB24', 'RA24', 'RX24', 'BA24', 'BX24', 'AR30', 'XR30', 'AB30', 'XB30', 'RA30', 'RX30', 'BA30', 'BX30'].map((s) => [fourcc(s), 4] as [number, number]),
  ...['RG16', 'BG16', 'AR15', 'XR15', 'AB15', 'XB15', 'AR12', 'XR12'].map((s) => [fourcc(s), 2] as [number, number]),
  ...['RG24', 'BG24'].map((s) => [fourcc(s), 3] as [number, number]),
  ...['C8  ', 'R8  '].map((s) => [fourcc(s), 1] as [number, number]),
  ...['AR48', 'XR48', 'AB48', 'XB48', 'AR4H', 'XR4H', 'AB4H', 'XB4H'].map((s) => [fourcc(s), 8] as [number, number]),
]);

/** Bytes per pixel of a wl_shm format, or null for formats whose layout is not known here. */
export function bytesPerPixel(format: number): number | null {
  return BPP.get(format) ?? null;
}
