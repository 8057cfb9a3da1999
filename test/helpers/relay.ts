// A byte relay between a guest and a host channel socket: records guest→host bytes, and can cut the channel.
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export interface RelayOptions {
  /** Every chunk the guest sends towards the host, per connection (index in accept order). */
  onGuestBytes?: (connection: number, chunk: Buffer) => void;
}

export class Relay {
  private readonly pairs = new Set<[Socket, Socket]>();
  private accepting = true;
  private connections = 0;

  private constructor(private readonly server: Server, private readonly target: string, private readonly o: RelayOptions) {
    server.on('connection', (guest) => this.onConnection(guest));
  }

  /** Listens at `listenPath` (a UNIX socket) and forwards each connection to `targetPath`. */
  static async start(listenPath: string, targetPath: string, o: RelayOptions = {}): Promise<Relay> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(listenPath, () => resolve());
    });
    return new Relay(server, targetPath, o);
  }

  get liveConnections(): number {
    return this.pairs.size;
  }

  private onConnection(guest: Socket): void {
    if (!this.accepting) {
      guest.destroy();
      return;
    }
    const index = this.connections++;
    const host = createConnection(this.target);
    const pair: [Socket, Socket] = [guest, host];
    this.pairs.add(pair);
    const end = (): void => {
      guest.destroy();
      host.destroy();
      this.pairs.delete(pair);
    };
    guest.on('data', (chunk: Buffer) => {
      this.o.onGuestBytes?.(index, chunk);
      if (!host.write(chunk)) guest.pause();
    });
    host.on('drain', () => guest.resume());
    host.on('data', (chunk: Buffer) => {
      if (!guest.write(chunk)) host.pause();
    });
    guest.on('drain', () => host.resume());
    for (const s of pair) {
      s.on('error', end);
      s.on('close', end);
    }
  }

  /** Drops every relayed connection at once (both sides see the channel break). */
  cut(): void {
    for (const [g, h] of [...this.pairs]) {
      g.destroy();
      h.destroy();
    }
    this.pairs.clear();
  }

  /** While false, new connections are dropped at once: the channel stays down. */
  setAccepting(on: boolean): void {
    this.accepting = on;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
