// One guest↔host channel over a ByteStream: the HELLO handshake, frame decoding, and fair per-connection sending.
import { EventEmitter } from 'node:events';
import { encodeFramePrefix, encodeResWritePrefix } from '../protocol/channel-codec';
import { closeAll } from '../transport/fds';
import {
  CHANNEL_VERSION, ChannelError, CloseCode, DEFAULT_MAX_FRAME_SIZE, FRAME_HEADER_SIZE, FrameKind, type Frame, type HelloFrame,
} from '../protocol/channel-frames';
import { ChannelReader } from '../protocol/channel-reader';
import { guestText } from '../protocol/log-text';
import { reclaimMemory } from './reclaim-memory';
import type { ByteStream } from '../transport/byte-stream';

export interface SessionOptions {
  capabilities?: number;
  /** Largest frame this side accepts. */
  maxFrameSize?: number;
  shmRegionSize?: number;
  software: string;
  /** Ends the channel when no HELLO came this long after the stream opened (a HELLO can be lost on a virtio port). */
  helloTimeoutMs?: number;
  /**
   * Memory this side may hold for a peer that does not read: queued frame bytes, each queued frame also
   * charged QUEUED_FRAME_COST, plus the stream's own queue. Past it the channel is dropped. Default
   * DEFAULT_MAX_QUEUED_BYTES.
   */
  maxQueuedBytes?: number;
}

/** The code of the close error of a channel dropped for what it queued. */
export const QUEUE_OVERFLOW = 'QUEUE_OVERFLOW';

interface Pending {
  chunks: Uint8Array[];
  bytes: number;
  flushed?: () => void;
  /** Data that follows the chunks straight from a file (the session owns fd until the stream takes it). */
  file?: { fd: number; offset: number; length: number };
}

/** Where the data of a RES_WRITE should land: a view of exactly `length` bytes, or null to receive it as usual. */
export type WriteTarget = (conn: number, resource: number, offset: number, length: number) => Uint8Array | null;

/** Below this many bytes, data is received as usual: a direct read costs a syscall of its own. */
const DIRECT_READ_MIN = 16 * 1024;
/** Header and fixed fields of a RES_WRITE. */
const RES_WRITE_PREFIX = FRAME_HEADER_SIZE + 16;
/** Frames read prefix-first after direct data: covers the few frames (a commit, a release) between bulk writes. */
const BULK_PREFIX_READS = 8;
/** The rest of a frame begun by a prefix read is read on its own up to this size. */
const SMALL_FRAME_REST = 4096;

/** Queued bytes above which producers should stop reading their sources. */
const CONGESTION_BYTES = 8 * 1024 * 1024;
/**
 * Producers stop at CONGESTION_BYTES, but one commit of a guest client queues all its damage at once
 * (an 8K buffer is 132 MB): the default leaves room for a few of those. The host sets its own, lower bound.
 */
export const DEFAULT_MAX_QUEUED_BYTES = 512 * 1024 * 1024;
/** What a queued frame costs besides its bytes: its objects and buffer (measured: ~800 bytes of RSS per queued CLOSE). */
const QUEUED_FRAME_COST = 1024;
/** A peer may say HELLO again (it was replaced) this many times per RESTART_WINDOW_MS; systemd's default start limit. */
const RESTARTS_PER_WINDOW = 5;
const RESTART_WINDOW_MS = 10_000;

/**
 * Events: 'ready' (peer: HelloFrame), 'frame' (Frame, after ready), 'drain' (no longer congested),
 * 'restart' (a new HELLO on a live channel: the peer process was replaced; its connections are gone,
 * and 'ready' follows), 'close' (error?: Error) once.
 */
