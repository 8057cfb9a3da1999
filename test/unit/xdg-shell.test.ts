// XdgShell (and XdgPopups' two xdg_wm_base refusals) without a compositor: each xdg-shell error entry the host enforces, and what real clients send.
import t from 'tap';
import { QuotaError } from '../../host-proxy/host-pools';
import { CEILINGS } from '../../host-proxy/model/ceilings';
import { XdgShell, XDG_SHELL_ERRORS } from '../../host-proxy/model/xdg-shell';
import { XdgPopups } from '../../host-proxy/model/xdg-popups';
import { ProtocolError } from '../../protocol/protocol-error';
import { ProtocolRegistry } from '../../protocol/registry';

const registry = ProtocolRegistry.builtin();
const WM = 7;
const POS = 99;
const BUFFER = 500;
/** A request, or a compositor event (`<-` first). */
type Step = [string, number, (number | null)[]] | ['<-', string, number, (number | null)[]];

/** A complete positioner POS. */
const positioner: Step[] = [['xdg_wm_base.create_positioner', WM, [POS]], ['xdg_positioner.set_size', POS, [10, 10]], ['xdg_positioner.set_anchor_rect', POS, [0, 0, 1, 1]]];
/** An xdg_surface `xs` with a toplevel `top` on wl_surface `surface`, initial commit done, configure `serial` sent. */
const toplevel = (surface: number, xs: number, top: number, serial = 1): Step[] => [
  ['xdg_wm_base.get_xdg_surface', WM, [xs, surface]], ['xdg_surface.get_toplevel', xs, [top]], ['wl_surface.commit', surface, []],
  ['<-', 'xdg_surface.configure', xs, [serial]],
];
/** Acks `serial`, attaches a buffer and commits: the surface is mapped. */
const map = (surface: number, xs: number, serial = 1): Step[] => [['xdg_surface.ack_configure', xs, [serial]], ['wl_surface.attach', surface, [BUFFER, 0, 0]], ['wl_surface.commit', surface, []]];
/** A popup `popup` of xdg_surface `parentXs` (positioner POS, which must exist). */
const popup = (surface: number, xs: number, popupId: number, parentXs: number): Step[] => [['xdg_wm_base.get_xdg_surface', WM, [xs, surface]], ['xdg_surface.get_popup', xs, [popupId, parentXs, POS]]];

function run(shell: XdgShell, steps: Step[], popups?: XdgPopups): void {
  for (const step of steps) {
    if (step.length === 4) shell.event(step[1], step[2], step[3]);
    else {
      shell.request(step[0], step[1], step[2]);
      popups?.request(step[0], step[1], step[2]);
    }
  }
}

/** The ProtocolError the last step raises; every step before it must pass. */
function refusal(steps: Step[], withPopups = false): ProtocolError {
  const shell = new XdgShell();
  const popups = withPopups ? new XdgPopups(registry) : undefined;
  run(shell, steps.slice(0, -1), popups);
  try {
    run(shell, steps.slice(-1), popups);
  } catch (e) {
    if (e instanceof ProtocolError) return e;
    throw e;
  }
  throw new Error(`accepted: ${JSON.stringify(steps[steps.length - 1])}`);
}

