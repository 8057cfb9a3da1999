// Typed wrapper of the native addon: loads it, checks arguments, exports functions and constants.
import { native } from './addon';
import type { RawFdWatcher, RawFdWatcherConstructor } from './wayvio_native';
import {
  checkBoolean, checkBytes, checkFd, checkFds, checkInteger, checkString, errnoError, invalidArgType, outOfRange,
} from './errors';

export { isNativeError, type NativeError } from './errors';



/** The most fds one sendmsg carries, as libwayland sends them. */
export const MAX_FDS_PER_SENDMSG = native.MAX_FDS_PER_SENDMSG;

export const READABLE = native.UV_READABLE;
export const WRITABLE = native.UV_WRITABLE;

export const F_SEAL_SEAL = native.F_SEAL_SEAL;
export const F_SEAL_SHRINK = native.F_SEAL_SHRINK;
export const F_SEAL_GROW = native.F_SEAL_GROW;
export const F_SEAL_WRITE = native.F_SEAL_WRITE;

export const VMADDR_CID_ANY = native.VMADDR_CID_ANY;

/** poll(2) event bits, for pollNow(). */
export const POLL = native.poll;

const UINT32_MAX = 0xffffffff;

/**
 * A nonblocking, cloexec listening socket at `path` (a leading '\0' selects the abstract
 * namespace). An existing file at `path` is not removed: that is the caller's job.
 */
export function unixListen(path: string, backlog = 128): number {
  checkString(path, 'path');
  checkInteger(backlog, 'backlog', 0, 0x7fffffff);
  return native.unixListen(path, backlog);
}

/** Connects (a blocking connect, as libwayland does), then makes the fd nonblocking; cloexec. */
export function unixConnect(path: string): number {
  checkString(path, 'path');
  return native.unixConnect(path);
}

/** shutdown(fd, SHUT_WR): the peer reads end of stream while this side can still read. */
export function shutdownWrite(fd: number): void {
  checkFd(fd);
  native.shutdownWrite(fd);
}

/** SO_SNDBUF and SO_RCVBUF (the kernel caps them at net.core.wmem_max/rmem_max); returns the send buffer in effect. */
export function setSocketBuffers(fd: number, bytes: number): number {
  checkFd(fd);
  return native.setSocketBuffers(fd, bytes);
}

/** accept4 with SOCK_NONBLOCK|SOCK_CLOEXEC; -1 when no connection is pending. */
export function accept(fd: number): number {
  checkFd(fd);
  return native.accept(fd);
}

export function vsockListen(port: number, cid: number = VMADDR_CID_ANY, backlog = 128): number {
  checkInteger(port, 'port', 0, UINT32_MAX);
  checkInteger(cid, 'cid', 0, UINT32_MAX);
  checkInteger(backlog, 'backlog', 0, 0x7fffffff);
  return native.vsockListen(port, cid, backlog);
}

/** Starts a nonblocking AF_VSOCK connect; wait for WRITABLE, then check socketError(). */
export function vsockConnectStart(cid: number, port: number): number {
  checkInteger(cid, 'cid', 0, UINT32_MAX);
  checkInteger(port, 'port', 0, UINT32_MAX);
  return native.vsockConnect(cid, port, false);
}

/** Pending socket error (SO_ERROR) as a negative errno, 0 when none. */
export function socketError(fd: number): number {
  checkFd(fd);
  return native.socketError(fd);
}

/**
 * One sendmsg(MSG_NOSIGNAL|MSG_DONTWAIT) of buffer[offset, offset+length) with `fds` in one
 * SCM_RIGHTS message. Returns bytes written, or -1 on EAGAIN. The fds stay open (caller owns them).
 */
export function sendmsg(fd: number, buffer: Uint8Array, offset = 0, length = buffer.byteLength - offset, fds: readonly number[] = []): number {
  checkFd(fd);
  checkBytes(buffer, offset, length);
  checkFds(fds, MAX_FDS_PER_SENDMSG);
  if (fds.length > 0 && length === 0) throw outOfRange('length', '>= 1 when fds are sent (they travel with a byte)', length);
  return native.sendmsg(fd, buffer, offset, length, fds);
}

export interface RecvResult {
  /** Bytes read; 0 is end of stream. */
  bytes: number;
  /** Received fds, cloexec; the caller owns them. */
  fds: number[];
}

/** SCM_MAX_FD (from the addon): the most fds one recvmsg returns. */
const fdsOut = new Int32Array(native.MAX_FDS_PER_RECVMSG + 1);

/**
 * One recvmsg(MSG_CMSG_CLOEXEC|MSG_DONTWAIT) into buffer[offset, offset+length). Returns null on
 * EAGAIN. If control data was truncated (MSG_CTRUNC, e.g. the fd limit was hit), every fd that did
 * arrive is closed and an error with code 'ECTRUNC' is thrown; the bytes of that read are lost.
 */
