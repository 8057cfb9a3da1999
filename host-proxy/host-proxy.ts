// The host proxy: serves guest channels, one compositor connection per guest client.
import { EventEmitter } from 'node:events';
import { Capability, CloseCode, DEFAULT_MAX_FRAME_SIZE, FrameKind, type Frame } from '../protocol/channel-frames';
import type { Policy } from '../protocol/policy';
import type { ProtocolRegistry } from '../protocol/registry';
import { ChannelSession, QUEUE_OVERFLOW } from '../link/channel-session';
import type { LimitedLogger, LogBudget, Logger } from '../link/log';
import { guestText } from '../protocol/log-text';
import type { ByteStream } from '../transport/byte-stream';
import { isListenSpec, type ChannelSpec } from '../transport/channel-spec';
import { openChannels, type ChannelOpener } from '../transport/open-channel';
import { HostClient } from './host-client';
import { ShmQuota, type HostRegion } from './host-pools';
import { PipeQuota } from './pipe-quota';
import { closeSync, fstatSync, openSync } from 'node:fs';

/**
 * What one guest may make the host hold. One host proxy serves one VM, so "the guest" is every channel of
 * this proxy together. Exceeding a limit ends the client that asked (or refuses the client or channel).
 */
export interface HostLimits {
  /** Bytes of shm pools and files the guest may make the host hold (--max-shm-bytes). */
  shmTotal: number;
  /** Largest single pool or file (--max-pool-bytes). */
  shmPool: number;
  /** Clients at once (--max-clients). */
  clients: number;
  /** Live Wayland objects per client (--max-objects). */
  objects: number;
  /** shm pools the compositor maps per client: live wl_shm_pools and those with live buffers (--max-pools). */
  pools: number;
  /** fds the host holds for the guest: compositor connections, pools, files, pipes (--max-fds). */
  fds: number;
  /** Largest channel frame the host accepts, announced in HELLO (--max-frame-size). */
  frameSize: number;
  /** Channels at once (--max-channels). */
  channels: number;
  /** Bytes the guest wrote to pipes that the host holds until their reader takes them (--max-pipe-bytes). */
  pipeBytes: number;
}

export const DEFAULT_LIMITS: Readonly<HostLimits> = {
  shmTotal: 2 * 1024 ** 3,
  shmPool: 512 * 1024 ** 2,
  clients: 256,
  objects: 65536,
  pools: 1024,
  fds: 4096,
  frameSize: DEFAULT_MAX_FRAME_SIZE,
  channels: 4,
  pipeBytes: 32 * 1024 ** 2,
};

/**
 * Log lines a guest can cause: each channel (its clients included) within CHANNEL_LOG_BUDGET, and all of them
 * together with the lines of connections before they are channels within GUEST_LOG_BUDGET. So whatever a guest
 * does, the host writes at most GUEST_LOG_BUDGET.lines + linesPerSecond × T lines (bytes alike) in T seconds for it.
 */
export const CHANNEL_LOG_BUDGET: Readonly<LogBudget> = { lines: 100, linesPerSecond: 10, bytes: 32 * 1024, bytesPerSecond: 4 * 1024 };
export const GUEST_LOG_BUDGET: Readonly<LogBudget> = { lines: 200, linesPerSecond: 20, bytes: 64 * 1024, bytesPerSecond: 8 * 1024 };

export interface HostProxyOptions {
  channel: ChannelSpec;
  compositorPath: string;
  registry: ProtocolRegistry;
  policy: Policy;
  log: Logger;
  software: string;
  /** Defaults: DEFAULT_LIMITS. */
  limits?: Partial<HostLimits>;
  /** The file behind the VM's shared-memory device (QEMU memory-backend-file share=on). */
  shm?: string;
  /** The channel cannot listen (address in use, no permission): nothing will ever connect. Logged as an error, then this runs. */
  onChannelError?: (err: Error) => void;
  /** A listening channel's connection that sends no HELLO within this is dropped. Default HELLO_TIMEOUT_MS. */
  helloTimeoutMs?: number;
}

