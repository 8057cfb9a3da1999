// Reassembles channel frames from a byte stream split at arbitrary points.
// Pushed chunks are never modified and never reused: the data fields of returned frames are views
// into them (or into a fresh buffer when a frame spans chunks), valid for as long as the caller holds them.
import { decodeFrame, readFrameHeader } from './channel-codec';
import { ChannelError, DEFAULT_MAX_FRAME_SIZE, FRAME_HEADER_SIZE, type Frame } from './channel-frames';

export class ChannelReader {
  private chunks: Uint8Array[] = [];
  private head = 0;
  private buffered = 0;
  private failure: ChannelError | null = null;

  constructor(public maxFrameSize = DEFAULT_MAX_FRAME_SIZE) {}

  /** Bytes received but not yet part of a returned frame. */
  get pendingBytes(): number {
    return this.buffered;
  }

  /** Adds bytes and returns every frame they complete. Throws ChannelError, then keeps throwing it. */
  push(chunk: Uint8Array): Frame[] {
    if (this.failure !== null) throw this.failure;
    if (chunk.byteLength > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.byteLength;
    }
    const frames: Frame[] = [];
    try {
      for (;;) {
        if (this.buffered < FRAME_HEADER_SIZE) break;
        const headerBytes = this.peek(FRAME_HEADER_SIZE);
        const header = readFrameHeader(headerBytes, 0, this.maxFrameSize) as NonNullable<ReturnType<typeof readFrameHeader>>;
        if (this.buffered < header.size) break;
        frames.push(decodeFrame(this.take(header.size), header));
      }
    } catch (e) {
      if (e instanceof ChannelError) this.failure = e;
      throw e;
    }
    return frames;
  }

  private peek(n: number): Uint8Array {
    const first = this.chunks[0];
    if (first.byteLength - this.head >= n) return first.subarray(this.head, this.head + n);
    return this.gather(n, false);
  }

  private take(n: number): Uint8Array {
    const first = this.chunks[0];
    let out: Uint8Array;
    if (first.byteLength - this.head >= n) {
      out = first.subarray(this.head, this.head + n);
      this.head += n;
      if (this.head === first.byteLength) {
        this.chunks.shift();
        this.head = 0;
      }
      this.buffered -= n;
      return out;
    }
    return this.gather(n, true);
  }

  private gather(n: number, consume: boolean): Uint8Array {
    const out = new Uint8Array(n);
    let filled = 0;
    let i = 0;
    let head = this.head;
    while (filled < n) {
      const c = this.chunks[i];
      const part = Math.min(n - filled, c.byteLength - head);
      out.set(c.subarray(head, head + part), filled);
      filled += part;
      head += part;
      if (head === c.byteLength) {
        i++;
        head = 0;
      }
    }
    if (consume) {
      this.chunks.splice(0, i);
      this.head = head;
      this.buffered -= n;
    }
    return out;
  }
}
