// `--status`: GET /status (JSON: channels, clients, quotas) and GET /metrics (Prometheus text) of a host proxy.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Logger } from '../link/log';
import type { HostClientStatus } from './client-status';
import type { HostProxy } from './host-proxy';
import type { StatusAddress } from './status-address';

export interface HostStatus {
  version: string;
  pid: number;
  startedAt: string;
  uptimeSeconds: number;
  compositor: string;
  /** 'up' while a guest channel is up, 'waiting' otherwise. */
  channel: 'up' | 'waiting';
  limits: HostProxy['limits'];
  guest: { clients: number; shmBytes: number; pipeBytes: number; fds: number };
  totals: HostProxy['totals'] & { commits: number };
  channels: {
    id: number;
    state: 'handshake' | 'up';
    transport: string;
    peer: string | null;
    since: string;
    sharedMemory: boolean;
    framesIn: number;
    framesOut: number;
    bytesIn: number;
    bytesOut: number;
    pendingBytes: number;
    congested: boolean;
    clients: HostClientStatus[];
  }[];
}

export function hostStatus(proxy: HostProxy, version: string): HostStatus {
  const channels = [...proxy.channels.values()].map((ch) => ({
    id: ch.id,
    state: ch.session.peer === null ? 'handshake' as const : 'up' as const,
    transport: ch.session.description,
    peer: ch.session.peer?.software ?? null,
    since: new Date(ch.since).toISOString(),
    sharedMemory: ch.region !== null,
    ...ch.session.stats,
    pendingBytes: ch.session.pendingBytes,
    congested: ch.session.congested,
    clients: [...ch.clients.values()].map((c) => c.status()),
  }));
  const commits = proxy.totalCommits;
  return {
    version,
    pid: process.pid,
    startedAt: new Date(proxy.startedAt).toISOString(),
    uptimeSeconds: (Date.now() - proxy.startedAt) / 1000,
    compositor: proxy.compositorPath,
    channel: channels.some((c) => c.state === 'up') ? 'up' : 'waiting',
    limits: proxy.limits,
    guest: { clients: proxy.clientCount, shmBytes: proxy.quota.used, pipeBytes: proxy.pipeQuota.used, fds: proxy.fdsInUse() },
    totals: { ...proxy.totals, commits },
    channels,
  };
}

/** A counter that follows a total the proxy keeps: each scrape adds what grew since the last. */
function followingCounter(registry: Registry, name: string, help: string, labelNames: string[], read: () => [Record<string, string>, number][]): Counter<string> {
  const seen = new Map<string, number>();
  return new Counter({
    name, help, labelNames, registers: [registry],
    collect() {
      for (const [labels, value] of read()) {
        const key = JSON.stringify(labels);
        const grew = value - (seen.get(key) ?? 0);
        if (grew > 0) this.inc(labels, grew);
        seen.set(key, value);
      }
    },
  });
}

