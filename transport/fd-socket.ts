// FdSocket: a connected nonblocking UNIX stream socket that carries fds with its bytes (SCM_RIGHTS).
import { FdDuplex, type FdDuplexOptions } from './fd-duplex';
import { MAX_FDS_PER_SENDMSG, closeAll, read, recvmsg, sendmsg, setSocketBuffers } from '../native/index';
import { checkFd, invalidArgType } from '../native/errors';

export interface FdSocketOptions extends Omit<FdDuplexOptions, 'readable'> {
  /** SO_SNDBUF and SO_RCVBUF in bytes (capped by the kernel); default: the kernel's. */
  bufferBytes?: number;
  /**
   * Default true. False for sockets that must never carry fds (a channel): reads use read(2), with no
   * room for control data, so the kernel drops any fds the peer attaches and none is ever installed here.
   */
  receiveFds?: boolean;
}

/**
 * Events: 'data' (bytes: Buffer, fds: number[]) — the listener owns the fds (with no 'data'
 * listener they are closed; with receiveFds: false there are none); 'drain'; 'end'; 'close'
 * (error?) once. write() takes ownership of the fds it is given and closes each after it was
 * sent; fds travel with the first byte of their write or earlier, at most 28 per sendmsg (writes
 * with more fds are spread over their first bytes: one byte per 28 fds).
 */
export class FdSocket extends FdDuplex {
  private receivedFds: number[] = [];
  private readonly receiveFds: boolean;

  /** Takes ownership of fd, also when it throws (then fd is closed). */
  constructor(fd: number, options: FdSocketOptions = {}) {
    checkFd(fd);
    if (options.bufferBytes !== undefined) {
      try {
        setSocketBuffers(fd, options.bufferBytes);
      } catch (e) {
        closeAll([fd]);
        throw e;
      }
    }
    super(fd, MAX_FDS_PER_SENDMSG, options);
    this.receiveFds = options.receiveFds ?? true;
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

  protected readOnce(into: Uint8Array): number {
    if (!this.receiveFds) return read(this.fd, into, 0, into.byteLength);
    const result = recvmsg(this.fd, into, 0, into.byteLength);
    if (result === null) return -1;
    this.receivedFds = result.fds;
    if (result.bytes === 0) closeAll(result.fds); // fds never come without bytes; just in case
    return result.bytes;
  }

  protected deliver(data: Uint8Array): void {
    const fds = this.receivedFds;
    this.receivedFds = [];
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
