// ByteStream over a net.Socket (UNIX or TCP channel).
import type { Socket } from 'node:net';
import { ByteStream } from './byte-stream';

export class SocketStream extends ByteStream {
  private closed = false;

  constructor(private readonly socket: Socket, readonly description: string) {
    super();
    socket.setNoDelay?.(true);
    socket.on('data', (chunk: Buffer) => this.emit('data', chunk));
    socket.on('drain', () => this.emit('drain'));
    socket.on('error', (err) => this.finish(err));
    socket.on('close', () => this.finish());
    socket.on('end', () => socket.end());
  }

  write(chunk: Uint8Array, flushed?: () => void): boolean {
    if (this.closed) return false;
    return this.socket.write(chunk, flushed === undefined ? undefined : () => flushed());
  }

  end(): void {
    this.socket.end();
  }

  destroy(error?: Error): void {
    this.socket.destroy();
    this.finish(error);
  }

  override cork(): void {
    this.socket.cork();
  }

  override uncork(): void {
    this.socket.uncork();
  }

  get pendingBytes(): number {
    return this.socket.writableLength;
  }

  private finish(error?: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.emit('close', error);
  }
}
