// One Wayland client of the guest proxy: its requests go to the channel, its events come back from it.
import type { FdSocket } from '../transport/fd-socket';
import { closeAll, dup } from '../transport/fds';
import { CloseCode, FrameKind, type Frame, type WaylandFrame } from '../protocol/channel-frames';
import { formatMessage } from '../protocol/format';
import { guestText } from '../protocol/log-text';
import { EditedMessages } from '../protocol/edited-messages';
import type { RawMessage } from '../protocol/message-buffer';
import { ObjectMap } from '../protocol/object-map';
import type { Policy } from '../protocol/policy';
import { ProtocolError } from '../protocol/protocol-error';
import type { ProtocolRegistry } from '../protocol/registry';
import { HEADER_SIZE, decodeArgs, encodeMessage, messageEndIn, opcodeAt, readU32, type UntypedNewId } from '../protocol/wire-codec';
import type { ChannelSession } from '../link/channel-session';
import { FdResources } from '../link/fd-resources';
import type { LimitedLogger, LogBudget, Logger } from '../link/log';
import { RecentMessages } from '../link/recent-messages';
import { OfferedGlobals } from '../link/offered-globals';
import { WaylandBatch } from '../link/wayland-batch';
import { WaylandIntake } from '../link/wayland-intake';
import { GuestShm } from './shm/guest-shm';
import type { SharedRegion } from './shm/shared-region';
import type { ShmPort, ShmStats } from './shm/shm-port';

export interface GuestContext {
  registry: ProtocolRegistry;
  policy: Policy;
  session: ChannelSession;
  log: Logger;
  /** The shared-memory region when both sides use it on this channel. */
  region: SharedRegion | null;
}

/**
 * Event bytes queued for a client that does not read its socket, beyond the kernel's buffer, before the
 * client is ended (libwayland's own compositors end such a client once their 4 KiB buffer is full).
 */
export const MAX_CLIENT_BACKLOG = 4 * 1024 * 1024;
/** Log lines one client can cause (its errors, its message dumps); the rest is counted. */
const CLIENT_LOG_BUDGET: Readonly<LogBudget> = { lines: 100, linesPerSecond: 10, bytes: 32 * 1024, bytesPerSecond: 4 * 1024 };

/** File writes a client may have queued on a channel that does not drain, each holding a dup of a pool fd. */
const MAX_QUEUED_FILE_WRITES = 32;

/** wl_display error codes. */
const INVALID_OBJECT = 0;
const INVALID_METHOD = 1;
const IMPLEMENTATION = 3;

export interface ClientStats extends ShmStats {
  requests: number;
  events: number;
}

export class GuestClient {
  readonly objects: ObjectMap;
  readonly shm: GuestShm;
  readonly stats: ClientStats = { requests: 0, events: 0, commits: 0, shmBytes: 0, shmBytesUnchanged: 0, regionBytes: 0 };
  readonly batch: WaylandBatch;
  private readonly intake: WaylandIntake;
  private readonly resources: FdResources;
  private readonly globals: OfferedGlobals;
  private closed = false;
  private readonly log: LimitedLogger;
  private readonly recent = new RecentMessages();
  /** RES_WRITEs from the client's files queued on the channel, each holding an fd until it is sent. */
  private queuedFileWrites = 0;

  constructor(readonly conn: number, private readonly socket: FdSocket, readonly ctx: GuestContext, description: string, private readonly onClosed: (c: GuestClient) => void) {
    this.log = ctx.log.limited(`client ${conn}`, CLIENT_LOG_BUDGET);
    this.objects = new ObjectMap(ctx.registry);
    this.batch = new WaylandBatch(conn, ctx.session);
    this.resources = new FdResources(conn, ctx.session, 'guest', (b, err) => {
      if (err !== undefined) this.log.debug(`pipe ${b.resource}: ${err.message}`);
    });
    this.shm = new GuestShm(this.shmPort(), ctx.region);
    ctx.session.send({ kind: FrameKind.Open, conn, description });
    this.globals = new OfferedGlobals(ctx.policy, ctx.registry);
    this.intake = new WaylandIntake(socket, {
      message: (m) => this.onRequest(m),
      failed: (e) => this.failWith(e),
      read: () => {
        if (!this.closed) this.batch.flush();
        if (this.ctx.session.congested) this.socket.pause();
      },
      isClosed: () => this.closed,
    });
    socket.on('close', (err?: Error) => this.close(err === undefined ? 'disconnected' : `socket error: ${err.message}`));
  }

