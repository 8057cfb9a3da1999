// xdg-shell's rules for one guest client (construction and destruction order, configure serials, buffers before the first configure, positioners, toplevel and popup state), checked by the host before the compositor sees a request.
import { ProtocolError } from '../../protocol/protocol-error';
import type { ArgValue } from '../../protocol/wire-codec';
import { CEILINGS, overCeiling } from './ceilings';
import { byHost, leftToCompositor, type ErrorAccounts, type FamilyChecker } from './checker';

/** Configure serials kept per xdg_surface while the guest acks none; the oldest go first (a client acks the newest). */
const MAX_UNACKED_CONFIGURES = 1024;
/** xdg_toplevel.resize_edge: none, top, bottom, left, top_left, bottom_left, right, top_right, bottom_right. */
const RESIZE_EDGES = new Set([0, 1, 2, 4, 5, 6, 8, 9, 10]);
/** The last value of xdg_positioner's anchor and gravity enums (bottom_right). */
const LAST_ANCHOR_OR_GRAVITY = 8;

const TEST = 'test/unit/xdg-shell.test.ts';

/** How the host answers for every error entry of xdg_wm_base, xdg_positioner, xdg_surface, xdg_toplevel and xdg_popup. */
export const XDG_SHELL_ERRORS: ErrorAccounts = {
  'xdg_wm_base.role': byHost(TEST),
  'xdg_wm_base.defunct_surfaces': byHost(TEST),
  'xdg_wm_base.not_the_topmost_popup': byHost(TEST),
  'xdg_wm_base.invalid_popup_parent': byHost(TEST),
  'xdg_wm_base.invalid_surface_state': leftToCompositor('no request in the XML names it: compositors post it for a buffer that does not fit the configured maximized or fullscreen size (weston) or, in older versions, for a bad ack_configure serial, which the host refuses first as xdg_surface.invalid_serial; posting it does not hurt the compositor'),
  'xdg_wm_base.invalid_positioner': byHost(TEST),
  'xdg_wm_base.unresponsive': leftToCompositor('only the compositor knows when it sent a ping and how long it waits for the pong; the host forwards pings and pongs as they come'),
  'xdg_positioner.invalid_input': byHost(TEST),
  'xdg_surface.not_constructed': byHost(TEST),
  'xdg_surface.already_constructed': byHost(TEST),
  'xdg_surface.unconfigured_buffer': byHost(TEST),
  'xdg_surface.invalid_serial': byHost(TEST),
  'xdg_surface.invalid_size': byHost(TEST),
  'xdg_surface.defunct_role_object': byHost(TEST),
  'xdg_toplevel.invalid_resize_edge': byHost(TEST),
  'xdg_toplevel.invalid_parent': byHost(TEST),
  'xdg_toplevel.invalid_size': byHost(TEST),
  'xdg_popup.invalid_grab': byHost(TEST),
};

interface WlSurface {
  /** Set by attach until the next commit: whether that buffer is non-null. */
  attached: boolean | undefined;
  /** A non-null buffer was committed last. */
  hasBuffer: boolean;
  /** Its live xdg_surface. */
  xdgSurface: number | null;
}

interface XdgSurface {
  wm: number;
  /** null once the guest destroyed the wl_surface first (legal, but the xdg objects are inert from then on). */
  surface: number | null;
  /** Its live xdg_toplevel or xdg_popup, in the guest's view. */
  role: { kind: 'toplevel' | 'popup'; id: number } | null;
  /** It was given a role (a second one is already_constructed, even after the first is destroyed). */
  constructed: boolean;
  /** The guest acked a configure. */
  configured: boolean;
  /** Serials of xdg_surface.configure events sent to it and not consumed by an ack yet, oldest first. */
  unacked: number[];
}

interface Toplevel {
  xdgSurface: number;
  /** The parent as the compositor has it: null while unset or when the guest named an unmapped one. */
  parent: number | null;
  mapped: boolean;
  /** Pending min and max size, [width, height]; 0 is unset. */
  min: [number, number];
  max: [number, number];
}

