// The host proxy: serves guest channels, one compositor connection per guest client.
import { EventEmitter } from 'node:events';
import { Capability, CloseCode, FrameKind, type Frame } from '../protocol/channel-frames';
import type { Policy } from '../protocol/policy';
import type { ProtocolRegistry } from '../protocol/registry';
import { ChannelSession } from '../link/channel-session';
import type { Logger } from '../link/log';
import type { ByteStream } from '../transport/byte-stream';
import type { ChannelSpec } from '../transport/channel-spec';
import { openChannels, type ChannelOpener } from '../transport/open-channel';
import { HostClient } from './host-client';
import { ShmQuota, type HostRegion } from './host-pools';
import { closeSync, fstatSync, openSync } from 'node:fs';

export interface HostLimits {
  /** Total shm bytes one guest may hold. */
  shmTotal: number;
  /** Largest single pool. */
  shmPool: number;
  /** Clients per guest channel. */
  clients: number;
}

export const DEFAULT_LIMITS: HostLimits = { shmTotal: 2 * 1024 ** 3, shmPool: 512 * 1024 ** 2, clients: 256 };

export interface HostProxyOptions {
  channel: ChannelSpec;
  compositorPath: string;
  registry: ProtocolRegistry;
  policy: Policy;
  log: Logger;
  software: string;
  limits?: HostLimits;
  /** The file behind the VM's shared-memory device (QEMU memory-backend-file share=on). */
  shm?: string;
}

export interface GuestChannel {
  id: number;
  session: ChannelSession;
  clients: Map<number, HostClient>;
  quota: ShmQuota;
  since: number;
  region: HostRegion | null;
}

export class HostProxy extends EventEmitter {
  private opener: ChannelOpener | null = null;
  readonly channels = new Map<number, GuestChannel>();
  private nextChannel = 1;
  readonly startedAt = Date.now();
  readonly totals = { channels: 0, clients: 0, violations: 0 };
  /** Commits of clients that have ended, so totals survive them. */
  endedCommits = 0;
  private readonly limits: HostLimits;
  private region: HostRegion | null = null;

  constructor(private readonly o: HostProxyOptions) {
    super();
    this.limits = o.limits ?? DEFAULT_LIMITS;
  }

  start(): void {
    if (this.o.shm !== undefined) {
      const fd = openSync(this.o.shm, 'r+');
      const size = fstatSync(fd).size;
      if (size <= 0) {
        closeSync(fd);
        throw new Error(`--shm ${this.o.shm} has no size; give the file behind the VM's shared-memory device`);
      }
      this.region = { fd, size };
      this.o.log.info(`shared-memory region ${this.o.shm}: ${size} bytes`);
    }
    this.o.log.info(`compositor ${this.o.compositorPath}`);
    this.opener = openChannels(this.o.channel, {
      onStream: (s) => this.onStream(s),
      onEvent: (m) => this.o.log.info(m),
    });
  }

  private onStream(stream: ByteStream): void {
    const id = this.nextChannel++;
    const log = this.o.log.child(`channel ${id}`);
    const region = this.region;
    const session = new ChannelSession(stream, {
      software: this.o.software,
      capabilities: region === null ? 0 : Capability.SharedMemory,
      shmRegionSize: region?.size ?? 0,
    });
    const ch: GuestChannel = { id, session, clients: new Map(), quota: new ShmQuota(this.limits.shmTotal, this.limits.shmPool), since: Date.now(), region: null };
    const hiddenLogged = new Set<string>();
    this.channels.set(id, ch);
    this.totals.channels++;
    session.on('ready', (peer) => {
      const shared = region !== null && (peer.capabilities & Capability.SharedMemory) !== 0 && peer.shmRegionSize === region.size;
      ch.region = shared ? region : null;
      log.info(`guest connected over ${stream.description}: ${peer.software}${shared ? ', shared memory on' : ''}`);
      this.emit('channel', ch);
    });
    session.on('frame', (frame: Frame) => {
      try {
        this.onFrame(ch, frame, log, hiddenLogged);
      } catch (e) {
        // a bug of ours must not take down the other clients: end that client only
        log.error(`internal error on ${FrameKind[frame.kind]} for client ${frame.conn}: ${(e as Error).stack ?? String(e)}`);
        ch.clients.get(frame.conn)?.close('internal error', CloseCode.InternalError);
      }
    });
    session.on('drain', () => {
      for (const c of ch.clients.values()) c.resume();
    });
    session.on('close', (err?: Error) => {
      log.info(`guest channel closed${err ? `: ${err.message}` : ''}; ${ch.clients.size} client(s) ended`);
      for (const c of [...ch.clients.values()]) c.close('channel closed', null);
      this.channels.delete(id);
      this.emit('channel-closed', ch);
    });
  }

  private onFrame(ch: GuestChannel, frame: Frame, log: Logger, hiddenLogged: Set<string>): void {
    if (frame.kind === FrameKind.Open) {
      if (ch.clients.has(frame.conn)) {
        log.warn(`guest reopened live connection ${frame.conn}; ending it`);
        ch.clients.get(frame.conn)!.close('connection id reused', CloseCode.ProtocolError);
        return;
      }
      if (ch.clients.size >= this.limits.clients) {
        log.warn(`client limit of ${this.limits.clients} reached; refusing ${frame.description}`);
        ch.session.send({ kind: FrameKind.Close, conn: frame.conn, code: CloseCode.QuotaExceeded, reason: `at most ${this.limits.clients} clients per guest` });
        return;
      }
      this.totals.clients++;
      const client = new HostClient(frame.conn, frame.description, {
        registry: this.o.registry, policy: this.o.policy, session: ch.session, log, compositorPath: this.o.compositorPath,
        quota: ch.quota, hiddenLogged, region: ch.region,
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
  }
}
