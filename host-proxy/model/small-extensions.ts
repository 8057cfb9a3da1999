// Small per-surface extensions (viewporter, fractional scale, content type, tearing control, pointer constraints, activation tokens), checked by the host.
import { ProtocolError } from '../../protocol/protocol-error';
import type { ArgValue } from '../../protocol/wire-codec';
import { byHost, leftToCompositor, type ErrorAccounts } from './checker';

const TEST = 'test/unit/small-extensions.test.ts';

export const SMALL_EXTENSION_ERRORS: ErrorAccounts = {
  'wp_viewporter.viewport_exists': byHost(TEST),
  'wp_viewport.bad_value': byHost(TEST),
  'wp_viewport.no_surface': byHost(TEST),
  'wp_viewport.bad_size': leftToCompositor(
    'depends on the state at wl_surface.commit (source size not integer while no destination is set); wlroots and '
    + 'weston 10 check it in their commit handlers and post it without touching further state'),
  'wp_viewport.out_of_buffer': leftToCompositor(
    'depends on the buffer attached at wl_surface.commit, which the host does not model per surface; wlroots and '
    + 'weston 10 compare the source rectangle with the buffer at commit and post it'),
  'wp_presentation.invalid_timestamp': leftToCompositor(
    'no request carries a timestamp: the entry describes values in the compositor\'s own events, so a guest cannot cause it'),
  'wp_presentation.invalid_flag': leftToCompositor(
    'no request carries flags: the entry describes values in the compositor\'s own events, so a guest cannot cause it'),
  'wp_fractional_scale_manager_v1.fractional_scale_exists': byHost(TEST),
  'wp_content_type_manager_v1.already_constructed': byHost(TEST),
  'wp_tearing_control_manager_v1.tearing_control_exists': byHost(TEST),
  'zwp_pointer_constraints_v1.already_constrained': byHost(TEST),
  'xdg_activation_token_v1.already_used': byHost(TEST),
};

/** Extension objects of which a wl_surface may have one at a time: the manager request, the object's interface, and the error. */
const ONE_PER_SURFACE: ReadonlyMap<string, { iface: string; entry: string }> = new Map(Object.entries({
  'wp_viewporter.get_viewport': { iface: 'wp_viewport', entry: 'wp_viewporter.viewport_exists' },
  'wp_fractional_scale_manager_v1.get_fractional_scale': { iface: 'wp_fractional_scale_v1', entry: 'wp_fractional_scale_manager_v1.fractional_scale_exists' },
  'wp_content_type_manager_v1.get_surface_content_type': { iface: 'wp_content_type_v1', entry: 'wp_content_type_manager_v1.already_constructed' },
  'wp_tearing_control_manager_v1.get_tearing_control': { iface: 'wp_tearing_control_v1', entry: 'wp_tearing_control_manager_v1.tearing_control_exists' },
}));

const DESTRUCTORS = new Set(['wp_viewport.destroy', 'wp_fractional_scale_v1.destroy', 'wp_content_type_v1.destroy', 'wp_tearing_control_v1.destroy']);

const ONESHOT = 1; // zwp_pointer_constraints_v1.lifetime

export class SmallExtensions {
  /** `iface@surface` → the live extension object of that interface on that wl_surface. */
  private readonly onSurface = new Map<string, number>();
  /** Live extension object → its `iface@surface` key, or null once the wl_surface was destroyed. */
  private readonly keyOf = new Map<number, string | null>();
  /** `surface@pointer` → the live zwp_locked_pointer_v1 or zwp_confined_pointer_v1 on it. */
  private readonly constraints = new Map<string, number>();
  /** Live constraint → its key and lifetime. */
  private readonly constraintOf = new Map<number, { key: string; lifetime: number }>();
  /** xdg_activation_token_v1 objects that were committed. */
  private readonly usedTokens = new Set<number>();

