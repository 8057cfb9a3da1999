// XdgPopups without a compositor: dismissal before a parent goes, the ids it keeps for the guest, and its refusals.
import t from 'tap';
import { XdgPopups, type HostOutcome } from '../../host-proxy/model/xdg-popups';
import { ProtocolRegistry } from '../../protocol/registry';
import { encodeMessage } from '../../protocol/wire-codec';
import { wholeMessages } from '../helpers/wire-messages';

const registry = ProtocolRegistry.builtin();
const WM = 7;
type Request = [string, number, (number | null)[]];

/** A toplevel: wl_surface `surface`, xdg_surface `xs`, xdg_toplevel `top`. */
const toplevel = (surface: number, xs: number, top: number): Request[] => [['xdg_wm_base.get_xdg_surface', WM, [xs, surface]], ['xdg_surface.get_toplevel', xs, [top]]];
/** A popup of xdg_surface `parentXs`: wl_surface `surface`, xdg_surface `xs`, xdg_popup `popup` (positioner 99). */
const popup = (surface: number, xs: number, popupId: number, parentXs: number | null): Request[] => [['xdg_wm_base.get_xdg_surface', WM, [xs, surface]], ['xdg_surface.get_popup', xs, [popupId, parentXs, 99]]];

/** Runs the requests; returns the outcome of the last one. */
function run(popups: XdgPopups, requests: Request[]): HostOutcome | null {
  let last: HostOutcome | null = null;
  for (const [name, id, args] of requests) last = popups.request(name, id, args);
  return last;
}

/** "object.message" for each message in `bytes`, by the interface `ifaceOf` gives each object. */
function names(messages: Uint8Array[], kind: 'requests' | 'events', ifaceOf: (id: number) => string): string[] {
  return messages.flatMap((bytes) => wholeMessages(bytes)).map((m) => {
    const iface = ifaceOf(m.objectId);
    const spec = registry.interface(iface)![kind][m.opcode];
    const arg = spec.name === 'delete_id' ? `(${new DataView(m.bytes.buffer, m.bytes.byteOffset).getUint32(8, true)})` : '';
    return `${iface}#${m.objectId}.${spec.name}${arg}`;
  });
}
const popupOrDisplay = (id: number): string => (id === 1 ? 'wl_display' : 'xdg_popup');

function deleteId(id: number): Uint8Array {
  const spec = registry.interface('wl_display')!.events[1];
  return encodeMessage(1, 1, spec, [id]).bytes;
}

t.test('destroying a toplevel dismisses its popups first, deepest and newest first', async (t) => {
  const popups = new XdgPopups(registry);
  // t (xs 20, top 21); p1 (xs 30, popup 31) of t; p2 (xs 40, popup 41) of p1; p3 (xs 50, popup 51) of t, newer than p1
  const out = run(popups, [...toplevel(10, 20, 21), ...popup(11, 30, 31, 20), ...popup(12, 40, 41, 30), ...popup(13, 50, 51, 20), ['xdg_toplevel.destroy', 21, []]]);
  if (out === null) throw new Error('no outcome');
  t.equal(out.drop, false, 'the toplevel destroy itself goes on');
  t.same(names(out.before, 'requests', popupOrDisplay), ['xdg_popup#51.destroy', 'xdg_popup#41.destroy', 'xdg_popup#31.destroy'], 'towards the compositor, before it');
  t.same(names(out.toGuest, 'events', popupOrDisplay), ['xdg_popup#51.popup_done', 'xdg_popup#41.popup_done', 'xdg_popup#31.popup_done'], 'the guest is told');
  t.same(out.freed, [], 'the guest\'s popups live on');
});

t.test('the compositor\'s answers to those destroys are swallowed; the guest\'s own destroys are answered by the host', async (t) => {
  const popups = new XdgPopups(registry);
  run(popups, [...toplevel(10, 20, 21), ...popup(11, 30, 31, 20), ['xdg_toplevel.destroy', 21, []]]);
  const configure = encodeMessage(31, 0, registry.interface('xdg_popup')!.events[0], [0, 0, 32, 32]).bytes;
  t.ok(popups.swallowsEvent(31, 0, configure), 'a configure of the popup sent before the compositor read the destroy');
  t.notOk(popups.swallowsEvent(1, 1, deleteId(21)), 'the toplevel\'s delete_id goes on');
  t.ok(popups.swallowsEvent(1, 1, deleteId(31)), 'the popup\'s delete_id is swallowed');
  t.notOk(popups.swallowsEvent(1, 1, deleteId(31)), '... once');
  t.notOk(popups.swallowsEvent(31, 0, configure), 'after it, the id may be a new object\'s');

  t.same(popups.request('xdg_surface.ack_configure', 30, [5]), { before: [], toGuest: [], drop: true, freed: [] }, 'ack_configure on the dismissed popup\'s xdg_surface is dropped (weston freed it)');
  t.equal(popups.request('xdg_popup.grab', 31, [3, 1])?.drop, true, 'grab on the dismissed popup is dropped');
  t.equal(popups.request('xdg_popup.reposition', 31, [99, 1])?.drop, true, 'reposition too');
  const destroyed = popups.request('xdg_popup.destroy', 31, []);
  t.equal(destroyed?.drop, true, 'its destroy does not reach the compositor');
  t.same(names(destroyed?.toGuest ?? [], 'events', popupOrDisplay), ['wl_display#1.delete_id(31)'], 'the guest gets its delete_id from the host');
  t.same(destroyed?.freed, [31], 'and the host frees the id');
  t.equal(popups.request('xdg_surface.destroy', 30, []), null, 'the popup\'s xdg_surface goes to the compositor as usual');
});

