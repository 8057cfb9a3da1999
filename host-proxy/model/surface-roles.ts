// Surface roles and the sub-surface tree, checked by the host for each guest client before the compositor sees a request.
import { ProtocolError } from '../../protocol/protocol-error';
import type { ArgValue } from '../../protocol/wire-codec';
import { CEILINGS, overCeiling } from './ceilings';

type Role = 'wl_subsurface' | 'xdg_surface' | 'cursor' | 'drag icon';

interface SubSurface {
  /** The wl_surface it gives a role to; null once that surface was destroyed (the object is inert). */
  surface: number | null;
  /** null once the parent wl_surface was destroyed: the sub-surface has no parent and no siblings. */
  parent: number | null;
}

/**
 * A wl_surface keeps the first role it gets for good, and has one role object at a time. The sub-surface
 * tree has no cycles, and place_above/below name the parent or a sibling. weston 10 and sway 1.7 crash on
 * place_above/below of a sub-surface whose parent is gone, and weston 10 aborts when a surface with an
 * xdg_surface becomes a sub-surface (docs/compositor-crashes.md C1-C5): the host refuses these first.
 */
export class SurfaceRoles {
  private readonly roles = new Map<number, Role>();
  private readonly subsurfaces = new Map<number, SubSurface>();
  /** wl_surface → its live wl_subsurface. */
  private readonly subsurfaceOf = new Map<number, number>();
  /** wl_surface → its live xdg_surface. */
  private readonly xdgSurfaceOf = new Map<number, number>();
  private readonly xdgSurfaces = new Map<number, number>();

  /** Records request `name` (`iface.request`) to object `id`, or throws BAD_ARGUMENT naming the XML error; ignores other requests. */
  request(name: string, id: number, args: readonly ArgValue[]): void {
    switch (name) {
      case 'wl_subcompositor.get_subsurface':
        this.getSubsurface(id, args[0] as number, args[1] as number, args[2] as number);
        break;
      case 'wl_subsurface.place_above':
      case 'wl_subsurface.place_below':
        this.place(name, id, args[0] as number);
        break;
      case 'wl_subsurface.destroy': {
        const sub = this.subsurfaces.get(id);
        if (sub?.surface != null) this.subsurfaceOf.delete(sub.surface);
        this.subsurfaces.delete(id);
        break;
      }
      case 'xdg_wm_base.get_xdg_surface':
      case 'zxdg_shell_v6.get_xdg_surface':
        this.claim(args[1] as number, 'xdg_surface', name, id, `${name.split('.')[0]}.role`);
        if (this.xdgSurfaceOf.has(args[1] as number)) refuse(name, id, `wl_surface#${args[1] as number} has an xdg_surface already`, `${name.split('.')[0]}.role`);
        this.xdgSurfaceOf.set(args[1] as number, args[0] as number);
        this.xdgSurfaces.set(args[0] as number, args[1] as number);
        break;
      case 'xdg_surface.destroy':
      case 'zxdg_surface_v6.destroy': {
        const surface = this.xdgSurfaces.get(id);
        if (surface !== undefined) this.xdgSurfaceOf.delete(surface);
        this.xdgSurfaces.delete(id);
        break;
      }
      case 'wl_pointer.set_cursor':
      case 'zwp_tablet_tool_v2.set_cursor':
        if (args[1] !== 0 && args[1] !== null) this.claim(args[1] as number, 'cursor', name, id, `${name.split('.')[0]}.role`);
        break;
      case 'wl_data_device.start_drag':
        if (args[2] !== 0 && args[2] !== null) this.claim(args[2] as number, 'drag icon', name, id, 'wl_data_device.role');
        break;
      case 'wl_surface.destroy':
        this.destroySurface(id);
        break;
      default:
        break;
    }
  }

