// The global policy end to end on sway: defaults only, allowed globals added by name, denied ones gone, versions capped, title prefixes.
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { checkFdLeaks } from '../helpers/fd-leak';
import { startSway, type Compositor } from '../../harness/compositors';
import { startProxyPair, type ProxyPair } from '../helpers/proxy-pair';
import { RawClient } from '../helpers/raw-client';
import { buildTestClients, startPatternClient, waylandInfo } from '../../harness/test-clients';
import { parsePolicy } from '../../protocol/policy';
import { registryFor } from '../../cli/usage';
import { DEFAULT_OFFERED, HIDDEN_BY_DEFAULT } from '../../protocol/default-offer';
import { repoRoot } from '../../harness/test-clients';

checkFdLeaks(t);
const run = promisify(execFile);

let sway: Compositor;
let pair: ProxyPair;

t.before(async () => {
  sway = await startSway();
  pair = await startProxyPair({
    compositorPath: sway.socketPath,
    policy: { deny: ['wp_viewporter'], versions: { wl_seat: 5 }, titlePrefix: '[vm1] ' },
  });
});
t.teardown(async () => {
  await pair?.stop();
  await sway?.stop();
});

t.test('denied globals are hidden and versions capped', async (t) => {
  const direct = await waylandInfo(sway);
  const proxied = await waylandInfo(pair);
  t.ok(direct.some((g) => g.interface === 'wp_viewporter'), 'sway offers wp_viewporter');
  t.notOk(proxied.some((g) => g.interface === 'wp_viewporter'), 'the guest does not see it');
  t.ok(direct.some((g) => g.interface === 'wl_seat' && g.version > 5), 'sway offers wl_seat above 5');
  t.same(proxied.filter((g) => g.interface === 'wl_seat').map((g) => g.version), [5], 'the guest sees version 5');
  t.ok(pair.logs.some((l) => /global wp_viewporter v\d+ hidden: denied by policy/.test(l)), 'logged');
});

t.test('only DEFAULT_OFFERED reaches the guest by default', async (t) => {
  const proxied = await waylandInfo(pair);
  t.same(proxied.filter((g) => !DEFAULT_OFFERED.includes(g.interface)).map((g) => g.interface), [], 'nothing outside the defaults');
  t.ok(proxied.some((g) => g.interface === 'zxdg_decoration_manager_v1'), 'xdg-decoration is offered');
  t.ok(proxied.some((g) => g.interface === 'org_kde_kwin_server_decoration_manager'), 'KDE server-decoration is offered');
  t.ok(pair.logs.some((l) => /global zwp_keyboard_shortcuts_inhibit_manager_v1 v\d+ hidden: not offered by default: turns off the host's keyboard shortcuts.*; allow it by name in the policy file/.test(l)), 'the host says why and how to allow it');
});

t.test('a wlroots protocol loaded with --protocol stays hidden unless the policy allows it by name', async (t) => {
  const xml = join(repoRoot(), 'test', 'fixtures', 'wlr-data-control-unstable-v1.xml');
  const registry = registryFor({ protocol: [xml] });
  t.ok((await waylandInfo(sway)).some((g) => g.interface === 'zwlr_data_control_manager_v1'), 'sway offers data-control');
  const hidden = await startProxyPair({ compositorPath: sway.socketPath, registry });
  try {
    t.notOk((await waylandInfo(hidden)).some((g) => g.interface === 'zwlr_data_control_manager_v1'), 'hidden by default, though the XML is loaded');
    const why = `not offered by default: ${HIDDEN_BY_DEFAULT.zwlr_data_control_manager_v1}; allow it by name in the policy file`;
    t.ok(hidden.logs.some((l) => l.includes(`global zwlr_data_control_manager_v1 v2 hidden: ${why}`)), `logged: ${why}`);
  } finally {
    await hidden.stop();
  }
  const allowed = await startProxyPair({ compositorPath: sway.socketPath, registry, policy: { allow: ['zwlr_data_control_manager_v1'] } });
  try {
    const seen = await waylandInfo(allowed);
    t.same(seen.filter((g) => g.interface === 'zwlr_data_control_manager_v1').map((g) => g.version), [2], 'allowed by name: offered');
    t.ok(seen.some((g) => g.interface === 'wl_compositor'), 'and the defaults stay');
  } finally {
    await allowed.stop();
  }
});

t.test('binding above the cap is refused', async (t) => {
  const c = new RawClient(pair.socketPath);
  const reg = await c.getRegistry();
  c.bind(reg, 'wl_seat', 7);
  t.ok(await c.until(() => c.error() !== undefined), 'wl_display.error');
  t.match(String(c.error()?.args[2]), /invalid global wl_seat .* version 7/);
  c.close();
});

t.test('toplevel titles carry the prefix on the host', async (t) => {
  const clients = await buildTestClients();
  const client = await startPatternClient(clients, pair, { width: 80, height: 60 });
  try {
    const ipc = readdirSync(sway.runtimeDir).find((f) => f.startsWith('sway-ipc.'));
    t.ok(ipc, 'sway has an IPC socket');
    const tree = (await run('swaymsg', ['-s', join(sway.runtimeDir, ipc!), '-t', 'get_tree', '-r'])).stdout;
    const titles: string[] = [];
    const walk = (n: { app_id?: string; name?: string; nodes?: unknown[]; floating_nodes?: unknown[] }): void => {
      if (n.app_id === 'wayvio-test-client' && n.name) titles.push(n.name);
      for (const c of [...(n.nodes ?? []), ...(n.floating_nodes ?? [])]) walk(c as typeof n);
    };
    walk(JSON.parse(tree));
    t.equal(titles.length, 1, 'the window is there');
    t.match(titles[0], /^\[vm1\] /, `title: ${titles[0]}`);
  } finally {
    await client.stop();
  }
});

t.test('policy files are checked', async (t) => {
  t.throws(() => parsePolicy('{"allow": "wl_shm"}', 'p.json'), /'allow' must be a list/);
  t.throws(() => parsePolicy('{"versions": {"wl_seat": 0}}', 'p.json'), /versions.wl_seat must be a positive integer/);
  t.throws(() => parsePolicy('{"colour": 1}', 'p.json'), /unknown key 'colour'/);
  t.throws(() => parsePolicy('not json', 'p.json'), /not JSON/);
  t.equal(parsePolicy('{"titlePrefix": "[x] "}', 'p.json').titlePrefix, '[x] ');
});