export function recvmsg(fd: number, buffer: Uint8Array, offset = 0, length = buffer.byteLength - offset): RecvResult | null {
  checkFd(fd);
  checkBytes(buffer, offset, length);
  const bytes = native.recvmsg(fd, buffer, offset, length, fdsOut);
  if (bytes < 0) return null;
  const count = fdsOut[0]!;
  return { bytes, fds: count === 0 ? [] : Array.from(fdsOut.subarray(1, 1 + count)) };
}

/** read(2) for pipes and char devices: bytes read, 0 at end of file, -1 on EAGAIN. */
export function read(fd: number, buffer: Uint8Array, offset = 0, length = buffer.byteLength - offset): number {
  checkFd(fd);
  checkBytes(buffer, offset, length);
  return native.read(fd, buffer, offset, length);
}

/** write(2) for pipes and char devices: bytes written, -1 on EAGAIN. */
export function write(fd: number, buffer: Uint8Array, offset = 0, length = buffer.byteLength - offset): number {
  checkFd(fd);
  checkBytes(buffer, offset, length);
  return native.write(fd, buffer, offset, length);
}

/**
 * sendfile(2): copies `count` bytes of inFd from `offset` into outFd inside the kernel. Bytes sent,
 * 0 when offset is at or past inFd's end (the file shrank), -1 on EAGAIN.
 */
export function sendfile(outFd: number, inFd: number, offset: number, count: number): number {
  checkFd(outFd, 'outFd');
  checkFd(inFd, 'inFd');
  return native.sendfile(outFd, inFd, offset, count);
}

/** [readFd, writeFd], both O_CLOEXEC|O_NONBLOCK. */
export function pipe2(): [number, number] {
  return native.pipe2();
}

const LOCK_OPS = { sh: native.LOCK_SH, ex: native.LOCK_EX, un: native.LOCK_UN } as const;

/** flock(2). With nonblocking, returns false when another open file holds a conflicting lock. */
export function flock(fd: number, operation: 'sh' | 'ex' | 'un', nonblocking = false): boolean {
  checkFd(fd);
  if (!Object.hasOwn(LOCK_OPS, operation)) throw invalidArgType('operation', "one of 'sh', 'ex', 'un'", operation);
  checkBoolean(nonblocking, 'nonblocking');
  return native.flock(fd, LOCK_OPS[operation], nonblocking);
}

/**
 * poll(2) with a zero timeout: the revents bits (POLL.*), 0 if none. Unlike FdWatcher it tells
 * POLLHUP apart, e.g. a virtio port without a host end reports POLLOUT|POLLHUP.
 */
export function pollNow(fd: number, events: number): number {
  checkFd(fd);
  checkInteger(events, 'events', 0, 0x7fff);
  return native.pollNow(fd, events);
}

/** A cloexec duplicate of fd (same open file: offset, locks and O_NONBLOCK are shared). */
export function dup(fd: number): number {
  checkFd(fd);
  return native.dup(fd);
}

export function close(fd: number): void {
  checkFd(fd);
  native.close(fd);
}

/** Closes every fd, ignoring errors: for cleanup paths that must not throw. */
export function closeAll(fds: Iterable<number>): void {
  for (const fd of fds) {
    try {
      native.close(fd);
    } catch {
      // already closed: nothing left to release
    }
  }
}

export interface MemfdFlags {
  /** MFD_CLOEXEC, default true. */
  cloexec?: boolean;
  /** MFD_ALLOW_SEALING, default false (as memfd_create). */
  allowSealing?: boolean;
}

export function memfdCreate(name: string, flags: MemfdFlags = {}): number {
  checkString(name, 'name');
  const cloexec = flags.cloexec ?? true;
  const allowSealing = flags.allowSealing ?? false;
  checkBoolean(cloexec, 'flags.cloexec');
  checkBoolean(allowSealing, 'flags.allowSealing');
  return native.memfdCreate(name, cloexec, allowSealing);
}

/** fcntl(F_ADD_SEALS): F_SEAL_* bits. */
export function addSeals(fd: number, seals: number): void {
  checkFd(fd);
  checkInteger(seals, 'seals', 0, 0x7fffffff);
  native.addSeals(fd, seals);
}

/**
 * A MAP_SHARED mapping of fd[offset, offset+length) as an ArrayBuffer (offset page-aligned).
 * Regular files must be at least offset+length long (past the end, access would be SIGBUS).
 * Unmapped by munmap() or, failing that, when the ArrayBuffer is garbage collected.
 */
