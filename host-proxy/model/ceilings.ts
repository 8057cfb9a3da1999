// Ceilings on what one guest client may make the compositor hold: surfaces, sub-surfaces, frame callbacks, region rectangles, buffer sizes.
import type { ArgValue } from '../../protocol/wire-codec';
import { QuotaError } from '../host-pools';
import type { FamilyChecker } from './checker';

/**
 * Far above what real applications use (a browser with many tabs keeps a few hundred surfaces; GL renderers
 * take textures up to 16384 pixels a side), low enough that one client cannot make the compositor spend its
 * memory or time on them.
 */
export const CEILINGS = Object.freeze({
  /** Width and height of one buffer, in pixels. */
  bufferSide: 16384,
  /** Live wl_surfaces per client. */
  surfaces: 4096,
  /** Live wl_subsurfaces per client. */
  subsurfaces: 1024,
  /** Sub-surfaces from a root surface down to the deepest one. */
  subsurfaceDepth: 16,
  /** wl_surface.frame callbacks per client the compositor has not answered with wl_callback.done yet. */
  framesPending: 1024,
  /** wl_region.add and subtract calls on one wl_region. */
  regionRectangles: 1024,
  /** xdg_popups open at once per client (enforced by XdgShell). */
  popupsOpen: 64,
});

export type CeilingName = keyof typeof CEILINGS;

/** Throws the QuotaError that ends a client that would pass ceiling `name`. */
export function overCeiling(name: CeilingName, message: string): never {
  throw new QuotaError(`ceiling-${name}`, `${message}, more than ${CEILINGS[name]} (the ${name} ceiling)`);
}

/** Counts what one guest client makes the compositor hold, and ends it at a ceiling. The sub-surface depth is SurfaceRoles' (it has the tree). */
export class Ceilings implements FamilyChecker {
  private readonly surfaces = new Set<number>();
  private readonly subsurfaces = new Set<number>();
  /** wl_callback ids of wl_surface.frame not answered yet. */
  private readonly frames = new Set<number>();
  /** wl_region id → add/subtract calls so far. */
  private readonly regions = new Map<number, number>();

  request(name: string, id: number, args: readonly ArgValue[]): void {
    switch (name) {
      case 'wl_compositor.create_surface':
        this.surfaces.add(args[0] as number);
        if (this.surfaces.size > CEILINGS.surfaces) overCeiling('surfaces', `wl_compositor#${id}.create_surface makes ${this.surfaces.size} live wl_surfaces`);
        break;
      case 'wl_surface.destroy':
        this.surfaces.delete(id);
        break;
      case 'wl_subcompositor.get_subsurface':
        this.subsurfaces.add(args[0] as number);
        if (this.subsurfaces.size > CEILINGS.subsurfaces) overCeiling('subsurfaces', `wl_subcompositor#${id}.get_subsurface makes ${this.subsurfaces.size} live wl_subsurfaces`);
        break;
      case 'wl_subsurface.destroy':
        this.subsurfaces.delete(id);
        break;
      case 'wl_surface.frame':
        this.frames.add(args[0] as number);
        if (this.frames.size > CEILINGS.framesPending) overCeiling('framesPending', `wl_surface#${id}.frame makes ${this.frames.size} frame callbacks the compositor has not answered`);
        break;
      case 'wl_compositor.create_region':
        this.regions.set(args[0] as number, 0);
        break;
      case 'wl_region.add':
      case 'wl_region.subtract': {
        const n = (this.regions.get(id) ?? 0) + 1;
        this.regions.set(id, n);
        if (n > CEILINGS.regionRectangles) overCeiling('regionRectangles', `wl_region#${id}.${name.slice(10)} gives it ${n} rectangles`);
        break;
      }
      case 'wl_region.destroy':
        this.regions.delete(id);
        break;
      case 'wl_shm_pool.create_buffer': {
        const [width, height] = [args[2] as number, args[3] as number];
        if (width > CEILINGS.bufferSide || height > CEILINGS.bufferSide) overCeiling('bufferSide', `wl_shm_pool#${id}.create_buffer: a ${width}x${height} buffer has a side of ${Math.max(width, height)} pixels`);
        break;
      }
      default:
        break;
    }
  }

  /** A callback is answered by wl_callback.done; one the compositor destroys with its surface, by wl_display.delete_id. */
  event(name: string, id: number, args: readonly ArgValue[]): void {
    if (name === 'wl_callback.done') this.frames.delete(id);
    else if (name === 'wl_display.delete_id') this.frames.delete(args[0] as number);
  }
}
