// A hostile channel peer floods the host's log: lines stay within the guest's log budget, escaped, and the next guest is logged.
import { connect } from 'node:net';
import t from 'tap';
import { checkFdLeaks } from '../helpers/fd-leak';
import { startWeston } from '../../harness/compositors';
import { startHostSite, type HostSite } from '../helpers/host-site';
import { sleep } from '../../harness/processes';
import { RawGuest, request } from '../helpers/raw-guest';
import { GUEST_LOG_BUDGET, HostProxy } from '../../host-proxy/host-proxy';
import { ChannelSession } from '../../link/channel-session';
import { CloseCode, FrameKind } from '../../protocol/channel-frames';
import { SocketStream } from '../../transport/socket-stream';

checkFdLeaks(t);

/** How long the flood lasts (WAYVIO_LOG_ATTACK_SECONDS to measure longer). */
const ATTACK_MS = Number(process.env.WAYVIO_LOG_ATTACK_SECONDS ?? 4) * 1000;
const FORGED = '\nwayvio host: FORGED line\r\x1b[2J\x1b]0;owned\x07\u202eevil\u202c\x7f\u009b31m\ud800';
/** 4000 bytes (as UTF-8) full of line breaks, escape sequences and bidi overrides. */
const HOSTILE = hostileString(4000);
/** Characters that must never reach a log line raw. */
const RAW_UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/u;

let site: HostSite;
let host: HostProxy;
let channelPath: string;
const logs: { at: number; line: string }[] = [];

t.before(async () => {
  site = startHostSite(await startWeston(), { write: (line) => logs.push({ at: performance.now(), line }), software: 'host under a log flood', limits: { clients: 3, channels: 4 } });
  host = site.host;
  channelPath = site.channel;
  await sleep(50);
});
t.teardown(() => site?.stop());

/** A channel whose HELLO carries `software`; resolves once the handshake is done or the host refused it. */
async function hello(software: string): Promise<ChannelSession> {
  const socket = connect(channelPath);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  const session = new ChannelSession(new SocketStream(socket, 'hostile'), { software });
  await new Promise<void>((resolve) => {
    session.once('ready', () => resolve());
    session.once('close', () => resolve());
  });
  return session;
}

function hostileString(bytes: number): string {
  let s = FORGED.repeat(Math.ceil(bytes / FORGED.length));
  while (Buffer.byteLength(s) > bytes) s = s.slice(0, -1);
  return s;
}

function lastIndex(lines: readonly string[], pred: (l: string) => boolean): number {
  for (let i = lines.length - 1; i >= 0; i--) if (pred(lines[i])) return i;
  return -1;
}

const yieldToHost = (): Promise<void> => new Promise((r) => setImmediate(r));

