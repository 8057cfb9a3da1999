// Every channel transport that this machine can carry, end to end: wayland-info and a pixel-exact client through the proxy pair.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { GuestProxy } from '../../guest-proxy/guest-proxy';
import { HostProxy } from '../../host-proxy/host-proxy';
import { createLogger } from '../../link/log';
import { Policy } from '../../protocol/policy';
import { ProtocolRegistry } from '../../protocol/registry';
import type { ChannelSpec } from '../../transport/channel-spec';
import { checkFdLeaks } from '../helpers/fd-leak';
import { startWeston, type ClientEnv, type Compositor } from '../../harness/compositors';
import { sleep } from '../../harness/processes';
import { startProxyPair, type ProxyPair } from '../helpers/proxy-pair';
import { startPtyBridge } from '../helpers/pty-bridge';
import { describeSearch, findPattern, screenshot } from '../helpers/screenshot';
import { buildTestClients, startPatternClient, waylandInfo, type TestClients } from '../../harness/test-clients';

checkFdLeaks(t);

let weston: Compositor;
let clients: TestClients;
/** What wayland-info must list through any transport: weston's globals that the proxy forwards, capped. */
let expectedGlobals: string[];

t.before(async () => {
  clients = await buildTestClients();
  weston = await startWeston({ width: 1024, height: 768 });
  const registry = ProtocolRegistry.builtin();
  expectedGlobals = (await waylandInfo(weston))
    .filter((g) => new Policy().judge(g.interface, g.version, registry).allowed)
    .map((g) => `${g.interface} v${Math.min(g.version, registry.interface(g.interface)!.version)}`)
    .sort();
});

t.teardown(async () => {
  await weston?.stop();
});

/** A TCP port that was free a moment ago (the kernel's pick for port 0). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

async function waitFor(what: string, check: () => boolean, timeoutMs = 8000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

// Each pattern is larger than the one before: a w×h match can only be the newest window, never a leftover.
let patternSize = 120;

/** wayland-info lists the forwarded globals, and a client's pixels reach weston exactly. */
async function exercise(t: Test, display: { env: ClientEnv }): Promise<void> {
  const proxied = (await waylandInfo(display)).map((g) => `${g.interface} v${g.version}`).sort();
  t.same(proxied, expectedGlobals, 'wayland-info: the forwarded globals, versions capped');
  const w = patternSize + 1; // odd sizes: stride and rows do not line up by luck
  const h = Math.round(patternSize * 0.75) + 1;
  patternSize += 20;
  const client = await startPatternClient(clients, display, { width: w, height: h });
  try {
    const found = findPattern(await screenshot(weston), w, h);
    t.ok(found.position !== null, `${w}x${h} pattern on screen: ${describeSearch(found)}`);
  } finally {
    await client.stop();
  }
}

/** Runs the proxy pair over `channel`; checks that the host saw the guest arrive over `over`. */
function pairTest(name: string, channel: (dir: string) => Promise<{ host: ChannelSpec; guest: ChannelSpec }>, over: (specs: { host: ChannelSpec }) => RegExp): void {
  t.test(name, async (t) => {
    const scratch = mkdtempSync(join(tmpdir(), 'wayvio-transport-'));
    t.teardown(() => rmSync(scratch, { recursive: true, force: true }));
    const specs = await channel(scratch);
    const pair: ProxyPair = await startProxyPair({ compositorPath: weston.socketPath, channel: () => specs });
    t.teardown(() => pair.stop());
    // the guest is up once it has the host's HELLO; the host logs the guest once it has the guest's
    await waitFor(`the host to log ${over(specs)}`, () => pair.logs.some((l) => over(specs).test(l)));
    t.pass(`the host saw the guest over the intended channel (${over(specs)})`);
    await exercise(t, pair);
    t.notOk(pair.logs.some((l) => /protocol (error|violation)|internal error/.test(l)), 'no protocol or internal errors');
  });
}

