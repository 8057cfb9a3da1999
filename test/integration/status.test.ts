// --status: GET /status shows channels and clients (app id, title, counters), GET /metrics is Prometheus text; flags of `wayvio host`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { checkFdLeaks } from '../helpers/fd-leak';
import { startWeston, type Compositor } from '../../harness/compositors';
import { spawnManaged, type Managed } from '../../harness/processes';
import { httpGet, metric } from '../helpers/http-get';
import { startProxyPair, type ProxyPair } from '../helpers/proxy-pair';
import { RawGuest } from '../helpers/raw-guest';
import { buildTestClients, repoRoot, startPatternClient, waylandInfo, type TestClients } from '../../harness/test-clients';
import { waitFor } from '../helpers/wait';
import { StatusServer, type HostStatus } from '../../host-proxy/status-server';
import { parseStatusAddress } from '../../host-proxy/status-address';
import { FrameKind } from '../../protocol/channel-frames';
import { createLogger } from '../../link/log';

checkFdLeaks(t);

const WAYVIO = join(repoRoot(), 'bin', 'wayvio.js');
const VERSION = (require(join(repoRoot(), 'package.json')) as { version: string }).version;
let weston: Compositor;
let clients: TestClients;
let pair: ProxyPair;
let status: StatusServer;
let base: string;

