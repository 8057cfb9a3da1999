// Outgoing bytes and the fds queued with them, cut into sendmsg-sized segments (pure, no I/O).

/** Bytes to send straight from a file (sendfile). The queue owns fd and hands it back for closing once done. */
export interface FileRange {
  fd: number;
  offset: number;
  length: number;
}

export interface Segment {
  /** At least 1 byte; empty for a file segment. */
  data: Uint8Array;
  /** At most maxFds fds, to send with data's first byte. */
  fds: number[];
  /** The bytes to send come from this part of a file instead of data. */
  file: FileRange | null;
}

interface Chunk {
  data: Uint8Array | null;
  file: FileRange | null;
  length: number;
  /** False while it still references the caller's buffer (see own()). */
  owned: boolean;
  /** Runs once every byte of the chunk was sent (or the queue was cleared). */
  onSent: (() => void) | undefined;
}

interface QueuedFd {
  fd: number;
  /** Stream position of the first byte of the write the fd was queued with. */
  pos: number;
}

/** Bytes of several small chunks are copied together up to this size for one sendmsg. */
const COALESCE_BYTES = 64 * 1024;
/** Larger chunks are never copied to be coalesced: they go out on their own, straight from their buffer. */
const COALESCE_CHUNK_MAX = 4096;
const EMPTY = new Uint8Array(0);

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
  private finished: Array<() => void> = [];

  constructor(readonly maxFds: number) {}

  /** Queued bytes not yet sent. */
  get length(): number {
    return this.end - this.sent;
  }

  get fdCount(): number {
    return this.fds.length - this.fdHead;
  }

  /**
   * Queues data with fds. Without onSent the data is borrowed: call own() before the caller may
   * reuse it. With onSent it is lent: never copied, and the caller keeps it intact until onSent.
   */
  push(data: Uint8Array, fds: readonly number[] = [], onSent?: () => void): void {
    if (fds.length > this.maxFds * data.byteLength) {
      throw new RangeError(`${fds.length} fds need at least ${Math.ceil(fds.length / this.maxFds)} bytes, got ${data.byteLength}`);
    }
    if (data.byteLength === 0) {
      if (onSent !== undefined) this.finished.push(onSent);
      return;
    }
    for (const fd of fds) this.fds.push({ fd, pos: this.end });
    const lent = onSent !== undefined;
    this.chunks.push({ data, file: null, length: data.byteLength, owned: lent, onSent });
    if (!lent) this.borrowed++;
    this.end += data.byteLength;
  }

  /** Queues a file range (its fd is the queue's from here on; consume() or clear() return it for closing). */
  pushFile(file: FileRange, onSent?: () => void): void {
    if (file.length <= 0) throw new RangeError(`a file range needs at least 1 byte, got ${file.length}`);
    this.chunks.push({ data: null, file: { ...file }, length: file.length, owned: true, onSent });
    this.end += file.length;
  }

  /** Copies the unsent part of every chunk still referencing a caller's buffer. */
  own(): void {
    for (let i = this.chunks.length - 1; this.borrowed > 0 && i >= 0; i--) {
      const chunk = this.chunks[i]!;
      if (chunk.owned) continue;
      const start = i === 0 ? this.headOffset : 0;
      chunk.data = Uint8Array.prototype.slice.call(chunk.data, start); // a copy (Buffer#slice would not copy)
      chunk.length = chunk.data.byteLength;
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
    const headLeft = head.length - this.headOffset;
    if (head.file !== null) {
      const { fd, offset } = head.file;
      return { data: EMPTY, fds: [], file: { fd, offset: offset + this.headOffset, length: headLeft } };
    }
    let stop = this.sent + headLeft;
    for (let i = 1; i < this.chunks.length && stop - this.sent < COALESCE_BYTES && headLeft <= COALESCE_CHUNK_MAX; i++) {
      const next = this.chunks[i]!;
      if (next.file !== null || next.length > COALESCE_CHUNK_MAX) break;
      stop = Math.min(stop + next.length, this.sent + COALESCE_BYTES);
    }
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
    return { data: this.bytes(stop - this.sent), fds, file: null };
  }

  /**
   * `bytes` of the last peek() were written, and with them its `fdCount` fds (if bytes > 0).
   * Returns the fds to close now: those sent, and the fd of a file range sent to its end.
   */
  consume(bytes: number, fdCount: number): number[] {
    if (bytes <= 0) return [];
    const done = this.fds.slice(this.fdHead, this.fdHead + fdCount).map((q) => q.fd);
    this.fdHead += done.length;
    if (this.fdHead === this.fds.length) {
      this.fds = [];
      this.fdHead = 0;
    }
    this.sent += bytes;
    let left = bytes;
    while (left > 0) {
      const head = this.chunks[0]!;
      const headLeft = head.length - this.headOffset;
      if (left < headLeft) {
        this.headOffset += left;
        break;
      }
      left -= headLeft;
      this.chunks.shift();
      if (!head.owned) this.borrowed--;
      if (head.file !== null) done.push(head.file.fd);
      if (head.onSent !== undefined) this.finished.push(head.onSent);
      this.headOffset = 0;
    }
    return done;
  }

  /** The onSent callbacks of chunks finished since the last call, in order; the caller runs them. */
  takeFinished(): Array<() => void> {
    if (this.finished.length === 0) return this.finished;
    const out = this.finished;
    this.finished = [];
    return out;
  }

  /** Empties the queue; returns the fds that were never sent (the caller closes them). */
  clear(): number[] {
    const unsent = this.fds.slice(this.fdHead).map((q) => q.fd);
    for (const chunk of this.chunks) {
      if (chunk.file !== null) unsent.push(chunk.file.fd);
      if (chunk.onSent !== undefined) this.finished.push(chunk.onSent);
    }
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
    const headData = head.data as Uint8Array;
    if (this.headOffset + count <= headData.byteLength) {
      return headData.subarray(this.headOffset, this.headOffset + count);
    }
    const out = new Uint8Array(count);
    let filled = 0;
    for (let i = 0; filled < count; i++) {
      const chunk = this.chunks[i]!.data as Uint8Array;
      const from = i === 0 ? this.headOffset : 0;
      const take = Math.min(count - filled, chunk.byteLength - from);
      out.set(chunk.subarray(from, from + take), filled);
      filled += take;
    }
    return out;
  }
}