const guestOver = (text: string): RegExp => new RegExp(`guest connected over ${text.replace(/[.[\]]/g, '\\$&')}`);

pairTest('unix: host listens, guest connects', async (dir) => ({
  host: { kind: 'unix-listen', path: join(dir, 'ch') },
  guest: { kind: 'unix', path: join(dir, 'ch') },
}), ({ host }) => guestOver(`unix-listen:${(host as { path: string }).path} peer`));

pairTest('unix: guest listens, host connects', async (dir) => ({
  host: { kind: 'unix', path: join(dir, 'ch') },
  guest: { kind: 'unix-listen', path: join(dir, 'ch') },
}), ({ host }) => guestOver(`unix:${(host as { path: string }).path}`));

pairTest('tcp: host listens on 127.0.0.1, guest connects', async () => {
  const port = await freePort();
  return { host: { kind: 'tcp-listen', host: '127.0.0.1', port }, guest: { kind: 'tcp', host: '127.0.0.1', port } };
}, ({ host }) => guestOver(`tcp-listen:127.0.0.1:${(host as { port: number }).port} peer`));

pairTest('tcp: guest listens on 127.0.0.1, host connects', async () => {
  const port = await freePort();
  return { host: { kind: 'tcp', host: '127.0.0.1', port }, guest: { kind: 'tcp-listen', host: '127.0.0.1', port } };
}, ({ host }) => guestOver(`tcp:127.0.0.1:${(host as { port: number }).port}`));

pairTest('ws: host listens (ws-listen), guest connects to ws://', async () => {
  const port = await freePort();
  return { host: { kind: 'ws-listen', host: '127.0.0.1', port }, guest: { kind: 'ws', url: `ws://127.0.0.1:${port}/wayvio` } };
}, ({ host }) => guestOver(`ws-listen:127.0.0.1:${(host as { port: number }).port} peer`));

pairTest('ws: guest listens (ws-listen), host connects to ws://', async () => {
  const port = await freePort();
  return { host: { kind: 'ws', url: `ws://127.0.0.1:${port}/` }, guest: { kind: 'ws-listen', host: '127.0.0.1', port } };
}, ({ host }) => guestOver((host as { url: string }).url));

/** Both proxies, not started, logging into one array (startProxyPair starts them at once; these tests choose the order). */
function proxies(dir: string, host: ChannelSpec, guest: ChannelSpec): { host: HostProxy; guest: GuestProxy; logs: string[]; env: ClientEnv; stop(): Promise<void> } {
  const logs: string[] = [];
  const write = (line: string): void => {
    logs.push(line);
    if (process.env.WAYVIO_TEST_LOG === '1') process.stderr.write(line + '\n');
  };
  const registry = ProtocolRegistry.builtin();
  const socketPath = join(dir, 'wayland-guest');
  const h = new HostProxy({ channel: host, compositorPath: weston.socketPath, registry, policy: new Policy(), log: createLogger('host', { level: 'debug', write }), software: 'wayvio test host' });
  const g = new GuestProxy({ socketPath, channel: guest, registry, policy: new Policy(), log: createLogger('guest', { level: 'debug', write }), software: 'wayvio test guest' });
  return {
    host: h, guest: g, logs,
    env: { XDG_RUNTIME_DIR: dir, WAYLAND_DISPLAY: socketPath },
    async stop() {
      g.stop();
      h.stop();
      await sleep(50); // let the closes run before the fd check
    },
  };
}

function hostChannelCount(h: HostProxy): number {
  return [...h.channels.values()].filter((c) => c.session.peer !== null && !c.session.isClosed).length;
}

