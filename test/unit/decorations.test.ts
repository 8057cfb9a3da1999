// Decorations without a compositor: one xdg decoration per toplevel, KDE modes and counts, and the request sway 1.7 crashes on dropped.
import t from 'tap';
import { Decorations, DECORATION_ERRORS, MAX_KDE_DECORATIONS_PER_SURFACE } from '../../host-proxy/model/decorations';
import { ProtocolError } from '../../protocol/protocol-error';

const MANAGER = 5;
const KDE = 6;

/** The refusal `fn` throws, or undefined. */
function refusal(fn: () => void): ProtocolError | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof ProtocolError) return e;
    throw e;
  }
  return undefined;
}

t.test('a second xdg decoration for a toplevel is already_constructed', async (t) => {
  const d = new Decorations();
  d.request('zxdg_decoration_manager_v1.get_toplevel_decoration', MANAGER, [20, 11]);
  const err = refusal(() => d.request('zxdg_decoration_manager_v1.get_toplevel_decoration', MANAGER, [21, 11]));
  t.equal(err?.posted?.entry, 'zxdg_toplevel_decoration_v1.already_constructed');
  t.equal(err?.posted?.objectId, MANAGER);
  t.match(err?.message, /^zxdg_decoration_manager_v1#5\.get_toplevel_decoration: xdg_toplevel#11 has zxdg_toplevel_decoration_v1#20 already/);
  t.equal(refusal(() => d.request('zxdg_decoration_manager_v1.get_toplevel_decoration', MANAGER, [21, 12])), undefined, 'another toplevel may have one');
});

t.test('after the decoration is destroyed, or the toplevel (orphaned, left to the compositor), a new one may be made', async (t) => {
  const d = new Decorations();
  d.request('zxdg_decoration_manager_v1.get_toplevel_decoration', MANAGER, [20, 11]);
  d.request('zxdg_toplevel_decoration_v1.destroy', 20, []);
  t.equal(refusal(() => d.request('zxdg_decoration_manager_v1.get_toplevel_decoration', MANAGER, [21, 11])), undefined, 'after destroy');
  t.equal(refusal(() => d.request('xdg_toplevel.destroy', 11, [])), undefined, 'the toplevel may go first: toolkits do');
  t.equal(refusal(() => d.request('zxdg_toplevel_decoration_v1.set_mode', 21, [2])), undefined);
  t.equal(refusal(() => d.request('zxdg_decoration_manager_v1.get_toplevel_decoration', MANAGER, [22, 11])), undefined, 'a new toplevel under the reused id');
  t.equal(DECORATION_ERRORS['zxdg_toplevel_decoration_v1.orphaned']?.enforcedBy, 'compositor');
});

t.test('KDE: request_mode within None, Client, Server', async (t) => {
  const d = new Decorations();
  d.request('org_kde_kwin_server_decoration_manager.create', KDE, [30, 11]);
  for (const mode of [0, 1, 2]) t.equal(refusal(() => d.request('org_kde_kwin_server_decoration.request_mode', 30, [mode])), undefined, `mode ${mode}`);
  const err = refusal(() => d.request('org_kde_kwin_server_decoration.request_mode', 30, [7]));
  t.match(err?.message, /org_kde_kwin_server_decoration#30\.request_mode: mode 7 is not None \(0\), Client \(1\) or Server \(2\)/);
  t.equal(err?.posted, undefined, 'the protocol defines no error: the guest gets a generic one');
});

t.test('KDE: a bounded number of live decorations per surface; released ones do not count', async (t) => {
  const d = new Decorations();
  for (let i = 0; i < MAX_KDE_DECORATIONS_PER_SURFACE; i++) d.request('org_kde_kwin_server_decoration_manager.create', KDE, [30 + i, 11]);
  t.match(refusal(() => d.request('org_kde_kwin_server_decoration_manager.create', KDE, [50, 11]))?.message, /wl_surface#11 has 8 live org_kde_kwin_server_decoration objects already/);
  d.request('org_kde_kwin_server_decoration.release', 30, []);
  t.equal(refusal(() => d.request('org_kde_kwin_server_decoration_manager.create', KDE, [50, 11])), undefined);
  t.equal(refusal(() => d.request('org_kde_kwin_server_decoration_manager.create', KDE, [51, 12])), undefined, 'another surface');
});

t.test('KDE: request_mode after the wl_surface is destroyed is dropped (sway 1.7 segfaults on it)', async (t) => {
  const d = new Decorations();
  d.request('org_kde_kwin_server_decoration_manager.create', KDE, [30, 11]);
  t.equal(d.drops('org_kde_kwin_server_decoration.request_mode', 30), false, 'forwarded while the surface lives');
  d.request('wl_surface.destroy', 11, []);
  t.equal(d.drops('org_kde_kwin_server_decoration.request_mode', 30), true);
  t.equal(d.drops('org_kde_kwin_server_decoration.release', 30), false, 'release still goes to the compositor');
  d.request('org_kde_kwin_server_decoration.release', 30, []);
  t.equal(d.drops('org_kde_kwin_server_decoration.request_mode', 30), false, 'the id may be reused');
});
