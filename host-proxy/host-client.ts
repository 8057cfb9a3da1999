// One guest client on the host: a compositor connection, fed with requests validated from the channel.
import { FdSocket } from '../native/fd-socket';
import { closeAll, unixConnect } from '../native/index';
import { CloseCode, FrameKind, type FileCreateFrame, type Frame, type WaylandFrame } from '../protocol/channel-frames';
import { formatMessage } from '../protocol/format';
import { guestText } from '../protocol/log-text';
import { EditedMessages } from '../protocol/edited-messages';
import { MessageBuffer, type RawMessage } from '../protocol/message-buffer';
import { ObjectMap } from '../protocol/object-map';
import type { Policy } from '../protocol/policy';
import { ProtocolError } from '../protocol/protocol-error';
import type { ProtocolRegistry } from '../protocol/registry';
import { HEADER_SIZE, decodeArgs, encodeMessage, messageSizeAt, opcodeAt, readU32, type ArgValue, type UntypedNewId } from '../protocol/wire-codec';
import type { ChannelSession } from '../link/channel-session';
import { FdResources } from '../link/fd-resources';
import { HostShortage } from '../link/host-shortage';
import type { Logger } from '../link/log';
import type { PipeBudget } from '../link/pipe-bridge';
import { WaylandBatch } from '../link/wayland-batch';
import { RecentMessages } from '../link/recent-messages';
import { CompositorPools } from './compositor-pools';
import { HostPools, QuotaError, type HostRegion, type ShmQuota } from './host-pools';
import { SurfaceRoles } from './surface-roles';
import { XdgPopups, type PopupOutcome } from './xdg-popups';
import { XdgOrder } from './xdg-order';

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
  /** Interfaces already reported hidden, per channel (each logged once). */
  /** Hidden interfaces already logged for this client (each once). */
  hiddenLogged: Set<string>;
  /** Live objects and compositor pool mappings one client may have; fds the host may hold for the whole guest. */
  limits: { objects: number; pools: number; fds: number };
  /** fds the host holds for the whole guest now (every client's fdsHeld). */
  fdsInUse: () => number;
  /** Told each time a client hits a limit (for metrics). */
  onLimit?: (limit: string) => void;
}

export interface HostClientStats {
  requests: number;
  events: number;
  commits: number;
  /** Frames from the guest for this client, and their payload bytes (messages, pool data, pipe data). */
  framesIn: number;
  bytesIn: number;
  /** Bytes of events from the compositor. */
  eventBytes: number;
}

/** What `GET /status` shows of one client: its stats and these. */
export interface HostClientStatus extends HostClientStats {
  conn: number;
  description: string;
  appId: string | null;
  title: string | null;
  since: string;
  objects: number;
  pools: number;
  poolBytes: number;
  fds: number;
  lastError: string | null;
}

const TITLE_REQUESTS = new Set(['xdg_toplevel.set_title', 'zxdg_toplevel_v6.set_title']);

export class HostClient {
  readonly stats: HostClientStats = { requests: 0, events: 0, commits: 0, framesIn: 0, bytesIn: 0, eventBytes: 0 };
  private readonly objects: ObjectMap;
  private readonly pools: HostPools;
  /** The pools as the compositor maps them: their bounds, and the mappings this client makes it keep. */
  private readonly compositorPools: CompositorPools;
  private readonly resources: FdResources;
  private readonly batch: WaylandBatch;
  private readonly input = new MessageBuffer();
  private readonly globals = new Map<number, { iface: string; version: number }>();
  private readonly xdgOrder = new XdgOrder();
  private readonly surfaceRoles = new SurfaceRoles();
  private readonly popups: XdgPopups;
  private socket: FdSocket | null = null;
  /** FILE_CREATE resources not yet passed on (their bytes are charged to the quota), and PIPE_OPEN ends. */
  private readonly pendingFiles = new Map<number, number>();
  private readonly pendingPipeEnds = new Set<number>();
  private readonly recent = new RecentMessages();
  private closed = false;
  private readonly log: Logger;
  private readonly since = new Date();
  lastError = '';
  /** From xdg_toplevel.set_app_id / set_title, as the guest sent them. */
  appId: string | null = null;
  title: string | null = null;