  get isClosed(): boolean {
    return this.closed;
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  private onRequest(m: RawMessage): void {
    this.stats.requests++;
    const entry = this.objects.request(m.objectId, m.opcode);
    const { spec, name } = entry;
    const decoded = entry.changesState || SPECIAL_REQUESTS.has(name) ? decodeArgs(m.bytes, HEADER_SIZE, m.size, spec, this.intake.fds, name) : null;
    this.recent.add(' -> ', entry.iface, m.objectId, spec, m.bytes, 0, m.size, decoded?.fds);
    if (this.log.tracing) this.log.trace(() => ` -> ${formatMessage(entry.iface, m.objectId, spec, decoded?.args ?? null)}`);
    if (decoded === null) {
      this.batch.add(m.bytes);
      return;
    }
    const args = decoded.args;
    try {
      if (name === 'wl_registry.bind') this.globals.checkBind(m.objectId, args[0] as number, args[1] as UntypedNewId);
      this.objects.applyRequest(m.objectId, spec, args);
    } catch (e) {
      closeAll(decoded.fds); // decodeArgs gave them to us; a request refused here must not keep them
      throw e;
    }
    const resources: number[] = [];
    // from here the shm owner owns the fds it handles (and closes them when it refuses them)
    const handled = this.shm.request(name, m.objectId, args, decoded.fds, resources);
    if (!handled) {
      for (let i = 0; i < decoded.fds.length; i++) {
        const r = this.resources.export(decoded.fds[i]); // takes the fd, also on error
        if ('error' in r) {
          closeAll(decoded.fds.slice(i + 1));
          throw new ProtocolError('BAD_ARGUMENT', `${name}: ${r.error}`);
        }
        resources.push(r.resource);
      }
    }
    this.batch.add(m.bytes, resources);
  }

  /** What the shm owner may do on this connection. */
  private shmPort(): ShmPort {
    const { session } = this.ctx;
    return {
      conn: this.conn,
      stats: this.stats,
      send: (frame, flushed) => session.send(frame, flushed),
      sendFromFile: (resource, fd, offset, length) => {
        // each queued file write holds a dup of the pool's fd until it is sent: past the bound, bytes are read instead
        if (!session.canSendFiles || this.queuedFileWrites >= MAX_QUEUED_FILE_WRITES) return false;
        this.queuedFileWrites++;
        session.sendFileWrite(this.conn, resource, offset, dup(fd), offset, length, () => this.queuedFileWrites--);
        return true;
      },
      get maxFrameData() {
        return session.peerMaxFrameSize;
      },
      flush: () => this.batch.flush(),
      allocateResource: () => this.resources.allocate(),
    };
  }

  // ---- events from the host

  onFrame(frame: Frame): void {
    if (this.closed) return;
    if (frame.kind === FrameKind.Wayland) {
      try {
        this.onEvents(frame);
      } catch (e) {
        this.log.error(`bad events from the host: ${(e as Error).message}`);
        this.recent.log(this.log, `client ${this.conn}`);
        this.close('bad events from the host', CloseCode.ProtocolError);
      }
      return;
    }
    if (frame.kind === FrameKind.Close) {
      this.log.info(`host closed the connection: ${guestText(frame.reason)}`);
      if (frame.code !== CloseCode.Normal && frame.code !== CloseCode.CompositorGone) {
        this.recent.log(this.log, `client ${this.conn}`);
        this.sendDisplayError(1, IMPLEMENTATION, `wayvio host: ${frame.reason}`);
      }
      this.close(frame.reason, null);
      return;
    }
    const result = this.resources.onFrame(frame);
    if (result === 'unhandled') this.log.warn(`unexpected ${FrameKind[frame.kind]} frame`);
    else if (result !== null) {
      this.log.error(result);
      this.close(result, CloseCode.ProtocolError);
    }
  }

  private onEvents(frame: WaylandFrame): void {
    const data = frame.data;
    const end = data.byteLength;
    // null while every event goes out as it came: then `data` itself is written
    let edits: EditedMessages | null = null;
    const outFds: number[] = [];
    /** fds of the event in hand, not yet in outFds: closed with them if the frame is refused. */
    let inHand: readonly number[] = NO_FDS;
    let res = 0;
    try {
      for (let off = 0; off < end;) {
        const at = off;
        off = messageEndIn(data, at);
        const objectId = readU32(data, at);
        this.stats.events++;
        const entry = this.objects.event(objectId, opcodeAt(data, at));
        const { spec, name, iface } = entry;
        const fds = entry.fdCount === 0 ? NO_FDS : this.takeEventFds(frame, res, entry.fdCount, name);
        inHand = fds;
        res += entry.fdCount;
        if (!entry.changesState && !SPECIAL_EVENTS.has(name)) {
          this.recent.add('<-  ', iface, objectId, spec, data, at, off, fds);
          if (this.log.tracing) this.log.trace(() => `<-  ${formatMessage(iface, objectId, spec, null)}`);
          for (let i = 0; i < fds.length; i++) outFds.push(fds[i]);
          inHand = NO_FDS;
          continue;
        }
        const { args } = decodeArgs(data, at + HEADER_SIZE, off, spec, [...fds], name);
        this.recent.add('<-  ', iface, objectId, spec, data, at, off, fds);
        if (this.log.tracing) this.log.trace(() => `<-  ${formatMessage(iface, objectId, spec, args)}`);
        this.objects.applyEvent(objectId, spec, args);
        const shown = this.globals.filterEvent(name, objectId, opcodeAt(data, at), spec, args);
        if (shown !== 'keep') {
          (edits ??= new EditedMessages(data)).replace(at, off, shown === 'drop' ? null : shown);
          continue;
        }
        if (name === 'wl_display.error') this.log.warn(`compositor error: ${formatMessage(iface, objectId, spec, args)}`);
        for (let i = 0; i < fds.length; i++) outFds.push(fds[i]);
        inHand = NO_FDS;
      }
    } catch (e) {
      closeAll(outFds);
      closeAll(inHand);
      throw e;
    }
    if (res !== frame.resources.length) {
      closeAll(outFds);
      throw new ProtocolError('TOO_MANY_FDS', `${frame.resources.length - res} resources without an fd argument`);
    }
    const bytes = edits === null ? data : edits.bytes();
    if (bytes.byteLength > 0) this.socket.write(bytes, outFds);
    if (this.socket.writableLength > MAX_CLIENT_BACKLOG) {
      this.log.warn(`client does not read its events: ${this.socket.writableLength} bytes queued, more than ${MAX_CLIENT_BACKLOG}; ending it`);
      this.socket.destroy(); // end() would wait for the queue to drain, which it never will
      this.close('the client does not read its events', CloseCode.Normal);
    }
  }

  /** The fds of one event: those of its `count` resources from `first` on. */
  private takeEventFds(frame: WaylandFrame, first: number, count: number, name: string): number[] {
    const fds: number[] = [];
    for (let i = first; i < first + count; i++) {
      const fd = this.resources.takeFd(frame.resources[i] ?? 0);
      if (fd === null) {
        closeAll(fds);
        throw new ProtocolError('MISSING_FD', `${name}: no resource for its fd`);
      }
      fds.push(fd);
    }
    return fds;
  }

  // ---- ending

  /** Ends this client for anything its bytes caused; a bug of ours shows as an internal error, never a crash. */
  private failWith(e: unknown): void {
    if (!(e instanceof ProtocolError) && !(e instanceof RangeError)) {
      const err = e as Error;
      this.log.error(`internal error, client ended: ${err.stack ?? String(e)}`);
      this.sendDisplayError(1, IMPLEMENTATION, `wayvio guest: internal error: ${err.message}`);
      this.close(`internal error: ${err.message}`, CloseCode.InternalError);
      return;
    }
    const code = e instanceof ProtocolError && (e.code === 'UNKNOWN_OBJECT' || e.code === 'BAD_NEW_ID') ? INVALID_OBJECT
      : e instanceof ProtocolError && e.code === 'UNKNOWN_OPCODE' ? INVALID_METHOD : IMPLEMENTATION;
    this.log.warn(`protocol error: ${e.message}`);
    this.recent.log(this.log, `client ${this.conn}`);
    this.sendDisplayError(1, code, e.message);
    this.close(`protocol error: ${e.message}`, CloseCode.ProtocolError);
  }

  sendDisplayError(objectId: number, code: number, message: string): void {
    const spec = this.ctx.registry.event('wl_display', 0)!;
    this.socket.write(encodeMessage(1, 0, spec, [objectId, code, message.slice(0, 3000)]).bytes);
  }

  /** Ends the client; `hostCode` null when the host already knows. */
  close(reason: string, hostCode: CloseCode | null = CloseCode.Normal): void {
    if (this.closed) return;
    this.closed = true;
    this.log.debug(`closed: ${reason}`);
    this.log.end();
    this.socket.end();
    closeAll(this.intake.takeFds());
    this.resources.destroy();
    this.shm.close();
    if (hostCode !== null) this.ctx.session.send({ kind: FrameKind.Close, conn: this.conn, code: hostCode, reason: reason.slice(0, 1000) });
    this.onClosed(this);
  }
}

const SPECIAL_REQUESTS = new Set([
  'wl_shm_pool.resize', 'wl_shm_pool.create_buffer',
  'wl_surface.attach', 'wl_surface.damage', 'wl_surface.damage_buffer', 'wl_surface.commit',
  'wl_surface.set_buffer_scale', 'wl_surface.set_buffer_transform',
  'wp_viewport.set_source', 'wp_viewport.set_destination',
]);


const NO_FDS: readonly number[] = Object.freeze([]);

const SPECIAL_EVENTS = new Set(['wl_registry.global', 'wl_registry.global_remove', 'wl_display.delete_id', 'wl_display.error']);
