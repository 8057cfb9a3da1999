// Faults: a client that stops reading, the compositor restarted, the host process restarted, the channel cut,
// EMFILE and ENOMEM in a real host process. After each the other clients are unaffected and fds/RSS return.
import { execFileSync } from 'node:child_process';
import { closeSync, ftruncateSync, mkdtempSync, readdirSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { checkFdLeaks } from '../helpers/fd-leak';
import { startWeston, type Compositor } from '../../harness/compositors';
import { startGuest, type LoneGuest } from '../helpers/guest-only';
import { spawnManaged, type Managed } from '../../harness/processes';
import { startProxyPair } from '../helpers/proxy-pair';
import { RawClient } from '../helpers/raw-client';
import { Relay } from '../helpers/relay';
import { buildTestClients, repoRoot, startPatternClient, waylandInfo, type PatternClient, type TestClients } from '../../harness/test-clients';
import { fdCount, rssBytes, waitFor } from '../helpers/wait';
import { FdSocket } from '../../transport/fd-socket';
import { dup, memfdCreate, unixConnect } from '../../native/index';
import { mappedBytes } from '../../native/test-only';
import { HostProxy } from '../../host-proxy/host-proxy';
import { createLogger } from '../../link/log';
import { Policy } from '../../protocol/policy';
import { ProtocolRegistry } from '../../protocol/registry';
import { encodeMessage } from '../../protocol/wire-codec';
import { MAX_CLIENT_BACKLOG } from '../../guest-proxy/guest-client';

checkFdLeaks(t);

const WAYVIO = join(repoRoot(), 'bin', 'wayvio.js');
const MiB = 1024 * 1024;
let weston: Compositor;
let clients: TestClients;

t.before(async () => {
  clients = await buildTestClients();
  weston = await startWeston();
});
t.teardown(async () => {
  await weston?.stop();
});

function scratch(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'wayvio-faults-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function pattern(t: Test, display: { env: { XDG_RUNTIME_DIR: string; WAYLAND_DISPLAY: string } }, size = 48): Promise<PatternClient> {
  const c = await startPatternClient(clients, display, { width: size, height: size });
  t.teardown(() => c.stop());
  return c;
}

const alive = (c: PatternClient): boolean => c.process.proc.exitCode === null && c.process.proc.signalCode === null;
const mib = (n: number): string => `${(n / MiB).toFixed(1)} MiB`;

t.test('a client that stops reading its socket is ended after a bounded backlog; the others go on', async (t) => {
  const pair = await startProxyPair({ compositorPath: weston.socketPath });
  t.teardown(() => pair.stop());
  const bystander = await pattern(t, pair);
  await waylandInfo(pair); // warm up
  const fdsBefore = fdCount();
  const rssBefore = rssBytes();
  const sock = new FdSocket(unixConnect(pair.socketPath), { highWaterMark: 64 * MiB });
  sock.on('data', () => undefined);
  sock.pause(); // never reads: events pile up in the guest proxy
  const registry = ProtocolRegistry.builtin();
  const getRegistry = registry.interface('wl_display')!.requests.findIndex((r) => r.name === 'get_registry');
  const spec = registry.interface('wl_display')!.requests[getRegistry];
  // each get_registry brings every global (~700 bytes of events). Sent in batches that the compositor and the
  // host keep up with (a compositor ends a client whose requests overflow its own buffer): only the guest's
  // queue towards the client, which never reads, grows.
  const hostEvents = (): number => [...pair.host.channels.values()].flatMap((ch) => [...ch.clients.values()]).reduce((n, c) => n + c.stats.events, 0);
  const perRegistry = (await waylandInfo(pair)).length;
  let id = 2;
  for (let batch = 0; batch < 200 && !pair.logs.some((l) => /does not read its events/.test(l)); batch++) {
    const before = hostEvents();
    const burst: Uint8Array[] = [];
    for (let i = 0; i < 100; i++) burst.push(encodeMessage(1, getRegistry, spec, [id++]).bytes);
    sock.write(Buffer.concat(burst));
    await waitFor(() => hostEvents() >= before + 100 * perRegistry || pair.logs.some((l) => /does not read its events/.test(l)), 5000, 2);
  }
  t.ok(await waitFor(() => pair.logs.some((l) => /client does not read its events: \d+ bytes queued, more than \d+; ending it/.test(l)), 20000),
    `the guest ended it: ${pair.logs.find((l) => /does not read/.test(l))}`);
  t.ok(await waitFor(() => pair.guest.clientCount === 1 && pair.host.clientCount === 1, 5000), 'both proxies dropped it');
  await new Promise<void>((resolve) => {
    sock.once('close', () => resolve());
    sock.destroy();
  });
  t.ok(alive(bystander), 'the other client runs on');
  await waylandInfo(pair);
  t.pass('and a new client is served');
  t.ok(await waitFor(() => fdCount() <= fdsBefore), `fds back to ${fdsBefore} or fewer (now ${fdCount()})`);
  const rssAfter = rssBytes();
  t.comment(`backlog limit ${mib(MAX_CLIENT_BACKLOG)}; test process RSS ${mib(rssBefore)} before, ${mib(rssAfter)} after`);
  t.ok(rssAfter < rssBefore + 64 * MiB, 'RSS did not keep the backlog');
});

t.test('the compositor restarted: its clients get a clean disconnect, new clients work once it is back', async (t) => {
  const dir = scratch(t);
  const link = join(dir, 'compositor');
  let first: Compositor | null = await startWeston();
  t.teardown(() => first?.stop());
  symlinkSync(first.socketPath, link);
  const pair = await startProxyPair({ compositorPath: link });
  t.teardown(() => pair.stop());
  const other = await startPatternClient(clients, { env: weston.env }, { width: 32, height: 32 }); // on another compositor, via nothing
  t.teardown(() => other.stop());
  const victim = await pattern(t, pair);
  const fdsBefore = fdCount();
  await first.stop();
  first = null;
  t.ok(await waitFor(() => !alive(victim), 5000), 'the client saw its display go away');
  t.notMatch(victim.process.stderrTail(), /protocol error/, `no protocol error, a disconnect: ${victim.process.stderrTail().trim().split('\n').pop()}`);
  t.ok(await waitFor(() => pair.host.clientCount === 0 && pair.guest.clientCount === 0), 'both proxies dropped it');
  t.ok(pair.guest.connected, 'the channel stays up');
  const seen = await waylandInfo(pair).catch(() => []);
  t.equal(seen.length, 0, 'while the compositor is away, clients see no globals (their connection ends)');
  const second = await startWeston();
  t.teardown(() => second.stop());
  const next = join(dir, 'compositor.new');
  symlinkSync(second.socketPath, next);
  renameSync(next, link); // the compositor is back at the same path
  const again = await pattern(t, pair);
  t.ok(alive(again), 'a new client is served by the new compositor');
  await again.stop();
  t.ok(await waitFor(() => pair.host.clientCount === 0), 'and leaves cleanly');
  t.ok(alive(other), 'a client of another compositor never noticed');
  t.ok(await waitFor(() => fdCount() <= fdsBefore), `fds back to ${fdsBefore} or fewer (now ${fdCount()})`);
});

t.test('the channel cut and restored: that guest\'s clients end and come back, another guest never notices', async (t) => {
  const dir = scratch(t);
  const host = new HostProxy({
    channel: { kind: 'unix-listen', path: join(dir, 'channel') }, compositorPath: weston.socketPath, registry: ProtocolRegistry.builtin(),
    policy: new Policy(), log: createLogger('host', { level: 'error', write: () => undefined }), software: 'faults host', limits: { channels: 4 },
  });
  host.start();
  t.teardown(() => host.stop());
  const relay = await Relay.start(join(dir, 'relay'), join(dir, 'channel'));
  t.teardown(() => relay.close());
  const cutGuest = await startGuest({ kind: 'unix', path: join(dir, 'relay') });
  t.teardown(() => cutGuest.stop());
  const otherGuest = await startGuest({ kind: 'unix', path: join(dir, 'channel') });
  t.teardown(() => otherGuest.stop());
  const steady = await pattern(t, otherGuest);
  await waylandInfo(cutGuest);
  const fdsBefore = fdCount();
  const mappedBefore = mappedBytes();
  const quotaBefore = host.quota.used;
  const victim = await pattern(t, cutGuest, 64);
  t.ok(mappedBytes() > mappedBefore, 'the victim\'s pool is mapped on the host');

  relay.setAccepting(false);
  relay.cut();
  t.ok(await waitFor(() => !cutGuest.guest.connected), 'the guest saw its channel go');
  t.ok(await waitFor(() => !alive(victim)), 'its client was disconnected');
  t.ok(await waitFor(() => host.clientCount === 1 && host.channels.size === 1), 'the host freed that channel and its client');
  t.ok(await waitFor(() => mappedBytes() === mappedBefore), 'and unmapped its pool');
  t.ok(alive(steady), 'the client of the other guest runs on');

  relay.setAccepting(true);
  t.ok(await waitFor(() => cutGuest.guest.connected, 10000), 'the guest reconnected once the channel was back');
  const globals = await waylandInfo(cutGuest);
  t.ok(globals.some((g) => g.interface === 'wl_compositor'), 'and serves clients again');
  t.ok(await waitFor(() => fdCount() <= fdsBefore), `fds back to ${fdsBefore} or fewer (now ${fdCount()})`);
  t.equal(host.quota.used, quotaBefore, `the guest quota is back to the steady client's ${quotaBefore} bytes`);
});

/** `wayvio host` as a real process on `dir`/channel; resolves once it listens. */
async function hostProcess(t: Test, dir: string, extra: string[] = []): Promise<Managed> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of ['XDG_RUNTIME_DIR', 'WAYLAND_DISPLAY', 'WAYVIO_TRACE']) delete env[key];
  const p = spawnManaged(process.execPath, [WAYVIO, 'host', '--channel', `unix-listen:${join(dir, 'channel')}`, '--compositor', weston.socketPath, '--log-level', 'debug', ...extra], { env });
  t.teardown(() => p.stop());
  if (!(await waitFor(() => /^wayvio host: compositor /m.test(p.stderrTail()), 10000))) throw new Error(`wayvio host did not start: ${p.stderrTail()}`);
  return p;
}

