// A wp_viewport the guest destroys: the host first leaves weston nothing fractional behind, as the protocol says the destroy removes it.
import type { ProtocolRegistry } from '../../protocol/registry';
import type { InterfaceSpec } from '../../protocol/types';
import { encodeMessage, type ArgValue } from '../../protocol/wire-codec';
import type { HostOutcome } from './xdg-popups';

/**
 * wp_viewport.destroy removes the surface's crop and scale state at the next commit. weston 10 only marks the
 * source width unset and keeps the rest of the source rectangle, and its next commit asserts (SIGABRT in
 * surface_commit, `surface->viewport_resource`) when that rest is fractional: found by the grammar fuzzer, also
 * after set_source(-1, -1, -1, -1). So before forwarding the destroy of a viewport whose surface lives, the host
 * sends set_source(0, 0, 1, 1) and set_destination(-1, -1): what weston keeps is then whole, and the destroy
 * unsets it as before.
 */
export class ViewportReset {
  /** Live wp_viewport → its wl_surface, while that surface lives. */
  private readonly surfaceOf = new Map<number, number>();
  private readonly viewport: InterfaceSpec;
  private readonly setSource: number;
  private readonly setDestination: number;

  constructor(registry: ProtocolRegistry) {
    const viewport = registry.interface('wp_viewport');
    if (viewport === undefined) throw new Error('the protocol registry lacks wp_viewport');
    this.viewport = viewport;
    this.setSource = viewport.requests.findIndex((r) => r.name === 'set_source');
    this.setDestination = viewport.requests.findIndex((r) => r.name === 'set_destination');
  }

  request(name: string, id: number, args: readonly ArgValue[]): HostOutcome | null {
    switch (name) {
      case 'wp_viewporter.get_viewport':
        this.surfaceOf.set(args[0] as number, args[1] as number);
        return null;
      case 'wl_surface.destroy':
        for (const [viewport, surface] of this.surfaceOf) if (surface === id) this.surfaceOf.delete(viewport);
        return null;
      case 'wp_viewport.destroy':
        if (!this.surfaceOf.delete(id)) return null;
        return {
          before: [
            encodeMessage(id, this.setSource, this.viewport.requests[this.setSource], [0, 0, 1, 1]).bytes,
            encodeMessage(id, this.setDestination, this.viewport.requests[this.setDestination], [-1, -1]).bytes,
          ],
          toGuest: [], drop: false, freed: [],
        };
      default:
        return null;
    }
  }
}
