// Decorations through the proxy pair on sway 1.7: GTK3 gets server-side ones, the KDE request that segfaults sway is dropped, a second xdg decoration refused.
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
const mousepad = ((): boolean => {
  try {
    execFileSync('sh', ['-c', 'command -v mousepad'], { stdio: 'ignore' });
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

interface SwayNode { app_id?: string; name?: string; border?: string; geometry?: { width: number; height: number }; nodes?: SwayNode[]; floating_nodes?: SwayNode[] }

/** sway's node for the window whose title holds `title`. */
async function windowOf(title: string): Promise<SwayNode | undefined> {
  const ipc = join(sway.runtimeDir, readdirSync(sway.runtimeDir).find((f) => f.startsWith('sway-ipc.'))!);
  const found: SwayNode[] = [];
  const walk = (n: SwayNode): void => {
    if (n.name?.includes(title) === true) found.push(n);
    for (const c of [...(n.nodes ?? []), ...(n.floating_nodes ?? [])]) walk(c);
  };
  walk(JSON.parse((await run('swaymsg', ['-s', ipc, '-t', 'get_tree', '-r'])).stdout) as SwayNode);
  return found[0];
}

/** Opens a file in mousepad (GTK3, menu bar, no header bar) through a pair with `policy`; returns sway's node for its window once it has settled. */
async function gtkWindow(policy: PolicyFile, title: string): Promise<SwayNode | undefined> {
  const p = await startProxyPair({ compositorPath: sway.socketPath, policy });
  const home = mkdtempSync(join(tmpdir(), 'wayvio-mousepad-'));
  const file = join(home, `${title}.txt`);
  writeFileSync(file, 'server-side decorations\n');
  const app = spawnManaged('mousepad', [file], { env: clientEnv(p.env, { GDK_BACKEND: 'wayland', NO_AT_BRIDGE: '1', HOME: home, XDG_CONFIG_HOME: join(home, '.config'), DBUS_SESSION_BUS_ADDRESS: 'disabled:' }) });
  try {
    for (let i = 0; i < 100 && (await windowOf(title)) === undefined; i++) await sleep(100);
    await sleep(1000); // GTK sizes its window after the first configure
    return await windowOf(title);
  } finally {
    await app.stop();
    await p.stop();
    rmSync(home, { recursive: true, force: true });
  }
}

t.test('a GTK3 window gets server-side decorations through the pair (KDE server-decoration)', { skip: mousepad ? false : 'mousepad is not installed (scripts/ensure-setup.sh installs it)' }, async (t) => {
  const ssd = await gtkWindow({}, 'wayvio-ssd');
  const csd = await gtkWindow({ deny: ['org_kde_kwin_server_decoration_manager'] }, 'wayvio-csd');
  t.ok(ssd?.geometry !== undefined && csd?.geometry !== undefined, 'both windows mapped through the pair');
  // GTK3's own title bar is part of its window geometry: the same window is that much taller when GTK draws it
  const titleBar = (csd?.geometry?.height ?? 0) - (ssd?.geometry?.height ?? 0);
  t.equal(csd?.geometry?.width, ssd?.geometry?.width, 'the same width both ways');
  t.ok(titleBar >= 20, `without the KDE global GTK3 draws its own title bar (${titleBar} px more: ${JSON.stringify(csd?.geometry)} against ${JSON.stringify(ssd?.geometry)})`);
});