  request(name: string, id: number, args: readonly ArgValue[]): void {
    const one = ONE_PER_SURFACE.get(name);
    if (one !== undefined) {
      const [object, surface] = args as [number, number];
      const key = `${one.iface}@${surface}`;
      const live = this.onSurface.get(key);
      if (live !== undefined) refuse(name, id, `wl_surface#${surface} has ${one.iface}#${live} already`, one.entry);
      this.onSurface.set(key, object);
      this.keyOf.set(object, key);
      return;
    }
    if (DESTRUCTORS.has(name)) {
      this.forget(id);
      return;
    }
    switch (name) {
      case 'wp_viewport.set_source': {
        this.needSurface(name, id);
        const [x, y, w, h] = args as number[];
        if (x === -1 && y === -1 && w === -1 && h === -1) break;
        if (x < 0 || y < 0 || w <= 0 || h <= 0) refuse(name, id, `source ${x},${y} ${w}x${h} is neither all -1 nor a non-negative origin with a positive size`, 'wp_viewport.bad_value');
        break;
      }
      case 'wp_viewport.set_destination': {
        this.needSurface(name, id);
        const [w, h] = args as number[];
        if (w === -1 && h === -1) break;
        if (w <= 0 || h <= 0) refuse(name, id, `destination ${w}x${h} is neither -1x-1 nor a positive size`, 'wp_viewport.bad_value');
        break;
      }
      case 'zwp_pointer_constraints_v1.lock_pointer':
      case 'zwp_pointer_constraints_v1.confine_pointer': {
        const [object, surface, pointer, , lifetime] = args as [number, number, number, unknown, number];
        const key = `${surface}@${pointer}`;
        const live = this.constraints.get(key);
        if (live !== undefined) refuse(name, id, `wl_surface#${surface} is constrained already for wl_pointer#${pointer} (object ${live})`, 'zwp_pointer_constraints_v1.already_constrained');
        this.constraints.set(key, object);
        this.constraintOf.set(object, { key, lifetime });
        break;
      }
      case 'zwp_locked_pointer_v1.destroy':
      case 'zwp_confined_pointer_v1.destroy':
        this.unconstrain(id);
        break;
      case 'xdg_activation_token_v1.set_serial':
      case 'xdg_activation_token_v1.set_app_id':
      case 'xdg_activation_token_v1.set_surface':
      case 'xdg_activation_token_v1.commit':
        if (this.usedTokens.has(id)) refuse(name, id, 'the token was committed already', 'xdg_activation_token_v1.already_used');
        if (name === 'xdg_activation_token_v1.commit') this.usedTokens.add(id);
        break;
      case 'xdg_activation_token_v1.destroy':
        this.usedTokens.delete(id);
        break;
      case 'wl_surface.destroy':
        this.destroySurface(id);
        break;
      default:
        break;
    }
  }

  /** A oneshot constraint that ends is dead for the compositor: the surface may be constrained anew. */
  event(name: string, id: number): void {
    if ((name === 'zwp_locked_pointer_v1.unlocked' || name === 'zwp_confined_pointer_v1.unconfined') && this.constraintOf.get(id)?.lifetime === ONESHOT) this.unconstrain(id);
  }

  private needSurface(name: string, id: number): void {
    if (this.keyOf.get(id) === null) refuse(name, id, 'its wl_surface was destroyed', 'wp_viewport.no_surface');
  }

  private forget(object: number): void {
    const key = this.keyOf.get(object);
    if (key != null) this.onSurface.delete(key);
    this.keyOf.delete(object);
  }

  private unconstrain(object: number): void {
    const c = this.constraintOf.get(object);
    if (c !== undefined && this.constraints.get(c.key) === object) this.constraints.delete(c.key);
    this.constraintOf.delete(object);
  }

  private destroySurface(surface: number): void {
    for (const one of ONE_PER_SURFACE.values()) {
      const key = `${one.iface}@${surface}`;
      const object = this.onSurface.get(key);
      if (object === undefined) continue;
      this.onSurface.delete(key);
      this.keyOf.set(object, null);
    }
    for (const [key, object] of this.constraints) {
      if (key.startsWith(`${surface}@`)) {
        this.constraints.delete(key);
        this.constraintOf.delete(object);
      }
    }
  }
}

function refuse(name: string, id: number, why: string, entry: string): never {
  const [iface, request] = name.split('.');
  throw new ProtocolError('BAD_ARGUMENT', `${iface}#${id}.${request}: ${why} (${entry})`, { objectId: id, entry });
}
