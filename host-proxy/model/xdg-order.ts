// The xdg-shell destruction order and one-role rules, checked by the host for each guest client.
import { ProtocolError } from '../../protocol/protocol-error';
import type { ArgValue } from '../../protocol/wire-codec';

/**
 * xdg-shell says role objects go before their xdg_surface, xdg_surfaces before their wl_surface and their
 * xdg_wm_base (defunct_role_object, defunct_surfaces), and an xdg_surface gets one role only
 * (already_constructed). weston 10 does not check these and crashes on the next request of such an object,
 * taking every client of the host with it (found by test/fuzz/guest-fuzz): the host checks them.
 */
export class XdgOrder {
  /** Live xdg_surface id → its xdg_wm_base and wl_surface. */
  private readonly surfaces = new Map<number, { wm: number; surface: number }>();
  /** Live xdg_toplevel/xdg_popup id → its xdg_surface. */
  private readonly roles = new Map<number, number>();
  /** xdg_surfaces that were given a role (a second one is already_constructed). */
  private readonly constructed = new Set<number>();

  /** Records request `name` (`iface.request`) to object `id`, or throws BAD_ARGUMENT when it breaks the order; ignores other requests. */
  request(name: string, id: number, args: readonly ArgValue[]): void {
    /** `entry`: the XML error a compositor posts on this object, where xdg-shell names one. */
    const refuse = (what: string, entry?: string): never => {
      const [iface, request] = name.split('.');
      throw new ProtocolError('BAD_ARGUMENT', `${iface}#${id}.${request} while ${what} (${entry ?? 'xdg-shell: defunct role object or surfaces'})`,
        entry === undefined ? undefined : { objectId: id, entry });
    };
    switch (name) {
      case 'xdg_wm_base.get_xdg_surface':
        this.surfaces.set(args[0] as number, { wm: id, surface: args[1] as number });
        break;
      case 'xdg_surface.get_toplevel':
      case 'xdg_surface.get_popup':
        if (this.constructed.has(id)) refuse('it had a role already', 'xdg_surface.already_constructed');
        this.constructed.add(id);
        this.roles.set(args[0] as number, id);
        break;
      case 'xdg_toplevel.destroy':
      case 'xdg_popup.destroy':
        this.roles.delete(id);
        break;
      case 'xdg_surface.destroy':
        for (const x of this.roles.values()) if (x === id) refuse('its xdg_toplevel or xdg_popup is alive', 'xdg_surface.defunct_role_object');
        this.surfaces.delete(id);
        this.constructed.delete(id);
        break;
      case 'xdg_wm_base.destroy':
        for (const x of this.surfaces.values()) if (x.wm === id) refuse('xdg_surface objects made from it are alive', 'xdg_wm_base.defunct_surfaces');
        break;
      case 'wl_surface.destroy':
        for (const x of this.surfaces.values()) if (x.surface === id) refuse('its xdg_surface is alive');
        break;
      default:
        break;
    }
  }
}