export function mmap(fd: number, length: number, offset = 0, writable = false): ArrayBuffer {
  checkFd(fd);
  checkInteger(length, 'length', 0, Number.MAX_SAFE_INTEGER);
  checkInteger(offset, 'offset', 0, Number.MAX_SAFE_INTEGER);
  checkBoolean(writable, 'writable');
  if (length === 0) throw errnoError(-22, 'mmap', 'length is 0');
  return native.mmap(fd, length, offset, writable);
}

/**
 * Unmaps a buffer from mmap() now and detaches it: views of it then have length 0 instead of
 * pointing at unmapped memory. Returns false if it was already unmapped.
 */
export function munmap(buffer: ArrayBuffer): boolean {
  if (!(buffer instanceof ArrayBuffer)) throw invalidArgType('buffer', 'an ArrayBuffer returned by mmap()', buffer);
  return native.munmap(buffer);
}

/**
 * Copies `rows` rows of `rowBytes` bytes, `stride` apart, from a mapping made by mmap() to
 * `dst` (memcpy). Meant for files another process can shrink: if the source faults (SIGBUS),
 * the whole source mapping is replaced by zero pages, the copy completes with zeros and the
 * result is false; the mapping then only reads zeros and should be unmapped. Ranges outside
 * either buffer throw ERANGE.
 */
export function copyRows(src: ArrayBuffer, srcOffset: number, dst: Uint8Array, dstOffset: number, rowBytes: number, rows = 1, stride = rowBytes): boolean {
  checkRows(src, { srcOffset, dstOffset, rowBytes, rows, stride });
  if (!(dst instanceof Uint8Array)) throw invalidArgType('dst', 'a Uint8Array', dst);
  return native.copyRows(src, srcOffset, dst, dstOffset, rowBytes, rows, stride);
}

/** The source and the sizes of copyRows and diffRows: an ArrayBuffer, and byte counts (ranges are checked natively). */
function checkRows(src: unknown, sizes: Record<string, unknown>): void {
  if (!(src instanceof ArrayBuffer)) throw invalidArgType('src', 'an ArrayBuffer returned by mmap()', src);
  for (const [name, value] of Object.entries(sizes)) checkInteger(value, name, 0, Number.MAX_SAFE_INTEGER);
}

/** diffRows() sends unchanged stretches shorter than this along with the changes around them. */
export const DIFF_GAP_BYTES: number = native.DIFF_GAP_BYTES;

/** Most spans diffRows() can report for rows of `rowBytes` bytes: size `spans` for twice this. */
export function maxDiffSpans(rowBytes: number, rows = 1): number {
  return rows * (Math.floor(rowBytes / DIFF_GAP_BYTES) + 1);
}

/**
 * Compares `rows` rows of `rowBytes` bytes, `stride` apart from `offset`, of a mapping made by
 * mmap() with the same bytes of `shadow`, in 64-byte blocks. Each changed span (changes less
 * than DIFF_GAP_BYTES apart are one span) is copied into `shadow` and noted in `spans` as an
 * [offset, length] pair. Returns how many spans, and whether the source faulted (the client
 * shrank its file: the mapping then reads zeros, as with copyRows). `spans` needs
 * 2 * maxDiffSpans() elements.
 */
export function diffRows(src: ArrayBuffer, shadow: Uint8Array, offset: number, rowBytes: number, rows: number, stride: number, spans: Float64Array): { spans: number; intact: boolean } {
  checkRows(src, { offset, rowBytes, rows, stride });
  if (!(shadow instanceof Uint8Array)) throw invalidArgType('shadow', 'a Uint8Array', shadow);
  if (!(spans instanceof Float64Array)) throw invalidArgType('spans', 'a Float64Array', spans);
  const n: number = native.diffRows(src, shadow, offset, rowBytes, rows, stride, spans);
  return n < 0 ? { spans: -n - 1, intact: false } : { spans: n, intact: true };
}

/** Replaces this process with `path` (same pid; fds without O_CLOEXEC stay open); returns only by throwing. */
export function execve(path: string, argv: readonly string[], env: NodeJS.ProcessEnv): never {
  checkString(path, 'path');
  const pairs = Object.entries(env).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${v}`);
  return native.execve(path, argv, pairs);
}

/** malloc_trim(0): returns the free pages of the C heap to the kernel. True when some were released. */
export function mallocTrim(): boolean {
  return native.mallocTrim();
}

/**
 * Readiness of an fd on the libuv loop (uv_poll_t), no threads: `new FdWatcher(fd, (status,
 * events) => ...)`, then start(READABLE | WRITABLE). For sockets, pipes and char devices:
 * regular files cannot be polled (the constructor throws EPERM). Keeps the loop alive only
 * while started; a dropped, stopped watcher is closed by GC. Stop or close it before closing
 * the fd. The constructor sets O_NONBLOCK on the fd. At most one watcher per fd.
 */
export const FdWatcher: RawFdWatcherConstructor = native.FdWatcher;
export type FdWatcher = RawFdWatcher;
