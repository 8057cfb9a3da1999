// wl_surface and wl_region requests checked by the host: buffer scale, transform and attach offsets, and damage rectangles the compositor can add.
import { ProtocolError } from '../../protocol/protocol-error';
import type { ArgValue, UntypedNewId } from '../../protocol/wire-codec';
import type { FamilyChecker } from './checker';

const INT32_MAX = 0x7fffffff;
/** wl_output.transform runs from normal (0) to flipped_270 (7). */
const LAST_TRANSFORM = 7;
/** From this wl_surface version on, attach with a non-zero x or y is invalid_offset (wl_surface.offset replaces it). */
const OFFSET_SINCE = 5;

const RECTANGLE_REQUESTS = new Set(['wl_surface.damage', 'wl_surface.damage_buffer', 'wl_region.add', 'wl_region.subtract']);

/**
 * The wl_surface errors weston 10 and wlroots 0.15 post themselves, posted by the host first (so every
 * compositor answers alike). invalid_size is left to the compositor: wlroots only logs it (wayland issue 194:
 * clients send cursor buffers not divisible by the scale) and weston 10 does not check it.
 */
export class Surfaces implements FamilyChecker {
  /** wl_compositor and wl_surface ids → their version. */
  private readonly versions = new Map<number, number>();

  request(name: string, id: number, args: readonly ArgValue[]): void {
    switch (name) {
      case 'wl_registry.bind': {
        const bound = args[1] as UntypedNewId;
        if (bound.interface === 'wl_compositor') this.versions.set(bound.id, bound.version);
        break;
      }
      case 'wl_compositor.create_surface':
        this.versions.set(args[0] as number, this.versions.get(id) ?? 1);
        break;
      case 'wl_surface.destroy':
        this.versions.delete(id);
        break;
      case 'wl_surface.set_buffer_scale':
        if ((args[0] as number) <= 0) refuse(name, id, `scale ${args[0] as number} is not positive`, 'wl_surface.invalid_scale');
        break;
      case 'wl_surface.set_buffer_transform': {
        const transform = args[0] as number;
        if (!Number.isInteger(transform) || transform < 0 || transform > LAST_TRANSFORM) refuse(name, id, `${transform} is not a wl_output.transform`, 'wl_surface.invalid_transform');
        break;
      }
      case 'wl_surface.attach':
        if ((this.versions.get(id) ?? 1) >= OFFSET_SINCE && (args[1] !== 0 || args[2] !== 0)) {
          refuse(name, id, `x ${args[1] as number}, y ${args[2] as number} must be 0 from version ${OFFSET_SINCE} on (use wl_surface.offset)`, 'wl_surface.invalid_offset');
        }
        break;
      default:
        break;
    }
  }

  /**
   * A damage or region rectangle as the compositor gets it. There is no XML error for these: weston and wlroots
   * pass them to pixman_region32_union_rect, where x + width past INT32_MAX wraps (pixman then logs
   * "Invalid rectangle passed" on every call) and a negative width becomes a huge unsigned one (wl_region).
   * So the far edge is clamped to INT32_MAX (clients damage "everything" with INT32_MAX sizes), and an empty or
   * negative rectangle, which adds nothing, is dropped. Returns null for other requests and sane rectangles.
   */
  rectangle(name: string, args: readonly ArgValue[]): ArgValue[] | 'drop' | null {
    if (!RECTANGLE_REQUESTS.has(name)) return null;
    const [x, y, width, height] = args as number[];
    if (width <= 0 || height <= 0) return 'drop';
    const w = x > 0 ? Math.min(width, INT32_MAX - x) : width;
    const h = y > 0 ? Math.min(height, INT32_MAX - y) : height;
    if (w <= 0 || h <= 0) return 'drop';
    return w === width && h === height ? null : [x, y, w, h];
  }
}

function refuse(request: string, id: number, why: string, xmlError: string): never {
  const [iface, req] = request.split('.');
  throw new ProtocolError('BAD_ARGUMENT', `${iface}#${id}.${req}: ${why} (${xmlError})`, { objectId: id, entry: xmlError });
}
