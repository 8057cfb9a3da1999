// FdStream: nonblocking bytes over a plain fd (pipe end, /dev/virtio-ports/NAME), no fd passing.
import { FdDuplex, type FdDuplexOptions } from './fd-duplex';
import { read, write } from '../native/index';
import { checkFd } from '../native/errors';

export type FdStreamOptions = FdDuplexOptions;

/**
 * Events: 'data' (bytes: Buffer), 'drain', 'end' (read returned 0), 'close' (error?) once.
 * Pass { readable: false } for a write-only fd such as a pipe's write end. A virtio port with
 * no host end reads 0 and so ends the stream: wait for it first with FdWatcher and pollNow().
 */
export class FdStream extends FdDuplex {
  constructor(fd: number, options: FdStreamOptions = {}) {
    checkFd(fd);
    super(fd, 0, options);
  }

  /**
   * Queues bytes; false when more than highWaterMark bytes are queued (wait for 'drain'). Without
   * onSent the bytes are copied if they cannot be written at once; with it they are lent until onSent.
   */
  write(data: Uint8Array, onSent?: () => void): boolean {
    return this.enqueue(data, [], onSent);
  }

  protected readOnce(into: Uint8Array): number {
    return read(this.fd, into, 0, into.byteLength);
  }

  protected deliver(data: Uint8Array): void {
    this.emit('data', data);
  }

  protected writeOnce(data: Uint8Array): number {
    return write(this.fd, data, 0, data.byteLength);
  }
}
