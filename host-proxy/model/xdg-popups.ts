// The xdg_popup tree of one guest client: the host dismisses a popup itself before the compositor loses its parent.
import { ProtocolError } from '../../protocol/protocol-error';
import type { ProtocolRegistry } from '../../protocol/registry';
import type { InterfaceSpec } from '../../protocol/types';
import { encodeMessage, readU32, type ArgValue } from '../../protocol/wire-codec';

/** What the host client does for one guest request besides checking it (the model refuses by throwing). */
export interface HostOutcome {
  /** Requests written to the compositor before this one. */
  before: Uint8Array[];
  /** Events sent to the guest now. */
  toGuest: Uint8Array[];
  /** The request itself does not reach the compositor. */
  drop: boolean;
  /** Ids freed by a wl_display.delete_id in `toGuest`: the host's object map frees them too. */
  freed: number[];
}

interface XdgSurface {
  wlSurface: number;
  /** Its xdg_toplevel or xdg_popup while that lives; then 'destroyed' by the guest, or 'dismissed' by the host. */
  role: { kind: 'toplevel' | 'popup'; id: number } | 'destroyed' | 'dismissed' | null;
}

interface Popup {
  xdgSurface: number;
  parent: number;
  /** The host destroyed it towards the compositor; the guest's object lives on until it destroys it. */
  dismissed: boolean;
}

/**
 * weston 10 frees an xdg_surface's state when its xdg_toplevel or xdg_popup is destroyed, and a child popup
 * keeps a pointer to it: the child's next commit crashes weston (docs/compositor-crashes.md). xdg-shell lets a
 * client destroy a toplevel before its popups, so the host does what a compositor may do: it dismisses the
 * popups first (xdg_popup.destroy towards the compositor, deepest first, and popup_done to the guest), then
 * keeps the guest's popup objects alive on the host until the guest destroys them. The same when the parent's
 * wl_surface goes first (weston frees the parent's state then too). Destroying a popup that has child popups is
 * refused (not_the_topmost_popup), as is a popup parent without a live role.
 */
export class XdgPopups {
  private readonly surfaces = new Map<number, XdgSurface>();
  /** Live xdg_popups in the guest's view. */
  private readonly popups = new Map<number, Popup>();
  /** Parent xdg_surface → its live popups, in creation order (the last is on top). */
  private readonly children = new Map<number, Set<number>>();
  /** xdg_toplevel/xdg_popup → its xdg_surface. */
  private readonly roleOwners = new Map<number, number>();
  /** wl_surface → its live xdg_surface. */
  private readonly xdgSurfaceOf = new Map<number, number>();
  /** Ids the host destroyed towards the compositor whose wl_display.delete_id has not come back yet. */
  private readonly awaitingDeleteId = new Set<number>();
  private readonly display: InterfaceSpec;
  private readonly popup: InterfaceSpec;
  private readonly deleteIdOpcode: number;

  constructor(registry: ProtocolRegistry) {
    const display = registry.interface('wl_display');
    const popup = registry.interface('xdg_popup');
    if (display === undefined || popup === undefined) throw new Error('the protocol registry lacks wl_display or xdg_popup');
    this.display = display;
    this.popup = popup;
    this.deleteIdOpcode = display.events.findIndex((e) => e.name === 'delete_id');
  }

  /** Checks and records request `name` (`iface.request`) to object `id`; null: forward it as it is. Throws BAD_ARGUMENT to refuse. */
  request(name: string, id: number, args: readonly ArgValue[]): HostOutcome | null {
    switch (name) {
      case 'xdg_wm_base.get_xdg_surface':
        this.surfaces.set(args[0] as number, { wlSurface: args[1] as number, role: null });
        this.xdgSurfaceOf.set(args[1] as number, args[0] as number);
        return null;
      case 'wl_surface.destroy': {
        const xdgSurface = this.xdgSurfaceOf.get(id);
        this.xdgSurfaceOf.delete(id);
        return xdgSurface === undefined ? null : this.dismissChildrenOf(xdgSurface);
      }
      case 'xdg_surface.get_toplevel':
        this.setRole(id, { kind: 'toplevel', id: args[0] as number });
        return null;
      case 'xdg_surface.get_popup':
        this.getPopup(id, args[0] as number, (args[1] as number | null) ?? 0);
        return null;
      case 'xdg_toplevel.destroy':
        return this.roleGone(this.surfaceOfRole(id));
      case 'xdg_popup.destroy':
        return this.destroyPopup(id);
      case 'xdg_popup.grab':
      case 'xdg_popup.reposition':
        return this.popups.get(id)?.dismissed === true ? outcome(true) : null;
      case 'xdg_surface.ack_configure':
      case 'xdg_surface.set_window_geometry': {
        // weston 10 freed this xdg_surface's state with its role object, and dereferences it here
        const role = this.surfaces.get(id)?.role;
        if (role === 'destroyed') throw new ProtocolError('BAD_ARGUMENT', `xdg_surface#${id}.${name.split('.')[1]}: its role object was destroyed (xdg_surface.not_constructed)`, { objectId: id, entry: 'xdg_surface.not_constructed' });
        return role === 'dismissed' ? outcome(true) : null;
      }
      case 'xdg_surface.destroy': {
        const out = this.dismissChildrenOf(id);
        const wlSurface = this.surfaces.get(id)?.wlSurface;
        if (wlSurface !== undefined && this.xdgSurfaceOf.get(wlSurface) === id) this.xdgSurfaceOf.delete(wlSurface);
        this.surfaces.delete(id);
        return out;
      }
      default:
        return null;
    }
  }

