// The host's model of one guest client's requests: checks each one as a strict compositor would, and says how it goes on.
import type { OfferedGlobals } from '../../link/offered-globals';
import type { Policy } from '../../protocol/policy';
import type { ArgValue, UntypedNewId } from '../../protocol/wire-codec';
import { CompositorPools } from './compositor-pools';
import { QuotaError, type HostPools } from '../host-pools';
import type { FamilyChecker } from './checker';
import { Decorations } from './decorations';
import { SmallExtensions } from './small-extensions';
import { SurfaceRoles } from './surface-roles';
import { Ceilings } from './ceilings';
import { DataDevice } from './data-device';
import { IdleInhibitors } from './idle-inhibitors';
import { Surfaces } from './surfaces';
import { XdgShell } from './xdg-shell';

const TITLE_REQUESTS = new Set(['xdg_toplevel.set_title', 'zxdg_toplevel_v6.set_title']);
const APP_ID_REQUESTS = new Set(['xdg_toplevel.set_app_id', 'zxdg_toplevel_v6.set_app_id']);

/**
 * Each checker keeps the state of one protocol family and throws ProtocolError (naming the XML error) for a
 * request the protocol forbids or the compositor would crash on; QuotaError for a ceiling passed.
 */
export class RequestModel {
  /** The pools as the compositor maps them: their bounds, and the mappings this client makes it keep. */
  readonly pools: CompositorPools;
  private readonly decorations = new Decorations();
  /** Also asked for wl_registry.bind (wl_compositor versions), and for the damage rectangles it clamps. */
  private readonly surfaces = new Surfaces();
  private readonly roles = new SurfaceRoles();
  /** Also asked to move an inhibitor off a sub-surface. */
  private readonly idleInhibitors = new IdleInhibitors(this.roles);
  /** One checker per protocol family, each asked about every request in this order. */
  private readonly families: FamilyChecker[] = [new XdgShell(), this.roles, this.surfaces, new DataDevice(), this.decorations, new SmallExtensions(), this.idleInhibitors];
  /** Asked after the pools: a buffer that does not fit its pool is a protocol error before it is a ceiling. */
  private readonly ceilings = new Ceilings();
  /** From xdg_toplevel.set_app_id / set_title, as the guest sent them. */
  appId: string | null = null;
  title: string | null = null;

  constructor(private readonly globals: OfferedGlobals, hostPools: HostPools, private readonly policy: Policy, private readonly maxPools: number) {
    this.pools = new CompositorPools(hostPools);
  }

  /**
   * Checks request `name` to object `id` (`resource`: that of its fd, if any) before it changes the object
   * map. Returns the args the compositor gets instead, null to forward it as it came, or 'drop'.
   */
  request(name: string, id: number, args: ArgValue[], resource: number | undefined): ArgValue[] | null | 'drop' {
    if (name === 'wl_registry.bind') {
      this.globals.checkBind(id, args[0] as number, args[1] as UntypedNewId);
      this.surfaces.request(name, id, args);
      return null;
    }
    if (this.decorations.drops(name, id)) return 'drop';
    for (const family of this.families) family.request(name, id, args);
    const shm = this.pools.request(name, id, args, resource);
    this.ceilings.request(name, id, args);
    if (name === 'wl_shm.create_pool' && this.pools.mappings > this.maxPools) {
      throw new QuotaError('max-pools', `the compositor would map ${this.pools.mappings} shm pools for this client, more than ${this.maxPools} (--max-pools)`);
    }
    return shm ?? this.surfaces.rectangle(name, args) ?? this.idleInhibitors.rewrite(name, args) ?? this.rewrite(name, args);
  }

  /** Event `name` (`iface.event`) from the compositor to object `id`, before the guest sees it. */
  event(name: string, id: number, args: readonly ArgValue[]): void {
    for (const family of this.families) family.event?.(name, id, args);
    this.pools.event(name, id, args);
    this.ceilings.event(name, id, args);
  }

  /** Title prefixes; app ids and titles are noted for the status page. */
  private rewrite(name: string, args: ArgValue[]): ArgValue[] | null {
    if (APP_ID_REQUESTS.has(name)) this.appId = args[0] as string;
    if (!TITLE_REQUESTS.has(name)) return null;
    this.title = args[0] as string;
    return this.policy.titlePrefix === '' ? null : [this.policy.titlePrefix + (args[0] as string)];
  }
}