interface Popup {
  xdgSurface: number;
  /** Its wl_surface was committed since get_popup: grab comes too late. */
  committed: boolean;
}

/**
 * A strict compositor's xdg-shell checks, in the guest's view of the objects (a popup the host dismissed lives on
 * for the guest: host-proxy/model/xdg-popups.ts). Each refusal names the XML's error entry. weston 10 does not
 * check the destruction order and crashes on the next request of a defunct object (docs/compositor-crashes.md
 * C6-C8), weston 10 and sway 1.7 on requests to xdg objects whose wl_surface is gone (no entry names those); neither checks toplevel parent cycles or min above max size; the rest they check themselves, some with
 * other codes or on other objects: the host refuses all of them first, so a guest gets the XML's error from either.
 */
export class XdgShell implements FamilyChecker {
  private readonly wlSurfaces = new Map<number, WlSurface>();
  private readonly xdgSurfaces = new Map<number, XdgSurface>();
  private readonly toplevels = new Map<number, Toplevel>();
  private readonly popups = new Map<number, Popup>();
  /** Live xdg_positioner → whether set_size and set_anchor_rect were called (the XML's "complete"). */
  private readonly positioners = new Map<number, { size: boolean; anchorRect: boolean }>();

  request(name: string, id: number, args: readonly ArgValue[]): void {
    const refuse = (why: string, entry: string, objectId = id): never => {
      const [iface, request] = name.split('.');
      throw new ProtocolError('BAD_ARGUMENT', `${iface}#${id}.${request}: ${why} (${entry})`, { objectId, entry });
    };
    this.refuseOnInert(name, id);
    switch (name) {
      case 'wl_surface.attach':
        this.wlSurface(id).attached = !isNull(args[0]);
        break;
      case 'wl_surface.commit':
        this.commit(id, refuse);
        break;
      case 'wl_surface.destroy':
        this.destroyWlSurface(id);
        break;
      case 'xdg_wm_base.create_positioner':
        this.positioners.set(args[0] as number, { size: false, anchorRect: false });
        break;
      case 'xdg_wm_base.get_xdg_surface':
        this.getXdgSurface(id, args[0] as number, args[1] as number, refuse);
        break;
      case 'xdg_wm_base.destroy':
        for (const [xs, s] of this.xdgSurfaces) if (s.wm === id) refuse(`xdg_surface#${xs} made from it is alive`, 'xdg_wm_base.defunct_surfaces');
        break;
      case 'xdg_positioner.set_size':
        if ((args[0] as number) <= 0 || (args[1] as number) <= 0) refuse(`size ${args[0] as number}x${args[1] as number} is not positive`, 'xdg_positioner.invalid_input');
        this.positioner(id).size = true;
        break;
      case 'xdg_positioner.set_anchor_rect':
        if ((args[2] as number) < 0 || (args[3] as number) < 0) refuse(`size ${args[2] as number}x${args[3] as number} is negative`, 'xdg_positioner.invalid_input');
        this.positioner(id).anchorRect = true;
        break;
      case 'xdg_positioner.set_anchor':
      case 'xdg_positioner.set_gravity':
        if ((args[0] as number) > LAST_ANCHOR_OR_GRAVITY) refuse(`${args[0] as number} is not in the enum`, 'xdg_positioner.invalid_input');
        break;
      case 'xdg_positioner.destroy':
        this.positioners.delete(id);
        break;
      case 'xdg_surface.get_toplevel':
      case 'xdg_surface.get_popup':
        this.getRole(name, id, args, refuse);
        break;
      case 'xdg_surface.set_window_geometry':
        this.constructedXdgSurface(id, refuse);
        if ((args[2] as number) <= 0 || (args[3] as number) <= 0) refuse(`size ${args[2] as number}x${args[3] as number} is not positive`, 'xdg_surface.invalid_size');
        break;
      case 'xdg_surface.ack_configure':
        this.ackConfigure(id, args[0] as number, refuse);
        break;
      case 'xdg_surface.destroy':
        this.destroyXdgSurface(id, refuse);
        break;
      case 'xdg_toplevel.set_parent':
        if (!isNull(args[0])) this.refuseInertToplevel(name, id, args[0] as number);
        this.setParent(id, isNull(args[0]) ? null : (args[0] as number), refuse);
        break;
      case 'zxdg_decoration_manager_v1.get_toplevel_decoration':
        this.refuseInertToplevel(name, id, args[1] as number);
        break;
      case 'xdg_toplevel.resize':
        if (!RESIZE_EDGES.has(args[2] as number)) refuse(`edges ${args[2] as number} is not a resize_edge`, 'xdg_toplevel.invalid_resize_edge');
        break;
      case 'xdg_toplevel.set_min_size':
      case 'xdg_toplevel.set_max_size': {
        const [w, h] = [args[0] as number, args[1] as number];
        if (w < 0 || h < 0) refuse(`size ${w}x${h} is negative`, 'xdg_toplevel.invalid_size');
        const t = this.toplevels.get(id);
        if (t !== undefined) t[name === 'xdg_toplevel.set_min_size' ? 'min' : 'max'] = [w, h];
        break;
      }
      case 'xdg_toplevel.destroy':
        this.destroyToplevel(id);
        break;
      case 'xdg_popup.grab':
        if (this.popups.get(id)?.committed === true) refuse('its wl_surface was committed already', 'xdg_popup.invalid_grab');
        break;
      case 'xdg_popup.reposition': {
        const popup = this.popups.get(id);
        this.completePositioner(args[0] as number, popup === undefined ? undefined : this.xdgSurfaces.get(popup.xdgSurface)?.wm, refuse);
        break;
      }
      case 'xdg_popup.destroy':
        this.destroyPopup(id);
        break;
      default:
        break;
    }
  }

