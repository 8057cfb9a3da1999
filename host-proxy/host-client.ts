// One guest client on the host: a compositor connection, fed with requests validated from the channel.
import { FdSocket } from '../transport/fd-socket';
import { closeAll, unixConnect } from '../transport/fds';
import { CloseCode, FrameKind, type Frame, type WaylandFrame } from '../protocol/channel-frames';
import { formatMessage } from '../protocol/format';
import { EditedMessages } from '../protocol/edited-messages';
import type { RawMessage } from '../protocol/message-buffer';
import { ObjectMap } from '../protocol/object-map';
import type { Policy } from '../protocol/policy';
import { ProtocolError } from '../protocol/protocol-error';
import type { ProtocolRegistry } from '../protocol/registry';
import { HEADER_SIZE, decodeArgs, encodeMessage, messageEndIn, opcodeAt, readU32, type ArgValue } from '../protocol/wire-codec';
import type { ChannelSession } from '../link/channel-session';
import { FdResources } from '../link/fd-resources';
import { HostShortage } from '../link/host-shortage';
import type { Logger } from '../link/log';
import { OfferedGlobals } from '../link/offered-globals';
import type { PipeBudget } from '../link/pipe-bridge';
import { RecentMessages } from '../link/recent-messages';
import { WaylandBatch } from '../link/wayland-batch';
import { WaylandIntake } from '../link/wayland-intake';
import { ClientFds } from './client-fds';
import type { HostClientStats, HostClientStatus } from './client-status';
import { HostPools, QuotaError, type HostRegion, type ShmQuota } from './host-pools';
import { postedErrorEvent } from './posted-error';
import { RequestModel } from './model/request-model';
import { OrphanSubsurfaces } from './model/orphan-subsurfaces';
import { ViewportReset } from './model/viewport-reset';
import { XdgPopups, type HostOutcome } from './model/xdg-popups';

export interface HostContext {
  registry: ProtocolRegistry;
  policy: Policy;
  session: ChannelSession;
  log: Logger;
  compositorPath: string;
  quota: ShmQuota;
  /** Pipe bytes the guest makes the host hold (--max-pipe-bytes), shared by all its clients. */
  pipeQuota: PipeBudget;
  /** The shared-memory region, when both sides use it on this channel. */
  region: HostRegion | null;
  /** Hidden interfaces already logged (each once). */
  hiddenLogged: Set<string>;
  /** Live objects and compositor pool mappings one client may have; fds the host may hold for the whole guest. */
  limits: { objects: number; pools: number; fds: number };
  /** fds the host holds for the whole guest now (every client's fdsHeld). */
  fdsInUse: () => number;
  /** Told each time a client hits a limit (for metrics). */
  onLimit?: (limit: string) => void;
}

/** How long the host waits for the compositor to close a connection whose sending side it shut. */
const COMPOSITOR_CLOSE_MS = 2000;

export class HostClient {
  readonly stats: HostClientStats = { requests: 0, events: 0, commits: 0, framesIn: 0, bytesIn: 0, eventBytes: 0 };
  private readonly objects: ObjectMap;
  private readonly pools: HostPools;
  private readonly resources: FdResources;
  private readonly fds: ClientFds;
  private readonly globals: OfferedGlobals;
  private readonly model: RequestModel;
  private readonly batch: WaylandBatch;
  private intake: WaylandIntake | null = null;
  private readonly popups: XdgPopups;
  private readonly orphans: OrphanSubsurfaces;
  private readonly viewports: ViewportReset;
  /** What the host sends or answers itself around a guest request, in this order. */
  private readonly hostSteps: Array<{ request(name: string, id: number, args: readonly ArgValue[]): HostOutcome | null }>;
  private socket: FdSocket | null = null;
  private readonly recent = new RecentMessages();
  private closed = false;
  private readonly log: Logger;
  private readonly since = new Date();
  lastError = '';

