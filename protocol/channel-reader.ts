// Reassembles channel frames from a byte stream split at arbitrary points.
// Pushed chunks are never modified and never reused: the data fields of returned frames are views
// into them (or into a fresh buffer when a small frame spans chunks), valid for as long as the caller holds them.
// RES_WRITE and PIPE_DATA frames that span chunks are not reassembled: they come out as several frames of
// the same kind covering consecutive parts of the data, which means the same thing and costs no copy.
import { decodeFrame, readFrameHeader } from './channel-codec';
import { readU32 } from './wire-codec';
import { ChannelError, DEFAULT_MAX_FRAME_SIZE, FRAME_HEADER_SIZE, FrameKind, type Frame, type PipeDataFrame, type ResWriteFrame } from './channel-frames';

/** Fixed bytes (header included) before the data of the frame kinds that stream. */
const STREAM_PREFIX: Partial<Record<FrameKind, number>> = {
  [FrameKind.ResWrite]: FRAME_HEADER_SIZE + 16,
  [FrameKind.PipeData]: FRAME_HEADER_SIZE + 4,
};

interface Streaming {
  frame: ResWriteFrame | PipeDataFrame;
  remaining: number;
}

export class ChannelReader {
  private chunks: Uint8Array[] = [];
  private head = 0;
  private buffered = 0;
  private failure: ChannelError | null = null;
  private streaming: Streaming | null = null;

  constructor(public maxFrameSize = DEFAULT_MAX_FRAME_SIZE) {}

  /** Bytes received but not yet part of a returned frame. */
  get pendingBytes(): number {
    return this.buffered;
  }

  /** No part of a frame is held or expected: the next byte starts a frame. */
  get atFrameStart(): boolean {
    return this.streaming === null && this.buffered === 0;
  }

  /** Bytes still missing from a frame whose header has arrived: 0 when none has, or while one streams. */
  get frameRemainder(): number {
    if (this.streaming !== null || this.failure !== null || this.buffered < FRAME_HEADER_SIZE) return 0;
    // push() validated this header already
    return Math.max(0, readU32(this.peek(4), 0) - this.buffered);
  }

  /**
   * The RES_WRITE whose data is arriving, when every byte received so far has been returned:
   * the next `remaining` bytes of the stream are its data, to land at `offset` of `resource`.
   */
  streamingWrite(): { conn: number; resource: number; offset: number; remaining: number } | null {
    const st = this.streaming;
    if (st === null || this.buffered !== 0 || st.frame.kind !== FrameKind.ResWrite) return null;
    return { conn: st.frame.conn, resource: st.frame.resource, offset: st.frame.offset, remaining: st.remaining };
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
        if (this.streaming !== null) {
          if (this.buffered === 0) break;
          frames.push(this.streamPart(this.streaming));
          continue;
        }
        if (this.buffered < FRAME_HEADER_SIZE) break;
        const headerBytes = this.peek(FRAME_HEADER_SIZE);
        const header = readFrameHeader(headerBytes, 0, this.maxFrameSize) as NonNullable<ReturnType<typeof readFrameHeader>>;
        if (this.buffered >= header.size) {
          frames.push(decodeFrame(this.take(header.size), header));
          continue;
        }
        const prefix = STREAM_PREFIX[header.kind];
        if (prefix === undefined || header.size <= prefix || this.buffered < prefix) break;
        // validate the fixed fields as a frame with one byte of data, then stream the rest
        const probe = new Uint8Array(prefix + 1);
        probe.set(this.take(prefix), 0);
        new DataView(probe.buffer).setUint32(0, prefix + 1, true);
        const frame = decodeFrame(probe, { ...header, size: prefix + 1 }) as ResWriteFrame | PipeDataFrame;
        this.streaming = { frame, remaining: header.size - prefix };
      }
    } catch (e) {
      if (e instanceof ChannelError) this.failure = e;
      throw e;
    }
    return frames;
  }

  /** The next part of a streaming frame: what the first chunk holds of it. */
  private streamPart(st: Streaming): Frame {
    const available = this.chunks[0].byteLength - this.head;
    const n = Math.min(available, st.remaining);
    const data = this.take(n);
    const part = { ...st.frame, data };
    st.remaining -= n;
    if (st.frame.kind === FrameKind.ResWrite) (st.frame as ResWriteFrame).offset += n;
    if (st.remaining === 0) this.streaming = null;
    return part;
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