t.test('xdg_positioner.invalid_input and xdg_wm_base.invalid_positioner', async (t) => {
  const pos = (step: Step): Step[] => [['xdg_wm_base.create_positioner', WM, [POS]], step];
  t.equal(refusal(pos(['xdg_positioner.set_size', POS, [0, 10]])).posted?.entry, 'xdg_positioner.invalid_input', 'set_size with zero width');
  t.equal(refusal(pos(['xdg_positioner.set_size', POS, [10, -1]])).posted?.entry, 'xdg_positioner.invalid_input', 'set_size with negative height');
  const e = refusal(pos(['xdg_positioner.set_anchor_rect', POS, [0, 0, -1, 1]]));
  t.equal(e.posted?.entry, 'xdg_positioner.invalid_input', 'set_anchor_rect with a negative width');
  t.equal(e.posted?.objectId, POS, 'posted on the positioner');
  t.equal(refusal(pos(['xdg_positioner.set_gravity', POS, [9]])).posted?.entry, 'xdg_positioner.invalid_input', 'a gravity outside the enum');
  t.equal(refusal(pos(['xdg_positioner.set_anchor', POS, [42]])).posted?.entry, 'xdg_positioner.invalid_input', 'an anchor outside the enum');

  const noAnchor: Step[] = [...toplevel(10, 20, 21), ['xdg_wm_base.create_positioner', WM, [POS]], ['xdg_positioner.set_size', POS, [10, 10]], ...popup(11, 30, 31, 20)];
  const incomplete = refusal(noAnchor);
  t.equal(incomplete.posted?.entry, 'xdg_wm_base.invalid_positioner', 'get_popup with a positioner without anchor rect');
  t.equal(incomplete.posted?.objectId, WM, 'posted on the xdg_wm_base');
  const noSize: Step[] = [...toplevel(10, 20, 21), ['xdg_wm_base.create_positioner', WM, [POS]], ['xdg_positioner.set_anchor_rect', POS, [0, 0, 0, 0]], ...popup(11, 30, 31, 20)];
  t.equal(refusal(noSize).posted?.entry, 'xdg_wm_base.invalid_positioner', 'get_popup with a positioner without size (a zero anchor rect is left to the compositor)');
  const reposition: Step[] = [...toplevel(10, 20, 21), ...positioner, ...popup(11, 30, 31, 20), ['xdg_wm_base.create_positioner', WM, [98]], ['xdg_popup.reposition', 31, [98, 1]]];
  t.equal(refusal(reposition).posted?.entry, 'xdg_wm_base.invalid_positioner', 'reposition with a fresh positioner');
});

t.test('xdg_surface.invalid_serial', async (t) => {
  const never = refusal([...toplevel(10, 20, 21, 5), ['xdg_surface.ack_configure', 20, [6]]]);
  t.equal(never.posted?.entry, 'xdg_surface.invalid_serial', 'a serial never sent');
  t.equal(never.posted?.objectId, 20, 'posted on the xdg_surface');
  t.equal(refusal([...toplevel(10, 20, 21, 5), ['<-', 'xdg_surface.configure', 40, [6]], ['xdg_surface.ack_configure', 20, [6]]]).posted?.entry,
    'xdg_surface.invalid_serial', 'a serial sent to another xdg_surface');
  t.equal(refusal([...toplevel(10, 20, 21, 5), ['xdg_surface.ack_configure', 20, [5]], ['xdg_surface.ack_configure', 20, [5]]]).posted?.entry,
    'xdg_surface.invalid_serial', 'the same serial twice');
  t.equal(refusal([...toplevel(10, 20, 21, 5), ['<-', 'xdg_surface.configure', 20, [6]], ['xdg_surface.ack_configure', 20, [6]], ['xdg_surface.ack_configure', 20, [5]]]).posted?.entry,
    'xdg_surface.invalid_serial', 'an older serial after a newer one');

  const shell = new XdgShell();
  run(shell, [...toplevel(10, 20, 21, 5), ['<-', 'xdg_surface.configure', 20, [6]], ['<-', 'xdg_surface.configure', 20, [7]], ['<-', 'xdg_surface.configure', 20, [8]]]);
  t.doesNotThrow(() => shell.request('xdg_surface.ack_configure', 20, [6]), 'an older serial than the newest sent (clients may skip)');
  t.doesNotThrow(() => shell.request('xdg_surface.ack_configure', 20, [7]), 'then a newer one before committing');
  t.doesNotThrow(() => shell.request('xdg_surface.ack_configure', 20, [8]), 'and the newest');
});