export class ChannelSession extends EventEmitter {
  peer: HelloFrame | null = null;
  private readonly reader: ChannelReader;
  private readonly queues = new Map<number, Pending[]>();
  private order: number[] = [];
  private queuedBytes = 0;
  /** queuedBytes plus QUEUED_FRAME_COST per queued frame: what the queues hold in memory. */
  private queuedCost = 0;
  private readonly maxQueuedBytes: number;
  /** When the last few restarts happened (performance.now()). */
  private restarts: number[] = [];
  private blocked = false;
  private closed = false;
  private wasCongested = false;
  private helloTimer: NodeJS.Timeout | undefined;
  readonly stats = { framesIn: 0, framesOut: 0, bytesIn: 0, bytesOut: 0 };

  constructor(private readonly stream: ByteStream, private readonly options: SessionOptions) {
    super();
    this.reader = new ChannelReader(options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE);
    this.maxQueuedBytes = options.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES;
    stream.on('data', (chunk: Uint8Array) => this.onData(chunk));
    stream.on('drain', () => {
      this.blocked = false;
      this.pump();
    });
    stream.on('close', (err?: Error) => this.finish(err));
    if (options.helloTimeoutMs !== undefined) {
      this.helloTimer = setTimeout(() => {
        if (this.peer === null) this.fail(CloseCode.ProtocolError, `no HELLO from the peer within ${options.helloTimeoutMs} ms`);
      }, options.helloTimeoutMs);
    }
    this.sendHello();
  }

  private sendHello(): void {
    const o = this.options;
    this.send({
      kind: FrameKind.Hello, conn: 0, minVersion: 1, maxVersion: CHANNEL_VERSION,
      capabilities: o.capabilities ?? 0, maxFrameSize: o.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE,
      shmRegionSize: o.shmRegionSize ?? 0, software: o.software,
    });
  }

  get description(): string {
    return this.stream.description;
  }