t.test('the host process stopped (SIGTERM) or killed (SIGKILL) and started again: the guest reconnects', async (t) => {
  const dir = scratch(t);
  let host = await hostProcess(t, dir);
  const guest = await startGuest({ kind: 'unix', path: join(dir, 'channel') });
  t.teardown(() => guest.stop());
  await waylandInfo(guest);
  const fdsBefore = fdCount();
  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    const client = await pattern(t, guest);
    process.kill(host.pid, signal);
    t.equal(await host.exited, signal === 'SIGTERM' ? 0 : 'SIGKILL', `${signal}: the host ended`);
    t.ok(await waitFor(() => !guest.guest.connected), 'the guest noticed');
    t.ok(await waitFor(() => !alive(client)), 'its client was disconnected');
    t.ok(await waitFor(() => guest.guest.clientCount === 0), 'the guest freed it');
    host = await hostProcess(t, dir);
    t.ok(await waitFor(() => guest.guest.connected, 10000), `the guest reconnected to the new host after ${signal}`);
    t.ok((await waylandInfo(guest)).some((g) => g.interface === 'wl_compositor'), 'a new client works');
  }
  t.ok(await waitFor(() => fdCount() <= fdsBefore), `guest-side fds back to ${fdsBefore} (now ${fdCount()})`);
});

