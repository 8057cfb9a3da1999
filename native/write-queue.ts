// Outgoing bytes and the fds queued with them, cut into sendmsg-sized segments (pure, no I/O).

export interface Segment {
  /** At least 1 byte. */
  data: Uint8Array;
  /** At most maxFds fds, to send with data's first byte. */
  fds: number[];
}

interface Chunk {
  data: Uint8Array;
  /** False while it still references the caller's buffer (see own()). */
  owned: boolean;
}

interface QueuedFd {
  fd: number;
  /** Stream position of the first byte of the write the fd was queued with. */
  pos: number;
}

/** Bytes of several small chunks are copied together up to this size for one sendmsg. */
const COALESCE_BYTES = 64 * 1024;

/**
 * Fds travel with the first byte of their write, or earlier, like libwayland: a segment stops
 * before a write whose fds would not fit. A write with more than maxFds fds is sent maxFds at a
 * time with one byte each, so each write needs at least ceil(fds / maxFds) bytes (push checks).
 */
export class WriteQueue {
  private chunks: Chunk[] = [];
  private headOffset = 0; // bytes of chunks[0] already sent
  private fds: QueuedFd[] = [];
  private fdHead = 0;
  private sent = 0; // stream position of the next byte to send
  private end = 0; // stream position after the last queued byte
  private borrowed = 0;

  constructor(readonly maxFds: number) {}

  /** Queued bytes not yet sent. */
  get length(): number {
    return this.end - this.sent;
  }

  get fdCount(): number {
    return this.fds.length - this.fdHead;
  }

  /** Queues data (by reference: call own() before the caller may reuse it) with fds. */
  push(data: Uint8Array, fds: readonly number[] = []): void {
    if (fds.length > this.maxFds * data.byteLength) {
      throw new RangeError(`${fds.length} fds need at least ${Math.ceil(fds.length / this.maxFds)} bytes, got ${data.byteLength}`);
    }
    if (data.byteLength === 0) return;
    for (const fd of fds) this.fds.push({ fd, pos: this.end });
    this.chunks.push({ data, owned: false });
    this.borrowed++;
    this.end += data.byteLength;
  }

  /** Copies the unsent part of every chunk still referencing a caller's buffer. */
  own(): void {
    for (let i = this.chunks.length - 1; this.borrowed > 0 && i >= 0; i--) {
      const chunk = this.chunks[i]!;
      if (chunk.owned) continue;
      const start = i === 0 ? this.headOffset : 0;
      chunk.data = Uint8Array.prototype.slice.call(chunk.data, start); // a copy (Buffer#slice would not copy)
      chunk.owned = true;
      if (i === 0) {
        this.headOffset = 0;
      }
      this.borrowed--;
    }
  }

  /** The next segment to send, or null when nothing is queued. */
  peek(): Segment | null {
    if (this.chunks.length === 0) return null;
    const head = this.chunks[0]!;
    const headLeft = head.data.byteLength - this.headOffset;
    let stop = this.chunks.length === 1 || headLeft >= COALESCE_BYTES ? this.sent + headLeft : Math.min(this.end, this.sent + COALESCE_BYTES);
    const fds: number[] = [];
    for (let i = this.fdHead; i < this.fds.length; i++) {
      const queued = this.fds[i]!;
      if (queued.pos >= stop) break;
      if (fds.length === this.maxFds) {
        stop = Math.max(this.sent + 1, queued.pos);
        break;
      }
      fds.push(queued.fd);
    }
    return { data: this.bytes(stop - this.sent), fds };
  }

  /** `bytes` of the last peek() were written, and with them its `fdCount` fds (if bytes > 0). Returns those fds. */
  consume(bytes: number, fdCount: number): number[] {
    if (bytes <= 0) return [];
    const sentFds = this.fds.slice(this.fdHead, this.fdHead + fdCount).map((q) => q.fd);
    this.fdHead += sentFds.length;
    if (this.fdHead === this.fds.length) {
      this.fds = [];
      this.fdHead = 0;
    }
    this.sent += bytes;
    let left = bytes;
    while (left > 0) {
      const head = this.chunks[0]!;
      const headLeft = head.data.byteLength - this.headOffset;
      if (left < headLeft) {
        this.headOffset += left;
        break;
      }
      left -= headLeft;
      this.chunks.shift();
      if (!head.owned) this.borrowed--;
      this.headOffset = 0;
    }
    return sentFds;
  }

  /** Empties the queue; returns the fds that were never sent (the caller closes them). */
  clear(): number[] {
    const unsent = this.fds.slice(this.fdHead).map((q) => q.fd);
    this.chunks = [];
    this.fds = [];
    this.fdHead = 0;
    this.headOffset = 0;
    this.borrowed = 0;
    this.sent = this.end;
    return unsent;
  }

  private bytes(count: number): Uint8Array {
    const head = this.chunks[0]!;
    if (this.headOffset + count <= head.data.byteLength) {
      return head.data.subarray(this.headOffset, this.headOffset + count);
    }
    const out = new Uint8Array(count);
    let filled = 0;
    for (let i = 0; filled < count; i++) {
      const chunk = this.chunks[i]!.data;
      const from = i === 0 ? this.headOffset : 0;
      const take = Math.min(count - filled, chunk.byteLength - from);
      out.set(chunk.subarray(from, from + take), filled);
      filled += take;
    }
    return out;
  }
}
