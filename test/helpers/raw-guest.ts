// A raw guest channel for hostile-guest, limit and fuzz tests: speaks channel frames directly to a host proxy.
import { connect } from 'node:net';
import { ChannelSession } from '../../link/channel-session';
import { FrameKind, type CloseFrame, type Frame, type HelloFrame } from '../../protocol/channel-frames';
import { ProtocolRegistry } from '../../protocol/registry';
import { encodeMessage, type ArgValue } from '../../protocol/wire-codec';
import type { ByteStream } from '../../transport/byte-stream';
import { decodeMessage, wholeMessages, type FramedMessage } from './wire-messages';
import { SocketStream } from '../../transport/socket-stream';

const builtin = ProtocolRegistry.builtin();

/** One request's bytes, encoded from the protocol tables. */
export function request(iface: string, name: string, objectId: number, args: ArgValue[], registry = builtin): Uint8Array {
  const spec = registry.interface(iface);
  const opcode = spec?.requests.findIndex((m) => m.name === name) ?? -1;
  if (spec === undefined || opcode < 0) throw new Error(`no request ${iface}.${name}`);
  return encodeMessage(objectId, opcode, spec.requests[opcode], args).bytes;
}

export class RawGuest {
  readonly frames: Frame[] = [];
  /** Resolves with the session's close error (undefined for a clean close). */
  readonly closed: Promise<Error | undefined>;
  isClosed = false;
  /** Next client-allocated object id per connection (libwayland wants them in sequence). */
  private readonly ids = new Map<number, number>();
  private waiters: (() => void)[] = [];

  private constructor(readonly session: ChannelSession) {
    session.on('frame', (f: Frame) => {
      this.frames.push(f);
      this.wake();
    });
    this.closed = new Promise((resolve) => session.once('close', (e?: Error) => {
      this.isClosed = true;
      this.wake();
      resolve(e);
    }));
  }

  /** Connects to a host's unix-listen channel and completes the handshake (or sees the channel refused). */
  static async attach(path: string, maxFrameSize?: number): Promise<RawGuest> {
    const socket = connect(path);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('error', reject);
    });
    return RawGuest.over(new SocketStream(socket, 'raw guest'), maxFrameSize);
  }

  /** Completes the handshake over any stream to a host (or sees the channel refused). */
  static async over(stream: ByteStream, maxFrameSize?: number): Promise<RawGuest> {
    const session = new ChannelSession(stream, { software: 'raw test guest', maxFrameSize });
    const g = new RawGuest(session);
    await new Promise<HelloFrame | undefined>((resolve) => {
      session.once('ready', resolve);
      session.once('close', () => resolve(undefined));
    });
    return g;
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Resolves true once `pred` holds (re-checked on every frame), false at close or timeout. */
  async until(pred: () => boolean, timeoutMs = 5000): Promise<boolean> {
    const end = Date.now() + timeoutMs;
    while (!pred()) {
      if (this.isClosed || Date.now() > end) return pred();
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(1, end - Date.now()));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return true;
  }

  send(frame: Frame): void {
    this.session.send(frame);
  }

  wayland(conn: number, messages: Uint8Array[], resources: number[] = []): void {
    this.session.send({ kind: FrameKind.Wayland, conn, resources, data: Buffer.concat(messages) });
  }

  closeFrame(conn: number): CloseFrame | undefined {
    return this.frames.find((f) => f.kind === FrameKind.Close && f.conn === conn) as CloseFrame | undefined;
  }

  async closeOf(conn: number, timeoutMs = 5000): Promise<CloseFrame | undefined> {
    await this.until(() => this.closeFrame(conn) !== undefined, timeoutMs);
    return this.closeFrame(conn);
  }

  /** Wayland messages the host sent for `conn`, framed as the proxies frame them. */
  *messages(conn: number): Generator<FramedMessage> {
    for (const f of this.frames) {
      if (f.kind === FrameKind.Wayland && f.conn === conn) yield* wholeMessages(f.data);
    }
  }

  /** Whether the host delivered wl_callback#callbackId.done on `conn`. */
  callbackDone(conn: number, callbackId: number): boolean {
    for (const m of this.messages(conn)) if (m.objectId === callbackId && m.opcode === 0) return true;
    return false;
  }

  /** The next object id for a request creating one on `conn` (after openWithRegistry: 4, 5, ...). */
  newId(conn: number): number {
    const id = this.ids.get(conn) ?? 2;
    this.ids.set(conn, id + 1);
    return id;
  }

  /** wl_display.sync with a fresh callback id; true once it came back (the host served everything before). */
  async roundtrip(conn: number, timeoutMs = 5000): Promise<boolean> {
    const callbackId = this.newId(conn);
    this.wayland(conn, [request('wl_display', 'sync', 1, [callbackId])]);
    return this.until(() => this.callbackDone(conn, callbackId) || this.closeFrame(conn) !== undefined, timeoutMs).then(() => this.callbackDone(conn, callbackId));
  }

  /** OPEN + get_registry (wl_registry#2) + sync (#3): the globals the host offered, interface → name. */
  async openWithRegistry(conn: number, description = 'raw'): Promise<Map<string, number>> {
    this.send({ kind: FrameKind.Open, conn, description });
    this.ids.set(conn, 4);
    this.wayland(conn, [request('wl_display', 'get_registry', 1, [2]), request('wl_display', 'sync', 1, [3])]);
    await this.until(() => this.callbackDone(conn, 3) || this.closeFrame(conn) !== undefined);
    const globalSpec = builtin.event('wl_registry', 0)!;
    const names = new Map<string, number>();
    for (const m of this.messages(conn)) {
      if (m.objectId !== 2 || m.opcode !== 0) continue;
      const { args } = decodeMessage(m, globalSpec);
      names.set(args[1] as string, args[0] as number);
    }
    return names;
  }

  /** Drops the channel and waits for the close. */
  async destroy(): Promise<void> {
    this.session.destroy();
    await this.closed;
  }

}
