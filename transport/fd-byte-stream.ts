// ByteStream over the native fd streams: virtio-serial / character devices and AF_VSOCK sockets.
import type { FdDuplex } from '../native/fd-duplex';
import { ByteStream } from './byte-stream';

type Writable = FdDuplex & { write(data: Uint8Array): boolean };

export class FdByteStream extends ByteStream {
  private closed = false;

  constructor(private readonly fdStream: Writable, readonly description: string) {
    super();
    fdStream.on('data', (chunk: Buffer, fds?: number[]) => {
      if (fds !== undefined && fds.length > 0) {
        this.destroy(new Error(`${description}: the channel carried fds`));
        return;
      }
      this.emit('data', chunk);
    });
    fdStream.on('drain', () => this.emit('drain'));
    fdStream.on('close', (err?: Error) => this.finish(err));
  }

  write(chunk: Uint8Array, flushed?: () => void): boolean {
    if (this.closed) return false;
    const ok = this.fdStream.write(chunk);
    // FdDuplex copies what it could not send at once, so the caller's bytes are free from here on
    if (flushed !== undefined) queueMicrotask(flushed);
    return ok;
  }

  end(): void {
    this.fdStream.end();
  }

  destroy(error?: Error): void {
    this.fdStream.destroy(error);
    this.finish(error);
  }

  get pendingBytes(): number {
    return this.fdStream.writableLength;
  }

  private finish(error?: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.emit('close', error);
  }
}
