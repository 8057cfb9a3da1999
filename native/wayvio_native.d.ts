// Types of the raw addon build/Release/wayvio_native.node; native/index.ts wraps it with argument checks.

/** Readiness of one fd through libuv's uv_poll_t. For sockets, pipes and char devices (not regular files). */
export interface RawFdWatcher {
  /** READABLE | WRITABLE | DISCONNECT | PRIORITIZED; 0 stops. Replaces the previous set. */
  start(events: number): void;
  stop(): void;
  /** Releases the uv handle (not the fd). Safe inside the callback; idempotent. */
  close(): void;
  readonly active: boolean;
  readonly closed: boolean;
}

export interface RawFdWatcherConstructor {
  /** Sets O_NONBLOCK on fd (libuv does). callback(status, events): status < 0 is a libuv error and stops the watcher. */
  new (fd: number, callback: (status: number, events: number) => void): RawFdWatcher;
}

export interface WayvioNative {
  socketpair(): [number, number];
  unixListen(path: string, backlog: number): number;
  unixConnect(path: string): number;
  vsockListen(port: number, cid: number, backlog: number): number;
  /** wait=false: nonblocking connect; wait for writable, then socketError(). */
  vsockConnect(cid: number, port: number, wait: boolean): number;
  accept(fd: number): number;
  /** SO_ERROR as a negative errno, 0 when none. */
  socketError(fd: number): number;

  sendmsg(fd: number, buffer: Uint8Array, offset: number, length: number, fds: readonly number[]): number;
  /** fdsOut: Int32Array(254); fdsOut[0] = fd count, fdsOut[1..] = fds. Returns bytes, -1 on EAGAIN. */
  recvmsg(fd: number, buffer: Uint8Array, offset: number, length: number, fdsOut: Int32Array): number;
  read(fd: number, buffer: Uint8Array, offset: number, length: number): number;
  write(fd: number, buffer: Uint8Array, offset: number, length: number): number;
  sendfile(outFd: number, inFd: number, offset: number, count: number): number;
  shutdownWrite(fd: number): void;
  setSocketBuffers(fd: number, bytes: number): number;

  pipe2(): [number, number];
  flock(fd: number, operation: number, nonblocking: boolean): boolean;
  setNonBlocking(fd: number, on: boolean): void;
  pollNow(fd: number, events: number): number;
  dup(fd: number): number;
  close(fd: number): void;

  memfdCreate(name: string, cloexec: boolean, allowSealing: boolean): number;
  addSeals(fd: number, seals: number): void;
  getSeals(fd: number): number;
  mmap(fd: number, length: number, offset: number, writable: boolean): ArrayBuffer;
  munmap(buffer: ArrayBuffer): boolean;
  mappedBytes(): number;
  mallocTrim(): boolean;
  execve(path: string, argv: readonly string[], env: readonly string[]): never;
  copyRows(src: ArrayBuffer, srcOffset: number, dst: Uint8Array, dstOffset: number, rowBytes: number, rows: number, stride: number): boolean;
  readonly DIFF_GAP_BYTES: number;
  diffRows(src: ArrayBuffer, shadow: Uint8Array, offset: number, rowBytes: number, rows: number, stride: number, spans: Float64Array): number;

  FdWatcher: RawFdWatcherConstructor;

  readonly MAX_FDS_PER_SENDMSG: number;
  readonly MAX_FDS_PER_RECVMSG: number;
  readonly VMADDR_CID_ANY: number;
  readonly VMADDR_CID_HOST: number;
  readonly VMADDR_CID_LOCAL: number;
  readonly LOCK_SH: number;
  readonly LOCK_EX: number;
  readonly LOCK_UN: number;
  readonly poll: {
    readonly POLLIN: number;
    readonly POLLPRI: number;
    readonly POLLOUT: number;
    readonly POLLERR: number;
    readonly POLLHUP: number;
    readonly POLLNVAL: number;
    readonly POLLRDHUP: number;
  };
  readonly F_SEAL_SEAL: number;
  readonly F_SEAL_SHRINK: number;
  readonly F_SEAL_GROW: number;
  readonly F_SEAL_WRITE: number;
  readonly F_SEAL_FUTURE_WRITE: number;
  readonly UV_READABLE: number;
  readonly UV_WRITABLE: number;
  readonly UV_DISCONNECT: number;
  readonly UV_PRIORITIZED: number;
}