t.test('file: two character devices (raw ptys joined back to back), started before the bridge, through a hang-up', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wayvio-transport-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const hostEnd = join(dir, 'host-end');
  const guestEnd = join(dir, 'guest-end');
  const p = proxies(dir, { kind: 'file', path: hostEnd }, { kind: 'file', path: guestEnd });
  t.teardown(() => p.stop());
  p.guest.start();
  p.host.start();
  // no device yet: both sides retry (they must not give up or crash)
  await waitFor('both sides to report the missing device', () =>
    p.logs.some((l) => l.startsWith('guest') && l.includes(`channel file:${guestEnd}: ENOENT`) && l.endsWith('retrying')) &&
    p.logs.some((l) => l.startsWith('host') && l.includes(`channel file:${hostEnd}: ENOENT`) && l.endsWith('retrying')));

  let bridge = await startPtyBridge(hostEnd, guestEnd);
  t.teardown(() => bridge.stop());
  await waitFor('the guest to connect over the ptys', () => p.guest.connected && hostChannelCount(p.host) === 1);
  t.ok(p.logs.some((l) => l.includes(`guest connected over file:${hostEnd}`)), 'the host saw the guest over file:');
  await exercise(t, p);

  // the bridge goes away: both ends hang up, both proxies notice and wait for it to return
  await bridge.stop();
  await waitFor('both sides to see the channel go down', () => !p.guest.connected && hostChannelCount(p.host) === 0);
  t.ok(p.logs.some((l) => /^guest: channel down/.test(l)), 'the guest logged the channel going down');
  bridge = await startPtyBridge(hostEnd, guestEnd);
  await waitFor('the guest to reconnect over the new ptys', () => p.guest.connected && hostChannelCount(p.host) === 1, 15000);
  await exercise(t, p);
  t.notOk(p.logs.some((l) => /protocol (error|violation)|internal error/.test(l)), 'no protocol or internal errors');
});

t.test('the guest keeps retrying while the host is absent, and connects once it appears', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wayvio-transport-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const channel = join(dir, 'ch');
  const p = proxies(dir, { kind: 'unix-listen', path: channel }, { kind: 'unix', path: channel });
  t.teardown(() => p.stop());
  p.guest.start();
  await waitFor('the guest to report the absent host', () => p.logs.some((l) => l === `guest: channel unix:${channel}: connect ENOENT ${channel}; retrying`));
  // the host stays away for a while (several retry periods), then appears
  await sleep(800);
  t.notOk(p.guest.connected, 'not connected while the host is absent');
  p.host.start();
  await waitFor('the guest to connect', () => p.guest.connected, 10000);
  t.ok(p.logs.some((l) => l === `guest: channel unix:${channel} connected`), 'the guest logged the connection');
  await exercise(t, p);
});

t.test('vsock:2:5000 (guest connects to the host CID): a clear retry line, no crash', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wayvio-transport-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const p = proxies(dir, { kind: 'unix-listen', path: join(dir, 'unused') }, { kind: 'vsock', cid: 2, port: 5000 });
  t.teardown(() => p.stop());
  const started = Date.now();
  p.guest.start();
  await waitFor('the guest to report the failed vsock connect', () => p.logs.some((l) => l.startsWith('guest: channel vsock:2:5000: ')));
  const line = p.logs.find((l) => l.startsWith('guest: channel vsock:2:5000: '))!;
  // no host end here: which errno depends on the machine (ECONNRESET from a VMM that has no listener, ENODEV
  // or ENETUNREACH without any vsock transport, ETIMEDOUT when nobody answers)
  t.match(line, /^guest: channel vsock:2:5000: connect E[A-Z]+; retrying$/, `one clear line: ${line}`);
  t.notOk(p.guest.connected, 'not connected');
  t.ok(Date.now() - started < 5000, 'the failure was reported promptly');
});

