// Base of FdSocket and FdStream: readiness, read loop, queued writes with backpressure, close.
import { EventEmitter } from 'node:events';
import { FdWatcher, READABLE, WRITABLE, closeAll, type NativeError } from './index';
import { errnoError, invalidArgType, outOfRange } from './errors';
import { WriteQueue } from './write-queue';

export interface FdDuplexOptions {
  /** write() returns false once more than this many bytes are queued. Default 64 KiB. */
  highWaterMark?: number;
  /** Watch for incoming data. Default true; false for e.g. the write end of a pipe. */
  readable?: boolean;
}

/** Reads per readiness callback before yielding to other fds (epoll is level-triggered). */
const READS_PER_EVENT = 16;

/**
 * Owns `fd`: closes it once, on EOF, error, end() or destroy(). Events: 'data' (from the
 * subclass), 'drain', 'end' (peer closed), 'close' (error?) exactly once.
 */
export abstract class FdDuplex extends EventEmitter {
  readonly highWaterMark: number;
  protected readonly queue: WriteQueue;
  private readonly watcher: FdWatcher;
  private readable: boolean;
  private paused = false;
  private events = 0;
  private needDrain = false;
  private ending = false;
  private drainScheduled = false;
  #destroyed = false;

  /** Takes ownership of fd, also when it throws (then fd is closed). */
  constructor(readonly fd: number, maxFdsPerWrite: number, options: FdDuplexOptions = {}) {
    super();
    this.highWaterMark = options.highWaterMark ?? 64 * 1024;
    this.readable = options.readable ?? true;
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

  /** Stops reading (backpressure towards the peer) until resume(). */
  pause(): void {
    this.paused = true;
    this.update();
  }

  resume(): void {
    this.paused = false;
    this.update();
  }

  /** Sends what is queued, then closes. */
  end(): void {
    if (this.#destroyed || this.ending) return;
    this.ending = true;
    this.readable = false;
    if (this.queue.length === 0) this.destroy();
    else this.update();
  }

  /** Closes the fd now, and every fd still queued. */
  destroy(error?: Error): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.watcher.close(); // before the fd: libuv must drop it from epoll while it is still open
    closeAll(this.queue.clear());
    closeAll([this.fd]);
    process.nextTick(() => this.emit('close', error));
  }

  /** One read syscall: -1 on EAGAIN, 0 at EOF, else bytes read; then deliver() emits them. */
  protected abstract readOnce(): number;
  /** Emits what the last readOnce() read. Listener exceptions propagate as uncaught. */
  protected abstract deliver(bytes: number): void;
  /** One write of data with fds: bytes written or -1 on EAGAIN. */
  protected abstract writeOnce(data: Uint8Array, fds: number[]): number;

  /** Queues data and the fds it carries (owned from here on); false above the high-water mark. */
  protected enqueue(data: Uint8Array, fds: readonly number[]): boolean {
    if (!(data instanceof Uint8Array)) throw invalidArgType('data', 'an instance of Uint8Array', data);
    if (this.#destroyed || this.ending) {
      closeAll(fds);
      return false;
    }
    const wasEmpty = this.queue.length === 0;
    this.queue.push(data, fds);
    if (wasEmpty) this.flush();
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
      if (this.readable) this.readSome();
      if (!this.#destroyed && this.queue.length > 0) this.flush();
      if (!this.#destroyed) this.destroy(errnoError(status, 'uv_poll'));
      return;
    }
    if (events & READABLE) this.readSome();
    if (events & WRITABLE && !this.#destroyed) this.flush();
    if (!this.#destroyed) this.update();
  }

  private readSome(): void {
    for (let i = 0; i < READS_PER_EVENT && this.readable && !this.paused && !this.#destroyed; i++) {
      let n: number;
      try {
        n = this.readOnce();
      } catch (e) {
        this.destroy(e as NativeError);
        return;
      }
      if (n < 0) return;
      if (n === 0) {
        this.destroy();
        this.emit('end');
        return;
      }
      this.deliver(n);
    }
  }

  private flush(): void {
    for (;;) {
      const segment = this.queue.peek();
      if (segment === null) break;
      let n: number;
      try {
        n = this.writeOnce(segment.data, segment.fds);
      } catch (e) {
        this.destroy(e as NativeError);
        return;
      }
      if (n < 0) break;
      closeAll(this.queue.consume(n, segment.fds.length));
    }
    if (this.queue.length > 0) {
      this.update();
      return;
    }
    if (this.ending) {
      this.destroy();
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