t.test('xdg_surface.not_constructed, already_constructed, invalid_size', async (t) => {
  const bare: Step[] = [['xdg_wm_base.get_xdg_surface', WM, [20, 10]]];
  t.equal(refusal([...bare, ['xdg_surface.ack_configure', 20, [1]]]).posted?.entry, 'xdg_surface.not_constructed', 'ack_configure before a role');
  t.equal(refusal([...bare, ['xdg_surface.set_window_geometry', 20, [0, 0, 10, 10]]]).posted?.entry, 'xdg_surface.not_constructed', 'set_window_geometry before a role');
  const commit = refusal([...bare, ['wl_surface.commit', 10, []]]);
  t.equal(commit.posted?.entry, 'xdg_surface.not_constructed', 'a commit of its wl_surface before a role');
  t.equal(commit.posted?.objectId, 20, 'posted on the xdg_surface');
  t.equal(refusal([...toplevel(10, 20, 21), ['xdg_surface.get_toplevel', 20, [22]]]).posted?.entry, 'xdg_surface.already_constructed', 'a second toplevel');
  t.equal(refusal([...toplevel(10, 20, 21), ...positioner, ['xdg_toplevel.destroy', 21, []], ['xdg_surface.get_popup', 20, [22, null, POS]]]).posted?.entry,
    'xdg_surface.already_constructed', 'a popup after the toplevel was destroyed');
  t.equal(refusal([...toplevel(10, 20, 21), ['xdg_surface.set_window_geometry', 20, [0, 0, 0, 10]]]).posted?.entry, 'xdg_surface.invalid_size', 'zero width');
  t.equal(refusal([...toplevel(10, 20, 21), ['xdg_surface.set_window_geometry', 20, [0, 0, 10, -4]]]).posted?.entry, 'xdg_surface.invalid_size', 'negative height');
});

t.test('xdg_surface.unconfigured_buffer', async (t) => {
  t.equal(refusal([...toplevel(10, 20, 21), ['wl_surface.attach', 10, [BUFFER, 0, 0]], ['wl_surface.commit', 10, []]]).posted?.entry,
    'xdg_surface.unconfigured_buffer', 'a buffer committed before the first ack_configure');
  t.equal(refusal([['xdg_wm_base.get_xdg_surface', WM, [20, 10]], ['xdg_surface.get_toplevel', 20, [21]], ['wl_surface.attach', 10, [BUFFER, 0, 0]], ['wl_surface.commit', 10, []]]).posted?.entry,
    'xdg_surface.unconfigured_buffer', 'a buffer in the initial commit');
  const withBuffer = refusal([['wl_surface.attach', 10, [BUFFER, 0, 0]], ['wl_surface.commit', 10, []], ['xdg_wm_base.get_xdg_surface', WM, [20, 10]]]);
  t.equal(withBuffer.posted?.entry, 'xdg_surface.unconfigured_buffer', 'an xdg_surface for a wl_surface with a buffer committed (as weston and sway post it)');
  t.equal(withBuffer.posted?.objectId, WM, 'posted on the xdg_wm_base');

  const shell = new XdgShell();
  t.doesNotThrow(() => run(shell, [
    ['wl_surface.attach', 10, [BUFFER, 0, 0]], ['wl_surface.commit', 10, []], ['wl_surface.attach', 10, [null, 0, 0]], ['wl_surface.commit', 10, []],
    ...toplevel(10, 20, 21), ['wl_surface.attach', 10, [BUFFER, 0, 0]], ['wl_surface.attach', 10, [null, 0, 0]], ['wl_surface.commit', 10, []], ...map(10, 20),
  ]), 'a buffer detached before get_xdg_surface; a buffer replaced by null before the commit');
});

