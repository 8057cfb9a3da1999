// Idle inhibitors of one guest client: the compositor only ever gets them on surfaces that are no sub-surfaces.
import { ProtocolError } from '../../protocol/protocol-error';
import type { ArgValue } from '../../protocol/wire-codec';
import type { FamilyChecker } from './checker';
import type { SurfaceRoles } from './surface-roles';

/**
 * sway 1.7 walks every idle inhibitor's surface up to its view through the sub-surface parents, on each
 * inhibitor created or destroyed by any client, and segfaults on a sub-surface whose parent is gone. Such
 * orphans arise in the compositor's own teardown of a client it ends (parents go first), so the host never
 * lets an inhibitor sit on a sub-surface: create_inhibitor on a sub-surface goes to the root of its tree (which
 * is visible exactly when the sub-surface can be), and a surface with an inhibitor may not become a sub-surface.
 */
export class IdleInhibitors implements FamilyChecker {
  /** Live zwp_idle_inhibitor_v1 → the wl_surface the compositor has it on. */
  private readonly targets = new Map<number, number>();

  constructor(private readonly roles: SurfaceRoles) {}

  request(name: string, id: number, args: readonly ArgValue[]): void {
    switch (name) {
      case 'zwp_idle_inhibitor_v1.destroy':
        this.targets.delete(id);
        break;
      case 'wl_surface.destroy':
        for (const [inhibitor, surface] of this.targets) if (surface === id) this.targets.delete(inhibitor);
        break;
      case 'wl_subcompositor.get_subsurface':
        for (const [inhibitor, surface] of this.targets) {
          if (surface !== args[1]) continue;
          throw new ProtocolError('BAD_ARGUMENT', `wl_subcompositor#${id}.get_subsurface: wl_surface#${surface} has zwp_idle_inhibitor_v1#${inhibitor}, and sway 1.7 crashes on an inhibitor of a sub-surface (no XML error; destroy the inhibitor first)`);
        }
        break;
      default:
        break;
    }
  }

  /** create_inhibitor's args as the compositor gets them (on the root surface), or null to forward it as it came. */
  rewrite(name: string, args: readonly ArgValue[]): ArgValue[] | null {
    if (name !== 'zwp_idle_inhibit_manager_v1.create_inhibitor') return null;
    const root = this.roles.rootOf(args[1] as number);
    this.targets.set(args[0] as number, root);
    return root === args[1] ? null : [args[0], root];
  }
}