  /**
   * True when the host swallows this compositor event: one to a popup the host destroyed (sent before the
   * compositor read that destroy), and the wl_display.delete_id that answers it (the guest's object lives on).
   */
  swallowsEvent(objectId: number, opcode: number, message: Uint8Array): boolean {
    if (this.awaitingDeleteId.has(objectId)) return true;
    if (objectId !== 1 || opcode !== this.deleteIdOpcode) return false;
    return this.awaitingDeleteId.delete(readU32(message, 8));
  }

  private setRole(xdgSurface: number, role: { kind: 'toplevel' | 'popup'; id: number }): void {
    const s = this.surfaces.get(xdgSurface);
    if (s === undefined) return;
    s.role = role;
    this.roleOwners.set(role.id, xdgSurface);
  }

  private surfaceOfRole(roleId: number): number | undefined {
    const xdgSurface = this.roleOwners.get(roleId);
    this.roleOwners.delete(roleId);
    return xdgSurface;
  }

  private getPopup(xdgSurface: number, popup: number, parent: number): void {
    if (parent !== 0) {
      const role = this.surfaces.get(parent)?.role;
      const live = typeof role === 'object' && role !== null && !(role.kind === 'popup' && this.popups.get(role.id)?.dismissed === true);
      if (!live) {
        throw new ProtocolError('BAD_ARGUMENT', `xdg_surface#${xdgSurface}.get_popup: the parent xdg_surface#${parent} has no live xdg_toplevel or xdg_popup (xdg_wm_base.invalid_popup_parent)`,
          { objectId: xdgSurface, entry: 'xdg_wm_base.invalid_popup_parent' });
      }
    }
    this.setRole(xdgSurface, { kind: 'popup', id: popup });
    this.popups.set(popup, { xdgSurface, parent, dismissed: false });
    let siblings = this.children.get(parent);
    if (siblings === undefined) this.children.set(parent, (siblings = new Set()));
    siblings.add(popup);
  }

  private destroyPopup(id: number): HostOutcome | null {
    const p = this.popups.get(id);
    if (p === undefined) return null;
    for (const child of this.children.get(p.xdgSurface) ?? []) {
      if (!(this.popups.get(child) as Popup).dismissed) {
        throw new ProtocolError('BAD_ARGUMENT', `xdg_popup#${id}.destroy: xdg_popup#${child} is a popup of it (xdg_wm_base.not_the_topmost_popup)`,
          { objectId: id, entry: 'xdg_wm_base.not_the_topmost_popup' });
      }
    }
    this.popups.delete(id);
    this.roleOwners.delete(id);
    const siblings = this.children.get(p.parent);
    siblings?.delete(id);
    if (siblings?.size === 0) this.children.delete(p.parent);
    const s = this.surfaces.get(p.xdgSurface);
    if (s !== undefined && !p.dismissed) s.role = 'destroyed';
    if (!p.dismissed) return null;
    // the compositor no longer knows the id: the guest gets the delete_id it waits for from the host
    const out = outcome(true);
    out.toGuest.push(encodeMessage(1, this.deleteIdOpcode, this.display.events[this.deleteIdOpcode], [id]).bytes);
    out.freed.push(id);
    return out;
  }

  /** The role object of `xdgSurface` was destroyed: its popups are dismissed first. */
  private roleGone(xdgSurface: number | undefined): HostOutcome | null {
    if (xdgSurface === undefined) return null;
    const out = this.dismissChildrenOf(xdgSurface);
    (this.surfaces.get(xdgSurface) as XdgSurface).role = 'destroyed';
    return out;
  }

  /** Dismisses every live popup below `xdgSurface`, deepest and newest first; null when there is none. */
  private dismissChildrenOf(xdgSurface: number): HostOutcome | null {
    const out = outcome(false);
    this.dismissBelow(xdgSurface, out);
    return out.before.length === 0 ? null : out;
  }

  /** Post-order without recursion (a guest may nest thousands): a popup's children, newest first, before it. */
  private dismissBelow(xdgSurface: number, out: HostOutcome): void {
    const stack: { popup: number; expanded: boolean }[] = this.liveChildren(xdgSurface).map((popup) => ({ popup, expanded: false }));
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      const p = this.popups.get(top.popup) as Popup;
      if (!top.expanded) {
        top.expanded = true;
        for (const child of this.liveChildren(p.xdgSurface)) stack.push({ popup: child, expanded: false });
        continue;
      }
      stack.pop();
      p.dismissed = true;
      this.roleOwners.delete(top.popup);
      (this.surfaces.get(p.xdgSurface) as XdgSurface).role = 'dismissed';
      this.awaitingDeleteId.add(top.popup);
      out.before.push(this.encodePopup(top.popup, 'request', 'destroy'));
      out.toGuest.push(this.encodePopup(top.popup, 'event', 'popup_done'));
    }
  }

  /** The popups of `xdgSurface` not dismissed yet, oldest first (so the newest is handled first from a stack). */
  private liveChildren(xdgSurface: number): number[] {
    return [...(this.children.get(xdgSurface) ?? [])].filter((id) => !(this.popups.get(id) as Popup).dismissed);
  }

  private encodePopup(id: number, kind: 'request' | 'event', name: string): Uint8Array {
    const messages = kind === 'request' ? this.popup.requests : this.popup.events;
    const opcode = messages.findIndex((m) => m.name === name);
    return encodeMessage(id, opcode, messages[opcode], []).bytes;
  }
}

function outcome(drop: boolean): HostOutcome {
  return { before: [], toGuest: [], drop, freed: [] };
}
