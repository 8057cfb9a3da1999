// IdleInhibitors without a compositor: an inhibitor of a sub-surface goes to its tree's root; a surface with one cannot become a sub-surface.
import t from 'tap';
import { IdleInhibitors } from '../../host-proxy/model/idle-inhibitors';
import { SurfaceRoles } from '../../host-proxy/model/surface-roles';
import { ProtocolError } from '../../protocol/protocol-error';

const [SUBCOMPOSITOR, ROOT, MIDDLE, LEAF, OTHER] = [3, 10, 11, 12, 13];

function tree(): { roles: SurfaceRoles; inhibitors: IdleInhibitors } {
  const roles = new SurfaceRoles();
  const inhibitors = new IdleInhibitors(roles);
  roles.request('wl_subcompositor.get_subsurface', SUBCOMPOSITOR, [20, MIDDLE, ROOT]);
  roles.request('wl_subcompositor.get_subsurface', SUBCOMPOSITOR, [21, LEAF, MIDDLE]);
  return { roles, inhibitors };
}

t.test('create_inhibitor on a sub-surface is sent for the root of its tree', async (t) => {
  const { inhibitors } = tree();
  t.same(inhibitors.rewrite('zwp_idle_inhibit_manager_v1.create_inhibitor', [30, LEAF]), [30, ROOT], 'two levels up');
  t.equal(inhibitors.rewrite('zwp_idle_inhibit_manager_v1.create_inhibitor', [31, ROOT]), null, 'a root surface as it came');
  t.equal(inhibitors.rewrite('zwp_idle_inhibit_manager_v1.create_inhibitor', [32, OTHER]), null, 'a surface without a tree as it came');
  t.equal(inhibitors.rewrite('wl_surface.commit', []), null, 'other requests untouched');
});

t.test('a surface the compositor has an inhibitor on may not become a sub-surface until the inhibitor goes', async (t) => {
  const { roles, inhibitors } = tree();
  inhibitors.rewrite('zwp_idle_inhibit_manager_v1.create_inhibitor', [30, LEAF]); // lands on ROOT
  const subsurfaceOfOther = (): void => {
    roles.request('wl_subcompositor.get_subsurface', SUBCOMPOSITOR, [22, ROOT, OTHER]);
    inhibitors.request('wl_subcompositor.get_subsurface', SUBCOMPOSITOR, [22, ROOT, OTHER]);
  };
  t.throws(() => inhibitors.request('wl_subcompositor.get_subsurface', SUBCOMPOSITOR, [22, ROOT, OTHER]), ProtocolError, 'refused while zwp_idle_inhibitor_v1#30 is on it');
  inhibitors.request('zwp_idle_inhibitor_v1.destroy', 30, []);
  t.doesNotThrow(subsurfaceOfOther, 'allowed once it is destroyed');
  t.doesNotThrow(() => inhibitors.request('wl_subcompositor.get_subsurface', SUBCOMPOSITOR, [23, OTHER, 99]), 'other surfaces are free');
});

t.test('an inhibitor whose surface was destroyed no longer holds the surface id', async (t) => {
  const { inhibitors } = tree();
  inhibitors.rewrite('zwp_idle_inhibit_manager_v1.create_inhibitor', [32, OTHER]);
  inhibitors.request('wl_surface.destroy', OTHER, []);
  t.doesNotThrow(() => inhibitors.request('wl_subcompositor.get_subsurface', SUBCOMPOSITOR, [24, OTHER, ROOT]), 'a new surface with the reused id is free');
});