  event(name: string, id: number, args: readonly ArgValue[]): void {
    if (name !== 'xdg_surface.configure') return;
    const s = this.xdgSurfaces.get(id);
    if (s === undefined) return;
    s.unacked.push(args[0] as number);
    if (s.unacked.length > MAX_UNACKED_CONFIGURES) s.unacked.shift();
  }

  /**
   * Requests other than destroy to an xdg_surface or its role object whose wl_surface the guest destroyed. No
   * error entry names them, but compositors free their state with the wl_surface and dereference it in these
   * handlers (measured: weston 10 segfaults at xdg_toplevel.set_title and xdg_surface.set_window_geometry, sway 1.7
   * at set_title): the host ends the client instead.
   */
  private refuseOnInert(name: string, id: number): void {
    if (!name.startsWith('xdg_') || name.endsWith('.destroy')) return;
    const [iface, request] = name.split('.');
    let xs: number | undefined;
    if (iface === 'xdg_surface') xs = id;
    else if (iface === 'xdg_toplevel') xs = this.toplevels.get(id)?.xdgSurface;
    else if (iface === 'xdg_popup') xs = this.popups.get(id)?.xdgSurface;
    else return;
    if (xs !== undefined && this.xdgSurfaces.get(xs)?.surface === null) {
      throw new ProtocolError('BAD_ARGUMENT', `${iface}#${id}.${request}: the wl_surface of xdg_surface#${xs} was destroyed, so it is inert (xdg-shell names no error; weston 10 and sway 1.7 crash on it)`);
    }
  }

  /** An inert xdg_toplevel as an argument: sway 1.7 dereferences its missing xdg_surface (get_toplevel_decoration, found by the grammar fuzzer). */
  private refuseInertToplevel(name: string, id: number, toplevel: number): void {
    const xs = this.toplevels.get(toplevel)?.xdgSurface;
    if (xs === undefined || this.xdgSurfaces.get(xs)?.surface !== null) return;
    const [iface, request] = name.split('.');
    throw new ProtocolError('BAD_ARGUMENT', `${iface}#${id}.${request}: xdg_toplevel#${toplevel} is inert, the wl_surface of xdg_surface#${xs} was destroyed (xdg-shell names no error; sway 1.7 crashes on it)`);
  }

