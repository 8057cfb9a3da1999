// FdListener: accepts connections on a listening socket fd (UNIX or AF_VSOCK) and emits FdSockets.
import { EventEmitter } from 'node:events';
import { FdWatcher, READABLE, VMADDR_CID_ANY, accept, closeAll, isNativeError, unixListen, vsockListen } from '../native/index';
import { checkFd, errnoError } from '../native/errors';
import { FdSocket, type FdSocketOptions } from './fd-socket';

/** Accept errors that only concern one connection: retry right away. */
const TRANSIENT = new Set(['ECONNABORTED', 'EPROTO', 'EPERM']);
/** Out of fds or memory: wait this long before accepting again instead of spinning. */
const RETRY_MS = 100;

/**
 * Owns the listening fd. Events: 'connection' (socket: FdSocket) — with no listener the
 * connection is closed; 'error' (error) for accept failures such as EMFILE, after which accepting
 * resumes in 100 ms; 'close' once. The socket file is not unlinked: that is the caller's job.
 */
export class FdListener extends EventEmitter {
  private readonly watcher: FdWatcher;
  private retryTimer: NodeJS.Timeout | undefined;
  #closed = false;

  static unix(path: string, backlog?: number, socketOptions?: FdSocketOptions): FdListener {
    return new FdListener(unixListen(path, backlog), socketOptions);
  }

  static vsock(port: number, cid: number = VMADDR_CID_ANY, socketOptions?: FdSocketOptions): FdListener {
    return new FdListener(vsockListen(port, cid), socketOptions);
  }

  /** Takes ownership of fd, also when it throws. */
  constructor(readonly fd: number, private readonly socketOptions: FdSocketOptions = {}) {
    super();
    checkFd(fd);
    try {
      this.watcher = new FdWatcher(fd, (status) => this.onReady(status));
      this.watcher.start(READABLE);
    } catch (e) {
      closeAll([fd]);
      throw e;
    }
  }

  get closed(): boolean {
    return this.#closed;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.retryTimer);
    this.watcher.close();
    closeAll([this.fd]);
    process.nextTick(() => this.emit('close'));
  }

  private onReady(status: number): void {
    if (status < 0) {
      this.fail(errnoError(status, 'uv_poll'));
      return;
    }
    while (!this.#closed && this.retryTimer === undefined) {
      let fd: number;
      try {
        fd = accept(this.fd);
      } catch (e) {
        if (isNativeError(e) && TRANSIENT.has(e.code)) continue;
        this.fail(e as Error);
        return;
      }
      if (fd < 0) return;
      let socket: FdSocket;
      try {
        socket = new FdSocket(fd, this.socketOptions); // closes fd if it throws
      } catch (e) {
        if (this.listenerCount('error') > 0) this.emit('error', e);
        continue;
      }
      if (this.listenerCount('connection') === 0) socket.destroy();
      else this.emit('connection', socket);
    }
  }

  private fail(error: Error): void {
    if (this.#closed) return;
    this.watcher.stop();
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (!this.#closed) this.watcher.start(READABLE);
    }, RETRY_MS);
    if (this.listenerCount('error') > 0) this.emit('error', error);
  }
}