/**
 * Anyone who can reach a listening channel can connect: until its HELLO a connection is no channel, just
 * a deadline. A connecting channel (unix: to a QEMU chardev, virtio:, file:) is one stream at a time and
 * its guest may not be up for minutes, so it waits without one.
 */
export const HELLO_TIMEOUT_MS = 5000;
/** Connections that are not channels (yet): before their HELLO, or refused and saying goodbye. More are dropped at once. */
export const MAX_UNSETTLED_CONNECTIONS = 16;
/**
 * Memory the host may hold for one channel's guest that does not read (see SessionOptions.maxQueuedBytes).
 * Compositor reading pauses at 8 MiB (the session's congestion mark); past that only a read chunk per client,
 * keymaps and the like arrive, so a guest that reads never gets near it.
 */
export const CHANNEL_QUEUE_BYTES = 64 * 1024 * 1024;

export interface GuestChannel {
  id: number;
  session: ChannelSession;
  clients: Map<number, HostClient>;
  /** The guest's quota: the same object for every channel of this proxy. */
  quota: ShmQuota;
  since: number;
  region: HostRegion | null;
}

export interface HostTotals {
  channels: number;
  clients: number;
  /** Clients ended for an error (guest violation, limit, compositor error, internal error). */
  violations: number;
  /** Bugs of ours caught per client (each logged with its stack). */
  internalErrors: number;
  /** Times each limit (by flag name without --) was hit. */
  limitHits: Record<string, number>;
  /** Channel traffic of channels that have closed (live ones: their session.stats). */
  closedChannelStats: { framesIn: number; framesOut: number; bytesIn: number; bytesOut: number };
}

export class HostProxy extends EventEmitter {
  private opener: ChannelOpener | null = null;
  readonly channels = new Map<number, GuestChannel>();
  private nextChannel = 1;
  /** Connections that are not channels: before their HELLO, or refused and on their way out. */
  private readonly unsettled = new Set<ChannelSession>();
  readonly startedAt = Date.now();
  readonly totals: HostTotals = {
    channels: 0, clients: 0, violations: 0, internalErrors: 0, limitHits: {},
    closedChannelStats: { framesIn: 0, framesOut: 0, bytesIn: 0, bytesOut: 0 },
  };
  /** Commits of clients that have ended, so totals survive them. */
  private endedCommits = 0;

  /** wl_surface.commit requests of every guest client so far, ended ones included. */
  get totalCommits(): number {
    let n = this.endedCommits;
    for (const ch of this.channels.values()) for (const c of ch.clients.values()) n += c.stats.commits;
    return n;
  }
  readonly limits: Readonly<HostLimits>;
  readonly quota: ShmQuota;
  /** Pipe bytes held for the guest: one counter for all its channels and clients. */
  readonly pipeQuota: PipeQuota;
  private region: HostRegion | null = null;
  /** Lines the guest causes, on the proxy's own prefix: within GUEST_LOG_BUDGET, channels' lines included. */
  private readonly guestLog: LimitedLogger;

  constructor(private readonly options: HostProxyOptions) {
    super();
    this.guestLog = options.log.limited('', GUEST_LOG_BUDGET);
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.quota = new ShmQuota(this.limits.shmTotal, this.limits.shmPool);
    this.pipeQuota = new PipeQuota(this.limits.pipeBytes);
  }

  get compositorPath(): string {
    return this.options.compositorPath;
  }

  get clientCount(): number {
    let n = 0;
    for (const ch of this.channels.values()) n += ch.clients.size;
    return n;
  }

  /** fds held for the guest now (checked against --max-fds). */
  fdsInUse(): number {
    let n = 0;
    for (const ch of this.channels.values()) for (const c of ch.clients.values()) n += c.fdsHeld;
    return n;
  }

  private limitHit(limit: string): void {
    this.totals.limitHits[limit] = (this.totals.limitHits[limit] ?? 0) + 1;
  }

