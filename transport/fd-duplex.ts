// Base of FdSocket and FdStream: readiness, read loop, queued writes with backpressure, close.
import { EventEmitter } from 'node:events';
import { readSync } from 'node:fs';
import { FdWatcher, READABLE, WRITABLE, closeAll, isNativeError, sendfile, shutdownWrite, type NativeError } from '../native/index';
import { errnoError, invalidArgType, outOfRange } from '../native/errors';
import { WriteQueue, type FileRange } from './write-queue';

export interface FdDuplexOptions {
  /** write() returns false once more than this many bytes are queued. Default 64 KiB. */
  highWaterMark?: number;
  /** Watch for incoming data. Default true; false for e.g. the write end of a pipe. */
  readable?: boolean;
  /**
   * Sockets only: end() shuts down the sending side and keeps reading until the peer closes too,
   * so the peer can still send (and read) its last words. Default false: end() closes the fd.
   */
  halfClose?: boolean;
}

/** Reads per readiness callback before yielding to other fds (epoll is level-triggered). */
const READS_PER_EVENT = 16;
/** One receive buffer for every stream: each read is copied out before the next one. */
const readBuffer = Buffer.allocUnsafe(64 * 1024);
/** Stands in for the bytes of a file that shrank while its range was queued. */
const ZEROS = new Uint8Array(64 * 1024);
/** Write errors that mean the peer is gone: what it sent before going may still wait to be read. */
const PEER_GONE = new Set(['EPIPE', 'ECONNRESET']);
/** Most bytes read after the peer went (its last words), so that a peer still writing cannot keep us reading. */
const LAST_WORDS_MAX = 4 * 1024 * 1024;
/** sendfile's answers for an output fd it cannot write to. */
const SENDFILE_UNSUPPORTED = new Set(['EINVAL', 'ENOSYS', 'EOPNOTSUPP']);
let fileBounce: Uint8Array | undefined;

/**
 * Owns `fd`: closes it once, on EOF, error, end() or destroy(). Events: 'data' (from the
 * subclass), 'drain', 'end' (peer closed), 'close' (error?) exactly once. When a write finds the
 * peer gone (EPIPE, ECONNRESET, POLLERR), what the peer sent before is still delivered as 'data',
 * paused or not, before 'close': a compositor's last event is the error that says why it left.
 */
export abstract class FdDuplex extends EventEmitter {
  readonly highWaterMark: number;
  protected readonly queue: WriteQueue;
  private readonly watcher: FdWatcher;
  private readable: boolean;
  private readonly halfClose: boolean;
  private writeShut = false;
  private paused = false;
  private events = 0;
  private needDrain = false;
  private corked = 0;
  private ending = false;
  private drainScheduled = false;
  #destroyed = false;
  private sendfileWorks = true;
  /** The last write said EAGAIN: only POLLOUT makes trying again worth a syscall (and a coalescing copy). */
  private awaitingWritable = false;
  /**
   * Asked before each read: a buffer the read should fill (the stream then emits a view of it),
   * or null for the stream's own buffer.
   */
  readTarget: (() => Uint8Array | null) | null = null;

  /** Takes ownership of fd, also when it throws (then fd is closed). */
  constructor(readonly fd: number, maxFdsPerWrite: number, options: FdDuplexOptions = {}) {
    super();
    this.highWaterMark = options.highWaterMark ?? 64 * 1024;
    this.readable = options.readable ?? true;
    this.halfClose = options.halfClose ?? false;
    this.queue = new WriteQueue(maxFdsPerWrite);
    try {
      if (!Number.isInteger(this.highWaterMark) || this.highWaterMark < 0) throw outOfRange('highWaterMark', 'an integer >= 0', this.highWaterMark);
      this.watcher = new FdWatcher(fd, (status, events) => this.onReady(status, events));
    } catch (e) {
      closeAll([fd]);
      throw e;
    }
    this.update();
  }

  get destroyed(): boolean {
    return this.#destroyed;
  }

  /** Bytes queued and not yet written. */
  get writableLength(): number {
    return this.queue.length;
  }

  /** fds queued with those bytes and not yet sent. */
  get queuedFdCount(): number {
    return this.queue.fdCount;
  }

