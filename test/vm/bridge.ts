// A byte pipe for the VM benchmark's waypipe run (test/vm/vm-bench.ts), using wayvio's own transports:
//   node dist/test/vm/bridge.js listen:PATH SPEC   serve each connection on unix socket PATH by SPEC (one at a time)
//   node dist/test/vm/bridge.js SPEC_A SPEC_B      connect both, pipe; SIGUSR1 reconnects SPEC_B (next session)
// SPEC is a wayvio channel spec (unix:PATH, virtio:NAME, ...).
// With `--keep-open` (listen mode) SPEC is opened once at start and kept open; bytes that arrive on it while no
// connection is being served are dropped. That is what a virtio port needs: the guest kernel drops unread bytes
// when the port closes, and QEMU reads the host's socket only while the port is open, so closing the port between
// sessions would leave the old session's tail for the next one.
import { createServer, type Socket } from 'node:net';
import { rmSync } from 'node:fs';
import type { ByteStream } from '../../transport/byte-stream';
import { parseChannelSpec } from '../../transport/channel-spec';
import { connectOnce } from '../../transport/open-channel';

function log(msg: string): void {
  process.stderr.write(`bridge: ${msg}\n`);
}

/** Pipes a node socket and a ByteStream both ways; `done` runs once when either side closed. */
function pipeSocket(sock: Socket, stream: ByteStream, done: () => void, keepStream: boolean): void {
  let ended = false;
  const onData = (chunk: Uint8Array): void => {
    if (!sock.write(chunk)) {
      // no pause on a ByteStream: the benchmark's client waits for each frame's round trip, so this stays small
    }
  };
  const finish = (why: string): void => {
    if (ended) return;
    ended = true;
    stream.off('data', onData);
    log(`session ended (${why})`);
    sock.destroy();
    if (!keepStream) stream.destroy();
    done();
  };
  stream.on('data', onData);
  stream.once('close', (err?: Error) => finish(`stream closed${err ? `: ${err.message}` : ''}`));
  sock.on('data', (chunk: Buffer) => {
    if (!stream.write(chunk)) {
      sock.pause();
      stream.once('drain', () => sock.resume());
    }
  });
  sock.on('close', () => finish('socket closed'));
  sock.on('error', (e) => log(`socket: ${e.message}`));
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const keepOpen = args[0] === '--keep-open';
  if (keepOpen) args.shift();
  const [a, b] = args;
  if (a === undefined || b === undefined) throw new Error('usage: bridge.js [--keep-open] listen:PATH SPEC | SPEC_A SPEC_B');
  if (a.startsWith('listen:')) {
    const path = a.slice('listen:'.length);
    rmSync(path, { force: true });
    const spec = parseChannelSpec(b);
    let kept: Promise<ByteStream> | undefined;
    let busy = false;
    if (keepOpen) {
      // opened in the background: a virtio port is only ready once the host end is connected
      kept = connectOnce(spec);
      void kept.then((k) => {
        log(`${k.description} open`);
        k.on('data', (chunk: Uint8Array) => {
          if (!busy) log(`dropped ${chunk.length} bytes between sessions`);
        });
        k.once('close', () => {
          log(`${b} closed`);
          process.exit(1);
        });
      });
    }
    const server = createServer((sock) => {
      if (busy) {
        log('refusing a second connection');
        sock.destroy();
        return;
      }
      busy = true;
      log('connection');
      void (kept ?? connectOnce(spec)).then(
        (stream) => pipeSocket(sock, stream, () => (busy = false), kept !== undefined),
        (e: Error) => {
          log(`${b}: ${e.message}`);
          sock.destroy();
          busy = false;
        },
      );
    });
    server.listen(path, () => {
      log(`listening on ${path}`);
      process.stdout.write('listening\n');
    });
    process.on('SIGTERM', () => {
      server.close();
      process.exit(0);
    });
    return;
  }
  // SPEC_A stays connected; SIGUSR1 closes SPEC_B and connects it again (a new session), dropping what SPEC_A
  // sends meanwhile.
  const sa = await connectOnce(parseChannelSpec(a));
  let sb: ByteStream | undefined;
  let n = 0;
  const end = (why: string): void => {
    log(why);
    sa.destroy();
    sb?.destroy();
    process.exit(0);
  };
  const connectB = async (): Promise<void> => {
    const s = await connectOnce(parseChannelSpec(b));
    sb = s;
    n++;
    s.on('data', (c: Uint8Array) => sa.write(c));
    s.once('close', () => {
      // the session's end (waypipe closes its side): wait for SIGUSR1 to start the next one
      if (sb === s) sb = undefined;
      log(`${s.description} closed (#${n})`);
    });
    log(`connected ${sa.description} <-> ${s.description} (#${n})`);
    process.stdout.write(`connected ${n}\n`);
  };
  sa.on('data', (c: Uint8Array) => {
    if (sb !== undefined) sb.write(c);
    else log(`dropped ${c.length} bytes between sessions`);
  });
  sa.once('close', () => end(`${a} closed`));
  process.on('SIGTERM', () => end('SIGTERM'));
  process.on('SIGUSR1', () => {
    const old = sb;
    sb = undefined;
    old?.destroy();
    void connectB().catch((e: Error) => end(`${b}: ${e.message}`));
  });
  await connectB();
}

main().catch((e: Error) => {
  log(e.message);
  process.exit(1);
});
