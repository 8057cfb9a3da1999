// Carries one pipe across the channel: reads a local fd into PIPE_DATA, or writes PIPE_DATA into it, with credits.
import { FdStream } from '../transport/fd-stream';
import { FrameKind } from '../protocol/channel-frames';
import type { ChannelSession } from './channel-session';

/** Credit each side starts with for one pipe (docs/channel-protocol.md). */
export const INITIAL_PIPE_CREDIT = 256 * 1024;
const CREDIT_BATCH = 32 * 1024;
const MAX_CHUNK = 64 * 1024;

export type PipeDirection = 'to-peer' | 'from-peer';

/**
 * Bounds the bytes the peer makes this side hold for pipes nobody reads yet (one budget for many
 * pipes). charge() throws when `bytes` more would pass the bound; release() gives bytes back.
 */
export interface PipeBudget {
  charge(bytes: number): void;
  release(bytes: number): void;
}

export interface PipeBridgeOptions {
  conn: number;
  resource: number;
  /** Owned from here on. */
  fd: number;
  direction: PipeDirection;
  session: ChannelSession;
  /** Charged with the PIPE_DATA bytes queued in this process (not yet taken by the real pipe). */
  budget?: PipeBudget;
  onDone: (bridge: PipeBridge, error?: Error) => void;
}

export class PipeBridge {
  readonly resource: number;
  readonly direction: PipeDirection;
  private readonly stream: FdStream;
  private credit = INITIAL_PIPE_CREDIT;
  private held: Buffer[] = [];
  private received = 0;
  private credited = 0;
  private done = false;
  private eof = false;
  private peerClosed = false;
  /** Bytes charged to the budget: what the write queue held when last looked at. */
  private charged = 0;
  bytes = 0;

  constructor(private readonly options: PipeBridgeOptions) {
    this.resource = options.resource;
    this.direction = options.direction;
    this.stream = new FdStream(options.fd, { readable: options.direction === 'to-peer', highWaterMark: 0 });
    this.stream.on('data', (chunk: Buffer) => this.onLocalData(chunk));
    this.stream.on('end', () => {
      this.eof = true;
      this.sendHeld();
    });
    this.stream.on('drain', () => {
      this.settle();
      this.grant();
    });
    // a local close we did not ask for (read error, EPIPE from a reader that went away) must reach the peer
    this.stream.on('close', (err?: Error) => {
      if (!this.peerClosed) this.send({ kind: FrameKind.PipeClose, conn: options.conn, resource: options.resource });
      this.finish(err);
    });
  }

  /** PIPE_DATA from the peer. Returns an error text when the peer overran its credit. */
  onData(data: Uint8Array): string | null {
    if (this.direction !== 'from-peer') return `PIPE_DATA for pipe ${this.resource} that sends data, not receives`;
    if (this.done) return null;
    this.received += data.byteLength;
    if (this.received - this.credited > INITIAL_PIPE_CREDIT) return `pipe ${this.resource}: peer sent past its credit`;
    this.options.budget?.charge(data.byteLength); // throws past the bound: the caller ends the connection
    this.charged += data.byteLength;
    this.bytes += data.byteLength;
    this.stream.write(data);
    this.settle();
    this.grant();
    return null;
  }

  onCredit(bytes: number): string | null {
    if (this.direction !== 'to-peer') return `CREDIT for pipe ${this.resource} that receives data`;
    this.credit += bytes;
    if (this.credit > INITIAL_PIPE_CREDIT * 4) return `pipe ${this.resource}: credit beyond what was sent`;
    this.sendHeld();
    return null;
  }

  /** PIPE_CLOSE from the peer: end of data (flush, then close) or the far reader is gone. */
  onClose(): void {
    this.peerClosed = true;
    if (this.direction === 'from-peer') this.stream.end();
    else {
      this.held = [];
      this.stream.destroy();
    }
  }

  destroy(): void {
    this.stream.destroy();
    this.settle(); // the queue is gone now: its bytes go back to the budget at once
  }

  private onLocalData(chunk: Buffer): void {
    this.held.push(chunk);
    this.sendHeld();
  }

  private sendHeld(): void {
    while (this.held.length > 0 && this.credit > 0) {
      const chunk = this.held[0];
      const n = Math.min(chunk.byteLength, this.credit, MAX_CHUNK, this.options.session.peerMaxFrameSize - 16);
      this.send({ kind: FrameKind.PipeData, conn: this.options.conn, resource: this.options.resource, data: chunk.subarray(0, n) });
      this.credit -= n;
      this.bytes += n;
      if (n === chunk.byteLength) this.held.shift();
      else this.held[0] = chunk.subarray(n);
    }
    if (this.held.length > 0) this.stream.pause();
    else if (this.eof) {
      this.send({ kind: FrameKind.PipeClose, conn: this.options.conn, resource: this.options.resource });
      this.finish();
    } else this.stream.resume();
  }

  /** Keeps the budget charged with exactly what the write queue holds (the kernel took the rest). */
  private settle(): void {
    const held = this.done ? 0 : this.stream.writableLength;
    if (this.charged === held) return;
    this.options.budget?.release(this.charged - held);
    this.charged = held;
  }

  /** Grants the peer the bytes that left our queue into the real pipe. */
  private grant(): void {
    const written = this.received - this.stream.writableLength;
    const owed = written - this.credited;
    if (owed >= CREDIT_BATCH || (owed > 0 && this.stream.writableLength === 0)) {
      this.credited += owed;
      this.send({ kind: FrameKind.Credit, conn: this.options.conn, resource: this.options.resource, bytes: owed });
    }
  }

  private send(frame: Parameters<ChannelSession['send']>[0]): void {
    if (!this.done) this.options.session.send(frame);
  }

  private finish(error?: Error): void {
    if (this.done) return;
    this.done = true;
    this.stream.destroy();
    this.settle();
    this.options.onDone(this, error);
  }
}
