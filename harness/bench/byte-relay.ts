// A byte-counting UNIX-socket relay between a proxy's two halves, run as its own process so its CPU is visible.
//
//   node dist/harness/bench/byte-relay.js LISTEN_PATH TARGET_PATH
//
// Every connection to LISTEN_PATH is joined to a new connection to TARGET_PATH. Prints "ready" once listening;
// for each line on stdin prints {"up":N,"down":M,"connections":C} (bytes listener→target and back so far).
// Exits when stdin closes or on SIGTERM.
import { createServer, connect, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { spawnManaged, waitForLine, type Managed } from '../processes';

export interface ByteCounts {
  /** Bytes from the listening side (guest half) to the target (host half). */
  up: number;
  /** Bytes from the target back. */
  down: number;
  connections: number;
}

function join(from: Socket, to: Socket, count: (n: number) => void): void {
  from.on('data', (chunk: Buffer) => {
    count(chunk.length);
    if (!to.write(chunk)) from.pause();
  });
  to.on('drain', () => from.resume());
  from.on('end', () => to.end());
}

function relayMain(listenPath: string, targetPath: string): void {
  const counts: ByteCounts = { up: 0, down: 0, connections: 0 };
  const server = createServer({ allowHalfOpen: true }, (guest) => {
    counts.connections++;
    const host = connect({ path: targetPath, allowHalfOpen: true });
    join(guest, host, (n) => (counts.up += n));
    join(host, guest, (n) => (counts.down += n));
    const close = (): void => {
      guest.destroy();
      host.destroy();
    };
    guest.on('error', close).on('close', close);
    host.on('error', close).on('close', close);
  });
  server.on('error', (err) => {
    process.stderr.write(`byte-relay: ${err.message}\n`);
    process.exit(1);
  });
  server.listen(listenPath, () => process.stdout.write('ready\n'));
  const input = createInterface({ input: process.stdin });
  input.on('line', () => process.stdout.write(JSON.stringify(counts) + '\n'));
  input.on('close', () => process.exit(0));
  process.on('SIGTERM', () => process.exit(0));
}

/** The relay process as the benchmark sees it. */
export interface Relay {
  readonly pid: number;
  counts(): Promise<ByteCounts>;
  stop(): Promise<void>;
}

/** Starts the relay process and resolves once it listens on `listenPath`. */
export async function startRelay(listenPath: string, targetPath: string): Promise<Relay> {
  const m: Managed = spawnManaged(process.execPath, [__filename, listenPath, targetPath], { stdin: 'pipe' });
  try {
    await waitForLine(m, 'ready', 10000);
  } catch (err) {
    await m.stop();
    throw new Error(`byte relay: ${(err as Error).message}`);
  }
  const stdout = m.proc.stdout;
  const pending: Array<(c: ByteCounts) => void> = [];
  let partial = '';
  stdout?.on('data', (chunk: string) => {
    partial += chunk;
    let nl: number;
    while ((nl = partial.indexOf('\n')) >= 0) {
      const line = partial.slice(0, nl);
      partial = partial.slice(nl + 1);
      if (line.startsWith('{')) pending.shift()?.(JSON.parse(line) as ByteCounts);
    }
  });
  const counts = (): Promise<ByteCounts> =>
    new Promise((resolve, reject) => {
      if (m.proc.exitCode !== null || m.proc.signalCode !== null) {
        reject(new Error(`byte relay exited: ${m.stderrTail()}`));
        return;
      }
      pending.push(resolve);
      m.proc.stdin?.write('count\n');
    });
  return { pid: m.pid, counts, stop: () => m.stop() };
}

if (require.main === module) {
  const [listenPath, targetPath] = process.argv.slice(2);
  if (listenPath === undefined || targetPath === undefined) {
    process.stderr.write('usage: byte-relay LISTEN_PATH TARGET_PATH\n');
    process.exit(2);
  }
  relayMain(listenPath, targetPath);
}