  constructor(readonly conn: number, readonly description: string, private readonly ctx: HostContext, private readonly onClosed: (c: HostClient) => void) {
    this.log = ctx.log.child(`client ${conn}`);
    this.objects = new ObjectMap(ctx.registry);
    this.batch = new WaylandBatch(conn, ctx.session);
    this.resources = new FdResources(conn, ctx.session, 'host', () => undefined, ctx.pipeQuota);
    this.pools = new HostPools(ctx.quota, (r) => this.resources.fromPeer(r), ctx.region);
    this.fds = new ClientFds(this.pools, this.resources, ctx.quota, { fds: ctx.limits.fds, inUse: ctx.fdsInUse });
    this.globals = new OfferedGlobals(ctx.policy, ctx.registry, (iface, version, reason) => {
      if (ctx.hiddenLogged.has(iface)) return;
      ctx.hiddenLogged.add(iface);
      this.log.info(`global ${iface} v${version} hidden: ${reason}`);
    });
    this.model = new RequestModel(this.globals, this.pools, ctx.policy, ctx.limits.pools);
    this.popups = new XdgPopups(ctx.registry);
    this.orphans = new OrphanSubsurfaces(ctx.registry);
    this.viewports = new ViewportReset(ctx.registry);
    this.hostSteps = [this.popups, this.orphans, this.viewports];
    let fd: number;
    try {
      fd = unixConnect(ctx.compositorPath);
    } catch (e) {
      const code = HostShortage.from(e, 'connecting') === null ? CloseCode.CompositorGone : CloseCode.QuotaExceeded;
      this.close(`cannot connect to the compositor at ${ctx.compositorPath}: ${(e as Error).message}`, code);
      return;
    }
    this.socket = new FdSocket(fd, { highWaterMark: 4 * 1024 * 1024, halfClose: true });
    this.intake = new WaylandIntake(this.socket, {
      message: (m) => this.onEvent(m),
      failed: (e) => this.close(`bad data from the compositor: ${(e as Error).message}`, CloseCode.CompositorGone),
      read: () => {
        this.batch.flush();
        if (this.ctx.session.congested) this.socket?.pause();
      },
      isClosed: () => this.closed,
    });
    // after its error event the compositor drops the client: the error (read before 'close') says why
    this.socket.on('close', (err?: Error) => this.close(
      this.lastError !== '' ? `the compositor ended the client: ${this.lastError}` : err ? `compositor connection failed: ${err.message}` : 'the compositor closed the connection',
      CloseCode.CompositorGone,
    ));
  }

  get isClosed(): boolean {
    return this.closed;
  }

  get objectCount(): number {
    return this.objects.size;
  }

  get poolCount(): number {
    return this.pools.count;
  }

  get appId(): string | null {
    return this.model.appId;
  }

  get title(): string | null {
    return this.model.title;
  }

  /** fds the host holds or hands on for this client, the compositor's pool mappings included (ClientFds.held). */
  get fdsHeld(): number {
    if (this.closed) return 0;
    const socketFds = this.socket === null ? 0 : 1 + this.socket.queuedFdCount;
    return this.fds.held(socketFds, this.model.pools.mappings);
  }

  status(): HostClientStatus {
    return {
      conn: this.conn, description: this.description, appId: this.appId, title: this.title, since: this.since.toISOString(),
      objects: this.objects.size, pools: this.pools.count, poolBytes: this.pools.bytes, fds: this.fdsHeld, ...this.stats,
      lastError: this.lastError === '' ? null : this.lastError,
    };
  }

  pause(): void {
    this.socket?.pause();
  }

  resume(): void {
    this.socket?.resume();
  }

  /** Where the data of a large RES_WRITE may be read to directly: a view of the pool, or null. */
  writeTarget(resource: number, offset: number, length: number): Uint8Array | null {
    return this.closed ? null : this.pools.writeTarget(resource, offset, length);
  }

  onFrame(frame: Frame): void {
    if (this.closed) return;
    this.stats.framesIn++;
    if ('data' in frame) this.stats.bytesIn += frame.data.byteLength;
    let problem: string | null | 'unhandled';
    try {
      if (frame.kind === FrameKind.Wayland) problem = this.onRequests(frame);
      else if (frame.kind === FrameKind.Close) {
        this.close(`guest closed it: ${frame.reason}`, null);
        return;
      } else {
        if (frame.kind === FrameKind.ShmCreate || frame.kind === FrameKind.FileCreate || frame.kind === FrameKind.PipeOpen) {
          this.fds.charge(frame.kind === FrameKind.PipeOpen ? 2 : 1);
        }
        problem = frame.kind === FrameKind.FileCreate ? this.fds.fileCreated(frame) : this.pools.onFrame(frame);
        if (problem === 'unhandled') problem = this.resources.onFrame(frame);
        if (problem === null && frame.kind === FrameKind.PipeOpen) this.fds.pipeOpened(frame.resource);
        if (problem === 'unhandled') problem = `unexpected ${FrameKind[frame.kind]} frame`;
      }
    } catch (e) {
      if (e instanceof QuotaError) {
        this.limitHit(e);
        return;
      }
      const shortage = HostShortage.from(e, `serving ${FrameKind[frame.kind]}`);
      if (shortage !== null) {
        this.fail(`host short of resources, client ended (not the guest's fault): ${shortage.message}`, shortage.message, CloseCode.QuotaExceeded);
        return;
      }
      if (!(e instanceof ProtocolError)) throw e;
      problem = `${e.code}: ${e.message}`;
      // the guest client gets the error a conforming compositor would post, then the close
      const event = e.posted === undefined ? null : postedErrorEvent(this.ctx.registry, e.posted, e.message);
      if (event !== null) this.batch.add(event);
    }
    if (problem !== null) this.violation(problem);
  }