  private getXdgSurface(wm: number, xs: number, surface: number, refuse: Refuse): void {
    const s = this.wlSurface(surface);
    if (s.xdgSurface !== null) refuse(`wl_surface#${surface} has xdg_surface#${s.xdgSurface} already`, 'xdg_wm_base.role');
    if (s.hasBuffer) refuse(`wl_surface#${surface} has a buffer committed`, 'xdg_surface.unconfigured_buffer');
    s.xdgSurface = xs;
    this.xdgSurfaces.set(xs, { wm, surface, role: null, constructed: false, configured: false, unacked: [] });
  }

  private getRole(name: string, xs: number, args: readonly ArgValue[], refuse: Refuse): void {
    const s = this.xdgSurfaces.get(xs);
    if (s === undefined) return;
    if (s.constructed) refuse('it had a role already', 'xdg_surface.already_constructed');
    const id = args[0] as number;
    if (name === 'xdg_surface.get_toplevel') {
      this.toplevels.set(id, { xdgSurface: xs, parent: null, mapped: false, min: [0, 0], max: [0, 0] });
    } else {
      const parent = isNull(args[1]) ? undefined : this.xdgSurfaces.get(args[1] as number);
      // weston 10 segfaults on get_popup when it freed the parent's state with its wl_surface (measured)
      if (parent?.surface === null) refuse(`the wl_surface of the parent xdg_surface#${args[1] as number} was destroyed`, 'xdg_wm_base.invalid_popup_parent', s.wm);
      this.completePositioner(args[2] as number, s.wm, refuse);
      if (this.popups.size >= CEILINGS.popupsOpen) overCeiling('popupsOpen', `xdg_surface#${xs}.get_popup would make ${this.popups.size + 1} live xdg_popups for this client`);
      this.popups.set(id, { xdgSurface: xs, committed: false });
    }
    s.constructed = true;
    s.role = { kind: name === 'xdg_surface.get_toplevel' ? 'toplevel' : 'popup', id };
  }

  /** `wm`: the xdg_wm_base the error is posted on (that of the popup's xdg_surface). */
  private completePositioner(positioner: number, wm: number | undefined, refuse: Refuse): void {
    const p = this.positioners.get(positioner);
    if (p === undefined || (p.size && p.anchorRect)) return;
    const missing = p.size ? 'set_anchor_rect' : 'set_size';
    refuse(`xdg_positioner#${positioner} is incomplete (no ${missing})`, 'xdg_wm_base.invalid_positioner', wm);
  }

  private constructedXdgSurface(xs: number, refuse: Refuse): XdgSurface | undefined {
    const s = this.xdgSurfaces.get(xs);
    if (s !== undefined && !s.constructed) refuse('it has no role yet', 'xdg_surface.not_constructed');
    return s;
  }

  /** A serial of a configure sent to this xdg_surface and not consumed yet; it consumes every older one too. */
  private ackConfigure(xs: number, serial: number, refuse: Refuse): void {
    const s = this.constructedXdgSurface(xs, refuse);
    if (s === undefined) return;
    const at = s.unacked.indexOf(serial);
    if (at < 0) refuse(`serial ${serial} is not that of a configure sent to it since the last ack`, 'xdg_surface.invalid_serial');
    s.unacked.splice(0, at + 1);
    s.configured = true;
  }

  private commit(surface: number, refuse: Refuse): void {
    const w = this.wlSurfaces.get(surface);
    if (w === undefined) return;
    const buffer = w.attached ?? w.hasBuffer;
    const s = w.xdgSurface === null ? undefined : this.xdgSurfaces.get(w.xdgSurface);
    if (s !== undefined) {
      const xs = w.xdgSurface as number;
      if (buffer && !s.configured) refuse(`xdg_surface#${xs} has a buffer before its first ack_configure`, 'xdg_surface.unconfigured_buffer', xs);
      if (!s.constructed) refuse(`xdg_surface#${xs} has no role yet`, 'xdg_surface.not_constructed', xs);
      const t = s.role?.kind === 'toplevel' ? this.toplevels.get(s.role.id) : undefined;
      if (t !== undefined) this.commitToplevel(s.role!.id, t, buffer, refuse);
      const p = s.role?.kind === 'popup' ? this.popups.get(s.role.id) : undefined;
      if (p !== undefined) p.committed = true;
    }
    w.hasBuffer = buffer;
    w.attached = undefined;
  }