  start(): void {
    if (this.options.shm !== undefined) {
      const fd = openSync(this.options.shm, 'r+');
      const size = fstatSync(fd).size;
      if (size <= 0) {
        closeSync(fd);
        throw new Error(`--shm ${this.options.shm} has no size; give the file behind the VM's shared-memory device`);
      }
      this.region = { fd, size };
      this.options.log.info(`shared-memory region ${this.options.shm}: ${size} bytes`);
    }
    this.options.log.info(`compositor ${this.options.compositorPath}`);
    this.opener = openChannels(this.options.channel, {
      onStream: (s) => this.onStream(s),
      onEvent: (m) => this.guestLog.info(m),
      onError: (e) => {
        this.options.log.error(e.message);
        this.options.onChannelError?.(e);
      },
    });
  }

  private onStream(stream: ByteStream): void {
    const id = this.nextChannel++;
    const log = this.guestLog.limited(`channel ${id}`, CHANNEL_LOG_BUDGET);
    if (this.unsettled.size >= MAX_UNSETTLED_CONNECTIONS) {
      this.limitHit('max-channels');
      log.warn(`connection over ${stream.description} dropped: ${this.unsettled.size} connections have not said HELLO yet`);
      stream.destroy();
      log.end();
      return;
    }
    const region = this.region;
    const session = new ChannelSession(stream, {
      software: this.options.software,
      capabilities: region === null ? 0 : Capability.SharedMemory,
      shmRegionSize: region?.size ?? 0,
      maxFrameSize: this.limits.frameSize,
      maxQueuedBytes: CHANNEL_QUEUE_BYTES,
      helloTimeoutMs: isListenSpec(this.options.channel) ? this.options.helloTimeoutMs ?? HELLO_TIMEOUT_MS : undefined,
    });
    this.unsettled.add(session);
    const ch: GuestChannel = { id, session, clients: new Map(), quota: this.quota, since: Date.now(), region: null };
    session.receiveWritesInto((conn, resource, offset, length) => ch.clients.get(conn)?.writeTarget(resource, offset, length) ?? null);
    let refused = false;
    session.on('ready', (peer) => {
      if (refused) return;
      if (!this.channels.has(id) && !this.admit(ch, log)) {
        refused = true;
        return;
      }
      const shared = region !== null && (peer.capabilities & Capability.SharedMemory) !== 0 && peer.shmRegionSize === region.size;
      ch.region = shared ? region : null;
      log.info(`guest connected over ${stream.description}: ${guestText(peer.software)}${shared ? ', shared memory on' : ''}`);
      this.emit('channel', ch);
    });
    session.on('frame', (frame: Frame) => {
      if (!this.channels.has(id)) return; // refused: its frames go nowhere
      try {
        this.onFrame(ch, frame, log);
      } catch (e) {
        // a bug of ours must not take down the other clients: end that client only
        this.totals.internalErrors++;
        log.error(`internal error on ${FrameKind[frame.kind]} for client ${frame.conn}: ${(e as Error).stack ?? String(e)}`);
        ch.clients.get(frame.conn)?.fail(`client ${frame.conn} ended after the internal error`, 'internal error', CloseCode.InternalError);
      }
    });
    session.on('drain', () => {
      for (const c of ch.clients.values()) c.resume();
    });
    session.on('restart', () => {
      log.info(`the guest proxy was replaced; ${ch.clients.size} client(s) ended`);
      for (const c of [...ch.clients.values()]) c.close('the guest proxy was replaced', null);
    });
    session.on('close', (err?: Error) => {
      this.unsettled.delete(session);
      if (!this.channels.has(id)) {
        if (err !== undefined) log.info(`connection over ${stream.description} closed before it was a channel: ${err.message}`);
        log.end();
        return;
      }
      const line = `guest channel closed${err ? `: ${err.message}` : ''}; ${ch.clients.size} client(s) ended`;
      // each such drop costs the guest the channel's whole queue bound in unread traffic: no flood of lines, and
      // the line the operator needs most must not be lost to the budget the flood before it used up
      if ((err as NodeJS.ErrnoException | undefined)?.code === QUEUE_OVERFLOW) this.options.log.warn(`channel ${id}: ${line}`);
      else log.info(line);
      for (const c of [...ch.clients.values()]) c.close('channel closed', null);
      const t = this.totals.closedChannelStats;
      t.framesIn += session.stats.framesIn;
      t.framesOut += session.stats.framesOut;
      t.bytesIn += session.stats.bytesIn;
      t.bytesOut += session.stats.bytesOut;
      this.channels.delete(id);
      log.end(' on this channel');
      this.emit('channel-closed', ch);
    });
  }

