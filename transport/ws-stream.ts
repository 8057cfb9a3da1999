// ByteStream over a WebSocket (binary messages; ws + bufferutil).
import type WebSocket from 'ws';
import { ByteStream } from './byte-stream';

const HIGH_WATER = 4 * 1024 * 1024;

export class WsStream extends ByteStream {
  private closed = false;
  private draining = false;
  private drainTimer: NodeJS.Timeout | null = null;

  constructor(private readonly ws: WebSocket, readonly description: string) {
    super();
    ws.binaryType = 'nodebuffer';
    // A client's first message can come in the same read as the upgrade response and is emitted on the next
    // tick, before whoever awaits the 'open' promise has attached a 'data' listener: hold reading until
    // the microtasks that hand this stream over have run.
    ws.pause();
    setImmediate(() => {
      if (!this.closed) ws.resume();
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary) {
        this.destroy(new Error(`${description}: text message on a binary channel`));
        return;
      }
      this.emit('data', data);
    });
    ws.on('error', (err) => this.finish(err));
    ws.on('close', () => this.finish());
  }

  write(chunk: Uint8Array, flushed?: () => void): boolean {
    if (this.closed) return false;
    this.ws.send(chunk, { binary: true }, () => flushed?.());
    if (this.ws.bufferedAmount < HIGH_WATER) return true;
    this.waitForDrain();
    return false;
  }

  // ws has no 'drain' event; poll bufferedAmount only while backpressured (the socket's own drain is not exposed)
  private waitForDrain(): void {
    if (this.draining) return;
    this.draining = true;
    const check = (): void => {
      if (this.closed) return;
      if (this.ws.bufferedAmount < HIGH_WATER / 2) {
        this.draining = false;
        this.drainTimer = null;
        this.emit('drain');
      } else {
        this.drainTimer = setTimeout(check, 2);
      }
    };
    this.drainTimer = setTimeout(check, 2);
  }

  end(): void {
    this.ws.close(1000);
  }

  destroy(error?: Error): void {
    this.ws.terminate();
    this.finish(error);
  }

  get pendingBytes(): number {
    return this.ws.bufferedAmount;
  }

  private finish(error?: Error): void {
    if (this.closed) return;
    this.closed = true;
    if (this.drainTimer !== null) clearTimeout(this.drainTimer);
    this.emit('close', error);
  }
}
