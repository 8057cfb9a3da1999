// Real clients through guest proxy → channel → host proxy → weston headless: globals, pixels, many clients.
import t from 'tap';
import { checkFdLeaks } from '../helpers/fd-leak';
import { startWeston, clientEnv, type Compositor } from '../../harness/compositors';
import { spawnManaged, sleep } from '../../harness/processes';
import { startProxyPair, type ProxyPair } from '../helpers/proxy-pair';
import { describeSearch, findPattern, screenshot } from '../helpers/screenshot';
import { buildTestClients, startPatternClient, waylandInfo, type TestClients } from '../../harness/test-clients';
import { Policy } from '../../protocol/policy';
import { ProtocolRegistry } from '../../protocol/registry';

checkFdLeaks(t);

let weston: Compositor;
let pair: ProxyPair;
let clients: TestClients;

t.before(async () => {
  clients = await buildTestClients();
  weston = await startWeston({ width: 1024, height: 768 });
  pair = await startProxyPair({ compositorPath: weston.socketPath });
});

t.teardown(async () => {
  await pair?.stop();
  await weston?.stop();
});

t.test('wayland-info sees the direct globals minus the hidden ones', async (t) => {
  const direct = await waylandInfo(weston);
  const proxied = await waylandInfo(pair);
  const registry = ProtocolRegistry.builtin();
  const expected = direct
    .filter((g) => new Policy().judge(g.interface, g.version, registry).allowed)
    .map((g) => `${g.interface} v${Math.min(g.version, registry.interface(g.interface)!.version)}`)
    .sort();
  t.same(proxied.map((g) => `${g.interface} v${g.version}`).sort(), expected);
  t.ok(direct.some((g) => g.interface === 'zwp_linux_dmabuf_v1') ? !proxied.some((g) => g.interface === 'zwp_linux_dmabuf_v1') : true, 'dmabuf hidden');
  t.ok(proxied.some((g) => g.interface === 'wl_shm') && proxied.some((g) => g.interface === 'xdg_wm_base'), 'the basics are there');
  t.ok(pair.logs.some((l) => /global zwp_linux_explicit_synchronization_v1 v\d+ hidden: cannot work across a VM/.test(l)), 'hidden global logged');
});

t.test('a known pattern appears on the host exactly as drawn', async (t) => {
  const client = await startPatternClient(clients, pair, { width: 200, height: 150 });
  try {
    const image = await screenshot(weston);
    const found = findPattern(image, 200, 150);
    t.ok(found.position !== null, `pattern found: ${describeSearch(found)}`);
  } finally {
    await client.stop();
  }
});

// each exercises a part of the shm path: damage, subsurfaces, buffer scale and transform (whole-buffer damage),
// viewports, pools that grow as windows resize, several buffers per pool, presentation feedback
for (const [program, args] of [
  ['weston-simple-shm', []],
  ['weston-simple-damage', []],
  ['weston-simple-damage', ['--use-viewport']],
  ['weston-simple-damage', ['--transform=flipped-90', '--scale=2']],
  ['weston-flower', []],
  ['weston-terminal', []],
  ['weston-subsurfaces', []],
  ['weston-transformed', []],
  ['weston-scaler', []],
  ['weston-resizor', []],
  ['weston-multi-resource', []],
  ['weston-presentation-shm', []],
  ['weston-smoke', []],
] as const) {
  t.test(`${[program, ...args].join(' ')} runs through the proxies`, async (t) => {
    const before = totalCommits(pair);
    const proc = spawnManaged(program, [...args], { env: clientEnv(pair.env) });
    await sleep(1500);
    t.equal(proc.proc.exitCode, null, `${program} still running (stderr: ${proc.stderrTail()})`);
    await proc.stop();
    t.ok(totalCommits(pair) > before, `${program} committed frames (${totalCommits(pair) - before})`);
    t.notOk(pair.logs.some((l) => /protocol (error|violation)/.test(l)), 'no protocol errors');
  });
}

t.test('20 clients at once', async (t) => {
  const started = await Promise.all(Array.from({ length: 20 }, (_, i) => startPatternClient(clients, pair, { width: 40 + i, height: 30 + i })));
  t.equal(started.length, 20, 'all 20 showed their first frame');
  t.equal(pair.guest.clientCount, 20);
  await Promise.all(started.map((c) => c.stop()));
  for (let i = 0; i < 100 && pair.guest.clientCount > 0; i++) await sleep(20);
  t.equal(pair.guest.clientCount, 0, 'every client is gone on the guest');
  t.equal([...pair.host.channels.values()].reduce((n, ch) => n + ch.clients.size, 0), 0, 'and on the host');
});

function totalCommits(p: ProxyPair): number {
  return p.host.totalCommits;
}