t.test('a vsock connect that nobody answers does not stall the event loop', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wayvio-transport-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // CID 1 (local): without the loopback transport the request goes unanswered until the kernel's 2 s connect
  // timeout (elsewhere it fails at once); a blocking connect would freeze the guest, its clients and its
  // signal handlers for that long, on every retry
  const p = proxies(dir, { kind: 'unix-listen', path: join(dir, 'unused') }, { kind: 'vsock', cid: 1, port: 5000 });
  t.teardown(() => p.stop());
  const before = performance.now();
  p.guest.start();
  const startMs = performance.now() - before;
  t.ok(startMs < 500, `start() returned at once (${startMs.toFixed(0)} ms)`);
  const tick = performance.now();
  await sleep(50);
  const late = performance.now() - tick - 50;
  t.ok(late < 500, `timers run while the connect is pending (${late.toFixed(0)} ms late)`);
  // wait for the attempt to end (so no fd is in flight at the leak check), then stop before the retry
  await waitFor('the vsock connect to fail', () => p.logs.some((l) => l.startsWith('guest: channel vsock:1:5000: ')), 5000);
  t.match(p.logs.find((l) => l.startsWith('guest: channel vsock:1:5000: ')), /: connect E[A-Z]+; retrying$/);
});

t.test('vsock-listen:5000: listens if this machine has a vsock transport, else a clear error; a busy port is a clear error', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wayvio-transport-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const first = proxies(dir, { kind: 'vsock-listen', port: 5000 }, { kind: 'unix', path: join(dir, 'unused') });
  let listening = false;
  try {
    first.host.start();
    listening = true;
  } catch (e) {
    t.match((e as Error).message, /^channel vsock-listen:5000: cannot listen: \w+ E[A-Z]+/, `a clear error: ${(e as Error).message}`);
  }
  t.teardown(() => first.stop());
  if (!listening) return;
  t.comment('this machine has a vsock transport: vsock-listen:5000 listens');
  t.notOk(first.logs.some((l) => /error|cannot/.test(l)), 'no error logged');
  const second = proxies(dir, { kind: 'vsock-listen', port: 5000 }, { kind: 'unix', path: join(dir, 'unused') });
  t.teardown(() => second.stop());
  t.throws(() => second.host.start(), { message: /^channel vsock-listen:5000: cannot listen: bind EADDRINUSE/, code: 'EADDRINUSE' }, 'a second listener on the port: a clear error');
});

t.test('listening where a live channel listens, or on a file that is not a socket, is refused', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wayvio-transport-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const channel = join(dir, 'ch');
  const live = proxies(dir, { kind: 'unix-listen', path: channel }, { kind: 'unix', path: channel });
  t.teardown(() => live.stop());
  live.host.start();
  await waitFor('the channel socket', () => {
    try {
      return statSync(channel).isSocket();
    } catch {
      return false;
    }
  });
  const second = proxies(dir, { kind: 'unix-listen', path: channel }, { kind: 'unix', path: channel });
  t.throws(() => second.host.start(), { message: `channel unix-listen:${channel}: a live process listens on ${channel}` });
  const notSocket = proxies(dir, { kind: 'unix-listen', path: weston.socketPath + '.lock' }, { kind: 'unix', path: channel });
  t.throws(() => notSocket.host.start(), { message: /exists and is not a socket; remove it or choose another path$/ }, 'a regular file is left alone');
  await second.stop();
  await notSocket.stop();
});

t.test('tcp-listen on a busy port: a clear line, not a silent stop', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wayvio-transport-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => blocker.close(() => resolve())));
  const port = (blocker.address() as { port: number }).port;
  for (const spec of [{ kind: 'tcp-listen', host: '127.0.0.1', port }, { kind: 'ws-listen', host: '127.0.0.1', port }] as const) {
    const p = proxies(dir, spec, { kind: 'unix', path: join(dir, 'unused') });
    p.host.start();
    const want = `host: error: channel ${spec.kind}:127.0.0.1:${port}: cannot listen: listen EADDRINUSE: address already in use 127.0.0.1:${port}`;
    await waitFor('the listen failure', () => p.logs.includes(want));
    t.pass(want);
    await p.stop();
  }
});