/** An fd soft limit that leaves exactly `free` fd numbers to open (new fds take the lowest free number). */
function limitLeaving(pid: number, free: number): number {
  const open = new Set(readdirSync(`/proc/${pid}/fd`).map(Number));
  for (let n = 0, left = free; ; n++) if (!open.has(n) && --left === 0) return n + 1;
}

function prlimit(pid: number, ...limits: string[]): void {
  execFileSync('prlimit', ['--pid', String(pid), ...limits]);
}

function hardNofile(pid: number): string {
  return execFileSync('prlimit', ['--pid', String(pid), '--nofile', '--output=HARD', '--noheadings'], { encoding: 'utf8' }).trim();
}

function vmSize(pid: number): number {
  const m = /^VmSize:\s+(\d+) kB/m.exec(execFileSync('cat', [`/proc/${pid}/status`], { encoding: 'utf8' }));
  return Number(m?.[1] ?? 0) * 1024;
}

/** A client with wl_shm bound, ready to make a pool of `size` bytes. */
async function shmClient(t: Test, guest: LoneGuest): Promise<{ c: RawClient; shm: number }> {
  const c = new RawClient(guest.socketPath);
  t.teardown(() => c.close());
  const reg = await c.getRegistry();
  const shm = c.bind(reg, 'wl_shm', 1);
  await c.roundtrip();
  return { c, shm };
}

