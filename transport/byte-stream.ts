// The one interface every channel transport implements: a duplex byte stream with backpressure.
import { EventEmitter } from 'node:events';

/**
 * Events: 'data' (chunk: Uint8Array — a fresh buffer the receiver may keep),
 * 'drain' (writable again after write() returned false), 'close' (error?: Error) exactly once.
 */
export abstract class ByteStream extends EventEmitter {
  abstract readonly description: string;
  /** Queues bytes; `flushed` runs once they left the process. Returns false when the caller should wait for 'drain'. */
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
}
