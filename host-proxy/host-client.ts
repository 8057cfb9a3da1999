// One guest client on the host: a compositor connection, fed with requests validated from the channel.
import { FdSocket } from '../native/fd-socket';
import { closeAll, unixConnect } from '../native/index';
import { CloseCode, FrameKind, type Frame, type WaylandFrame } from '../protocol/channel-frames';
import { formatMessage } from '../protocol/format';
import { MessageBuffer, type RawMessage } from '../protocol/message-buffer';
import { ObjectMap } from '../protocol/object-map';
import type { Policy } from '../protocol/policy';
import { ProtocolError } from '../protocol/protocol-error';
import type { ProtocolRegistry } from '../protocol/registry';
import type { MessageSpec } from '../protocol/types';
import { HEADER_SIZE, decodeArgs, encodeMessage, readHeader, type ArgValue, type UntypedNewId } from '../protocol/wire-codec';
import type { ChannelSession } from '../link/channel-session';
import { FdResources } from '../link/fd-resources';
import type { Logger } from '../link/log';
import { WaylandBatch } from '../link/wayland-batch';
import { HostPools, type HostRegion, type ShmQuota } from './host-pools';

export interface HostContext {
  registry: ProtocolRegistry;
  policy: Policy;
  session: ChannelSession;
  log: Logger;
  compositorPath: string;
  quota: ShmQuota;
  /** The shared-memory region, when both sides use it on this channel. */
  region: HostRegion | null;
  /** Interfaces already reported hidden, per channel (each logged once). */
  hiddenLogged: Set<string>;
}

export interface HostClientStats {
  requests: number;
  events: number;
  commits: number;
}

const TITLE_REQUESTS = new Set(['xdg_toplevel.set_title', 'zxdg_toplevel_v6.set_title']);

export class HostClient {
  readonly stats: HostClientStats = { requests: 0, events: 0, commits: 0 };
  private readonly objects: ObjectMap;
  private readonly pools: HostPools;
  private readonly resources: FdResources;
  private readonly batch: WaylandBatch;
  private readonly input = new MessageBuffer();
  private readonly globals = new Map<number, { iface: string; version: number }>();
  /** wl_shm_pool object id → pool resource. */
  private readonly poolObjects = new Map<number, number>();
  private socket: FdSocket | null = null;
  private closed = false;
  private readonly log: Logger;
  lastError = '';