t.before(async () => {
  clients = await buildTestClients();
  weston = await startWeston();
  pair = await startProxyPair({ compositorPath: weston.socketPath, limits: { shmPool: 1024 * 1024 } });
  status = new StatusServer(pair.host, VERSION, createLogger('status', { write: (l) => pair.logs.push(l) }));
  const bound = await status.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${bound.port}`;
});
t.teardown(async () => {
  await status?.close();
  await pair?.stop();
  await weston?.stop();
});

t.test('GET /status: version, uptime, channel state and each client with its app id, title and counters', async (t) => {
  const client = await startPatternClient(clients, pair, { width: 64, height: 48 });
  t.teardown(() => client.stop());
  const res = await httpGet(`${base}/status`);
  t.equal(res.status, 200);
  t.match(res.type, /^application\/json/);
  const s = JSON.parse(res.body) as HostStatus;
  t.equal(s.version, VERSION, 'the version');
  t.ok(s.uptimeSeconds >= 0, `uptime ${s.uptimeSeconds} s`);
  t.equal(s.channel, 'up', 'a guest is connected');
  t.equal(s.compositor, weston.socketPath);
  t.equal(s.limits.shmPool, 1024 * 1024, 'the limits in force');
  t.equal(s.channels.length, 1);
  const ch = s.channels[0];
  t.equal(ch.state, 'up');
  t.equal(ch.peer, 'wayvio test guest', 'the guest software');
  t.ok(ch.framesIn > 0 && ch.bytesIn > 0 && ch.framesOut > 0, `channel traffic: ${ch.framesIn} frames in, ${ch.framesOut} out`);
  t.equal(ch.clients.length, 1, 'one client');
  const c = ch.clients[0];
  t.equal(c.appId, 'wayvio-test-client', 'app id from xdg_toplevel.set_app_id');
  t.equal(c.title, 'wayvio-test-client pattern', 'title from xdg_toplevel.set_title');
  t.ok(c.objects > 5, `${c.objects} objects`);
  t.ok(c.pools >= 1 && c.poolBytes >= 64 * 48 * 4, `${c.pools} pool(s), ${c.poolBytes} bytes`);
  t.ok(c.fds >= 2, `${c.fds} fds held`);
  t.ok(c.requests > 0 && c.events > 0 && c.commits >= 1 && c.framesIn > 0 && c.bytesIn > 0, 'and its counters');
  t.equal(c.lastError, null, 'no error');
  t.equal(s.guest.clients, 1);
  t.equal(s.guest.shmBytes, c.poolBytes, 'the guest quota is what its pools hold');
});

t.test('GET /metrics: Prometheus text with process and wayvio metrics', async (t) => {
  const client = await startPatternClient(clients, pair, { width: 32, height: 32 });
  t.teardown(() => client.stop());
  const res = await httpGet(`${base}/metrics`);
  t.equal(res.status, 200);
  t.match(res.type, /^text\/plain; version=0\.0\.4/);
  const m = res.body;
  t.match(m, /^# HELP wayvio_clients /m, 'HELP lines');
  t.match(m, /^# TYPE wayvio_channel_frames_total counter$/m, 'TYPE lines');
  t.equal(metric(m, 'wayvio_clients'), 1, 'wayvio_clients 1');
  t.equal(metric(m, 'wayvio_channels'), 1, 'wayvio_channels 1');
  t.ok((metric(m, 'wayvio_shm_bytes') ?? 0) >= 32 * 32 * 4, 'wayvio_shm_bytes');
  t.ok((metric(m, 'wayvio_channel_frames_total{direction="in"}') ?? 0) > 0, 'frames in');
  t.ok((metric(m, 'wayvio_channel_bytes_total{direction="out"}') ?? 0) > 0, 'bytes out');
  t.equal(metric(m, 'wayvio_limit{limit="max-pool-bytes"}'), 1024 * 1024, 'the limits');
  t.ok((metric(m, 'process_resident_memory_bytes') ?? 0) > 0, 'process RSS');
  t.ok((metric(m, 'process_open_fds') ?? 0) > 0, 'process fds');

  // a limit hit shows up in the counters, and the counters only grow
  const g = await RawGuest.attach(join(pair.env.XDG_RUNTIME_DIR, 'channel'));
  await g.openWithRegistry(1);
  g.send({ kind: FrameKind.ShmCreate, conn: 1, resource: 1, size: 4 * 1024 * 1024 });
  await g.closeOf(1);
  await g.destroy();
  t.ok(await waitFor(() => pair.host.channels.size === 1), 'the raw channel is gone');
  const after = (await httpGet(`${base}/metrics`)).body;
  t.equal(metric(after, 'wayvio_limit_hits_total{limit="max-pool-bytes"}'), 1, 'the limit hit is counted');
  t.ok((metric(after, 'wayvio_client_errors_total') ?? 0) >= 1, 'as a client error');
  t.ok((metric(after, 'wayvio_channels_total') ?? 0) >= 2, 'channels ever accepted');
  t.ok((metric(after, 'wayvio_channel_frames_total{direction="in"}') ?? 0) > (metric(m, 'wayvio_channel_frames_total{direction="in"}') ?? 0), 'closed channels still count');
  const s = JSON.parse((await httpGet(`${base}/status`)).body) as HostStatus;
  t.equal(s.totals.limitHits['max-pool-bytes'], 1, '/status has the totals too');
});

t.test('other paths and methods', async (t) => {
  t.equal((await httpGet(`${base}/nope`)).status, 404);
});

t.test('--status addresses: loopback by default, anything else only with --status-remote', async (t) => {
  t.same(parseStatusAddress('9187'), { host: '127.0.0.1', port: 9187 });
  t.same(parseStatusAddress('127.0.0.2:80'), { host: '127.0.0.2', port: 80 });
  t.same(parseStatusAddress('[::1]:80'), { host: '::1', port: 80 });
  t.same(parseStatusAddress('localhost:0'), { host: 'localhost', port: 0 });
  t.throws(() => parseStatusAddress('0.0.0.0:9187'), /not a loopback address.*--status-remote/);
  t.same(parseStatusAddress('0.0.0.0:9187', true), { host: '0.0.0.0', port: 9187 });
  t.throws(() => parseStatusAddress('example.com:80', true), /not an IP address/);
  t.throws(() => parseStatusAddress('1.2.3.4:70000', true), /use PORT or HOST:PORT/);
  t.throws(() => parseStatusAddress('nonsense'), /use PORT or HOST:PORT/);
});

function wayvio(t: Test, args: string[]): Managed {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of ['XDG_RUNTIME_DIR', 'WAYLAND_DISPLAY', 'WAYVIO_TRACE']) delete env[key];
  const p = spawnManaged(process.execPath, [WAYVIO, ...args], { env });
  t.teardown(() => p.stop());
  return p;
}

t.test('wayvio host: limit flags and --status on the command line', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wayvio-status-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const channel = `unix-listen:${join(dir, 'channel')}`;
  const bad: [string[], RegExp][] = [
    [['--status', '0.0.0.0:9187'], /^wayvio: --status 0\.0\.0\.0:9187: 0\.0\.0\.0 is not a loopback address; .* add --status-remote/m],
    [['--status-remote'], /^wayvio: --status-remote needs --status HOST:PORT$/m],
    [['--max-clients', 'many'], /^wayvio: --max-clients many: use a whole number, e\.g\. --max-clients 256$/m],
    [['--max-shm-bytes', '12Q'], /^wayvio: --max-shm-bytes 12Q: use a number of bytes \(K, M, G allowed\), e\.g\. --max-shm-bytes 512M$/m],
    [['--max-frame-size', '1K'], /^wayvio: --max-frame-size 1K: must be between 8192 and 16777216/m],
    [['--max-pool-bytes', '2G', '--max-shm-bytes', '1G'], /^wayvio: --max-pool-bytes 2147483648 is larger than --max-shm-bytes 1073741824/m],
  ];
  for (const [args, re] of bad) {
    const p = wayvio(t, ['host', '--channel', channel, '--compositor', weston.socketPath, ...args]);
    t.equal(await p.exited, 2, `${args.join(' ')}: exit 2`);
    t.match(p.stderrTail(), re, p.stderrTail().split('\n')[0]);
  }
  const host = wayvio(t, ['host', '--channel', channel, '--compositor', weston.socketPath, '--status', '127.0.0.1:0',
    '--max-shm-bytes', '64M', '--max-pool-bytes', '16M', '--max-clients', '7', '--max-objects', '1000', '--max-pools', '50', '--max-fds', '99', '--max-frame-size', '64K', '--max-channels', '2', '--max-pipe-bytes', '8M']);
  t.ok(await waitFor(() => /status on http:\/\/127\.0\.0\.1:\d+\/status/.test(host.stderrTail()), 8000), 'the host says where its status is');
  const port = /status on http:\/\/127\.0\.0\.1:(\d+)\//.exec(host.stderrTail())?.[1];
  const s = JSON.parse((await httpGet(`http://127.0.0.1:${port}/status`)).body) as HostStatus;
  t.equal(s.version, VERSION);
  t.equal(s.channel, 'waiting', 'no guest yet');
  t.same(s.limits, { shmTotal: 64 << 20, shmPool: 16 << 20, clients: 7, objects: 1000, pools: 50, fds: 99, frameSize: 64 << 10, channels: 2, pipeBytes: 8 << 20 }, 'every flag reached the proxy');
  const metrics = (await httpGet(`http://127.0.0.1:${port}/metrics`)).body;
  t.equal(metric(metrics, 'wayvio_limit{limit="max-fds"}'), 99);
  process.kill(host.pid, 'SIGTERM');
  t.equal(await host.exited, 0, 'SIGTERM: exit 0 with the status server up');
});

t.test('the status server keeps serving while clients come and go', async (t) => {
  await waylandInfo(pair);
  const s = JSON.parse((await httpGet(`${base}/status`)).body) as HostStatus;
  t.ok(s.totals.clients >= 3, `${s.totals.clients} clients so far`);
  t.ok(s.totals.commits >= 1, `${s.totals.commits} commits so far`);
});