  /** Stops reading (backpressure towards the peer) until resume(). */
  pause(): void {
    this.paused = true;
    this.update();
  }

  resume(): void {
    this.paused = false;
    this.update();
  }

  /** Holds writes in the queue until the matching uncork(), so they leave in one sendmsg (up to 64 KiB). */
  cork(): void {
    this.corked++;
  }

  uncork(): void {
    if (this.corked === 0 || --this.corked > 0) return;
    if (!this.#destroyed && this.queue.length > 0 && !this.awaitingWritable) this.flush();
  }

  /** Sends what is queued, then closes. */
  end(): void {
    if (this.#destroyed || this.ending) return;
    this.ending = true;
    if (!this.halfClose) this.readable = false;
    if (this.queue.length === 0) this.finishWriting();
    else this.update();
  }

  private finishWriting(): void {
    if (!this.halfClose || !this.readable) {
      this.destroy();
      return;
    }
    if (this.writeShut) return;
    this.writeShut = true;
    try {
      shutdownWrite(this.fd);
    } catch (e) {
      this.destroy(e as NativeError);
      return;
    }
    this.update();
  }

  /** Closes the fd now, and every fd still queued. */
  destroy(error?: Error): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.watcher.close(); // before the fd: libuv must drop it from epoll while it is still open
    closeAll(this.queue.clear());
    closeAll([this.fd]);
    this.runFinished();
    process.nextTick(() => this.emit('close', error));
  }

  /** One read syscall into `into`: -1 on EAGAIN, 0 at EOF, else bytes read; then deliver() emits them. */
  protected abstract readOnce(into: Uint8Array): number;
  /** Emits what the last readOnce() read (a copy, or a view of the read target). Listener exceptions propagate as uncaught. */
  protected abstract deliver(data: Uint8Array): void;
  /** One write of data with fds: bytes written or -1 on EAGAIN. */
  protected abstract writeOnce(data: Uint8Array, fds: number[]): number;

  /**
   * Queues data and the fds it carries (owned from here on); false above the high-water mark.
   * With onSent the data is lent, not copied: it must stay unchanged until onSent runs (also
   * when the stream closes first).
   */
  protected enqueue(data: Uint8Array, fds: readonly number[], onSent?: () => void): boolean {
    if (!(data instanceof Uint8Array)) throw invalidArgType('data', 'an instance of Uint8Array', data);
    if (this.#destroyed || this.ending) {
      closeAll(fds);
      if (onSent !== undefined) queueMicrotask(onSent);
      return false;
    }
    const wasEmpty = this.queue.length === 0;
    this.queue.push(data, fds, onSent);
    return this.queued(wasEmpty);
  }

  /**
   * Queues bytes of a file, sent with sendfile(2) without passing through this process. The fd
   * is the stream's from here on. Bytes past the file's end (it shrank meanwhile) go out as zeros.
   */
  writeFile(file: FileRange, onSent?: () => void): boolean {
    if (this.#destroyed || this.ending) {
      closeAll([file.fd]);
      if (onSent !== undefined) queueMicrotask(onSent);
      return false;
    }
    const wasEmpty = this.queue.length === 0;
    this.queue.pushFile(file, onSent);
    return this.queued(wasEmpty);
  }

  /** Queues bytes (no fds) lent until onSent: never copied, so the caller must not change them before. */
  writeLent(data: Uint8Array, onSent: () => void): boolean {
    return this.enqueue(data, [], onSent);
  }

  private queued(wasEmpty: boolean): boolean {
    if (wasEmpty && this.corked === 0) this.flush();
    this.queue.own();
    if (this.#destroyed) return false;
    if (this.queue.length <= this.highWaterMark) return true;
    this.needDrain = true;
    return false;
  }

  private onReady(status: number, events: number): void {
    if (this.#destroyed) return;
    if (status < 0) {
      // libuv stopped the watcher (POLLERR); a read or write names the real error.
      this.events = 0;
      this.readLastWords();
      if (!this.#destroyed && this.queue.length > 0) this.flush();
      if (!this.#destroyed) this.destroy(errnoError(status, 'uv_poll'));
      return;
    }
    if (events & READABLE) this.readSome();
    if (events & WRITABLE && !this.#destroyed) {
      this.awaitingWritable = false;
      this.flush();
    }
    if (!this.#destroyed) this.update();
  }

  private readSome(): void {
    for (let i = 0; i < READS_PER_EVENT && this.readable && !this.paused && !this.#destroyed; i++) {
      const n = this.readAndDeliver();
      if (n === 0) {
        this.destroy();
        this.emit('end');
      }
      if (n <= 0) return;
    }
  }

  /** The peer is gone: delivers what it sent before, up to EOF (or LAST_WORDS_MAX), even while paused. */
  private readLastWords(): void {
    for (let total = 0; total < LAST_WORDS_MAX && this.readable && !this.#destroyed;) {
      const n = this.readAndDeliver();
      if (n <= 0) return;
      total += n;
    }
  }

  /**
   * One read, its bytes delivered: their count; -1 when there is nothing more now (EAGAIN, or a
   * short read emptied the fd), 0 at EOF; a read error destroys the stream and gives -1.
   */
  private readAndDeliver(): number {
    let n: number;
    let target: Uint8Array | null;
    let into: Uint8Array;
    try {
      target = this.readTarget?.() ?? null;
      into = target ?? readBuffer;
      n = this.readOnce(into);
    } catch (e) {
      this.destroy(e as NativeError);
      return -1;
    }
    if (n <= 0) return n;
    this.deliver(target === null ? Buffer.from(readBuffer.subarray(0, n)) : target.subarray(0, n));
    // a short read emptied the fd: the next read would only say EAGAIN, and epoll reports what comes later
    return n < into.byteLength ? -1 : n;
  }

  private flush(): void {
    for (;;) {
      const segment = this.queue.peek();
      if (segment === null) break;
      let n: number;
      try {
        n = segment.file === null ? this.writeOnce(segment.data, segment.fds) : this.sendFileOnce(segment.file);
      } catch (e) {
        if (PEER_GONE.has((e as NativeError).code)) this.readLastWords();
        this.destroy(e as NativeError);
        return;
      }
      if (n < 0) {
        this.awaitingWritable = true;
        break;
      }
      closeAll(this.queue.consume(n, segment.fds.length));
    }
    this.runFinished();
    if (this.queue.length > 0) {
      this.update();
      return;
    }
    if (this.ending) {
      this.finishWriting();
      return;
    }
    if (this.needDrain && !this.drainScheduled) {
      this.drainScheduled = true;
      process.nextTick(() => {
        this.drainScheduled = false;
        if (this.#destroyed || this.queue.length > 0 || !this.needDrain) return;
        this.needDrain = false;
        this.emit('drain');
      });
    }
    this.update();
  }

  private sendFileOnce(file: FileRange): number {
    if (this.sendfileWorks) {
      try {
        const n = sendfile(this.fd, file.fd, file.offset, file.length);
        if (n !== 0) return n;
        return this.writeOnce(ZEROS.subarray(0, Math.min(file.length, ZEROS.byteLength)), []);
      } catch (e) {
        if (!isNativeError(e) || !SENDFILE_UNSUPPORTED.has(e.code)) throw e;
        this.sendfileWorks = false;
      }
    }
    // an fd sendfile cannot write to: the same bytes through this process
    fileBounce ??= new Uint8Array(ZEROS.byteLength);
    const got = readSync(file.fd, fileBounce, 0, Math.min(file.length, fileBounce.byteLength), file.offset);
    return this.writeOnce(got > 0 ? fileBounce.subarray(0, got) : ZEROS.subarray(0, Math.min(file.length, ZEROS.byteLength)), []);
  }

  private runFinished(): void {
    for (const onSent of this.queue.takeFinished()) onSent();
  }

  private update(): void {
    if (this.#destroyed) return;
    const events = (this.readable && !this.paused ? READABLE : 0) | (this.queue.length > 0 ? WRITABLE : 0);
    if (events === this.events) return;
    this.events = events;
    try {
      this.watcher.start(events);
    } catch (e) {
      this.destroy(e as NativeError);
    }
  }
}
