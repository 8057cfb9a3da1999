// SurfaceRoles without a compositor: one role per surface, a sub-surface tree without cycles, placement among siblings only.
import t from 'tap';
import { SurfaceRoles } from '../../host-proxy/model/surface-roles';

const SUBCOMP = 5;
const WM = 6;

/** Runs requests in order; returns the first refusal's message, or null. */
function run(roles: SurfaceRoles, requests: [string, number, (number | null)[]][]): string | null {
  for (const [name, id, args] of requests) {
    try {
      roles.request(name, id, args);
    } catch (e) {
      return (e as Error).message;
    }
  }
  return null;
}

const sub = (subId: number, surface: number, parent: number): [string, number, number[]] => ['wl_subcompositor.get_subsurface', SUBCOMP, [subId, surface, parent]];
const destroy = (surface: number): [string, number, number[]] => ['wl_surface.destroy', surface, []];

t.test('the crash sequences of docs/compositor-crashes.md are refused with the XML error', async (t) => {
  const cases: [string, [string, number, (number | null)[]][], RegExp][] = [
    ['C1: siblings after their parent is gone', [sub(20, 11, 10), sub(21, 12, 10), destroy(10), ['wl_subsurface.place_above', 20, [12]]], /no parent or siblings \(wl_subsurface\.bad_surface\)/],
    ['C2: a new surface after the parent is gone', [sub(20, 11, 10), destroy(10), ['wl_subsurface.place_below', 20, [13]]], /no parent or siblings/],
    ['C3: the grandparent after the middle surface is gone', [sub(20, 11, 10), sub(21, 12, 11), destroy(11), ['wl_subsurface.place_above', 21, [10]]], /no parent or siblings/],
    ['C4/C5: a surface with an xdg_surface becomes a sub-surface', [['xdg_wm_base.get_xdg_surface', WM, [30, 11]], sub(20, 11, 10)], /has an xdg_surface \(wl_subcompositor\.bad_surface\)/],
    ['its own parent', [sub(20, 10, 10)], /cannot be its own parent \(wl_subcompositor\.bad_surface\)/],
    ['a cycle through the root', [sub(20, 11, 10), sub(21, 10, 11)], /ancestor of its parent.*\(wl_subcompositor\.bad_surface\)/],
    ['a cycle through a grandchild', [sub(20, 11, 10), sub(21, 12, 11), sub(22, 10, 12)], /ancestor of its parent/],
    ['a cycle after unparenting', [sub(20, 11, 10), sub(21, 12, 11), ['wl_subsurface.destroy', 20, []], sub(22, 11, 12)], /ancestor of its parent/],
    ['a sub-surface twice', [sub(20, 11, 10), sub(21, 11, 10)], /is a sub-surface already/],
    ['a non-sibling', [sub(20, 11, 10), ['wl_subsurface.place_above', 20, [13]]], /neither its parent nor a sibling/],
    ['itself', [sub(20, 11, 10), ['wl_subsurface.place_below', 20, [11]]], /neither its parent nor a sibling/],
    ['a nephew', [sub(20, 11, 10), sub(21, 12, 10), sub(22, 13, 11), ['wl_subsurface.place_above', 21, [13]]], /neither its parent nor a sibling/],
    ['placement of an inert sub-surface', [sub(20, 11, 10), destroy(11), ['wl_subsurface.place_above', 20, [10]]], /its wl_surface was destroyed/],
    ['a sub-surface gets an xdg_surface', [sub(20, 11, 10), ['xdg_wm_base.get_xdg_surface', WM, [30, 11]]], /has the wl_subsurface role, not xdg_surface \(xdg_wm_base\.role\)/],
    ['two xdg_surfaces', [['xdg_wm_base.get_xdg_surface', WM, [30, 11]], ['xdg_wm_base.get_xdg_surface', WM, [31, 11]]], /has an xdg_surface already/],
    ['a cursor becomes a sub-surface', [['wl_pointer.set_cursor', 40, [0, 11, 0, 0]], sub(20, 11, 10)], /has the cursor role, not wl_subsurface/],
    ['a sub-surface becomes a cursor', [sub(20, 11, 10), ['wl_pointer.set_cursor', 40, [0, 11, 0, 0]]], /has the wl_subsurface role, not cursor \(wl_pointer\.role\)/],
    ['a sub-surface becomes a drag icon', [sub(20, 11, 10), ['wl_data_device.start_drag', 41, [50, 10, 11, 0]]], /\(wl_data_device\.role\)/],
  ];
  for (const [what, requests, want] of cases) t.match(run(new SurfaceRoles(), requests), want, what);
});

t.test('what real clients do passes', async (t) => {
  const cases: [string, [string, number, (number | null)[]][]][] = [
    ['a tree, restacked among siblings and against the parent', [sub(20, 11, 10), sub(21, 12, 10), sub(22, 13, 11), ['wl_subsurface.place_above', 20, [12]], ['wl_subsurface.place_below', 21, [10]], ['wl_subsurface.place_above', 22, [11]]]],
    ['a sub-surface destroyed and made again, elsewhere', [sub(20, 11, 10), ['wl_subsurface.destroy', 20, []], sub(21, 11, 12)]],
    ['children destroyed before their parent, then the parent', [sub(20, 11, 10), ['wl_subsurface.destroy', 20, []], destroy(11), destroy(10)]],
    ['the parent destroyed first; the orphan only moved and destroyed', [sub(20, 11, 10), destroy(10), ['wl_subsurface.set_position', 20, [1, 1]], ['wl_subsurface.destroy', 20, []], destroy(11)]],
    ['the same cursor surface set again, a null cursor', [['wl_pointer.set_cursor', 40, [1, 11, 0, 0]], ['wl_pointer.set_cursor', 40, [2, 11, 1, 1]], ['wl_pointer.set_cursor', 40, [3, 0, 0, 0]]]],
    ['an xdg_surface destroyed and made again', [['xdg_wm_base.get_xdg_surface', WM, [30, 11]], ['xdg_surface.destroy', 30, []], ['xdg_wm_base.get_xdg_surface', WM, [31, 11]]]],
    ['a drag without icon', [['wl_data_device.start_drag', 41, [50, 10, null, 0]]]],
    ['ids of destroyed surfaces come back as new surfaces', [sub(20, 11, 10), destroy(11), ['wl_subsurface.destroy', 20, []], ['wl_pointer.set_cursor', 40, [1, 11, 0, 0]]]],
  ];
  for (const [what, requests] of cases) t.equal(run(new SurfaceRoles(), requests), null, what);
});
