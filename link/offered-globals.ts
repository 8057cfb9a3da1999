// The globals one client was offered: the policy's verdict on each wl_registry.global, and binds checked against it.
import type { Policy, Verdict } from '../protocol/policy';
import { ProtocolError } from '../protocol/protocol-error';
import type { ProtocolRegistry } from '../protocol/registry';
import type { UntypedNewId } from '../protocol/wire-codec';

export class OfferedGlobals {
  /** Global name → interface and the version offered. */
  private readonly offered = new Map<number, { iface: string; version: number }>();

  constructor(private readonly policy: Policy, private readonly registry: ProtocolRegistry) {}

  /** wl_registry.global: whether the client sees it, and at which version (recorded when it does). */
  offer(name: number, iface: string, version: number): Verdict {
    const verdict = this.policy.judge(iface, version, this.registry);
    if (verdict.allowed) this.offered.set(name, { iface, version: verdict.version });
    return verdict;
  }

  /** wl_registry.global_remove: false for a global the client never saw (the event is dropped). */
  remove(name: number): boolean {
    return this.offered.delete(name);
  }

  /** wl_registry.bind: throws UNKNOWN_INTERFACE unless `name` was offered as that interface, at that version or higher. */
  checkBind(registryId: number, name: number, want: UntypedNewId): void {
    const g = this.offered.get(name);
    if (g === undefined || g.iface !== want.interface || want.version > g.version) {
      throw new ProtocolError('UNKNOWN_INTERFACE', `wl_registry#${registryId}.bind: global ${name} is not offered to this client as ${want.interface} v${want.version}`);
    }
  }
}