  private commitToplevel(id: number, t: Toplevel, buffer: boolean, refuse: Refuse): void {
    for (const d of [0, 1]) {
      if (t.max[d] > 0 && t.min[d] > t.max[d]) refuse(`xdg_toplevel#${id} has min size ${t.min.join('x')} above max size ${t.max.join('x')}`, 'xdg_toplevel.invalid_size', id);
    }
    if (t.mapped && !buffer) this.unmap(id);
    t.mapped = buffer;
  }

  /** The toplevel unmaps: its children go to its parent (xdg_toplevel.set_parent), its latched state is discarded. */
  private unmap(id: number): void {
    const t = this.toplevels.get(id);
    if (t === undefined) return;
    for (const child of this.toplevels.values()) if (child.parent === id) child.parent = t.parent;
    t.mapped = false;
    t.parent = null;
    t.min = [0, 0];
    t.max = [0, 0];
  }

  private setParent(id: number, parent: number | null, refuse: Refuse): void {
    const t = this.toplevels.get(id);
    if (t === undefined) return;
    if (parent === id) refuse('a toplevel cannot be its own parent', 'xdg_toplevel.invalid_parent');
    if (parent === null || this.toplevels.get(parent)?.mapped !== true) {
      t.parent = null; // the XML: an unmapped parent is as a null one
      return;
    }
    for (let up: number | null = parent; up !== null; up = this.toplevels.get(up)?.parent ?? null) {
      if (up === id) refuse(`xdg_toplevel#${parent} is a descendant of it`, 'xdg_toplevel.invalid_parent');
    }
    t.parent = parent;
  }

  private destroyToplevel(id: number): void {
    const t = this.toplevels.get(id);
    if (t === undefined) return;
    this.unmap(id);
    this.toplevels.delete(id);
    const s = this.xdgSurfaces.get(t.xdgSurface);
    if (s !== undefined) s.role = null;
  }

  private destroyPopup(id: number): void {
    const p = this.popups.get(id);
    if (p === undefined) return;
    this.popups.delete(id);
    const s = this.xdgSurfaces.get(p.xdgSurface);
    if (s !== undefined) s.role = null;
  }

  private destroyXdgSurface(xs: number, refuse: Refuse): void {
    const s = this.xdgSurfaces.get(xs);
    if (s === undefined) return;
    if (s.role !== null) refuse(`its xdg_${s.role.kind}#${s.role.id} is alive`, 'xdg_surface.defunct_role_object');
    if (s.surface !== null) {
      const w = this.wlSurfaces.get(s.surface);
      if (w !== undefined) w.xdgSurface = null;
    }
    this.xdgSurfaces.delete(xs);
  }

  /** Legal while its xdg_surface lives (measured: weston 10 and sway accept it); the xdg objects become inert. */
  private destroyWlSurface(surface: number): void {
    const w = this.wlSurfaces.get(surface);
    if (w === undefined) return;
    this.wlSurfaces.delete(surface);
    const s = w.xdgSurface === null ? undefined : this.xdgSurfaces.get(w.xdgSurface);
    if (s === undefined) return;
    s.surface = null;
    if (s.role?.kind === 'toplevel') this.unmap(s.role.id);
  }

  private wlSurface(id: number): WlSurface {
    let w = this.wlSurfaces.get(id);
    if (w === undefined) this.wlSurfaces.set(id, (w = { attached: undefined, hasBuffer: false, xdgSurface: null }));
    return w;
  }

  private positioner(id: number): { size: boolean; anchorRect: boolean } {
    let p = this.positioners.get(id);
    if (p === undefined) this.positioners.set(id, (p = { size: false, anchorRect: false }));
    return p;
  }
}

type Refuse = (why: string, entry: string, objectId?: number) => never;

function isNull(arg: ArgValue | undefined): boolean {
  return arg === null || arg === undefined || arg === 0;
}
