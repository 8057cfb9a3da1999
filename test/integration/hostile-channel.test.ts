// A hostile raw channel peer against a real `wayvio host` process: fds on the channel, HELLO floods, silent connections.
import t from 'tap';
import { checkFdLeaks } from '../helpers/fd-leak';
import {
  MiB, deafPeer, flood, hello, hostFdsBack, hostLines, mib, peakRss, servesNextGuest, startHostUnderAttack, type HostUnderAttack,
} from '../helpers/hostile-host';
import { RawGuest } from '../helpers/raw-guest';
import { fdCount, rssBytes, waitFor } from '../helpers/wait';
import { FdSocket } from '../../transport/fd-socket';
import { memfdCreate, unixConnect } from '../../native/index';
import { ByteStream } from '../../transport/byte-stream';

checkFdLeaks(t);

/** The host's deadline for a HELLO on a listening channel (host-proxy HELLO_TIMEOUT_MS). */
const HELLO_TIMEOUT_MS = 5000;

let h: HostUnderAttack;
t.before(async () => {
  h = await startHostUnderAttack();
});
t.teardown(() => h?.stop());

/** A channel stream over a unix socket that attaches fresh memfds to its writes, as an attacker can. */
class FdAttachingStream extends ByteStream {
  readonly description = 'fd-attaching peer';
  sentFds = 0;
  private closed = false;

  constructor(private readonly socket: FdSocket, private readonly fdsPerWrite: number) {
    super();
    socket.on('data', (chunk: Buffer) => this.emit('data', chunk));
    socket.on('drain', () => this.emit('drain'));
    socket.on('close', (err?: Error) => this.finish(err));
  }

  write(chunk: Uint8Array, flushed?: () => void): boolean {
    const fds = Array.from({ length: Math.min(this.fdsPerWrite, 28 * chunk.byteLength) }, (_, i) => memfdCreate(`wayvio-attack-${i}`));
    this.sentFds += fds.length;
    const ok = this.socket.write(chunk, fds); // copies the bytes, takes the fds
    if (flushed !== undefined) queueMicrotask(flushed);
    return ok;
  }

  end(): void {
    this.socket.end();
  }

  destroy(error?: Error): void {
    this.socket.destroy(error);
    this.finish(error);
  }

  get pendingBytes(): number {
    return this.socket.writableLength;
  }

  private finish(error?: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.emit('close', error);
  }
}

t.test('fds attached to channel writes never reach the host: the channel goes on, data intact', async (t) => {
  const streams: FdAttachingStream[] = [];
  const guests: RawGuest[] = [];
  // every channel the host allows at once (--max-channels 4), each attaching 250 fds to every write
  for (let i = 0; i < 4; i++) {
    const stream = new FdAttachingStream(new FdSocket(unixConnect(h.channelPath)), 250);
    streams.push(stream);
    const g = await RawGuest.over(stream);
    t.notOk(g.isClosed, `channel ${i} is up`);
    const globals = await g.openWithRegistry(1, `fd sender ${i}`);
    t.ok(globals.has('wl_compositor'), `channel ${i}: the globals arrived`);
    t.ok(await g.roundtrip(1), `channel ${i}: its frames arrive intact`);
    guests.push(g);
  }
  const sent = streams.reduce((n, s) => n + s.sentFds, 0);
  const during = fdCount(h.host.pid);
  t.comment(`${sent} fds sent over 4 channels; host fds ${h.fdBaseline} -> ${during}`);
  t.ok(sent >= 4000, 'the attack sent its fds');
  // each channel holds its socket and one compositor connection
  t.ok(during <= h.fdBaseline + 4 * 2, `host fds ${during} <= ${h.fdBaseline} + 8 (channel sockets and compositor connections)`);
  for (const g of guests) await g.destroy();
  await hostFdsBack(t, h);
  await servesNextGuest(t, h);
});

t.test('a HELLO flood on a live channel ends it after a few restarts', async (t) => {
  const baseline = rssBytes(h.host.pid);
  const restartsBefore = hostLines(h, /the guest proxy was replaced/g);
  const peer = await deafPeer(h);
  // without a limit each HELLO makes the host restart the channel and queue its own HELLO again
  const attack = flood(peer, 200_000, hello);
  const dropped = waitFor(() => /HELLO flood/.test(h.log()), 15000, 50);
  const peak = await peakRss(h.host.pid, dropped);
  t.ok(await dropped, 'the host dropped the channel');
  t.ok(/more than 5 HELLOs within 10 s on a live channel: a HELLO flood/.test(h.log()), 'with one clear line');
  t.ok(hostLines(h, /the guest proxy was replaced/g) - restartsBefore <= 5, 'after at most 5 restarts');
  peer.destroy();
  await attack;
  t.comment(`host RSS ${mib(baseline)} -> peak ${mib(peak)}`);
  t.ok(peak - baseline <= 16 * MiB, `peak host RSS grew ${mib(peak - baseline)} (<= 16 MiB)`);
  await hostFdsBack(t, h);
  await servesNextGuest(t, h);
});

t.test('connections that never say HELLO hold no channel slot, get a deadline, and are bounded', async (t) => {
  const droppedBefore = hostLines(h, /have not said HELLO yet/g);
  const deadlinesBefore = hostLines(h, /no HELLO from the peer within 5000 ms/g);
  // more silent connections than --max-channels (4): a real guest is served beside them
  const silent = await Promise.all(Array.from({ length: 10 }, () => deafPeer(h)));
  await servesNextGuest(t, h);
  // past 16 not-yet-channels, more are dropped at once
  silent.push(...(await Promise.all(Array.from({ length: 10 }, () => deafPeer(h)))));
  t.ok(await waitFor(() => hostLines(h, /have not said HELLO yet/g) - droppedBefore === 4, 2000), 'the 4 connections past 16 unsettled ones are dropped at once');
  t.ok(fdCount(h.host.pid) <= h.fdBaseline + 16, `the host holds at most 16 of them (${fdCount(h.host.pid) - h.fdBaseline})`);
  // the deadline ends the rest: the host lets go of its ends although the peers keep theirs open
  t.ok(await waitFor(() => hostLines(h, /no HELLO from the peer within 5000 ms/g) - deadlinesBefore === 16, HELLO_TIMEOUT_MS + 3000, 50), 'the other 16 end at the HELLO deadline');
  await hostFdsBack(t, h);
  await servesNextGuest(t, h);
  for (const p of silent) p.destroy();
});