/** The proxy's metrics in a registry of their own (plus Node's process metrics: RSS, open fds, heap, event loop). */
export function hostMetrics(proxy: HostProxy): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const gauge = (name: string, help: string, read: () => number): void => {
    new Gauge({ name, help, registers: [registry], collect() { this.set(read()); } });
  };
  gauge('wayvio_channels', 'Guest channels open (including ones in their handshake).', () => proxy.channels.size);
  gauge('wayvio_clients', 'Guest clients, each with its own compositor connection.', () => proxy.clientCount);
  gauge('wayvio_shm_bytes', 'Bytes of shm pools and files held for the guest (counted against --max-shm-bytes).', () => proxy.quota.used);
  gauge('wayvio_pipe_bytes', 'Bytes written to pipes by the guest and held until their reader takes them (counted against --max-pipe-bytes).', () => proxy.pipeQuota.used);
  gauge('wayvio_fds_held', 'fds held for the guest (counted against --max-fds).', () => proxy.fdsInUse());
  gauge('wayvio_objects', 'Live Wayland objects of every guest client.', () => {
    let n = 0;
    for (const ch of proxy.channels.values()) for (const c of ch.clients.values()) n += c.objectCount;
    return n;
  });
  gauge('wayvio_channel_pending_bytes', 'Bytes queued towards the guest and not yet written.', () => {
    let n = 0;
    for (const ch of proxy.channels.values()) n += ch.session.pendingBytes;
    return n;
  });
  new Gauge({
    name: 'wayvio_limit', help: 'The limits in force (flag name without --).', labelNames: ['limit'], registers: [registry],
    collect() {
      const l = proxy.limits;
      const byFlag: Record<string, number> = {
        'max-shm-bytes': l.shmTotal, 'max-pool-bytes': l.shmPool, 'max-clients': l.clients, 'max-objects': l.objects,
        'max-fds': l.fds, 'max-frame-size': l.frameSize, 'max-channels': l.channels, 'max-pipe-bytes': l.pipeBytes,
      };
      for (const [limit, value] of Object.entries(byFlag)) this.set({ limit }, value);
    },
  });
  followingCounter(registry, 'wayvio_channels_total', 'Guest channels accepted.', [], () => [[{}, proxy.totals.channels]]);
  followingCounter(registry, 'wayvio_clients_total', 'Guest clients opened.', [], () => [[{}, proxy.totals.clients]]);
  followingCounter(registry, 'wayvio_client_errors_total', 'Clients ended for an error (guest violation, limit, compositor error).', [], () => [[{}, proxy.totals.violations]]);
  followingCounter(registry, 'wayvio_internal_errors_total', 'Bugs of ours caught while serving a client (that client was ended).', [], () => [[{}, proxy.totals.internalErrors]]);
  followingCounter(registry, 'wayvio_limit_hits_total', 'Times a guest hit a limit.', ['limit'], () => Object.entries(proxy.totals.limitHits).map(([limit, n]) => [{ limit }, n]));
  const traffic = (key: 'frames' | 'bytes'): [Record<string, string>, number][] => {
    const closed = proxy.totals.closedChannelStats;
    let inn = key === 'frames' ? closed.framesIn : closed.bytesIn;
    let out = key === 'frames' ? closed.framesOut : closed.bytesOut;
    for (const ch of proxy.channels.values()) {
      inn += key === 'frames' ? ch.session.stats.framesIn : ch.session.stats.bytesIn;
      out += key === 'frames' ? ch.session.stats.framesOut : ch.session.stats.bytesOut;
    }
    return [[{ direction: 'in' }, inn], [{ direction: 'out' }, out]];
  };
  followingCounter(registry, 'wayvio_channel_frames_total', 'Channel frames from (in) and to (out) the guest.', ['direction'], () => traffic('frames'));
  followingCounter(registry, 'wayvio_channel_bytes_total', 'Channel bytes from (in) and to (out) the guest.', ['direction'], () => traffic('bytes'));
  followingCounter(registry, 'wayvio_commits_total', 'wl_surface.commit requests of guest clients.', [], () => [[{}, proxy.totalCommits]]);
  return registry;
}

export class StatusServer {
  private readonly server: Server;
  private readonly registry: Registry;

  constructor(private readonly proxy: HostProxy, private readonly version: string, private readonly log: Logger) {
    this.registry = hostMetrics(proxy);
    this.server = createServer((req, res) => void this.handle(req, res));
  }

  /** Resolves with the address actually bound (port 0 picks a free one). */
  listen(address: StatusAddress): Promise<StatusAddress> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(address.port, address.host, () => {
        this.server.off('error', reject);
        this.server.on('error', (e) => this.log.warn(`status server: ${e.message}`));
        this.server.unref(); // the status alone keeps no host proxy alive
        const bound = this.server.address();
        const port = typeof bound === 'object' && bound !== null ? bound.port : address.port;
        const shown = address.host.includes(':') ? `[${address.host}]` : address.host;
        this.log.info(`status on http://${shown}:${port}/status and /metrics`);
        resolve({ host: address.host, port });
      });
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('only GET\n');
      } else if (path === '/status') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(hostStatus(this.proxy, this.version), null, 2) + '\n');
      } else if (path === '/metrics') {
        const text = await this.registry.metrics();
        res.writeHead(200, { 'content-type': this.registry.contentType }).end(text);
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('try /status or /metrics\n');
      }
    } catch (e) {
      this.log.error(`status server: ${(e as Error).stack ?? String(e)}`);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('internal error\n');
    }
  }

  close(): Promise<void> {
    this.registry.clear();
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
