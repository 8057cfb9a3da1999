// The globals one client was offered: the policy's verdict on each wl_registry.global, and binds checked against it.
import type { Policy, Verdict } from '../protocol/policy';
import { guestText } from '../protocol/log-text';
import { ProtocolError } from '../protocol/protocol-error';
import type { ProtocolRegistry } from '../protocol/registry';
import type { MessageSpec } from '../protocol/types';
import { encodeMessage, type ArgValue, type UntypedNewId } from '../protocol/wire-codec';

/** What the client gets of a registry event: the event as it came, nothing, or these bytes instead. */
export type GlobalEvent = 'keep' | 'drop' | Uint8Array;

export class OfferedGlobals {
  /** Global name → interface and the version offered. */
  private readonly offered = new Map<number, { iface: string; version: number }>();

  /** `onHidden` hears of each global the policy hides from this client. */
  constructor(private readonly policy: Policy, private readonly registry: ProtocolRegistry, private readonly onHidden: (iface: string, version: number, reason: string) => void = () => undefined) {}

  /** wl_registry.global and global_remove (`name` is `iface.event`) as the client sees them; other events are kept. */
  filterEvent(name: string, registryId: number, opcode: number, spec: MessageSpec, args: readonly ArgValue[]): GlobalEvent {
    if (name === 'wl_registry.global_remove') return this.remove(args[0] as number) ? 'keep' : 'drop';
    if (name !== 'wl_registry.global') return 'keep';
    const [global, iface, version] = args as [number, string, number];
    const verdict = this.offer(global, iface, version);
    if (!verdict.allowed) {
      this.onHidden(iface, version, verdict.reason);
      return 'drop';
    }
    return verdict.version === version ? 'keep' : encodeMessage(registryId, opcode, spec, [global, iface, verdict.version]).bytes;
  }

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
      throw new ProtocolError('UNKNOWN_INTERFACE', `wl_registry#${registryId}.bind: invalid global ${guestText(want.interface)} (${name}) version ${want.version}, not offered to this client`);
    }
  }
}
