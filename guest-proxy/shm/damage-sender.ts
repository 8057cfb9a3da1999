// Cuts damaged bytes into pieces that fit one frame and hands each to a byte source: damage is chunked here only.
import { rectPieces, type DamageWrites, type RectWrite } from '../../protocol/damage';

/** Where the bytes of one piece come from and where they go (a frame, or the shared region). */
export interface ByteSource {
  /** `length` bytes at `offset` of the pool; length is at most the sender's piece size. */
  range(offset: number, length: number): void;
  /** A rectangle whose rows together are at most the sender's piece size. */
  rect(piece: RectWrite): void;
}

export class DamageSender {
  /** Damaged bytes handed to the source. */
  bytes = 0;
  /** Pieces handed to the source (frames, for a channel source). */
  pieces = 0;

  constructor(private readonly source: ByteSource, private readonly maxPiece: number) {}

  send(writes: DamageWrites): void {
    for (const r of writes.ranges) this.range(r.start, r.end - r.start);
    for (const w of writes.rects) this.rect(w);
  }

  range(offset: number, length: number): void {
    for (let k = 0; k < length; k += this.maxPiece) {
      this.source.range(offset + k, Math.min(length - k, this.maxPiece));
      this.pieces++;
    }
    this.bytes += length;
  }

  rect(w: RectWrite): void {
    for (const piece of rectPieces(w, this.maxPiece)) {
      this.source.rect(piece);
      this.pieces++;
    }
    this.bytes += w.rows * w.rowBytes;
  }

  /** `count` [offset, length] pairs (from diffRows); equal spans a constant stride apart go as the rows of one rectangle. */
  spans(spans: Float64Array, count: number): void {
    for (let i = 0; i < count;) {
      const offset = spans[2 * i]!;
      const length = spans[2 * i + 1]!;
      const stride = i + 1 < count ? spans[2 * i + 2]! - offset : 0;
      let rows = 1;
      while (i + rows < count && spans[2 * (i + rows) + 1] === length && spans[2 * (i + rows)] === offset + rows * stride && (rows + 1) * length <= this.maxPiece) rows++;
      if (rows > 1) this.rect({ start: offset, stride, rowBytes: length, rows });
      else this.range(offset, length);
      i += rows;
    }
  }
}
