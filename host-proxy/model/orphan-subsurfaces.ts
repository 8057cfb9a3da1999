// Sub-surfaces whose parent wl_surface the guest destroys: the host destroys their wl_subsurface towards the compositor first.
import type { ProtocolRegistry } from '../../protocol/registry';
import type { InterfaceSpec } from '../../protocol/types';
import { encodeMessage, readU32, type ArgValue } from '../../protocol/wire-codec';
import type { HostOutcome } from './xdg-popups';

/**
 * When a parent wl_surface is destroyed, its sub-surfaces are left without a parent: the protocol makes them
 * inert until the guest destroys their wl_subsurface. sway 1.7 walks from a surface to its root through that
 * missing parent (to decide whether an idle inhibitor's view is visible) and segfaults, found by the grammar
 * fuzzer (test/fuzz/crash-corpus). So the compositor never sees an orphan: the host destroys the wl_subsurface
 * towards it just before the parent goes, swallows the compositor's delete_id, drops the guest's later requests
 * to the inert object, and answers the guest's own wl_subsurface.destroy with the delete_id itself.
 */
export class OrphanSubsurfaces {
  /** Live wl_subsurface (in the compositor's view) → its parent wl_surface. */
  private readonly parents = new Map<number, number>();
  /** wl_subsurfaces the host destroyed towards the compositor while the guest's objects live on. */
  private readonly detached = new Set<number>();
  /** Ids the host destroyed whose wl_display.delete_id has not come back yet. */
  private readonly awaitingDeleteId = new Set<number>();
  private readonly display: InterfaceSpec;
  private readonly subsurface: InterfaceSpec;
  private readonly deleteIdOpcode: number;
  private readonly destroyOpcode: number;

  constructor(registry: ProtocolRegistry) {
    const display = registry.interface('wl_display');
    const subsurface = registry.interface('wl_subsurface');
    if (display === undefined || subsurface === undefined) throw new Error('the protocol registry lacks wl_display or wl_subsurface');
    this.display = display;
    this.subsurface = subsurface;
    this.deleteIdOpcode = display.events.findIndex((e) => e.name === 'delete_id');
    this.destroyOpcode = subsurface.requests.findIndex((r) => r.name === 'destroy');
  }

  /** What the host does besides forwarding request `name` (`iface.request`) to object `id`; null: forward it as it is. */
  request(name: string, id: number, args: readonly ArgValue[]): HostOutcome | null {
    switch (name) {
      case 'wl_subcompositor.get_subsurface':
        this.parents.set(args[0] as number, args[2] as number);
        return null;
      case 'wl_surface.destroy':
        return this.detachChildrenOf(id);
      case 'wl_subsurface.destroy':
        this.parents.delete(id);
        if (!this.detached.delete(id)) return null;
        return {
          before: [], drop: true, freed: [id],
          toGuest: [encodeMessage(1, this.deleteIdOpcode, this.display.events[this.deleteIdOpcode], [id]).bytes],
        };
      case 'wl_subsurface.set_position':
      case 'wl_subsurface.place_above':
      case 'wl_subsurface.place_below':
      case 'wl_subsurface.set_sync':
      case 'wl_subsurface.set_desync':
        return this.detached.has(id) ? { before: [], toGuest: [], drop: true, freed: [] } : null;
      default:
        return null;
    }
  }

  /** wl_subsurface.destroy of every sub-surface the compositor still has, for a client about to be disconnected. */
  teardown(): Uint8Array[] {
    const out = [...this.parents.keys()].map((sub) => encodeMessage(sub, this.destroyOpcode, this.subsurface.requests[this.destroyOpcode], []).bytes);
    this.parents.clear();
    return out;
  }

  /** True for the compositor's wl_display.delete_id of a wl_subsurface the host destroyed (the guest's object lives on). */
  swallowsEvent(objectId: number, opcode: number, message: Uint8Array): boolean {
    if (objectId !== 1 || opcode !== this.deleteIdOpcode || this.awaitingDeleteId.size === 0) return false;
    return this.awaitingDeleteId.delete(readU32(message, 8));
  }

  private detachChildrenOf(surface: number): HostOutcome | null {
    const before: Uint8Array[] = [];
    for (const [sub, parent] of this.parents) {
      if (parent !== surface) continue;
      this.parents.delete(sub);
      this.detached.add(sub);
      this.awaitingDeleteId.add(sub);
      before.push(encodeMessage(sub, this.destroyOpcode, this.subsurface.requests[this.destroyOpcode], []).bytes);
    }
    return before.length === 0 ? null : { before, toGuest: [], drop: false, freed: [] };
  }
}
