// Server-side decorations (xdg-decoration and KDE's server-decoration), checked by the host for each guest client.
import { ProtocolError } from '../../protocol/protocol-error';
import type { ArgValue } from '../../protocol/wire-codec';
import { byHost, leftToCompositor, type ErrorAccounts } from './checker';

const TEST = 'test/unit/decorations.test.ts';

export const DECORATION_ERRORS: ErrorAccounts = {
  'zxdg_toplevel_decoration_v1.already_constructed': byHost(TEST),
  'zxdg_toplevel_decoration_v1.unconfigured_buffer': leftToCompositor(
    'wlroots checks for a buffer when the decoration is made and posts the error; weston 10 offers no xdg-decoration; '
    + 'whether a buffer is attached is compositor state the host does not track per surface'),
  'zxdg_toplevel_decoration_v1.orphaned': leftToCompositor(
    'toolkits may destroy the toplevel first; wlroots 0.15 (sway 1.7) frees the decoration together with a mapped '
    + 'toplevel and ends the client on its next request (invalid object), and keeps an unmapped one inert; sway '
    + 'survives both orders (test/integration/decorations.test.ts); weston 10 offers no xdg-decoration'),
};

/** KDE's server-decoration protocol defines no errors; more live decorations than this on one wl_surface is no toolkit's doing. */
export const MAX_KDE_DECORATIONS_PER_SURFACE = 8;

const KDE_MODES = new Set([0, 1, 2]); // None, Client, Server

/**
 * One xdg decoration per toplevel at a time (sway 1.7 keeps one per view and would be left with a stale one).
 * KDE decorations: modes within the enum, a bounded count per surface, and request_mode on a decoration whose
 * wl_surface is gone is dropped: wlroots frees the decoration with the surface and then dereferences it there.
 */
export class Decorations {
  /** Live xdg_toplevel → its live zxdg_toplevel_decoration_v1. */
  private readonly decorationOf = new Map<number, number>();
  /** Live zxdg_toplevel_decoration_v1 → its toplevel, or null once that toplevel was destroyed (orphaned). */
  private readonly toplevelOf = new Map<number, number | null>();
  /** Live org_kde_kwin_server_decoration → its wl_surface, or null once that surface was destroyed (inert). */
  private readonly kdeSurfaceOf = new Map<number, number | null>();

  request(name: string, id: number, args: readonly ArgValue[]): void {
    switch (name) {
      case 'zxdg_decoration_manager_v1.get_toplevel_decoration': {
        const [decoration, toplevel] = args as [number, number];
        if (this.decorationOf.has(toplevel)) {
          refuse(name, id, `xdg_toplevel#${toplevel} has zxdg_toplevel_decoration_v1#${this.decorationOf.get(toplevel)!} already`, 'zxdg_toplevel_decoration_v1.already_constructed');
        }
        this.decorationOf.set(toplevel, decoration);
        this.toplevelOf.set(decoration, toplevel);
        break;
      }
      case 'zxdg_toplevel_decoration_v1.destroy': {
        const toplevel = this.toplevelOf.get(id);
        if (toplevel != null) this.decorationOf.delete(toplevel);
        this.toplevelOf.delete(id);
        break;
      }
      case 'xdg_toplevel.destroy': {
        const decoration = this.decorationOf.get(id);
        if (decoration !== undefined) this.toplevelOf.set(decoration, null);
        this.decorationOf.delete(id);
        break;
      }
      case 'org_kde_kwin_server_decoration_manager.create': {
        const [decoration, surface] = args as [number, number];
        const count = [...this.kdeSurfaceOf.values()].filter((s) => s === surface).length;
        if (count >= MAX_KDE_DECORATIONS_PER_SURFACE) {
          refuse(name, id, `wl_surface#${surface} has ${count} live org_kde_kwin_server_decoration objects already (at most ${MAX_KDE_DECORATIONS_PER_SURFACE})`);
        }
        this.kdeSurfaceOf.set(decoration, surface);
        break;
      }
      case 'org_kde_kwin_server_decoration.request_mode':
        if (!KDE_MODES.has(args[0] as number)) refuse(name, id, `mode ${String(args[0])} is not None (0), Client (1) or Server (2)`);
        break;
      case 'org_kde_kwin_server_decoration.release':
        this.kdeSurfaceOf.delete(id);
        break;
      case 'wl_surface.destroy':
        for (const [decoration, surface] of this.kdeSurfaceOf) if (surface === id) this.kdeSurfaceOf.set(decoration, null);
        break;
      default:
        break;
    }
  }

  /** Whether the host drops request `name` to `id` instead of forwarding it: it would reach state the compositor freed. */
  drops(name: string, id: number): boolean {
    return name === 'org_kde_kwin_server_decoration.request_mode' && this.kdeSurfaceOf.get(id) === null;
  }
}

/** `entry` is omitted where the protocol defines no error for it (the guest then gets a generic error). */
function refuse(name: string, id: number, why: string, entry?: string): never {
  const [iface, request] = name.split('.');
  throw new ProtocolError('BAD_ARGUMENT', `${iface}#${id}.${request}: ${why}${entry === undefined ? '' : ` (${entry})`}`, entry === undefined ? undefined : { objectId: id, entry });
}
