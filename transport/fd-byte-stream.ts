// ByteStream over the native fd streams: UNIX sockets, virtio-serial / character devices and AF_VSOCK sockets.
import type { FdDuplex } from './fd-duplex';
import { closeAll } from '../native/index';
import { ByteStream } from './byte-stream';

export class FdByteStream extends ByteStream {
  private closed = false;

  constructor(private readonly fdStream: FdDuplex, readonly description: string) {
    super();
    fdStream.readTarget = () => (this.readTarget === null ? null : this.readTarget());
    fdStream.on('data', (chunk: Buffer, fds?: number[]) => {
      if (fds !== undefined && fds.length > 0) {
        // channel sockets are made not to take fds (receiveFds: false); any that got here are closed at once
        closeAll(fds);
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
    return this.fdStream.writeLent(chunk, flushed ?? noop);
  }

  override get canSendFiles(): boolean {
    return true;
  }

  override writeFile(fd: number, offset: number, length: number, flushed?: () => void): boolean {
    if (this.closed) {
      closeAll([fd]);
      return false;
    }
    return this.fdStream.writeFile({ fd, offset, length }, flushed);
  }

  override cork(): void {
    this.fdStream.cork();
  }

  override uncork(): void {
    this.fdStream.uncork();
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

function noop(): void {}