  constructor(readonly conn: number, readonly description: string, private readonly ctx: HostContext, private readonly onClosed: (c: HostClient) => void) {
    this.log = ctx.log.child(`client ${conn}`);
    this.objects = new ObjectMap(ctx.registry);
    this.batch = new WaylandBatch(conn, ctx.session);
    this.resources = new FdResources(conn, ctx.session, 'host', () => undefined, ctx.pipeQuota);
    this.pools = new HostPools(ctx.quota, (r) => this.resources.fromPeer(r), ctx.region);
    this.compositorPools = new CompositorPools(this.pools);
    this.popups = new XdgPopups(ctx.registry);
    let fd: number;
    try {
      fd = unixConnect(ctx.compositorPath);
    } catch (e) {
      const code = HostShortage.from(e, 'connecting') === null ? CloseCode.CompositorGone : CloseCode.QuotaExceeded;
      this.close(`cannot connect to the compositor at ${ctx.compositorPath}: ${(e as Error).message}`, code);
      return;
    }
    this.socket = new FdSocket(fd, { highWaterMark: 4 * 1024 * 1024 });
    this.socket.readTarget = () => this.input.freeSpace();
    this.socket.on('data', (bytes: Buffer, fds: number[]) => this.onCompositorData(bytes, fds));
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

  /**
   * fds the host holds or hands on for this client: its compositor connection, pools, files and pipes, fds
   * queued towards the compositor, and the pool mappings the compositor keeps for it.
   */
  get fdsHeld(): number {
    if (this.closed) return 0;
    const socket = this.socket === null ? 0 : 1 + this.socket.queuedFdCount;
    return socket + this.pools.count + this.pendingFiles.size + this.pendingPipeEnds.size + this.resources.bridges.size + this.compositorPools.mappings;
  }

  /** After wl_shm.create_pool: the compositor keeps one more mapping, bounded per client and in the guest's fds. */
  private checkPoolCount(): void {
    const mappings = this.compositorPools.mappings;
    if (mappings > this.ctx.limits.pools) {
      throw new QuotaError('max-pools', `the compositor would map ${mappings} shm pools for this client, more than ${this.ctx.limits.pools} (--max-pools)`);
    }
    this.chargeFds(0);
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
          this.chargeFds(frame.kind === FrameKind.PipeOpen ? 2 : 1);
        }
        problem = frame.kind === FrameKind.FileCreate ? this.onFileCreate(frame) : this.pools.onFrame(frame);
        if (problem === 'unhandled') problem = this.resources.onFrame(frame);
        if (problem === null && frame.kind === FrameKind.PipeOpen) this.pendingPipeEnds.add(frame.resource);
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
    }
    if (problem !== null) this.violation(problem);
  }

  /** Throws QuotaError when `n` more fds (0: those now counted) would pass the guest's --max-fds. */
  private chargeFds(n: number): void {
    const inUse = this.ctx.fdsInUse();
    if (inUse + n > this.ctx.limits.fds) throw new QuotaError('max-fds', `the guest would make the host hold ${inUse + n} fds, more than ${this.ctx.limits.fds} (--max-fds)`);
  }

  /** FILE_CREATE: its bytes count against the guest's shm quota until the file is passed on. */
  private onFileCreate(frame: FileCreateFrame): string | null | 'unhandled' {
    this.ctx.quota.charge(frame.size);
    const problem = this.resources.onFrame(frame);
    if (problem === null) this.pendingFiles.set(frame.resource, frame.size);
    else this.ctx.quota.release(frame.size);
    return problem;
  }

  /** Validates every request of a WAYLAND frame, rebuilds its fds, and writes it to the compositor. */
  private onRequests(frame: WaylandFrame): string | null {
    const data = frame.data;
    const end = data.byteLength;
    // null while every request goes out as it came: then `data` itself is written
    let edits: EditedMessages | null = null;
    const fds: number[] = [];
    let res = 0;
    let problem: string | null = null;
    try {
      for (let off = 0; off < end;) {
        const size = messageSizeAt(data, off);
        if (size < 0 || off + size > end) {
          problem = 'a WAYLAND frame ends inside a message';
          break;
        }
        const at = off;
        off += size;
        const objectId = readU32(data, at);
        this.stats.requests++;
        const entry = this.objects.request(objectId, opcodeAt(data, at));
        const { spec, name, iface } = entry;
        const firstFd = fds.length;
        for (let i = entry.fdCount; i > 0; i--) fds.push(this.fdForResource(frame.resources[res++], name));
        const { args, fds: messageFds } = decodeArgs(data, at + HEADER_SIZE, off, spec, entry.fdCount === 0 ? [] : fds.slice(firstFd), name);
        this.recent.add(' -> ', iface, objectId, spec, data, at, off, messageFds);
        if (this.log.tracing) this.log.trace(() => ` -> ${formatMessage(iface, objectId, spec, args)}`);
        this.checkRequest(name, objectId, args);
        const popup = this.popups.request(name, objectId, args);
        const shmArgs = this.compositorPools.request(name, objectId, args, frame.resources[res - 1]);
        this.objects.applyRequest(objectId, spec, args);
        if (this.objects.size > this.ctx.limits.objects) {
          throw new QuotaError('max-objects', `${name} makes ${this.objects.size} live objects, more than ${this.ctx.limits.objects} (--max-objects)`);
        }
        if (name === 'wl_shm.create_pool') this.checkPoolCount();
        if (name === 'wl_surface.commit') this.stats.commits++;
        const rewritten = shmArgs ?? this.rewrite(name, args);
        if (rewritten === null && popup === null) continue;
        let replacement = rewritten === 'drop' ? null : rewritten === null ? data.subarray(at, off) : encodeMessage(objectId, opcodeAt(data, at), spec, rewritten).bytes;
        if (popup !== null) replacement = this.applyPopupOutcome(popup, replacement);
        (edits ??= new EditedMessages(data)).replace(at, off, replacement);
      }
      if (problem === null && res !== frame.resources.length) problem = `${frame.resources.length - res} resources without an fd argument`;
    } catch (e) {
      closeAll(fds);
      throw e;
    }
    if (problem !== null) {
      closeAll(fds);
      return problem;
    }
    const bytes = edits === null ? data : edits.bytes();
    if (bytes.byteLength > 0) this.socket?.write(bytes, fds);
    if (this.socket !== null && this.socket.writableLength > 16 * 1024 * 1024) return 'the compositor does not read this client\'s requests';
    return null;
  }

  /** XdgPopups' answer to a request: events to the guest now, and what goes to the compositor instead of `request`. */
  private applyPopupOutcome(o: PopupOutcome, request: Uint8Array | null): Uint8Array | null {
    for (const event of o.toGuest) this.batch.add(event);
    if (o.toGuest.length > 0) this.batch.flush();
    const deleteId = this.ctx.registry.interface('wl_display')!.events.find((e) => e.name === 'delete_id')!;
    for (const id of o.freed) this.objects.applyEvent(1, deleteId, [id]);
    const out = o.drop || request === null ? o.before : [...o.before, request];
    return out.length === 0 ? null : Buffer.concat(out);
  }

  private fdForResource(resource: number | undefined, name: string): number {
    if (resource === undefined) throw new ProtocolError('MISSING_FD', `${name}: no resource for its fd`);
    const fd = this.pools.has(resource) ? this.pools.fdFor(resource) : this.resources.takeFd(resource);
    if (fd === null) throw new ProtocolError('MISSING_FD', `${name}: resource ${resource} is unknown or used already`);
    const fileBytes = this.pendingFiles.get(resource);
    if (fileBytes !== undefined) {
      this.pendingFiles.delete(resource);
      this.ctx.quota.release(fileBytes);
    }
    this.pendingPipeEnds.delete(resource);
    return fd;
  }

  /** Requests the host changes on their way: title prefixes. Returns new args, or null to forward unchanged. */
  private rewrite(name: string, args: ArgValue[]): ArgValue[] | null {
    if (TITLE_REQUESTS.has(name)) {
      this.title = args[0] as string;
      return this.ctx.policy.titlePrefix === '' ? null : [this.ctx.policy.titlePrefix + (args[0] as string)];
    }
    if (name === 'xdg_toplevel.set_app_id' || name === 'zxdg_toplevel_v6.set_app_id') this.appId = args[0] as string;
    return null;
  }

  /** The checks the host makes itself, whatever the guest claims to have checked. */
  private checkRequest(name: string, id: number, args: ArgValue[]): void {
    switch (name) {
      case 'wl_registry.bind': {
        const want = args[1] as UntypedNewId;
        const g = this.globals.get(args[0] as number);
        if (g === undefined || g.iface !== want.interface || want.version > g.version) {
          throw new ProtocolError('UNKNOWN_INTERFACE', `bind of ${guestText(want.interface)} v${want.version} as global ${args[0] as number}: not offered to this guest`);
        }
        break;
      }
      default:
        this.xdgOrder.check(name, id, args);
        this.surfaceRoles.check(name, id, args);
        break;
    }
  }

  private onCompositorData(bytes: Uint8Array, fds: number[]): void {
    if (this.closed) {
      closeAll(fds);
      return;
    }
    try {
      this.input.push(bytes, fds);
    } catch (e) {
      closeAll(fds); // push() refused them (too many queued)
      this.close(`bad data from the compositor: ${(e as Error).message}`, CloseCode.CompositorGone);
      return;
    }
    try {
      for (let m = this.input.next(); m !== null; m = this.input.next()) this.onEvent(m);
    } catch (e) {
      this.close(`bad data from the compositor: ${(e as Error).message}`, CloseCode.CompositorGone);
      return;
    }
    this.batch.flush();
    if (this.ctx.session.congested) this.socket?.pause();
  }

  private onEvent(m: RawMessage): void {
    this.stats.events++;
    this.stats.eventBytes += m.size;
    if (this.popups.swallowsEvent(m.objectId, m.opcode, m.bytes)) return;
    const entry = this.objects.event(m.objectId, m.opcode);
    const { spec, name, iface } = entry;
    const { args, fds } = decodeArgs(m.bytes, HEADER_SIZE, m.size, spec, this.input.fds, name);
    this.recent.add('<-  ', iface, m.objectId, spec, m.bytes, 0, m.size, fds);
    if (this.log.tracing) this.log.trace(() => `<-  ${formatMessage(iface, m.objectId, spec, args)}`);
    this.objects.applyEvent(m.objectId, spec, args);
    if (name === 'wl_registry.global') {
      const [gname, giface, version] = args as [number, string, number];
      const verdict = this.ctx.policy.judge(giface, version, this.ctx.registry);
      if (!verdict.allowed) {
        if (!this.ctx.hiddenLogged.has(giface)) {
          this.ctx.hiddenLogged.add(giface);
          this.log.info(`global ${giface} v${version} hidden: ${verdict.reason}`);
        }
        return;
      }
      this.globals.set(gname, { iface: giface, version: verdict.version });
      this.batch.add(verdict.version === version ? m.bytes : encodeMessage(m.objectId, m.opcode, spec, [gname, giface, verdict.version]).bytes);
      return;
    }
    if (name === 'wl_registry.global_remove' && !this.globals.delete(args[0] as number)) return;
    if (name === 'wl_display.error') {
      this.lastError = formatMessage(iface, m.objectId, spec, args);
      this.log.warn(`compositor error: ${this.lastError}`);
      this.logRecent();
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
    this.logRecent();
    this.close(reason, code);
  }

  /** The last messages both ways (formatted only now, not as they pass). */
  private logRecent(): void {
    if (this.recent.size === 0) return;
    this.log.warn(`last ${this.recent.size} messages of ${guestText(this.description)}:`);
    for (const line of this.recent.format()) this.log.warn(`  ${line}`);
  }

  /** Ends the client and frees everything; `guestCode` null when the guest already knows. */
  close(reason: string, guestCode: CloseCode | null = CloseCode.Normal): void {
    if (this.closed) return;
    this.closed = true;
    this.batch.flush();
    this.socket?.destroy();
    closeAll(this.input.takeFds());
    this.resources.destroy();
    this.pools.destroy();
    for (const bytes of this.pendingFiles.values()) this.ctx.quota.release(bytes);
    this.pendingFiles.clear();
    this.pendingPipeEnds.clear();
    if (guestCode !== null) this.ctx.session.send({ kind: FrameKind.Close, conn: this.conn, code: guestCode, reason: reason.slice(0, 1000) });
    this.log.debug(`closed: ${reason}`);
    this.onClosed(this);
  }
}