  /** Validates every request of a WAYLAND frame, rebuilds its fds, and writes it to the compositor. */
  private onRequests(frame: WaylandFrame): string | null {
    const data = frame.data;
    const end = data.byteLength;
    // null while every request goes out as it came: then `data` itself is written
    let edits: EditedMessages | null = null;
    const fds: number[] = [];
    let res = 0;
    try {
      for (let off = 0; off < end;) {
        const at = off;
        off = messageEndIn(data, at);
        const objectId = readU32(data, at);
        this.stats.requests++;
        const entry = this.objects.request(objectId, opcodeAt(data, at));
        const { spec, name, iface } = entry;
        const firstFd = fds.length;
        for (let i = entry.fdCount; i > 0; i--) fds.push(this.fds.take(frame.resources[res++], name));
        const { args, fds: messageFds } = decodeArgs(data, at + HEADER_SIZE, off, spec, entry.fdCount === 0 ? [] : fds.slice(firstFd), name);
        this.recent.add(' -> ', iface, objectId, spec, data, at, off, messageFds);
        if (this.log.tracing) this.log.trace(() => ` -> ${formatMessage(iface, objectId, spec, args)}`);
        const rewritten = this.model.request(name, objectId, args, frame.resources[res - 1]);
        let popup: HostOutcome | null = null;
        for (const step of this.hostSteps) popup = merged(popup, step.request(name, objectId, args));
        this.objects.applyRequest(objectId, spec, args);
        if (this.objects.size > this.ctx.limits.objects) {
          throw new QuotaError('max-objects', `${name} makes ${this.objects.size} live objects, more than ${this.ctx.limits.objects} (--max-objects)`);
        }
        if (name === 'wl_shm.create_pool') this.fds.charge(0); // the compositor's new mapping counts against --max-fds
        if (name === 'wl_surface.commit') this.stats.commits++;
        if (rewritten === null && popup === null) continue;
        let replacement = rewritten === 'drop' ? null : rewritten === null ? data.subarray(at, off) : encodeMessage(objectId, opcodeAt(data, at), spec, rewritten).bytes;
        if (popup !== null) replacement = this.applyHostOutcome(popup, replacement);
        (edits ??= new EditedMessages(data)).replace(at, off, replacement);
      }
    } catch (e) {
      closeAll(fds);
      throw e;
    }
    if (res !== frame.resources.length) {
      closeAll(fds);
      return `${frame.resources.length - res} resources without an fd argument`;
    }
    const bytes = edits === null ? data : edits.bytes();
    if (bytes.byteLength > 0) this.socket?.write(bytes, fds);
    if (this.socket !== null && this.socket.writableLength > 16 * 1024 * 1024) return 'the compositor does not read this client\'s requests';
    return null;
  }

  /** XdgPopups' answer to a request: events to the guest now, and what goes to the compositor instead of `request`. */
  private applyHostOutcome(outcome: HostOutcome, request: Uint8Array | null): Uint8Array | null {
    for (const event of outcome.toGuest) this.batch.add(event);
    if (outcome.toGuest.length > 0) this.batch.flush();
    const deleteId = this.ctx.registry.interface('wl_display')!.events.find((e) => e.name === 'delete_id')!;
    for (const id of outcome.freed) this.objects.applyEvent(1, deleteId, [id]);
    const out = outcome.drop || request === null ? outcome.before : [...outcome.before, request];
    return out.length === 0 ? null : Buffer.concat(out);
  }

