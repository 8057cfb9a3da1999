// What the host counts of one guest client, and what `GET /status` shows of it.

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
