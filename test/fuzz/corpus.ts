// The fuzz corpus: guest→host channel bytes of real clients (wayland-info, weston-simple-shm, the pattern and bench
// clients), recorded through a relay between a real guest proxy and host proxy, stored gzipped in corpus/.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { HostProxy } from '../../host-proxy/host-proxy';
import { createLogger } from '../../link/log';
import { FrameKind } from '../../protocol/channel-frames';
import { Policy } from '../../protocol/policy';
import { ProtocolRegistry } from '../../protocol/registry';
import { clientEnv } from '../../harness/compositors';
import { startGuest } from '../helpers/guest-only';
import { spawnManaged } from '../../harness/processes';
import { Relay } from '../helpers/relay';
import { repoRoot, runBench, startPatternClient, waylandInfo, type TestClients } from '../../harness/test-clients';
import { waitFor } from '../helpers/wait';

export const CORPUS_FILE = join(repoRoot(), 'test', 'fuzz', 'corpus', 'guest-to-host.bin.gz');

/** Pool data beyond this many bytes per RES_WRITE frame is cut when recording (the corpus stays small). */
const MAX_WRITE_BYTES = 2048;

export interface Corpus {
  /** The guest's HELLO frame. */
  hello: Uint8Array;
  /** Each client connection's frames in order (OPEN ... CLOSE), as raw frame bytes. */
  sessions: Uint8Array[][];
  /** Every frame of every session. */
  frames: Uint8Array[];
}

const u32 = (b: Uint8Array, at: number): number => new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(at, true);

/** Splits a channel byte stream into whole frames (by their size field); a partial tail is dropped. */
export function splitFrames(stream: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let off = 0; off + 12 <= stream.byteLength;) {
    const size = u32(stream, off);
    if (size < 12 || off + size > stream.byteLength) break;
    out.push(stream.subarray(off, off + size));
    off += size;
  }
  return out;
}

/** A RES_WRITE frame with its data cut to `max` bytes (still a valid frame). */
function trimWrite(frame: Uint8Array, max: number): Uint8Array {
  const payload = 12 + 16; // header, resource, reserved, offset
  if (frame[4] !== FrameKind.ResWrite || frame.byteLength <= payload + max) return frame;
  const out = new Uint8Array(frame.subarray(0, payload + max)); // a copy (Buffer.slice would not copy)
  new DataView(out.buffer).setUint32(0, out.byteLength, true);
  return out;
}

export function corpusFromStream(stream: Uint8Array): Corpus {
  const frames = splitFrames(stream).map((f) => new Uint8Array(f)); // own copies: mutations never touch the corpus
  const hello = frames.find((f) => f[4] === FrameKind.Hello);
  if (hello === undefined) throw new Error('the recording has no HELLO');
  const byConn = new Map<number, Uint8Array[]>();
  for (const f of frames) {
    const conn = u32(f, 8);
    if (conn === 0) continue;
    let s = byConn.get(conn);
    if (s === undefined) byConn.set(conn, (s = []));
    s.push(f);
  }
  const sessions = [...byConn.values()];
  return { hello, sessions, frames: sessions.flat() };
}

export function loadCorpus(file = CORPUS_FILE): Corpus | null {
  if (!existsSync(file)) return null;
  return corpusFromStream(gunzipSync(readFileSync(file)));
}

/**
 * Runs real clients through a guest proxy → relay → host proxy in front of `compositorPath` and returns the
 * guest→host bytes (RES_WRITE data trimmed).
 */
export async function recordStream(compositorPath: string, clients: TestClients): Promise<Uint8Array> {
  const dir = mkdtempSync(join(tmpdir(), 'wayvio-record-'));
  const chunks: Buffer[] = [];
  const host = new HostProxy({
    channel: { kind: 'unix-listen', path: join(dir, 'channel') }, compositorPath, registry: ProtocolRegistry.builtin(),
    policy: new Policy(), log: createLogger('record host', { level: 'error', write: () => undefined }), software: 'wayvio recorder',
  });
  host.start();
  const relay = await Relay.start(join(dir, 'relay'), join(dir, 'channel'), { onGuestBytes: (_, c) => chunks.push(Buffer.from(c)) });
  const guest = await startGuest({ kind: 'unix', path: join(dir, 'relay') });
  try {
    await waylandInfo(guest);
    const pattern = await startPatternClient(clients, guest, { width: 64, height: 48, seconds: 0 });
    await pattern.process.exited;
    await pattern.stop();
    await runBench(clients, guest, { width: 48, height: 32, frames: 6, damage: 'patch:16x16' });
    await runBench(clients, guest, { roundtrips: 5 });
    const shm = spawnManaged('weston-simple-shm', [], { env: clientEnv(guest.env) });
    // simple-shm has drawn a few frames once its client made some commits on the host
    await waitFor(() => [...host.channels.values()].some((ch) => [...ch.clients.values()].some((c) => c.stats.commits >= 4)), 10000);
    await shm.stop();
    await waitFor(() => guest.guest.clientCount === 0 && host.clientCount === 0, 10000);
  } finally {
    guest.stop();
    await relay.close();
    host.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const frames = splitFrames(Buffer.concat(chunks)).map((f) => trimWrite(f, MAX_WRITE_BYTES));
  return Buffer.concat(frames);
}

export function saveCorpus(stream: Uint8Array, file = CORPUS_FILE): void {
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, gzipSync(stream, { level: 9 }));
}
