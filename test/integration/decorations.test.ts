// Decorations through the proxy pair on sway 1.7: the KDE request that segfaults sway is dropped, a second xdg decoration refused.
import t from 'tap';
import { checkFdLeaks } from '../helpers/fd-leak';
import { startSway, type Compositor } from '../../harness/compositors';
import { startProxyPair, type ProxyPair } from '../helpers/proxy-pair';
import { RawClient } from '../helpers/raw-client';
import { waylandInfo } from '../../harness/test-clients';

checkFdLeaks(t);

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

t.test('a second xdg decoration for one toplevel is refused with already_constructed', async (t) => {
  const { c, o } = await decoratedClient();
  c.send(o.xdgDeco, 'get_toplevel_decoration', [0, o.toplevel]);
  c.send(o.xdgDeco, 'get_toplevel_decoration', [0, o.toplevel]);
  t.ok(await c.until(() => c.error() !== undefined), 'wl_display.error');
  t.match(c.error()?.args, [o.xdgDeco, 1, /already_constructed|has zxdg_toplevel_decoration_v1/], 'on the manager, code 1 (already_constructed)');
  c.close();
  t.equal(sway.exitStatus(), undefined, 'sway is still running');
});
