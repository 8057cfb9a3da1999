// Decorations through the proxy pair on sway 1.7: GTK3 gets server-side ones, the KDE request that segfaults sway is dropped, a second xdg decoration refused.
import { execFile, execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { clientEnv } from '../../harness/compositors';
import { sleep, spawnManaged } from '../../harness/processes';
import { checkFdLeaks } from '../helpers/fd-leak';
import { startSway, type Compositor } from '../../harness/compositors';
import type { PolicyFile } from '../../protocol/policy';
import { startProxyPair, type ProxyPair } from '../helpers/proxy-pair';
import { RawClient } from '../helpers/raw-client';
import { waylandInfo } from '../../harness/test-clients';

checkFdLeaks(t);
const run = promisify(execFile);
const zenity = ((): boolean => {
  try {
    execFileSync('sh', ['-c', 'command -v zenity'], { stdio: 'ignore' }); // zenity --version needs a display
    return true;
  } catch {
    return false;
  }
})();

let sway: Compositor;
let pair: ProxyPair;

t.before(async () => {
  sway = await startSway();
  pair = await startProxyPair({ compositorPath: sway.socketPath });
});
t.teardown(async () => {
  await pair?.stop();
  await sway?.stop();
});

/** A raw guest client with wl_compositor, xdg_wm_base and both decoration managers bound, and one toplevel. */
async function decoratedClient(): Promise<{ c: RawClient; o: Record<string, number> }> {
  const c = new RawClient(pair.socketPath);
  const reg = await c.getRegistry();
  const compositor = c.bind(reg, 'wl_compositor', 4);
  const wm = c.bind(reg, 'xdg_wm_base', 1);
  const xdgDeco = c.bind(reg, 'zxdg_decoration_manager_v1', 1);
  const kde = c.bind(reg, 'org_kde_kwin_server_decoration_manager', 1);
  const surface = c.send(compositor, 'create_surface', [0]);
  const xdgSurface = c.send(wm, 'get_xdg_surface', [0, surface]);
  const toplevel = c.send(xdgSurface, 'get_toplevel', [0]);
  return { c, o: { compositor, wm, xdgDeco, kde, surface, xdgSurface, toplevel } };
}

t.test('org_kde_kwin_server_decoration.request_mode after its wl_surface is destroyed: sway survives (it segfaults when sent directly)', async (t) => {
  const { c, o } = await decoratedClient();
  c.send(o.toplevel, 'destroy', []);
  c.send(o.xdgSurface, 'destroy', []);
  const deco = c.send(o.kde, 'create', [0, o.surface]);
  c.send(o.surface, 'destroy', []);
  c.send(deco, 'request_mode', [2]);
  c.send(deco, 'release', []);
  await c.roundtrip();
  t.equal(c.error(), undefined, 'the client goes on');
  c.close();
  t.equal(sway.exitStatus(), undefined, 'sway is still running');
  t.ok((await waylandInfo(sway)).length > 10, 'and answers a new client');
});

t.test('orphaned xdg decorations (the toplevel destroyed first) are left to sway, which survives them', async (t) => {
  for (const commitFirst of [false, true]) {
    const { c, o } = await decoratedClient();
    const deco = c.send(o.xdgDeco, 'get_toplevel_decoration', [0, o.toplevel]);
    if (commitFirst) c.send(o.surface, 'commit', []);
    c.send(o.toplevel, 'destroy', []);
    c.send(o.xdgSurface, 'destroy', []);
    c.send(o.surface, 'commit', []);
    c.send(deco, 'destroy', []);
    await c.roundtrip();
    // sway 1.7 frees the decoration with a mapped toplevel and ends the client on its destroy (invalid object); it did so directly too
    t.comment(`initial commit before: ${commitFirst}: ${c.error() === undefined ? 'no error' : `sway posted ${JSON.stringify(c.error()!.args)}`}`);
    c.close();
    t.equal(sway.exitStatus(), undefined, `sway is still running (initial commit before: ${commitFirst})`);
  }
  t.notOk(pair.logs.some((l) => /internal error/.test(l)), 'the host logs no internal error');
});

t.test('a second xdg decoration for one toplevel is refused with already_constructed', async (t) => {
  const { c, o } = await decoratedClient();
  c.send(o.xdgDeco, 'get_toplevel_decoration', [0, o.toplevel]);
  c.send(o.xdgDeco, 'get_toplevel_decoration', [0, o.toplevel]);
  t.ok(await c.until(() => c.error() !== undefined), 'wl_display.error');
  t.match(c.error()?.args, [o.xdgDeco, 1, /already_constructed|has zxdg_toplevel_decoration_v1/], 'on the manager, code 1 (already_constructed)');
  c.close();
  t.equal(sway.exitStatus(), undefined, 'sway is still running');
});

interface SwayNode { app_id?: string; name?: string; border?: string; nodes?: SwayNode[]; floating_nodes?: SwayNode[] }

/** sway's `border` for the window titled `title`: 'csd' when the client draws its own decorations. */
async function borderOf(title: string): Promise<string | undefined> {
  const ipc = join(sway.runtimeDir, readdirSync(sway.runtimeDir).find((f) => f.startsWith('sway-ipc.'))!);
  const found: SwayNode[] = [];
  const walk = (n: SwayNode): void => {
    if (n.name === title) found.push(n);
    for (const c of [...(n.nodes ?? []), ...(n.floating_nodes ?? [])]) walk(c);
  };
  walk(JSON.parse((await run('swaymsg', ['-s', ipc, '-t', 'get_tree', '-r'])).stdout) as SwayNode);
  return found[0]?.border;
}

/** Opens a zenity (GTK3, no header bar) dialog through a pair with `policy`; returns sway's border for it. */
async function gtkBorder(policy: PolicyFile, title: string): Promise<string | undefined> {
  const p = await startProxyPair({ compositorPath: sway.socketPath, policy });
  const app = spawnManaged('zenity', ['--info', '--text', title, '--title', title], { env: clientEnv(p.env, { GDK_BACKEND: 'wayland', NO_AT_BRIDGE: '1' }) });
  try {
    let border: string | undefined;
    for (let i = 0; i < 100 && border === undefined; i++) {
      await sleep(100);
      border = await borderOf(title);
    }
    return border;
  } finally {
    await app.stop();
    await p.stop();
  }
}

t.test('a GTK3 window gets server-side decorations through the pair (KDE server-decoration)', { skip: zenity ? false : 'zenity is not installed' }, async (t) => {
  const ssd = await gtkBorder({}, 'wayvio ssd');
  t.ok(ssd !== undefined && ssd !== 'csd', `sway decorates it (border ${ssd})`);
  const csd = await gtkBorder({ deny: ['org_kde_kwin_server_decoration_manager'] }, 'wayvio csd');
  t.equal(csd, 'csd', 'without the KDE global GTK3 draws its own title bar');
});