  private onEvent(m: RawMessage): void {
    this.stats.events++;
    this.stats.eventBytes += m.size;
    if (this.popups.swallowsEvent(m.objectId, m.opcode, m.bytes) || this.orphans.swallowsEvent(m.objectId, m.opcode, m.bytes)) return;
    const entry = this.objects.event(m.objectId, m.opcode);
    const { spec, name, iface } = entry;
    const { args, fds } = decodeArgs(m.bytes, HEADER_SIZE, m.size, spec, (this.intake as WaylandIntake).fds, name);
    this.recent.add('<-  ', iface, m.objectId, spec, m.bytes, 0, m.size, fds);
    if (this.log.tracing) this.log.trace(() => `<-  ${formatMessage(iface, m.objectId, spec, args)}`);
    this.objects.applyEvent(m.objectId, spec, args);
    this.model.event(name, m.objectId, args);
    const shown = this.globals.filterEvent(name, m.objectId, m.opcode, spec, args);
    if (shown === 'drop') return;
    if (shown !== 'keep') {
      this.batch.add(shown);
      return;
    }
    if (name === 'wl_display.error') {
      this.lastError = formatMessage(iface, m.objectId, spec, args);
      this.log.warn(`compositor error: ${this.lastError}`);
      this.recent.log(this.log, this.description);
    }
    if (fds.length === 0) {
      this.batch.add(m.bytes);
      return;
    }
    const resources: number[] = [];
    for (let i = 0; i < fds.length; i++) {
      const sizeHint = name === 'wl_keyboard.keymap' ? (args[2] as number) : undefined;
      const r = this.resources.export(fds[i], sizeHint); // takes the fd, also on error
      if ('error' in r) {
        closeAll(fds.slice(i + 1));
        this.log.warn(`${name}: ${r.error}; event dropped`);
        return;
      }
      resources.push(r.resource);
    }
    this.batch.add(m.bytes, resources);
  }

  private violation(problem: string): void {
    this.fail(`guest protocol violation, client ended: ${problem}`, problem, CloseCode.ProtocolError);
  }

  private limitHit(e: QuotaError): void {
    this.ctx.onLimit?.(e.limit);
    this.fail(`limit reached, client ended: ${e.message}`, e.message, CloseCode.QuotaExceeded);
  }

  /** Ends the client for an error: one line saying why, then the last messages it exchanged. */
  fail(logLine: string, reason: string, code: CloseCode): void {
    if (this.closed) return;
    this.lastError = reason;
    this.log.warn(logLine);
    this.recent.log(this.log, this.description);
    this.close(reason, code);
  }

  /**
   * The compositor tears a client down in its own order, which can orphan a sub-surface that sway 1.7 then
   * crashes on (host-proxy/model/orphan-subsurfaces.ts): the host destroys every sub-surface first, then shuts
   * its sending side, so that the compositor reads those requests before the end of the stream.
   */
  private endCompositorConnection(): void {
    const socket = this.socket;
    if (socket === null) return;
    const teardown = this.orphans.teardown();
    if (teardown.length === 0) {
      socket.destroy();
      return;
    }
    socket.write(Buffer.concat(teardown));
    socket.end();
    setTimeout(() => socket.destroy(), COMPOSITOR_CLOSE_MS).unref();
  }

  /** Ends the client and frees everything; `guestCode` null when the guest already knows. */
  close(reason: string, guestCode: CloseCode | null = CloseCode.Normal): void {
    if (this.closed) return;
    this.closed = true;
    this.batch.flush();
    this.endCompositorConnection();
    closeAll(this.intake?.takeFds() ?? []);
    this.resources.destroy();
    this.pools.destroy();
    this.fds.release();
    if (guestCode !== null) this.ctx.session.send({ kind: FrameKind.Close, conn: this.conn, code: guestCode, reason: reason.slice(0, 1000) });
    this.log.debug(`closed: ${reason}`);
    this.onClosed(this);
  }
}

/** What XdgPopups, OrphanSubsurfaces and ViewportReset do for one request, together (in that order). */
function merged(a: HostOutcome | null, b: HostOutcome | null): HostOutcome | null {
  if (a === null || b === null) return a ?? b;
  return { before: [...a.before, ...b.before], toGuest: [...a.toGuest, ...b.toGuest], drop: a.drop || b.drop, freed: [...a.freed, ...b.freed] };
}