  /** A connection said HELLO: it becomes a channel, or is refused when --max-channels are up (false). */
  private admit(ch: GuestChannel, log: Logger): boolean {
    const session = ch.session;
    if (this.channels.size >= this.limits.channels) {
      this.limitHit('max-channels');
      log.warn(`channel over ${session.description} refused: ${this.channels.size} channel(s) open, the limit is ${this.limits.channels} (--max-channels)`);
      // GOODBYE says why; the stream goes when the peer closes its end too, or after a grace period
      session.close(CloseCode.QuotaExceeded, `at most ${this.limits.channels} channels at once`);
      const grace = setTimeout(() => session.destroy(), 2000).unref();
      session.once('close', () => clearTimeout(grace));
      return false;
    }
    this.unsettled.delete(session);
    this.channels.set(ch.id, ch);
    this.totals.channels++;
    return true;
  }

  private onFrame(ch: GuestChannel, frame: Frame, log: Logger): void {
    if (frame.kind === FrameKind.Open) {
      if (ch.clients.has(frame.conn)) {
        log.warn(`guest reopened live connection ${frame.conn}; ending it`);
        ch.clients.get(frame.conn)!.close('connection id reused', CloseCode.ProtocolError);
        return;
      }
      if (this.clientCount >= this.limits.clients) {
        this.limitHit('max-clients');
        log.warn(`client limit of ${this.limits.clients} reached; refusing ${guestText(frame.description)} (--max-clients)`);
        ch.session.send({ kind: FrameKind.Close, conn: frame.conn, code: CloseCode.QuotaExceeded, reason: `at most ${this.limits.clients} clients per guest` });
        return;
      }
      if (this.fdsInUse() + 1 > this.limits.fds) {
        this.limitHit('max-fds');
        log.warn(`fd limit of ${this.limits.fds} reached; refusing ${guestText(frame.description)} (--max-fds)`);
        ch.session.send({ kind: FrameKind.Close, conn: frame.conn, code: CloseCode.QuotaExceeded, reason: `the host holds ${this.limits.fds} fds for this guest already` });
        return;
      }
      this.totals.clients++;
      const client = new HostClient(frame.conn, frame.description, {
        registry: this.options.registry, policy: this.options.policy, session: ch.session, log, compositorPath: this.options.compositorPath,
        quota: ch.quota, pipeQuota: this.pipeQuota, hiddenLogged: new Set(), region: ch.region,
        limits: { objects: this.limits.objects, pools: this.limits.pools, fds: this.limits.fds },
        fdsInUse: () => this.fdsInUse(),
        onLimit: (limit) => this.limitHit(limit),
      }, (c) => {
        ch.clients.delete(c.conn);
        this.endedCommits += c.stats.commits;
        if (c.lastError !== '') this.totals.violations++;
      });
      if (!client.isClosed) ch.clients.set(frame.conn, client);
      return;
    }
    // frames for a connection that just ended may still be in flight: drop them
    ch.clients.get(frame.conn)?.onFrame(frame);
  }

  stop(): void {
    this.opener?.close();
    for (const ch of [...this.channels.values()]) {
      for (const c of [...ch.clients.values()]) c.close('host proxy stopping', CloseCode.CompositorGone);
      ch.session.close(CloseCode.Normal, 'host proxy stopping');
    }
    if (this.region !== null) closeSync(this.region.fd);
    this.region = null;
    this.guestLog.end();
  }
}