t.test('a flood of guest-caused lines stays within the log budget, escaped, and the next guest is still logged', async (t) => {
  const end = performance.now() + ATTACK_MS;
  const started = performance.now();
  const counts = { opens: 0, violations: 0, hellos: 0 };

  // OPENs past --max-clients, each refused with a line naming the hostile description
  const opener = async (): Promise<void> => {
    const g = await RawGuest.attach(channelPath);
    await g.openWithRegistry(1);
    await g.openWithRegistry(2);
    for (let conn = 1000; performance.now() < end; conn++) {
      g.send({ kind: FrameKind.Open, conn, description: HOSTILE });
      counts.opens++;
      if (conn % 50 === 0) {
        g.frames.length = 0;
        await yieldToHost();
      }
    }
    await g.destroy();
  };
  // protocol violations, each ending a client with a line and a dump of its last messages
  const violator = async (): Promise<void> => {
    const g = await RawGuest.attach(channelPath);
    for (let conn = 1; performance.now() < end; conn++) {
      g.send({ kind: FrameKind.Open, conn, description: HOSTILE });
      g.wayland(conn, [request('wl_display', 'get_registry', 1, [2]), request('wl_display', 'sync', 1, [3]), request('wl_display', 'sync', 99, [4])]);
      counts.violations++;
      if (conn % 20 === 0) {
        g.frames.length = 0;
        await yieldToHost();
      }
    }
    await g.destroy();
  };
  // channel churn: HELLOs with 4000-character software strings, GOODBYEs with hostile reasons
  const churner = async (): Promise<void> => {
    while (performance.now() < end) {
      const s = await hello(HOSTILE);
      counts.hellos++;
      s.close(CloseCode.ProtocolError, HOSTILE);
      await new Promise<void>((r) => (s.isClosed ? r() : s.once('close', () => r())));
      s.destroy();
    }
  };
  await Promise.all([opener(), violator(), churner(), churner()]);
  const floodEnd = logs.length;
  await sleep(200); // the host finishes what was in flight
  const attackSeconds = (performance.now() - started) / 1000;
  const during = logs.filter((l) => l.at >= started).map((l) => l.line);
  const bytes = during.reduce((n, l) => n + Buffer.byteLength(l) + 1, 0);
  const b = GUEST_LOG_BUDGET;
  const maxLines = b.lines + b.linesPerSecond * attackSeconds;
  const maxBytes = b.bytes + b.bytesPerSecond * attackSeconds;
  t.comment(`attack of ${attackSeconds.toFixed(1)} s: ${counts.opens} refused OPENs, ${counts.violations} violations, ${counts.hellos} hostile HELLOs; ` +
    `host wrote ${during.length} lines, ${bytes} bytes (bounds ${maxLines.toFixed(0)} lines, ${maxBytes.toFixed(0)} bytes)`);
  t.ok(counts.opens > 1000 && counts.violations > 100 && counts.hellos > 20, 'the attack ran');
  t.ok(during.length <= maxLines, `log lines ${during.length} ≤ ${GUEST_LOG_BUDGET.lines} + ${GUEST_LOG_BUDGET.linesPerSecond}/s × ${attackSeconds.toFixed(1)} s`);
  t.ok(bytes <= maxBytes, `log bytes ${bytes} ≤ ${GUEST_LOG_BUDGET.bytes} + ${GUEST_LOG_BUDGET.bytesPerSecond}/s × ${attackSeconds.toFixed(1)} s`);
  t.ok(during.some((l) => /refusing .*FORGED/.test(l)), 'refusals were logged, with the description escaped');

  // the flood is over: after a pause the budget has refilled, the count is reported, the next guest is logged and served
  await sleep(1500);
  const forger = await hello(HOSTILE);
  forger.close(CloseCode.Normal, 'done');
  await new Promise<void>((r) => (forger.isClosed ? r() : forger.once('close', () => r())));
  forger.destroy();
  const next = await RawGuest.attach(channelPath);
  const offered = await next.openWithRegistry(50);
  t.ok(offered.has('wl_compositor'), 'the next guest is served: the host and the compositor are alive');
  t.ok(await next.roundtrip(50), 'and the compositor answers');
  await next.destroy();
  await sleep(100);
  const all = logs.map((l) => l.line);
  const connectLine = lastIndex(all, (l) => /guest connected over .*: raw test guest$/.test(l));
  const forgedLine = lastIndex(all, (l) => /guest connected over .*: \\nwayvio host: FORGED line\\r\\x1b\[2J/.test(l));
  t.ok(forgedLine >= 0 && forgedLine < connectLine, 'a hostile HELLO after the flood is logged, escaped');
  t.match(all[forgedLine], /…\[\d+ more chars\]$/, 'and cut');
  t.ok(connectLine >= 0, 'the next guest\'s connect line is logged');
  t.ok(all.some((l) => /^host( channel \d+)?: warn: \d+ log lines? suppressed \(rate limit\)/.test(l)), 'a count of suppressed lines was logged');
  t.ok(all.slice(floodEnd, forgedLine).some((l) => /^host: warn: \d+ log lines? suppressed \(rate limit\)/.test(l)), 'the guest-wide count of the flood\'s end came before them');

  const raw = all.filter((l) => RAW_UNSAFE.test(l));
  t.same(raw.slice(0, 3), [], 'no line holds a raw control, format or separator character');
  // what a terminal or journal would show as lines: the writes split at line breaks
  const foreign = all.flatMap((l) => l.split(/\r\n|\r|\n/)).filter((l) => !/^host( channel \d+( client \d+)?)?: /.test(l));
  t.same(foreign.slice(0, 3), [], 'every line starts with a real prefix of the host: none is forged');
  const long = all.filter((l) => l.length > 1200);
  t.same(long.slice(0, 1).map((l) => l.length), [], 'no line is longer than a few escaped guest strings');
  t.equal(host.channels.size, 0, 'every channel is gone');
  t.equal(host.clientCount, 0, 'every client is gone');
});
