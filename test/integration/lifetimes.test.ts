// Errors and lifetimes: compositor errors reach the client unchanged, kills free everything, the channel comes back.
import { join } from 'node:path';
import t from 'tap';
import { checkFdLeaks } from '../helpers/fd-leak';
import { startWeston, clientEnv, type Compositor } from '../../harness/compositors';
import { sleep, spawnManaged } from '../../harness/processes';
import { startProxyPair, type ProxyPair } from '../helpers/proxy-pair';
import { RawClient } from '../helpers/raw-client';
import { buildTestClients, startPatternClient, waylandInfo, type TestClients } from '../../harness/test-clients';
import { HostProxy } from '../../host-proxy/host-proxy';
import { createLogger } from '../../link/log';
import { Policy } from '../../protocol/policy';
import { ProtocolRegistry } from '../../protocol/registry';
import { closeSync, ftruncateSync, openSync } from 'node:fs';
import { dup, memfdCreate } from '../../native/index';
import { mappedBytes } from '../../native/test-only';

checkFdLeaks(t);

let weston: Compositor;
let pair: ProxyPair;
let clients: TestClients;

t.before(async () => {
  clients = await buildTestClients();
  weston = await startWeston();
  pair = await startProxyPair({ compositorPath: weston.socketPath });
});
t.teardown(async () => {
  await pair?.stop();
  await weston?.stop();
});

async function waitUntil(pred: () => boolean, ms = 5000): Promise<boolean> {
  for (const end = Date.now() + ms; !pred(); await sleep(10)) if (Date.now() > end) return false;
  return true;
}

function hostClients(p: ProxyPair): number {
  return [...p.host.channels.values()].reduce((n, ch) => n + ch.clients.size, 0);
}

/** wl_data_source.set_actions twice: weston posts invalid_action_mask itself, the host leaves it to the compositor. */
async function actionsTwiceError(socketPath: string) {
  const c = new RawClient(socketPath);
  const reg = await c.getRegistry();
  const manager = c.bind(reg, 'wl_data_device_manager', 3);
  const source = c.send(manager, 'create_data_source', [0]);
  c.send(source, 'set_actions', [1]);
  c.send(source, 'set_actions', [1]);
  await c.until(() => c.error() !== undefined);
  await c.until(() => c.closed, 2000);
  c.close();
  return { source, error: c.error()?.args };
}

t.test('a compositor protocol error reaches the client as the same wl_display.error', async (t) => {
  const direct = await actionsTwiceError(weston.socketPath);
  const proxied = await actionsTwiceError(pair.socketPath);
  t.ok(direct.error !== undefined, `weston reports an error directly: ${JSON.stringify(direct.error)}`);
  t.same(proxied.error, direct.error, 'same object, code and message through wayvio');
  t.ok(await waitUntil(() => pair.guest.clientCount === 0 && hostClients(pair) === 0), 'both sides dropped the client');
});

t.test('binding a global the guest never offered is a protocol error from the guest', async (t) => {
  const c = new RawClient(pair.socketPath);
  const reg = await c.getRegistry();
  t.notOk(c.globals.has('zwp_linux_explicit_synchronization_v1'), 'explicit sync is hidden');
  c.bind(reg, 'wl_compositor', 4, 999);
  t.ok(await c.until(() => c.error() !== undefined), 'the client gets wl_display.error');
  t.match(String(c.error()?.args[2]), /invalid global wl_compositor \(999\)/);
  c.close();
});

t.test('a client killed mid-frame frees everything on both sides', async (t) => {
  const baseMapped = mappedBytes();
  const victim = await startPatternClient(clients, pair, { width: 300, height: 200 });
  const bystander = spawnManaged('weston-simple-shm', [], { env: clientEnv(pair.env) });
  await waitUntil(() => pair.guest.clientCount === 2);
  t.ok(mappedBytes() > baseMapped, 'pools are mapped while the clients live');
  victim.process.proc.kill('SIGKILL');
  t.ok(await waitUntil(() => pair.guest.clientCount === 1 && hostClients(pair) === 1), 'the killed client is gone on both sides');
  await sleep(300);
  t.equal(bystander.proc.exitCode, null, 'the other client keeps running');
  await bystander.stop();
  await victim.stop();
  t.ok(await waitUntil(() => pair.guest.clientCount === 0 && hostClients(pair) === 0), 'all clients gone');
  t.ok(await waitUntil(() => mappedBytes() === baseMapped), `every mapping released (${mappedBytes()} vs ${baseMapped} bytes)`);
  for (const ch of pair.host.channels.values()) t.equal(ch.quota.used, 0, 'the guest quota is back to zero');
});

t.test('a client that shrinks its pool after commit harms nobody', async (t) => {
  const bystander = await startPatternClient(clients, pair, { width: 64, height: 64 });
  const c = new RawClient(pair.socketPath);
  const reg = await c.getRegistry();
  const compositor = c.bind(reg, 'wl_compositor', 4);
  const shm = c.bind(reg, 'wl_shm', 1);
  const fd = memfdCreate('shrinker');
  ftruncateSync(fd, 64 * 64 * 4);
  const pool = c.send(shm, 'create_pool', [0, 0, 64 * 64 * 4], [dup(fd)]);
  const buffer = c.send(pool, 'create_buffer', [0, 0, 64, 64, 256, 1]);
  const surface = c.send(compositor, 'create_surface', [0]);
  ftruncateSync(fd, 0);
  c.send(surface, 'attach', [buffer, 0, 0]);
  c.send(surface, 'damage_buffer', [0, 0, 64, 64]);
  c.send(surface, 'commit', []);
  await c.roundtrip();
  closeSync(fd);
  c.close();
  t.ok(await waitUntil(() => pair.guest.clientCount === 1), 'the shrinking client is gone or done; the proxy lives');
  t.equal(bystander.process.proc.exitCode, null, 'the other client keeps running');
  await bystander.stop();
});

t.test('an fd that cannot be a pool ends that client with wl_display.error', async (t) => {
  const c = new RawClient(pair.socketPath);
  const reg = await c.getRegistry();
  const shm = c.bind(reg, 'wl_shm', 1);
  c.send(shm, 'create_pool', [0, 0, 4096], [openSync('/', 'r')]);
  t.ok(await c.until(() => c.error() !== undefined), 'the client gets an error');
  t.match(String(c.error()?.args[2]), /not a regular file/);
  c.close();
});

t.test('when the channel drops clients are disconnected, and the guest reconnects to a new host', async (t) => {
  const channelPath = join(pair.env.XDG_RUNTIME_DIR, 'channel');
  const client = await startPatternClient(clients, pair, { width: 100, height: 100 });
  pair.host.stop();
  t.ok(await waitUntil(() => client.process.proc.exitCode !== null, 5000), 'the client was disconnected');
  t.ok(await waitUntil(() => !pair.guest.connected), 'the guest noticed');
  const host2 = new HostProxy({
    channel: { kind: 'unix-listen', path: channelPath }, compositorPath: weston.socketPath, registry: ProtocolRegistry.builtin(),
    policy: new Policy(), log: createLogger('host2', { level: 'error', write: () => undefined }), software: 'second host',
  });
  host2.start();
  try {
    t.ok(await waitUntil(() => pair.guest.connected, 10000), 'the guest reconnected');
    const globals = await waylandInfo(pair);
    t.ok(globals.some((g) => g.interface === 'wl_compositor'), 'a new client works');
  } finally {
    await client.stop();
    host2.stop();
  }
});