  private getSubsurface(subcompositor: number, sub: number, surface: number, parent: number): void {
    const name = 'wl_subcompositor.get_subsurface';
    if (surface === parent) refuse(name, subcompositor, `wl_surface#${surface} cannot be its own parent`, 'wl_subcompositor.bad_surface');
    if (this.subsurfaceOf.has(surface)) refuse(name, subcompositor, `wl_surface#${surface} is a sub-surface already`, 'wl_subcompositor.bad_surface');
    if (this.xdgSurfaceOf.has(surface)) refuse(name, subcompositor, `wl_surface#${surface} has an xdg_surface`, 'wl_subcompositor.bad_surface');
    this.claim(surface, 'wl_subsurface', name, subcompositor, 'wl_subcompositor.bad_surface');
    // one level for each surface from the parent up to the root
    let depth = 0;
    for (let up: number | null = parent; up !== null; up = this.parentOf(up), depth++) {
      if (up === surface) refuse(name, subcompositor, `wl_surface#${surface} is an ancestor of its parent wl_surface#${parent}`, 'wl_subcompositor.bad_surface');
    }
    // the surface's own sub-surfaces hang below it too
    depth += this.depthBelow(surface);
    if (depth > CEILINGS.subsurfaceDepth) overCeiling('subsurfaceDepth', `wl_subcompositor#${subcompositor}.get_subsurface makes a sub-surface tree ${depth} deep`);
    this.subsurfaces.set(sub, { surface, parent });
    this.subsurfaceOf.set(surface, sub);
  }

  private place(name: string, id: number, sibling: number): void {
    const sub = this.subsurfaces.get(id);
    if (sub === undefined || sub.surface === null) refuse(name, id, 'its wl_surface was destroyed', 'wl_subsurface.bad_surface');
    if (sub.parent === null) refuse(name, id, 'its parent wl_surface was destroyed, so it has no parent or siblings', 'wl_subsurface.bad_surface');
    if (sibling === sub.parent) return;
    if (sibling === sub.surface || this.parentOf(sibling) !== sub.parent) {
      refuse(name, id, `wl_surface#${sibling} is neither its parent nor a sibling`, 'wl_subsurface.bad_surface');
    }
  }

  /** How many levels of sub-surfaces hang below `surface` (one pass over the sub-surfaces, then the tree). */
  private depthBelow(surface: number): number {
    const children = new Map<number, number[]>();
    for (const sub of this.subsurfaces.values()) {
      if (sub.parent === null || sub.surface === null) continue;
      const list = children.get(sub.parent);
      if (list === undefined) children.set(sub.parent, [sub.surface]);
      else list.push(sub.surface);
    }
    if (!children.has(surface)) return 0;
    let depth = 0;
    for (let level = [surface]; level.length > 0; depth++) level = level.flatMap((s) => children.get(s) ?? []);
    return depth - 1;
  }

  /** The parent of a surface that is a live sub-surface, else null. */
  /** The top of `surface`'s sub-surface tree (itself when it is no live sub-surface). */
  rootOf(surface: number): number {
    let root = surface;
    for (let up = this.parentOf(root); up !== null; up = this.parentOf(up)) root = up;
    return root;
  }

  private parentOf(surface: number): number | null {
    const sub = this.subsurfaceOf.get(surface);
    return sub === undefined ? null : (this.subsurfaces.get(sub)?.parent ?? null);
  }

  /** Gives `surface` its role, or throws when it has another one. */
  private claim(surface: number, role: Role, request: string, id: number, xmlError: string): void {
    const had = this.roles.get(surface);
    if (had !== undefined && had !== role) refuse(request, id, `wl_surface#${surface} has the ${had} role, not ${role}`, xmlError);
    this.roles.set(surface, role);
  }

  private destroySurface(surface: number): void {
    this.roles.delete(surface);
    this.xdgSurfaceOf.delete(surface);
    for (const sub of this.subsurfaces.values()) if (sub.parent === surface) sub.parent = null;
    const own = this.subsurfaceOf.get(surface);
    if (own !== undefined) {
      (this.subsurfaces.get(own) as SubSurface).surface = null;
      this.subsurfaceOf.delete(surface);
    }
  }
}

/** `xmlError`: the protocol's error for it, `interface.entry`. */
function refuse(request: string, id: number, why: string, xmlError: string): never {
  const [iface, req] = request.split('.');
  throw new ProtocolError('BAD_ARGUMENT', `${iface}#${id}.${req}: ${why} (${xmlError})`, { objectId: id, entry: xmlError });
}
