// The one interface every channel transport implements: a duplex byte stream with backpressure.
import { EventEmitter } from 'node:events';
import { closeAll } from '../native/index';

/**
 * Events: 'data' (chunk: Uint8Array — a fresh buffer the receiver may keep, or a view of what
 * readTarget returned), 'drain' (writable again after write() returned false), 'close' (error?: Error) exactly once.
 */
export abstract class ByteStream extends EventEmitter {
  abstract readonly description: string;
  /**
   * Asked before each read by streams that can read into a given buffer: where the next bytes
   * should land (the 'data' chunk is then a view of it), or null for the stream's own buffer.
   */
  readTarget: (() => Uint8Array | null) | null = null;
  /** Queues bytes, which must stay unchanged until `flushed` runs (once they left the process). Returns false when the caller should wait for 'drain'. */
  abstract write(chunk: Uint8Array, flushed?: () => void): boolean;
  /** Closes after pending writes; 'close' follows. */
  abstract end(): void;
  /** Closes now, dropping pending writes. */
  abstract destroy(error?: Error): void;
  /** Bytes queued but not yet written. */
  abstract get pendingBytes(): number;
  /** Hints that several writes follow; uncork() sends them together. */
  cork(): void {}
  uncork(): void {}

  /** Whether writeFile() sends from the file inside the kernel. */
  get canSendFiles(): boolean {
    return false;
  }

  /**
   * Queues `length` bytes of file `fd` from `offset`; the stream owns fd from here on. Bytes past
   * the file's end go out as zeros. Only streams with canSendFiles implement it.
   */
  writeFile(fd: number, _offset: number, _length: number, _flushed?: () => void): boolean {
    closeAll([fd]);
    throw new Error(`${this.description}: this transport cannot send from files`);
  }
}
