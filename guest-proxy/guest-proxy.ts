// The guest proxy: listens where a compositor would, and carries every client over one channel to the host.
import { closeSync, openSync, unlinkSync } from 'node:fs';
import { FdListener } from '../transport/fd-listener';
import type { FdSocket } from '../transport/fd-socket';
import { flock } from '../transport/fds';
import type { Policy } from '../protocol/policy';
import type { ProtocolRegistry } from '../protocol/registry';
import { ChannelSession } from '../link/channel-session';
import type { Logger } from '../link/log';
import type { ByteStream } from '../transport/byte-stream';
import type { ChannelSpec } from '../transport/channel-spec';
import { openChannels, type ChannelOpener } from '../transport/open-channel';
import { Capability } from '../protocol/channel-frames';
import { guestText } from '../protocol/log-text';
import { GuestClient } from './guest-client';
import { SharedRegion } from './shm/shared-region';

export interface GuestProxyOptions {
  socketPath: string;
  channel: ChannelSpec;
  registry: ProtocolRegistry;
  policy: Policy;
  log: Logger;
  software: string;
  /** Shared-memory region: a file both sides map, or `ivshmem` for the PCI device. */
  shm?: string;
  /** The channel cannot listen (address in use, no permission): nothing will ever connect. Logged as an error, then this runs. */
  onChannelError?: (err: Error) => void;
}

/** A HELLO can be lost on a virtio port (the guest kernel drops what arrived while nobody had it open). */
const HELLO_TIMEOUT_MS = 3000;

/** Clients that connect while no channel is up wait this many at most. */
const MAX_WAITING_CLIENTS = 64;

export class GuestProxy {
  private listener: FdListener | null = null;
  private lockFd = -1;
  private opener: ChannelOpener | null = null;
  private session: ChannelSession | null = null;
  private readonly clients = new Map<number, GuestClient>();
  private readonly waiting: FdSocket[] = [];
  private nextConn = 1;
  private stopped = false;
  private region: SharedRegion | null = null;
  /** The region, when the host on the current channel uses it too. */
  private activeRegion: SharedRegion | null = null;
  readonly totals = { clients: 0, channels: 0 };

  constructor(private readonly options: GuestProxyOptions) {}

  get lockPath(): string {
    return `${this.options.socketPath}.lock`;
  }

  /** Takes the lock, listens, and starts connecting the channel. Throws if another process owns the socket. */
  start(): void {
    if (this.options.shm !== undefined) {
      this.region = SharedRegion.open(this.options.shm);
      this.options.log.info(`shared-memory region ${this.region.path}: ${this.region.size} bytes`);
    }
    this.lockFd = openSync(this.lockPath, 'a+', 0o660);
    if (!flock(this.lockFd, 'ex', true)) {
      closeSync(this.lockFd);
      this.lockFd = -1;
      throw Object.assign(new Error(`${this.options.socketPath} is owned by a live process (its lock ${this.lockPath} is held)`), { code: 'EADDRINUSE' });
    }
    try {
      unlinkSync(this.options.socketPath);
    } catch {
      // no stale socket
    }
    this.listener = FdListener.unix(this.options.socketPath);
    this.listener.on('connection', (s: FdSocket) => this.onClient(s));
    this.listener.on('error', (e: Error) => this.options.log.warn(`accept: ${e.message}`));
    this.options.log.info(`listening on ${this.options.socketPath}`);
    this.opener = openChannels(this.options.channel, {
      onStream: (s) => this.onStream(s),
      onEvent: (m) => this.options.log.info(m),
      onError: (e) => {
        this.options.log.error(e.message);
        this.options.onChannelError?.(e);
      },
    });
  }

  get clientCount(): number {
    return this.clients.size;
  }

  get connected(): boolean {
    return this.session?.peer != null && !this.session.isClosed;
  }

  private onStream(stream: ByteStream): void {
    if (this.session !== null && !this.session.isClosed) {
      this.options.log.warn(`a second channel from ${stream.description} refused: one is up already`);
      stream.destroy();
      return;
    }
    const region = this.region;
    const session = new ChannelSession(stream, {
      software: this.options.software,
      capabilities: region === null ? 0 : Capability.SharedMemory,
      shmRegionSize: region?.size ?? 0,
      helloTimeoutMs: HELLO_TIMEOUT_MS,
    });
    this.session = session;
    this.totals.channels++;
    session.on('ready', (peer) => {
      const shared = region !== null && (peer.capabilities & Capability.SharedMemory) !== 0 && peer.shmRegionSize === region.size;
      this.activeRegion = shared ? region : null;
      if (region !== null && !shared) this.options.log.warn(`the host does not use a ${region.size}-byte shared region (it offers ${peer.shmRegionSize}); buffers travel over the channel`);
      this.options.log.info(`channel up: ${guestText(peer.software)}${shared ? ', shared memory on' : ''}`);
      for (const s of this.waiting.splice(0)) this.startClient(s, session);
    });
    session.on('frame', (frame) => this.clients.get(frame.conn)?.onFrame(frame));
    session.on('restart', () => {
      this.options.log.info(`the host proxy was replaced; ${this.clients.size} client(s) disconnected`);
      for (const c of [...this.clients.values()]) c.close('the host proxy was replaced', null);
    });
    session.on('drain', () => {
      for (const c of this.clients.values()) c.resume();
    });
    session.on('close', (err?: Error) => {
      this.options.log.info(`channel down${err ? `: ${err.message}` : ''}; ${this.clients.size} client(s) disconnected`);
      for (const c of [...this.clients.values()]) c.close('the channel to the host closed', null);
      if (this.session === session) this.session = null;
    });
  }

  private onClient(socket: FdSocket): void {
    if (this.stopped) {
      socket.destroy();
      return;
    }
    const session = this.session;
    if (session === null || session.peer === null || session.isClosed) {
      if (this.waiting.length >= MAX_WAITING_CLIENTS) {
        this.options.log.warn('client refused: no channel to the host and too many clients waiting');
        socket.destroy();
        return;
      }
      this.options.log.info('client waits for the channel to the host');
      socket.pause();
      socket.once('close', () => {
        const i = this.waiting.indexOf(socket);
        if (i >= 0) this.waiting.splice(i, 1);
      });
      this.waiting.push(socket);
      return;
    }
    this.startClient(socket, session);
  }

  private startClient(socket: FdSocket, session: ChannelSession): void {
    const conn = this.nextConn;
    this.nextConn = this.nextConn >= 0x7fffffff ? 1 : this.nextConn + 1;
    this.totals.clients++;
    const client = new GuestClient(conn, socket, { registry: this.options.registry, policy: this.options.policy, session, log: this.options.log, region: this.activeRegion }, `client ${conn}`, (c) => this.clients.delete(c.conn));
    this.clients.set(conn, client);
    socket.resume();
    this.options.log.debug(`client ${conn} connected`);
  }

  /** Stops listening, ends every client and the channel, removes the socket and lock. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.listener?.close();
    for (const s of this.waiting.splice(0)) s.destroy();
    for (const c of [...this.clients.values()]) c.close('proxy stopping');
    this.session?.close();
    this.opener?.close();
    for (const p of [this.options.socketPath, this.lockPath]) {
      try {
        unlinkSync(p);
      } catch {
        // gone already
      }
    }
    if (this.lockFd >= 0) closeSync(this.lockFd);
    this.lockFd = -1;
    this.region?.close();
    this.region = null;
  }
}
