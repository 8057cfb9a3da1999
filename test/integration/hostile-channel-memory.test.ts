// A raw channel peer that never reads, against a real `wayvio host` process: the host's memory is bounded and comes back.
import t from 'tap';
import { checkFdLeaks } from '../helpers/fd-leak';
import {
  MiB, deafPeer, flood, hello, hostFdsBack, mib, peakRss, servesNextGuest, startHostUnderAttack, type HostUnderAttack,
} from '../helpers/hostile-host';
import { rssBytes, waitFor } from '../helpers/wait';
import { FrameKind } from '../../protocol/channel-frames';

checkFdLeaks(t);

/** The host's bound on what it queues for one channel (host-proxy CHANNEL_QUEUE_BYTES). */
const QUEUE_BOUND = 64 * MiB;

let h: HostUnderAttack;
t.before(async () => {
  h = await startHostUnderAttack();
});
t.teardown(() => h?.stop());

t.test('a guest that never reads: OPENs past --max-clients end its channel at the queue bound, memory comes back', async (t) => {
  const baseline = rssBytes(h.host.pid);
  const peer = await deafPeer(h);
  // each refused OPEN earns a ~60-byte CLOSE, ~1 KiB of host memory while queued: 400k unbounded would be ~400 MB
  const attack = flood(peer, 400_000, (i) => (i === 0 ? hello() : { kind: FrameKind.Open, conn: i, description: 'flood' }));
  const dropped = waitFor(() => /guest channel closed: the peer does not read/.test(h.log()), 60000, 100);
  const peak = await peakRss(h.host.pid, dropped);
  t.ok(await dropped, 'the host dropped the channel');
  t.ok(/guest channel closed: the peer does not read: \d+ bytes queued towards it, more than the 67108864 allowed/.test(h.log()), 'with one clear line');
  peer.destroy();
  await attack;
  t.comment(`host RSS ${mib(baseline)} -> peak ${mib(peak)}`);
  // the bound charges ~1 KiB per queued CLOSE; what the host allocated to decode and refuse OPENs comes on top
  t.ok(peak - baseline <= QUEUE_BOUND + 32 * MiB, `peak host RSS grew ${mib(peak - baseline)}, at most the ${mib(QUEUE_BOUND)} bound + 32 MiB`);
  await hostFdsBack(t, h);
  // the dropped session has V8 collect and glibc trim (link/reclaim-memory.ts): without that V8 kept ~100 MB for 25 s and more
  const back = await waitFor(() => rssBytes(h.host.pid) - baseline <= 32 * MiB, 5000, 100);
  t.comment(`host RSS after the close: ${mib(rssBytes(h.host.pid))}`);
  t.ok(back, `host RSS back within 32 MiB of its baseline (+${mib(rssBytes(h.host.pid) - baseline)})`);
  await servesNextGuest(t, h);
});
