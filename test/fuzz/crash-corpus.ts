// The fuzzers' crash corpus: each client that was in flight when a compositor crashed or hung, saved as JSON under
// test/fuzz/crash-corpus/, and replayed (through the proxy pair) at the start of every fuzz run.
import { ftruncateSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../harness/test-clients';
import { closeAll, memfdCreate, unixConnect } from '../../native/index';
import { FdSocket } from '../../transport/fd-socket';
import { Skip, replay } from '../helpers/crash-replay';
import type { CrashSequence } from './crash-sequences';
import type { ClientStream } from './client-streams';
import { HANG_MS, type CompositorFailure } from './restarting-compositor';

/** WAYVIO_FUZZ_CRASH_CORPUS moves it (the detector's demonstration runs save there, not in the checkout). */
export const CRASH_CORPUS_DIR = process.env.WAYVIO_FUZZ_CRASH_CORPUS ?? join(repoRoot(), 'test', 'fuzz', 'crash-corpus');

export interface CorpusEntry {
  compositor: string;
  /** The client's seed, hex. */
  seed: string;
  how: 'crash' | 'hang';
  found: string;
  status: string;
  /** The compositor's last log lines at the failure. */
  log: string;
  /** The other clients in flight then (their file names). */
  candidates: string[];
  sequence?: CrashSequence;
  stream?: Array<{ hex: string; fds: number }>;
}

/** A client of a fuzz run, as it can be saved. */
export type InFlight = { seed: number; sequence: CrashSequence } | { seed: number; stream: ClientStream };

export function fileNameOf(compositor: string, c: InFlight): string {
  return `${compositor}-${'sequence' in c ? 'g' : 'm'}${(c.seed >>> 0).toString(16).padStart(8, '0')}.json`;
}

/** The replayable form of one client (what a corpus file holds besides the failure's facts). */
export function replayable(c: InFlight): Pick<CorpusEntry, 'sequence' | 'stream'> {
  return 'sequence' in c ? { sequence: c.sequence } : { stream: c.stream.requests.map((r) => ({ hex: Buffer.from(r.bytes).toString('hex'), fds: r.fds })) };
}

/**
 * Saves `clients` for failure `f`: in the corpus when `confirmed` (each made the compositor fail again when replayed
 * alone), else under unconfirmed/ (kept as evidence, not replayed). Returns the paths written.
 */
export function saveFailure(f: CompositorFailure, clients: InFlight[], confirmed: boolean): string[] {
  const dir = confirmed ? CRASH_CORPUS_DIR : join(CRASH_CORPUS_DIR, 'unconfirmed');
  mkdirSync(dir, { recursive: true });
  const names = clients.map((c) => fileNameOf(f.kind, c));
  return clients.map((c, i) => {
    const entry: CorpusEntry = {
      compositor: f.kind,
      seed: `0x${(c.seed >>> 0).toString(16)}`,
      how: f.how,
      found: new Date(f.at).toISOString(),
      status: f.status,
      log: f.log,
      candidates: names.filter((_, j) => j !== i),
      ...replayable(c),
    };
    const path = join(dir, names[i]);
    writeFileSync(path, `${JSON.stringify(entry, null, 1)}\n`);
    return path;
  });
}

export function loadCrashCorpus(): Array<{ file: string; entry: CorpusEntry }> {
  let files: string[];
  try {
    files = readdirSync(CRASH_CORPUS_DIR).filter((f) => f.endsWith('.json')).sort();
  } catch {
    return [];
  }
  return files.map((file) => ({ file, entry: JSON.parse(readFileSync(join(CRASH_CORPUS_DIR, file), 'utf8')) as CorpusEntry }));
}

/** Replays one saved client on `socketPath` (the guest proxy's) and ends it; resolves how it ended. */
export async function replayEntry(socketPath: string, entry: Pick<CorpusEntry, 'sequence' | 'stream'>): Promise<string> {
  if (entry.sequence !== undefined) {
    try {
      const { client } = await replay(socketPath, entry.sequence, true);
      await client.until(() => false, 300); // let the compositor act on the last requests while the client lives
      const how = client.error() !== undefined ? 'error' : client.closed ? 'closed' : 'accepted';
      client.close();
      return how;
    } catch (e) {
      if (e instanceof Skip) return 'skipped';
      throw e;
    }
  }
  const s = new FdSocket(unixConnect(socketPath));
  const gone = new Promise<void>((resolve) => s.once('close', () => resolve()));
  s.on('data', (_b: Buffer, fds: number[]) => closeAll(fds));
  for (const r of entry.stream ?? []) {
    const fds = Array.from({ length: r.fds }, () => {
      const fd = memfdCreate('crash-corpus');
      ftruncateSync(fd, 4 << 20);
      return fd;
    });
    s.write(Buffer.from(r.hex, 'hex'), fds);
  }
  await Promise.race([gone, new Promise((resolve) => setTimeout(resolve, Math.min(HANG_MS, 1000)))]);
  s.destroy();
  await gone;
  return 'sent';
}
