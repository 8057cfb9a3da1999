// FdSocket: a connected nonblocking UNIX stream socket that carries fds with its bytes (SCM_RIGHTS).
import { FdDuplex, type FdDuplexOptions } from './fd-duplex';
import { MAX_FDS_PER_SENDMSG, closeAll, recvmsg, sendmsg } from './index';
import { checkFd, invalidArgType } from './errors';

export type FdSocketOptions = Omit<FdDuplexOptions, 'readable'>;

/** One receive buffer for every socket: each read is copied out before the next one. */
const readBuffer = Buffer.allocUnsafe(64 * 1024);

/**
 * Events: 'data' (bytes: Buffer, fds: number[]) — the listener owns the fds (with no 'data'
 * listener they are closed); 'drain'; 'end'; 'close' (error?) once. write() takes ownership of
 * the fds it is given and closes each after it was sent; fds travel with the first byte of
 * their write or earlier, at most 28 per sendmsg (writes with more fds are spread over their
 * first bytes: one byte per 28 fds).
 */
export class FdSocket extends FdDuplex {
  private receivedFds: number[] = [];
  /**
   * The last read returned less than the buffer holds: the socket had no more then. The read loop's next
   * read is skipped instead of costing a recvmsg that would say EAGAIN; anything that came since makes
   * the fd readable again (level-triggered), as libuv does for its own streams after a partial read.
   */
  private readWasShort = false;

  constructor(fd: number, options: FdSocketOptions = {}) {
    checkFd(fd);
    super(fd, MAX_FDS_PER_SENDMSG, options);
  }

  /**
   * Queues bytes and fds; false when more than highWaterMark bytes are queued (wait for
   * 'drain'). Needs data.byteLength >= ceil(fds.length / 28). Invalid arguments throw and leave
   * the fds with the caller; after end()/destroy() the fds are closed and false is returned.
   */
  write(data: Uint8Array, fds: readonly number[] = []): boolean {
    if (!(data instanceof Uint8Array)) throw invalidArgType('data', 'an instance of Uint8Array', data);
    if (!Array.isArray(fds)) throw invalidArgType('fds', 'an array of fds', fds);
    for (const fd of fds) checkFd(fd, 'fds[]');
    if (fds.length > MAX_FDS_PER_SENDMSG * data.byteLength) {
      const error = new RangeError(`${fds.length} fds need at least ${Math.ceil(fds.length / MAX_FDS_PER_SENDMSG)} bytes to travel with`);
      (error as RangeError & { code: string }).code = 'ERR_OUT_OF_RANGE';
      throw error;
    }
    return this.enqueue(data, fds);
  }

  /** A read round cut short by pause() must not skip the first read after resume(). */
  override pause(): void {
    this.readWasShort = false;
    super.pause();
  }

  protected readOnce(target: Uint8Array | null): number {
    if (this.readWasShort) {
      this.readWasShort = false;
      return -1;
    }
    const into = target ?? readBuffer;
    const result = recvmsg(this.fd, into, 0, into.byteLength);
    if (result === null) return -1;
    this.readWasShort = result.bytes > 0 && result.bytes < into.byteLength;
    this.receivedFds = result.fds;
    if (result.bytes === 0) closeAll(result.fds); // fds never come without bytes; just in case
    return result.bytes;
  }

  protected deliver(bytes: number, target: Uint8Array | null): void {
    const fds = this.receivedFds;
    this.receivedFds = [];
    const data = target === null ? Buffer.from(readBuffer.subarray(0, bytes)) : target.subarray(0, bytes);
    if (this.listenerCount('data') === 0) {
      closeAll(fds);
      return;
    }
    this.emit('data', data, fds);
  }

  protected writeOnce(data: Uint8Array, fds: number[]): number {
    return sendmsg(this.fd, data, 0, data.byteLength, fds);
  }
}
