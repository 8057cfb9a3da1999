// Accumulates bytes and fds read from a Wayland socket and hands out whole messages (pure).
import { DEFAULT_MAX_MESSAGE_SIZE, messageSizeAt, opcodeAt, readU32, type MessageHeader } from './wire-codec';

export interface RawMessage extends MessageHeader {
  /** The whole message, header included: a view valid until the next push() or freeSpace(). */
  bytes: Uint8Array;
}

export class MessageBuffer {
  private buf: Uint8Array = new Uint8Array(0);
  private start = 0;
  private end = 0;
  /** fds received and not yet consumed by a parsed message, in arrival order. */
  readonly fds: number[] = [];

  constructor(private readonly maxMessageSize = DEFAULT_MAX_MESSAGE_SIZE, private readonly maxQueuedFds = 1024) {}

  get pendingBytes(): number {
    return this.end - this.start;
  }

  /**
   * Room for the next read after the unread bytes, at least `min` bytes: a read can land there
   * and push() that view without a copy. May move the unread bytes, which ends the views of
   * messages returned before.
   */
  freeSpace(min = 4096): Uint8Array {
    if (this.buf.byteLength - this.end < min) this.makeRoom(min);
    return this.buf.subarray(this.end);
  }

  /**
   * Appends received bytes and fds: bytes read into freeSpace() are taken where they are, others
   * are copied. Throws RangeError when too many fds are queued.
   */
  push(bytes: Uint8Array, fds: readonly number[]): void {
    if (this.fds.length + fds.length > this.maxQueuedFds) {
      throw new RangeError(`more than ${this.maxQueuedFds} fds received without messages that take them`);
    }
    this.fds.push(...fds);
    const n = bytes.byteLength;
    if (n === 0) return;
    const inPlace = bytes.buffer === this.buf.buffer && bytes.byteOffset === this.buf.byteOffset + this.end && n <= this.buf.byteLength - this.end;
    if (!inPlace) {
      if (this.end + n > this.buf.byteLength) this.makeRoom(n);
      this.buf.set(bytes, this.end);
    }
    this.end += n;
  }

  /** Makes at least n bytes free after the unread ones: moves them to the front, or into a larger buffer. */
  private makeRoom(n: number): void {
    const live = this.end - this.start;
    const need = live + n;
    if (need <= this.buf.byteLength && this.start > 0) {
      this.buf.copyWithin(0, this.start, this.end);
    } else {
      const next = new Uint8Array(Math.max(need, this.buf.byteLength * 2, 8192));
      next.set(this.buf.subarray(this.start, this.end), 0);
      this.buf = next;
    }
    this.start = 0;
    this.end = live;
  }

  /** The next whole message, or null. Throws ProtocolError for an impossible header. */
  next(): RawMessage | null {
    const buf = this.buf;
    const start = this.start;
    if (this.end - start < 8) return null;
    const size = messageSizeAt(buf, start, this.maxMessageSize);
    if (this.end - start < size) return null;
    const message: RawMessage = { objectId: readU32(buf, start), opcode: opcodeAt(buf, start), size, bytes: buf.subarray(start, start + size) };
    this.start = start + size;
    if (this.start === this.end) {
      this.start = 0;
      this.end = 0;
    }
    return message;
  }

  /** Removes and returns every queued fd (to close them). */
  takeFds(): number[] {
    return this.fds.splice(0);
  }
}