  /** Largest frame the peer accepts (valid after 'ready'). */
  get peerMaxFrameSize(): number {
    return this.peer?.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  get congested(): boolean {
    return this.queuedBytes + this.stream.pendingBytes > CONGESTION_BYTES;
  }

  get pendingBytes(): number {
    return this.queuedBytes + this.stream.pendingBytes;
  }

  /** Queues a frame behind earlier frames of the same connection; `flushed` runs once it left the process. */
  send(frame: Frame, flushed?: () => void): void {
    if (this.closed) return;
    const { prefix, data } = encodeFramePrefix(frame);
    const chunks = data === null || data.byteLength === 0 ? [prefix] : [prefix, data];
    this.enqueue(frame.conn, { chunks, bytes: prefix.byteLength + (data?.byteLength ?? 0), flushed });
  }

  /** Whether sendFileWrite() is available: the stream sends file bytes inside the kernel. */
  get canSendFiles(): boolean {
    return this.stream.canSendFiles;
  }

  /**
   * Queues a RES_WRITE of `length` bytes read from `fd` at `fileOffset` when the frame's turn comes
   * (no copy in this process). Takes ownership of fd. Bytes past the file's end go out as zeros.
   * `done` runs once the bytes left the process or were dropped with the stream (not if the session
   * closed first: then every connection ends).
   */
  sendFileWrite(conn: number, resource: number, offset: number, fd: number, fileOffset: number, length: number, done?: () => void): void {
    if (this.closed) {
      closeAll([fd]);
      return;
    }
    const prefix = encodeResWritePrefix(conn, resource, offset, length);
    this.enqueue(conn, { chunks: [prefix], bytes: prefix.byteLength + length, file: { fd, offset: fileOffset, length }, flushed: done });
  }

  /**
   * Lets large RES_WRITE data be read from the stream straight into its destination, when the
   * stream supports it: `target` is asked once per read while such a frame's data is arriving.
   */
  receiveWritesInto(target: WriteTarget): void {
    let prefixReads = 0;
    this.stream.readTarget = () => {
      const w = this.reader.streamingWrite();
      // small data is read with what follows it (one read for many frames), except while bulk data flows:
      // then the next read would bring the start of the next large write along, a copy of up to 64 KiB
      const view = w === null || (w.remaining < DIRECT_READ_MIN && prefixReads === 0) ? null : target(w.conn, w.resource, w.offset, w.remaining);
      if (view !== null) {
        prefixReads = BULK_PREFIX_READS;
        return view;
      }
      // while bulk data flows, a frame may be a RES_WRITE: read just its fixed fields, so that its data
      // lands in place too instead of its first part in a read buffer (a copy and garbage per frame)
      if (prefixReads === 0) return null;
      if (this.reader.atFrameStart) {
        prefixReads--;
        return new Uint8Array(RES_WRITE_PREFIX);
      }
      // a small frame begun by such a read: just its rest, so that the next read starts a frame again
      const rest = this.reader.frameRemainder;
      return rest > 0 && rest <= SMALL_FRAME_REST ? new Uint8Array(rest) : null;
    };
  }

  private enqueue(conn: number, item: Pending): void {
    this.stats.framesOut++;
    this.stats.bytesOut += item.bytes;
    if (this.order.length === 0 && !this.blocked && !this.closed) {
      // nothing waits, so no connection's turn can be skipped: straight to the stream, without a queue
      this.stream.cork();
      try {
        if (!this.writeItem(item)) this.blocked = true;
      } finally {
        this.stream.uncork();
      }
      this.noteCongestion();
      this.checkQueueBound();
      return;
    }
    let q = this.queues.get(conn);
    if (q === undefined) {
      q = [];
      this.queues.set(conn, q);
      this.order.push(conn);
    }
    q.push(item);
    this.queuedBytes += item.bytes;
    this.queuedCost += item.bytes + QUEUED_FRAME_COST;
    this.pump();
    this.checkQueueBound();
  }

  /**
   * A peer that does not read must not make this process grow: past the bound the queues are
   * dropped at once and the stream on the next tick (the caller may be in the middle of its work).
   */
  private checkQueueBound(): void {
    const held = this.queuedCost + this.stream.pendingBytes;
    if (this.closed || held <= this.maxQueuedBytes) return;
    const err = Object.assign(new Error(`the peer does not read: ${held} bytes queued towards it, more than the ${this.maxQueuedBytes} allowed; channel dropped`), { code: QUEUE_OVERFLOW });
    // closed (and the queues released) now, so nothing more is queued; 'close' once the caller is done
    this.closed = true;
    this.release();
    process.nextTick(() => {
      this.stream.destroy(err);
      this.emit('close', err);
      // once the listeners let go of the channel too
      setImmediate(reclaimMemory);
    });
  }

  /** Sends GOODBYE and closes after what is queued. */
  close(code = CloseCode.Normal, reason = 'closing'): void {
    if (this.closed) return;
    this.send({ kind: FrameKind.Goodbye, conn: 0, code, reason });
    this.pump();
    this.stream.end();
  }

  destroy(error?: Error): void {
    this.stream.destroy(error);
    this.finish(error);
  }

  /** Round-robin over connections, one frame each, while the stream takes bytes. */
  private pump(): void {
    if (this.closed) return;
    // noted before the blocked check: producers paused while the stream was blocked must get their 'drain'
    if (this.congested) this.wasCongested = true;
    if (this.blocked) return;
    this.stream.cork();
    try {
      while (this.order.length > 0 && !this.blocked) {
        const conn = this.order.shift() as number;
        const q = this.queues.get(conn) as Pending[];
        const item = q.shift() as Pending;
        if (q.length > 0) this.order.push(conn);
        else this.queues.delete(conn);
        this.queuedBytes -= item.bytes;
        this.queuedCost -= item.bytes + QUEUED_FRAME_COST;
        if (!this.writeItem(item)) this.blocked = true;
      }
    } finally {
      this.stream.uncork();
    }
    this.noteCongestion();
  }

  /** Hands one frame's bytes to the stream: false when the stream wants a 'drain' first. */
  private writeItem(item: Pending): boolean {
    const { chunks, file } = item;
    const lastFlushed = file === undefined ? item.flushed : undefined;
    let ok = true;
    for (let i = 0; i < chunks.length; i++) ok = this.stream.write(chunks[i], i === chunks.length - 1 ? lastFlushed : undefined);
    if (file !== undefined) ok = this.stream.writeFile(file.fd, file.offset, file.length, item.flushed);
    return ok;
  }

  /** Producers paused while the channel was congested get 'drain' once it is not. */
  private noteCongestion(): void {
    if (this.congested) this.wasCongested = true;
    else if (this.wasCongested) {
      this.wasCongested = false;
      this.emit('drain');
    }
  }

  private onData(chunk: Uint8Array): void {
    if (this.closed) return;
    this.stats.bytesIn += chunk.byteLength;
    let frames: Frame[];
    try {
      frames = this.reader.push(chunk);
    } catch (e) {
      const err = e as ChannelError;
      this.fail(CloseCode.ProtocolError, `bad frame from the peer: ${err.code}: ${err.message}`);
      return;
    }
    for (const frame of frames) {
      if (this.closed) return;
      this.stats.framesIn++;
      if (this.peer === null) {
        // a GOODBYE before any HELLO is what a previous peer on this port said last: not ours
        if (frame.kind === FrameKind.Goodbye) continue;
        if (frame.kind !== FrameKind.Hello) {
          this.fail(CloseCode.ProtocolError, `expected HELLO first, got ${FrameKind[frame.kind]}`);
          return;
        }
        if (frame.minVersion > CHANNEL_VERSION) {
          this.fail(CloseCode.ProtocolError, `peer speaks channel versions ${frame.minVersion}..${frame.maxVersion}, this side ${1}..${CHANNEL_VERSION}`);
          return;
        }
        this.peer = frame;
        clearTimeout(this.helloTimer);
        this.emit('ready', frame);
        continue;
      }
      if (frame.kind === FrameKind.Hello) {
        // a virtio port outlives the process behind it: a new HELLO means a new peer, which needs ours
        if (!this.noteRestart()) {
          this.fail(CloseCode.ProtocolError, `more than ${RESTARTS_PER_WINDOW} HELLOs within ${RESTART_WINDOW_MS / 1000} s on a live channel: a HELLO flood, not a restarted peer`);
          return;
        }
        this.peer = frame;
        this.emit('restart');
        this.sendHello();
        this.emit('ready', frame);
        continue;
      }
      if (frame.kind === FrameKind.Goodbye) {
        this.finish(frame.code === CloseCode.Normal ? undefined : new ChannelError('BAD_VALUE', `peer said goodbye: ${guestText(frame.reason)}`));
        // a FIN alone is not seen by QEMU while the guest has its port closed: drop the stream
        this.stream.destroy();
        return;
      }
      this.emit('frame', frame);
    }
  }

  /** Records a restart; false when there were too many of them lately. */
  private noteRestart(): boolean {
    const now = performance.now();
    this.restarts = this.restarts.filter((at) => now - at < RESTART_WINDOW_MS);
    if (this.restarts.length >= RESTARTS_PER_WINDOW) return false;
    this.restarts.push(now);
    return true;
  }

  /** Says why in a GOODBYE, then drops the stream: a peer that sent garbage gets no grace. */
  private fail(code: CloseCode, reason: string): void {
    const err = new Error(reason);
    const stream = this.stream;
    this.send({ kind: FrameKind.Goodbye, conn: 0, code, reason: reason.slice(0, 1000) }, () => stream.destroy(err));
    stream.end();
    this.finish(err);
  }

  private finish(error?: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.release();
    this.emit('close', error);
  }

  private release(): void {
    clearTimeout(this.helloTimer);
    for (const q of this.queues.values()) closeAll(q.flatMap((item) => (item.file === undefined ? [] : [item.file.fd])));
    this.queues.clear();
    this.order = [];
    this.queuedBytes = 0;
    this.queuedCost = 0;
  }
}