function makePool(c: RawClient, shm: number, size: number): void {
  const fd = memfdCreate('fault-pool');
  ftruncateSync(fd, size); // sparse: costs this process nothing
  c.send(shm, 'create_pool', [0, 0, size], [dup(fd)]);
  closeSync(fd);
}

t.test('EMFILE and ENOMEM in a real host process: the client that needed the fd or memory ends, nobody else', async (t) => {
  const dir = scratch(t);
  const host = await hostProcess(t, dir);
  const guest = await startGuest({ kind: 'unix', path: join(dir, 'channel') });
  t.teardown(() => guest.stop());
  await waylandInfo(guest);
  await waylandInfo(guest);
  const baseFds = fdCount(host.pid);
  const baseRss = rssBytes(host.pid);
  const bystander = await pattern(t, guest);
  const withBystander = fdCount(host.pid);
  t.comment(`host process: ${baseFds} fds, RSS ${mib(baseRss)} at rest; ${withBystander} fds with one client`);

  // --- EMFILE: two fds left, then clients and a pool ask for more
  const poolClient = await shmClient(t, guest);
  const fdsBeforeLimit = fdCount(host.pid);
  prlimit(host.pid, `--nofile=${limitLeaving(host.pid, 2)}:`); // the soft limit only: raising it back needs no privilege
  const opened: RawClient[] = [];
  let refused = 0;
  for (let i = 0; i < 64 && refused === 0; i++) {
    const c = new RawClient(guest.socketPath);
    opened.push(c);
    await c.getRegistry();
    if (c.closed) refused++;
  }
  t.equal(opened.length, 3, `two more clients fit, the third was refused (${refused})`);
  t.ok(await waitFor(() => /cannot connect to the compositor at .*(EMFILE|Too many open files)/.test(host.stderrTail())), 'the host said EMFILE');
  makePool(poolClient.c, poolClient.shm, 4096);
  t.ok(await poolClient.c.until(() => poolClient.c.error() !== undefined), 'a pool the host cannot make an fd for ends that client');
  t.match(String(poolClient.c.error()?.args[2]), /host out of fds \(EMFILE, the process limit\) while creating a 4096-byte pool: memfd_create EMFILE/, String(poolClient.c.error()?.args[2]));
  t.ok(alive(bystander), 'the other client runs on');
  for (const c of opened) c.close();
  poolClient.c.close();
  t.ok(await waitFor(() => fdCount(host.pid) <= fdsBeforeLimit - 1), `the host is back to ${withBystander} fds (now ${fdCount(host.pid)})`);
  prlimit(host.pid, `--nofile=${hardNofile(host.pid)}:`);
  t.ok((await waylandInfo(guest)).length > 0, 'with fds again, new clients work');
  t.equal(host.proc.exitCode, null, 'the host process never stopped');

  // --- ENOMEM: the host's address space is capped just above what it uses; a big pool cannot be mapped
  const cap = vmSize(host.pid) + 192 * MiB;
  prlimit(host.pid, `--as=${cap}:`);
  const big = await shmClient(t, guest);
  makePool(big.c, big.shm, 384 * MiB);
  t.ok(await big.c.until(() => big.c.error() !== undefined, 10000), 'a pool the host cannot map ends that client');
  t.match(String(big.c.error()?.args[2]), /host out of memory \(ENOMEM\) while creating a 402653184-byte pool: .*ENOMEM/, String(big.c.error()?.args[2]));
  t.ok(await waitFor(() => /host short of resources, client ended \(not the guest's fault\): host out of memory \(ENOMEM\) while creating a 402653184-byte pool/.test(host.stderrTail())), 'the host logged it as its own shortage');
  t.ok(alive(bystander), 'the other client runs on');
  t.ok((await waylandInfo(guest)).length > 0, 'small clients are still served under the cap');
  prlimit(host.pid, '--as=unlimited:');
  big.c.close();
  await bystander.stop();
  t.ok(await waitFor(() => fdCount(host.pid) <= baseFds, 5000), `host fds back to ${baseFds} or fewer (now ${fdCount(host.pid)})`);
  const rss = rssBytes(host.pid);
  t.comment(`host process RSS ${mib(baseRss)} at rest before, ${mib(rss)} after EMFILE and ENOMEM`);
  t.ok(rss < baseRss + 48 * MiB, 'RSS stays near its baseline');
  t.equal(host.proc.exitCode, null, 'the host process never stopped');
});
