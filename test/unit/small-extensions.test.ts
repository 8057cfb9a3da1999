// SmallExtensions without a compositor: one extension object per surface, viewport values, constraints and activation tokens.
import t from 'tap';
import { SmallExtensions } from '../../host-proxy/model/small-extensions';
import { ProtocolError } from '../../protocol/protocol-error';

type Req = [string, number, (number | string | null)[]];

/** Sends requests in order; returns the entry the first refusal names ('none' if nothing is refused). */
function firstRefusal(x: SmallExtensions, requests: Req[]): string {
  for (const [name, id, args] of requests) {
    try {
      x.request(name, id, args);
    } catch (e) {
      if (e instanceof ProtocolError) return e.posted?.entry ?? 'no entry';
      throw e;
    }
  }
  return 'none';
}

t.test('one extension object per surface, free again after destroy or with a new surface', async (t) => {
  const managers: [string, string, string][] = [
    ['wp_viewporter.get_viewport', 'wp_viewport.destroy', 'wp_viewporter.viewport_exists'],
    ['wp_fractional_scale_manager_v1.get_fractional_scale', 'wp_fractional_scale_v1.destroy', 'wp_fractional_scale_manager_v1.fractional_scale_exists'],
    ['wp_content_type_manager_v1.get_surface_content_type', 'wp_content_type_v1.destroy', 'wp_content_type_manager_v1.already_constructed'],
    ['wp_tearing_control_manager_v1.get_tearing_control', 'wp_tearing_control_v1.destroy', 'wp_tearing_control_manager_v1.tearing_control_exists'],
  ];
  for (const [get, destroy, entry] of managers) {
    t.equal(firstRefusal(new SmallExtensions(), [[get, 5, [20, 11]], [get, 5, [21, 11]]]), entry, `${entry}: twice on one surface`);
    t.equal(firstRefusal(new SmallExtensions(), [[get, 5, [20, 11]], [get, 5, [21, 12]]]), 'none', `${get}: two surfaces`);
    t.equal(firstRefusal(new SmallExtensions(), [[get, 5, [20, 11]], [destroy, 20, []], [get, 5, [21, 11]]]), 'none', `${get}: after destroy`);
    t.equal(firstRefusal(new SmallExtensions(), [[get, 5, [20, 11]], ['wl_surface.destroy', 11, []], [get, 5, [21, 11]]]), 'none', `${get}: a new surface under the id`);
  }
  const x = new SmallExtensions();
  x.request('wp_viewporter.get_viewport', 5, [20, 11]);
  try {
    x.request('wp_viewporter.get_viewport', 5, [21, 11]);
    t.fail('refused');
  } catch (e) {
    t.equal((e as ProtocolError).posted?.objectId, 5, 'posted on the manager');
    t.match((e as Error).message, /^wp_viewporter#5\.get_viewport: wl_surface#11 has wp_viewport#20 already \(wp_viewporter\.viewport_exists\)/);
  }
});

t.test('wp_viewport values: -1 unsets, otherwise a non-negative origin and a positive size (wp_viewport.bad_value)', async (t) => {
  const vp: Req = ['wp_viewporter.get_viewport', 5, [20, 11]];
  const ok: Req[] = [
    ['wp_viewport.set_source', 20, [-1, -1, -1, -1]], ['wp_viewport.set_source', 20, [0, 0, 0.5, 10]], ['wp_viewport.set_source', 20, [2.25, 3, 100, 40.5]],
    ['wp_viewport.set_destination', 20, [-1, -1]], ['wp_viewport.set_destination', 20, [1, 1]],
  ];
  t.equal(firstRefusal(new SmallExtensions(), [vp, ...ok]), 'none');
  const bad: Req[] = [
    ['wp_viewport.set_source', 20, [-1, -1, -1, 5]], ['wp_viewport.set_source', 20, [-0.5, 0, 10, 10]], ['wp_viewport.set_source', 20, [0, 0, 0, 10]],
    ['wp_viewport.set_source', 20, [0, 0, 10, -2]], ['wp_viewport.set_destination', 20, [-1, 5]], ['wp_viewport.set_destination', 20, [0, 5]],
    ['wp_viewport.set_destination', 20, [5, -3]],
  ];
  for (const r of bad) t.equal(firstRefusal(new SmallExtensions(), [vp, r]), 'wp_viewport.bad_value', JSON.stringify(r));
});

t.test('wp_viewport requests after the wl_surface is gone are wp_viewport.no_surface; destroy is fine', async (t) => {
  const start: Req[] = [['wp_viewporter.get_viewport', 5, [20, 11]], ['wl_surface.destroy', 11, []]];
  t.equal(firstRefusal(new SmallExtensions(), [...start, ['wp_viewport.set_source', 20, [-1, -1, -1, -1]]]), 'wp_viewport.no_surface');
  t.equal(firstRefusal(new SmallExtensions(), [...start, ['wp_viewport.set_destination', 20, [10, 10]]]), 'wp_viewport.no_surface');
  t.equal(firstRefusal(new SmallExtensions(), [...start, ['wp_viewport.destroy', 20, []], ['wp_viewporter.get_viewport', 5, [20, 11]], ['wp_viewport.set_destination', 20, [10, 10]]]), 'none', 'ids reused afterwards');
});

t.test('one pointer constraint per surface and pointer (zwp_pointer_constraints_v1.already_constrained)', async (t) => {
  const lock = (id: number, surface: number, pointer: number, lifetime = 2): Req => ['zwp_pointer_constraints_v1.lock_pointer', 5, [id, surface, pointer, null, lifetime]];
  const confine = (id: number, surface: number, pointer: number, lifetime = 2): Req => ['zwp_pointer_constraints_v1.confine_pointer', 5, [id, surface, pointer, null, lifetime]];
  t.equal(firstRefusal(new SmallExtensions(), [lock(20, 11, 7), confine(21, 11, 7)]), 'zwp_pointer_constraints_v1.already_constrained');
  t.equal(firstRefusal(new SmallExtensions(), [confine(20, 11, 7), confine(21, 11, 7)]), 'zwp_pointer_constraints_v1.already_constrained');
  t.equal(firstRefusal(new SmallExtensions(), [lock(20, 11, 7), lock(21, 12, 7), lock(22, 11, 8)]), 'none', 'other surfaces and pointers');
  t.equal(firstRefusal(new SmallExtensions(), [lock(20, 11, 7), ['zwp_locked_pointer_v1.destroy', 20, []], lock(21, 11, 7)]), 'none', 'after destroy');
  t.equal(firstRefusal(new SmallExtensions(), [lock(20, 11, 7), ['wl_surface.destroy', 11, []], lock(21, 11, 7)]), 'none', 'a new surface under the id');
  const oneshot = new SmallExtensions();
  oneshot.request(...lock(20, 11, 7, 1));
  oneshot.event('zwp_locked_pointer_v1.unlocked', 20);
  t.equal(firstRefusal(oneshot, [lock(21, 11, 7)]), 'none', 'a oneshot lock that ended is dead');
  const persistent = new SmallExtensions();
  persistent.request(...confine(20, 11, 7, 2));
  persistent.event('zwp_confined_pointer_v1.unconfined', 20);
  t.equal(firstRefusal(persistent, [confine(21, 11, 7)]), 'zwp_pointer_constraints_v1.already_constrained', 'a persistent one lives on');
});

t.test('an activation token is committed once (xdg_activation_token_v1.already_used)', async (t) => {
  const setup: Req[] = [['xdg_activation_token_v1.set_app_id', 20, ['foot']], ['xdg_activation_token_v1.set_surface', 20, [11]], ['xdg_activation_token_v1.commit', 20, []]];
  for (const after of [['xdg_activation_token_v1.commit', 20, []], ['xdg_activation_token_v1.set_serial', 20, [3, 9]], ['xdg_activation_token_v1.set_app_id', 20, ['x']], ['xdg_activation_token_v1.set_surface', 20, [11]]] as Req[]) {
    t.equal(firstRefusal(new SmallExtensions(), [...setup, after]), 'xdg_activation_token_v1.already_used', after[0]);
  }
  t.equal(firstRefusal(new SmallExtensions(), [...setup, ['xdg_activation_token_v1.destroy', 20, []], ['xdg_activation_token_v1.commit', 20, []]]), 'none', 'a new token under the id');
});