  constructor(readonly conn: number, readonly description: string, private readonly ctx: HostContext, private readonly onClosed: (c: HostClient) => void) {
    this.log = ctx.log.child(`client ${conn}`);
    this.objects = new ObjectMap(ctx.registry);
    this.batch = new WaylandBatch(conn, ctx.session);
    this.resources = new FdResources(conn, ctx.session, 'host', () => undefined);
    this.pools = new HostPools(ctx.quota, (r) => this.resources.fromPeer(r), ctx.region);
    let fd: number;
    try {
      fd = unixConnect(ctx.compositorPath);
    } catch (e) {
      this.close(`cannot connect to the compositor at ${ctx.compositorPath}: ${(e as Error).message}`, CloseCode.CompositorGone);
      return;
    }
    this.socket = new FdSocket(fd, { highWaterMark: 4 * 1024 * 1024 });
    this.socket.on('data', (bytes: Buffer, fds: number[]) => this.onCompositorData(bytes, fds));
    this.socket.on('close', (err?: Error) => this.close(err ? `compositor connection failed: ${err.message}` : 'the compositor closed the connection', CloseCode.CompositorGone));
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

  pause(): void {
    this.socket?.pause();
  }

  resume(): void {
    this.socket?.resume();
  }

  onFrame(frame: Frame): void {
    if (this.closed) return;
    let problem: string | null | 'unhandled';
    try {
      if (frame.kind === FrameKind.Wayland) problem = this.onRequests(frame);
      else if (frame.kind === FrameKind.Close) {
        this.close(`guest closed it: ${frame.reason}`, null);
        return;
      } else {
        problem = this.pools.onFrame(frame);
        if (problem === 'unhandled') problem = this.resources.onFrame(frame);
        if (problem === 'unhandled') problem = `unexpected ${FrameKind[frame.kind]} frame`;
      }
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      problem = `${e.code}: ${e.message}`;
    }
    if (problem !== null) this.violation(problem);
  }

  /** Validates every request of a WAYLAND frame, rebuilds its fds, and writes it to the compositor. */
  private onRequests(frame: WaylandFrame): string | null {
    const data = frame.data;
    const out: Uint8Array[] = [];
    const fds: number[] = [];
    let res = 0;
    try {
      for (let off = 0; off < data.byteLength;) {
        const h = readHeader(data, off);
        if (h === null || off + h.size > data.byteLength) return 'a WAYLAND frame ends inside a message';
        const bytes = data.subarray(off, off + h.size);
        off += h.size;
        this.stats.requests++;
        const spec = this.objects.requestSpec(h.objectId, h.opcode);
        const iface = this.objects.get(h.objectId)!.iface.name;
        const name = `${iface}.${spec.name}`;
        const msgFds: number[] = [];
        for (let i = this.ctx.registry.fdCount(spec); i > 0; i--) {
          const fd = this.fdForResource(frame.resources[res++], name);
          msgFds.push(fd);
          fds.push(fd);
        }
        const { args } = decodeArgs(bytes.subarray(HEADER_SIZE), spec, [...msgFds], name);
        this.log.trace(() => ` -> ${formatMessage(iface, h.objectId, spec, args)}`);
        this.checkRequest(name, h.objectId, args, frame.resources[res - 1]);
        this.objects.applyRequest(h.objectId, spec, args);
        if (name === 'wl_surface.commit') this.stats.commits++;
        const rewritten = this.rewrite(name, h.objectId, args);
        if (rewritten === 'drop') continue;
        out.push(rewritten === null ? bytes : encodeMessage(h.objectId, h.opcode, spec, rewritten).bytes);
      }
      if (res !== frame.resources.length) return `${frame.resources.length - res} resources without an fd argument`;
    } catch (e) {
      closeAll(fds);
      throw e;
    }
    this.socket?.write(out.length === 1 ? out[0] : Buffer.concat(out), fds);
    if (this.socket !== null && this.socket.writableLength > 16 * 1024 * 1024) return 'the compositor does not read this client\'s requests';
    return null;
  }

  private fdForResource(resource: number | undefined, name: string): number {
    if (resource === undefined) throw new ProtocolError('MISSING_FD', `${name}: no resource for its fd`);
    const fd = this.pools.has(resource) ? this.pools.fdFor(resource) : this.resources.takeFd(resource);
    if (fd === null) throw new ProtocolError('MISSING_FD', `${name}: resource ${resource} is unknown or used already`);
    return fd;
  }

  /**
   * Requests the host changes on their way: title prefixes, and pools in the shared region (the
   * compositor maps the whole region, so sizes become the region's and buffer offsets are shifted
   * by the pool's place in it). Returns new args, null to forward unchanged, or 'drop'.
   */
  private rewrite(name: string, id: number, args: ArgValue[]): ArgValue[] | null | 'drop' {
    if (TITLE_REQUESTS.has(name)) return this.ctx.policy.titlePrefix === '' ? null : [this.ctx.policy.titlePrefix + (args[0] as string)];
    const region = this.pools.region;
    if (region === null) return null;
    switch (name) {
      case 'wl_shm.create_pool': {
        const r = this.pools.ref(this.poolObjects.get(args[0] as number) ?? 0);
        return r === undefined ? null : [args[0], args[1], region.size];
      }
      case 'wl_shm_pool.create_buffer': {
        const r = this.pools.ref(this.poolObjects.get(id) ?? 0);
        if (r === undefined) return null;
        const [, offset, width, height, stride] = args as number[];
        if (offset < 0 || width <= 0 || height <= 0 || stride < width || offset + stride * height > r.size) {
          throw new ProtocolError('BAD_ARGUMENT', `wl_shm_pool#${id}.create_buffer: ${width}x${height} stride ${stride} at ${offset} does not fit the ${r.size}-byte pool`);
        }
        return [args[0], r.offset + offset, width, height, stride, args[5]];
      }
      case 'wl_shm_pool.resize':
        return this.pools.ref(this.poolObjects.get(id) ?? 0) === undefined ? null : 'drop';
      default:
        return null;
    }
  }

  /** The checks the host makes itself, whatever the guest claims to have checked. */
  private checkRequest(name: string, id: number, args: ArgValue[], lastResource: number | undefined): void {
    switch (name) {
      case 'wl_registry.bind': {
        const want = args[1] as UntypedNewId;
        const g = this.globals.get(args[0] as number);
        if (g === undefined || g.iface !== want.interface || want.version > g.version) {
          throw new ProtocolError('UNKNOWN_INTERFACE', `bind of ${want.interface} v${want.version} as global ${args[0] as number}: not offered to this guest`);
        }
        break;
      }
      case 'wl_shm.create_pool': {
        const size = args[2] as number;
        const poolSize = lastResource === undefined ? undefined : this.pools.sizeOf(lastResource);
        if (poolSize === undefined) throw new ProtocolError('BAD_ARGUMENT', 'wl_shm.create_pool: the fd is not an shm pool resource');
        if (size <= 0 || size > poolSize) throw new ProtocolError('BAD_ARGUMENT', `wl_shm.create_pool: size ${size} does not fit the ${poolSize}-byte pool`);
        this.poolObjects.set(args[0] as number, lastResource as number);
        break;
      }
      case 'wl_shm_pool.resize': {
        const r = this.poolObjects.get(id);
        const have = r === undefined ? undefined : this.pools.sizeOf(r);
        if (have === undefined || (args[0] as number) > have) throw new ProtocolError('BAD_ARGUMENT', `wl_shm_pool#${id}.resize(${args[0] as number}) beyond the pool the host holds`);
        break;
      }
      default:
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
    const spec: MessageSpec = this.objects.eventSpec(m.objectId, m.opcode);
    const iface = this.objects.get(m.objectId)!.iface.name;
    const name = `${iface}.${spec.name}`;
    const { args, fds } = decodeArgs(m.bytes.subarray(HEADER_SIZE), spec, this.input.fds, name);
    this.log.trace(() => `<-  ${formatMessage(iface, m.objectId, spec, args)}`);
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
    }
    const resources: number[] = [];
    for (const fd of fds) {
      const sizeHint = name === 'wl_keyboard.keymap' ? (args[2] as number) : undefined;
      const r = this.resources.export(fd, sizeHint);
      if ('error' in r) {
        this.log.warn(`${name}: ${r.error}; event dropped`);
        return;
      }
      resources.push(r.resource);
    }
    this.batch.add(m.bytes, resources);
  }

  private violation(problem: string): void {
    this.lastError = problem;
    this.log.warn(`guest protocol violation, client ended: ${problem}`);
    this.close(problem, CloseCode.ProtocolError);
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
    if (guestCode !== null) this.ctx.session.send({ kind: FrameKind.Close, conn: this.conn, code: guestCode, reason: reason.slice(0, 1000) });
    this.log.debug(`closed: ${reason}`);
    this.onClosed(this);
  }
}