t.test('xdg_surface.defunct_role_object and xdg_wm_base.defunct_surfaces', async (t) => {
  const e = refusal([...toplevel(10, 20, 21), ['xdg_surface.destroy', 20, []]]);
  t.equal(e.posted?.entry, 'xdg_surface.defunct_role_object', 'an xdg_surface destroyed before its toplevel');
  t.equal(refusal([...toplevel(10, 20, 21), ...positioner, ...popup(11, 30, 31, 20), ['xdg_surface.destroy', 30, []]]).posted?.entry, 'xdg_surface.defunct_role_object', 'or before its popup');
  t.equal(refusal([...toplevel(10, 20, 21), ['xdg_toplevel.destroy', 21, []], ['xdg_wm_base.destroy', WM, []]]).posted?.entry, 'xdg_wm_base.defunct_surfaces', 'an xdg_wm_base destroyed before an xdg_surface it made');

  const shell = new XdgShell();
  t.doesNotThrow(() => run(shell, [...toplevel(10, 20, 21), ['xdg_toplevel.destroy', 21, []], ['xdg_surface.destroy', 20, []], ['xdg_wm_base.destroy', WM, []]]), 'the right order');
});

t.test('a wl_surface destroyed before its xdg_surface is legal; the xdg objects are inert after it', async (t) => {
  const shell = new XdgShell();
  t.doesNotThrow(() => run(shell, [...toplevel(10, 20, 21), ...map(10, 20), ['wl_surface.destroy', 10, []], ['xdg_toplevel.destroy', 21, []], ['xdg_surface.destroy', 20, []]]), 'then destroying the toplevel and xdg_surface');
  const inert = refusal([...toplevel(10, 20, 21), ...map(10, 20), ['wl_surface.destroy', 10, []], ['xdg_toplevel.set_title', 21, [0]]]);
  t.match(inert.message, /xdg_toplevel#21.set_title: the wl_surface of xdg_surface#20 was destroyed/, 'a request to the toplevel after it (weston 10 dereferences freed state)');
  t.equal(inert.posted, undefined, 'no XML entry names it');
  t.equal(refusal([...toplevel(10, 20, 21), ...map(10, 20), ...positioner, ['wl_surface.destroy', 10, []], ...popup(11, 30, 31, 20)]).posted?.entry,
    'xdg_wm_base.invalid_popup_parent', 'a popup of it (weston 10 segfaults)');

  const popups = new XdgPopups(registry);
  const steps: Step[] = [...toplevel(10, 20, 21), ...positioner, ...popup(11, 30, 31, 20), ...popup(12, 40, 41, 30)];
  for (const step of steps) if (step.length === 3) popups.request(step[0], step[1], step[2]);
  const out = popups.request('wl_surface.destroy', 10, []);
  t.equal(out?.before.length, 2, 'XdgPopups destroys both popups towards the compositor before the parent\'s wl_surface goes');
  t.equal(out?.drop, false, 'and the wl_surface.destroy goes on');
  t.equal(popups.request('wl_surface.destroy', 12, []), null, 'a popup\'s own wl_surface without popups: nothing to dismiss');
});

t.test('xdg_wm_base.role: one xdg_surface per wl_surface', async (t) => {
  t.equal(refusal([...toplevel(10, 20, 21), ['xdg_wm_base.get_xdg_surface', WM, [22, 10]]]).posted?.entry, 'xdg_wm_base.role', 'a second xdg_surface for a wl_surface');
});

t.test('xdg_toplevel.invalid_resize_edge, invalid_parent, invalid_size', async (t) => {
  t.equal(refusal([...toplevel(10, 20, 21), ...map(10, 20), ['xdg_toplevel.resize', 21, [3, 1, 3]]]).posted?.entry, 'xdg_toplevel.invalid_resize_edge', 'edges 3 (top|bottom)');
  t.equal(refusal([...toplevel(10, 20, 21), ['xdg_toplevel.resize', 21, [3, 1, 11]]]).posted?.entry, 'xdg_toplevel.invalid_resize_edge', 'edges 11');
  t.equal(refusal([...toplevel(10, 20, 21), ['xdg_toplevel.set_parent', 21, [21]]]).posted?.entry, 'xdg_toplevel.invalid_parent', 'itself');
  const a = [...toplevel(10, 20, 21, 1), ...map(10, 20, 1)];
  const b = [...toplevel(11, 30, 31, 2), ...map(11, 30, 2)];
  const c = [...toplevel(12, 40, 41, 3), ...map(12, 40, 3)];
  t.equal(refusal([...a, ...b, ['xdg_toplevel.set_parent', 31, [21]], ['xdg_toplevel.set_parent', 21, [31]]]).posted?.entry, 'xdg_toplevel.invalid_parent', 'its child');
  t.equal(refusal([...a, ...b, ...c, ['xdg_toplevel.set_parent', 31, [21]], ['xdg_toplevel.set_parent', 41, [31]], ['xdg_toplevel.set_parent', 21, [41]]]).posted?.entry,
    'xdg_toplevel.invalid_parent', 'its grandchild');

  const shell = new XdgShell();
  t.doesNotThrow(() => run(shell, [
    ...toplevel(10, 20, 21, 1), ...toplevel(11, 30, 31, 2), ['xdg_toplevel.set_parent', 31, [21]], ...map(11, 30, 2), ['xdg_toplevel.set_parent', 21, [31]],
  ]), 'a parent set while unmapped is no parent (the XML), so no cycle');
  t.doesNotThrow(() => run(new XdgShell(), [
    ...a, ...b, ...c, ['xdg_toplevel.set_parent', 31, [21]], ['xdg_toplevel.set_parent', 41, [31]],
    ['wl_surface.attach', 11, [null, 0, 0]], ['wl_surface.commit', 11, []], ['xdg_toplevel.set_parent', 31, [41]],
  ]), 'an unmapped toplevel\'s children go to its parent, so it may then be their child');

  t.equal(refusal([...toplevel(10, 20, 21), ['xdg_toplevel.set_min_size', 21, [-1, 0]]]).posted?.entry, 'xdg_toplevel.invalid_size', 'a negative min size');
  t.equal(refusal([...toplevel(10, 20, 21), ['xdg_toplevel.set_max_size', 21, [0, -1]]]).posted?.entry, 'xdg_toplevel.invalid_size', 'a negative max size');
  const above = refusal([...toplevel(10, 20, 21), ...map(10, 20), ['xdg_toplevel.set_max_size', 21, [100, 100]], ['xdg_toplevel.set_min_size', 21, [200, 50]], ['wl_surface.commit', 10, []]]);
  t.equal(above.posted?.entry, 'xdg_toplevel.invalid_size', 'min above max at commit');
  t.equal(above.posted?.objectId, 21, 'posted on the toplevel');
  t.doesNotThrow(() => run(new XdgShell(), [
    ...toplevel(10, 20, 21), ['xdg_toplevel.set_max_size', 21, [100, 100]], ['xdg_toplevel.set_min_size', 21, [200, 50]], ['xdg_toplevel.set_max_size', 21, [0, 300]],
    ['wl_surface.commit', 10, []], ['xdg_toplevel.set_min_size', 21, [300, 300]], ['xdg_toplevel.set_max_size', 21, [300, 300]], ['wl_surface.commit', 10, []],
  ]), 'between commits min may pass max; 0 is no max; min equal to max');
});

t.test('xdg_popup.invalid_grab, and XdgPopups\' not_the_topmost_popup and invalid_popup_parent', async (t) => {
  const base = [...toplevel(10, 20, 21), ...map(10, 20), ...positioner, ...popup(11, 30, 31, 20)];
  t.equal(refusal([...base, ['wl_surface.commit', 11, []], ['xdg_popup.grab', 31, [3, 1]]]).posted?.entry, 'xdg_popup.invalid_grab', 'grab after the popup\'s initial commit');
  t.doesNotThrow(() => run(new XdgShell(), [...base, ['xdg_popup.grab', 31, [3, 1]], ['wl_surface.commit', 11, []]]), 'grab before it');

  const topmost = refusal([...base, ...popup(12, 40, 41, 30), ['xdg_popup.destroy', 31, []]], true);
  t.equal(topmost.posted?.entry, 'xdg_wm_base.not_the_topmost_popup', 'a popup destroyed before its child popup');
  t.equal(refusal([...toplevel(10, 20, 21), ...positioner, ['xdg_toplevel.destroy', 21, []], ...popup(11, 30, 31, 20)], true).posted?.entry,
    'xdg_wm_base.invalid_popup_parent', 'a parent whose role object is gone');
});

t.test(`at most ${CEILINGS.popupsOpen} popups at once`, async (t) => {
  const shell = new XdgShell();
  run(shell, [...toplevel(10, 20, 21), ...positioner]);
  for (let i = 0; i < CEILINGS.popupsOpen; i++) run(shell, popup(1000 + i, 2000 + i, 3000 + i, 20));
  t.throws(() => run(shell, popup(999, 1999, 2999, 20)), QuotaError, 'one more');
  run(shell, [['xdg_popup.destroy', 3000, []]]);
  t.doesNotThrow(() => run(shell, [['xdg_surface.get_popup', 1999, [2999, 20, POS]]]), 'after one is destroyed');
});

t.test('what real clients send passes', async (t) => {
  const shell = new XdgShell();
  t.doesNotThrow(() => run(shell, [
    // GTK: geometry and sizes before the initial commit; ack of the newest of several configures; reposition
    ['xdg_wm_base.get_xdg_surface', WM, [20, 10]], ['xdg_surface.get_toplevel', 20, [21]], ['xdg_toplevel.set_title', 21, [0]],
    ['xdg_surface.set_window_geometry', 20, [0, 0, 300, 200]], ['xdg_toplevel.set_min_size', 21, [100, 100]], ['wl_surface.commit', 10, []],
    ['<-', 'xdg_surface.configure', 20, [1]], ['<-', 'xdg_surface.configure', 20, [2]], ...map(10, 20, 2),
    ['xdg_toplevel.resize', 21, [3, 9, 10]], ['xdg_toplevel.resize', 21, [3, 9, 0]],
    ...positioner, ...popup(11, 30, 31, 20), ['xdg_popup.grab', 31, [3, 1]], ['wl_surface.commit', 11, []],
    ['<-', 'xdg_surface.configure', 30, [3]], ...map(11, 30, 3), ['xdg_popup.reposition', 31, [POS, 1]], ['<-', 'xdg_surface.configure', 30, [4]], ['xdg_surface.ack_configure', 30, [4]],
    ['xdg_popup.destroy', 31, []], ['xdg_surface.destroy', 30, []], ['wl_surface.destroy', 11, []],
    // a toplevel destroyed and its xdg_surface right after
    ['xdg_toplevel.destroy', 21, []], ['xdg_surface.destroy', 20, []], ['wl_surface.attach', 10, [null, 0, 0]], ['wl_surface.commit', 10, []],
    ...toplevel(10, 22, 23, 5), ...map(10, 22, 5), ['xdg_positioner.destroy', POS, []],
  ]));
});

t.test('XDG_SHELL_ERRORS accounts for every error entry of the five xdg-shell interfaces', async (t) => {
  const entries = ['xdg_wm_base', 'xdg_positioner', 'xdg_surface', 'xdg_toplevel', 'xdg_popup']
    .flatMap((iface) => (registry.interface(iface)?.enums.find((e) => e.name === 'error')?.entries ?? []).map((e) => `${iface}.${e.name}`));
  t.equal(entries.length, 18);
  t.same(Object.keys(XDG_SHELL_ERRORS).sort(), entries.sort());
});
