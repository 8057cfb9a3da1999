// A real `wayvio host` process against weston, and raw channel peers that attack it (its fds and RSS are measured from /proc).
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import { startWeston, type Compositor } from '../../harness/compositors';
import { spawnManaged, waylandAnswers, type Managed } from '../../harness/processes';
import { RawGuest } from './raw-guest';
import { repoRoot } from '../../harness/test-clients';
import { fdCount, rssBytes, waitFor } from './wait';
import { encodeFrame } from '../../protocol/channel-codec';
import { CHANNEL_VERSION, DEFAULT_MAX_FRAME_SIZE, FrameKind, type Frame } from '../../protocol/channel-frames';

export const MiB = 1024 * 1024;

export interface HostUnderAttack {
  weston: Compositor;
  host: Managed;
  channelPath: string;
  /** Host fds once it listens: every attack must leave it here. */
  fdBaseline: number;
  /** Everything the host logged so far. */
  log(): string;
  stop(): Promise<void>;
}

/** weston and `wayvio host --channel unix-listen:… --max-clients 4`, listening. */
export async function startHostUnderAttack(): Promise<HostUnderAttack> {
  const weston = await startWeston();
  const dir = mkdtempSync(join(tmpdir(), 'wayvio-hostile-channel-'));
  const channelPath = join(dir, 'channel');
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of ['XDG_RUNTIME_DIR', 'WAYLAND_DISPLAY', 'WAYLAND_SOCKET', 'WAYVIO_TRACE']) delete env[key];
  // stderr to a file, not a pipe: Node queues writes to a pipe nobody reads fast enough, and the test
  // process, busy attacking, would make the host's memory grow by its own log lines
  const logPath = join(dir, 'host.log');
  const host = spawnManaged('/bin/sh', ['-c', 'exec "$@" 2>"$0"', logPath, process.execPath, join(repoRoot(), 'bin', 'wayvio.js'), 'host',
    '--channel', `unix-listen:${channelPath}`, '--compositor', weston.socketPath, '--max-clients', '4'], { env });
  const log = (): string => {
    try {
      return readFileSync(logPath, 'utf8');
    } catch {
      return '';
    }
  };
  const stop = async (): Promise<void> => {
    await host.stop();
    await weston.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  if (!(await waitFor(() => existsSync(channelPath), 10000))) {
    const tail = log();
    await stop();
    throw new Error(`the host did not listen:\n${tail}`);
  }
  return { weston, host, channelPath, fdBaseline: fdCount(host.pid), log, stop };
}

/** The host still serves: a fresh guest gets the globals and a roundtrip, and the compositor answers. */
export async function servesNextGuest(t: Test, h: HostUnderAttack): Promise<void> {
  const g = await RawGuest.attach(h.channelPath);
  const globals = await g.openWithRegistry(1, 'next guest');
  t.ok(globals.has('wl_compositor'), 'the next guest gets the globals');
  t.ok(await g.roundtrip(1), 'and a roundtrip');
  await g.destroy();
  t.ok(await waylandAnswers(h.weston.socketPath), 'the compositor is alive');
  t.equal(h.host.proc.exitCode, null, 'the host proxy is alive');
}

/** Host fds back to what it held when it started listening (its compositor connections close asynchronously). */
export async function hostFdsBack(t: Test, h: HostUnderAttack): Promise<void> {
  await waitFor(() => fdCount(h.host.pid) <= h.fdBaseline, 5000);
  t.equal(fdCount(h.host.pid), h.fdBaseline, `host fds back to ${h.fdBaseline}`);
}

/** How many of the host's log lines so far match `re` (which must have the g flag). */
export function hostLines(h: HostUnderAttack, re: RegExp): number {
  return (h.log().match(re) ?? []).length;
}

export const hello = (): Frame => ({
  kind: FrameKind.Hello, conn: 0, minVersion: 1, maxVersion: CHANNEL_VERSION, capabilities: 0,
  maxFrameSize: DEFAULT_MAX_FRAME_SIZE, shmRegionSize: 0, software: 'hostile raw peer',
});

/** A raw connection to the channel that never reads what the host sends. */
export async function deafPeer(h: HostUnderAttack): Promise<Socket> {
  const socket = connect(h.channelPath);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  socket.pause();
  socket.on('error', () => undefined); // the host drops abusive peers: EPIPE / ECONNRESET are the point
  return socket;
}

/** Writes `count` frames made by `make`, in batches, as fast as the socket takes them (stops when it closes). */
export async function flood(socket: Socket, count: number, make: (i: number) => Frame): Promise<void> {
  for (let i = 0; i < count && !socket.destroyed;) {
    const batch: Uint8Array[] = [];
    for (const end = Math.min(count, i + 4096); i < end; i++) batch.push(encodeFrame(make(i)));
    if (!socket.write(Buffer.concat(batch))) await drainedOrClosed(socket);
  }
}

function drainedOrClosed(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      socket.off('drain', done);
      socket.off('close', done);
      resolve();
    };
    socket.on('drain', done);
    socket.on('close', done);
  });
}

/** Highest RSS of `pid` seen while `during` runs, sampled every 20 ms. */
export async function peakRss(pid: number, during: Promise<unknown>): Promise<number> {
  let peak = rssBytes(pid);
  let done = false;
  void during.finally(() => {
    done = true;
  });
  while (!done) {
    peak = Math.max(peak, rssBytes(pid));
    await new Promise((r) => setTimeout(r, 20));
  }
  return Math.max(peak, rssBytes(pid));
}

export const mib = (n: number): string => `${(n / MiB).toFixed(1)} MiB`;