t.test('the guest may destroy the popup before the compositor\'s delete_id arrives, and reuse its id', async (t) => {
  const popups = new XdgPopups(registry);
  run(popups, [...toplevel(10, 20, 21), ...popup(11, 30, 31, 20), ['xdg_toplevel.destroy', 21, []], ['xdg_popup.destroy', 31, []]]);
  t.equal(run(popups, toplevel(12, 31, 32)), null, 'id 31 is now an xdg_surface');
  t.ok(popups.swallowsEvent(1, 1, deleteId(31)), 'the late delete_id of the old popup is still swallowed');
  t.notOk(popups.swallowsEvent(1, 1, deleteId(31)), 'the next one (the new object\'s) is not');
});

t.test('refusals with the XML error', async (t) => {
  const refusal = (requests: Request[]): string => {
    try {
      run(new XdgPopups(registry), requests);
    } catch (e) {
      return (e as Error).message;
    }
    return 'accepted';
  };
  t.match(refusal([...toplevel(10, 20, 21), ...popup(11, 30, 31, 20), ...popup(12, 40, 41, 30), ['xdg_popup.destroy', 31, []]]),
    /xdg_popup#31.destroy: xdg_popup#41 is a popup of it \(xdg_wm_base\.not_the_topmost_popup\)/, 'a popup destroyed before its child popup');
  t.match(refusal([...toplevel(10, 20, 21), ['xdg_toplevel.destroy', 21, []], ...popup(11, 30, 31, 20)]),
    /parent xdg_surface#20 has no live xdg_toplevel or xdg_popup \(xdg_wm_base\.invalid_popup_parent\)/, 'a parent whose role object is gone');
  t.match(refusal([['xdg_wm_base.get_xdg_surface', WM, [20, 10]], ...popup(11, 30, 31, 20)]), /invalid_popup_parent/, 'a parent without a role');
  t.match(refusal([...toplevel(10, 20, 21), ['xdg_toplevel.destroy', 21, []], ['xdg_surface.set_window_geometry', 20, [0, 0, 10, 10]]]),
    /xdg_surface#20.set_window_geometry: its role object was destroyed \(xdg_surface\.not_constructed\)/, 'a request to an xdg_surface whose toplevel the guest destroyed');
  t.match(refusal([...toplevel(10, 20, 21), ...popup(11, 30, 31, 20), ['xdg_popup.destroy', 31, []], ['xdg_surface.ack_configure', 30, [1]]]), /not_constructed/, '... or whose popup it destroyed');
  t.match(refusal([...toplevel(10, 20, 21), ...popup(11, 30, 31, 20), ['xdg_toplevel.destroy', 21, []], ...popup(12, 40, 41, 30)]), /invalid_popup_parent/, 'a dismissed parent popup');
});

t.test('what real clients do passes unchanged', async (t) => {
  const popups = new XdgPopups(registry);
  const requests: Request[] = [
    ...toplevel(10, 20, 21), ...popup(11, 30, 31, 20), ...popup(12, 40, 41, 30),
    ['xdg_surface.ack_configure', 40, [3]], ['xdg_popup.grab', 41, [5, 1]],
    ['xdg_popup.destroy', 41, []], ['xdg_surface.destroy', 40, []], ['xdg_popup.destroy', 31, []], ['xdg_surface.destroy', 30, []],
    ['xdg_toplevel.destroy', 21, []], ['xdg_surface.destroy', 20, []],
    ...popup(13, 50, 51, null),
  ];
  for (const [name, id, args] of requests) t.equal(popups.request(name, id, args), null, `${name} on #${id}`);
  t.notOk(popups.swallowsEvent(1, 1, deleteId(41)), 'delete_ids go on');
});
