// Looks up Wayland interfaces and message signatures by name and opcode (pure: no I/O).
import { isDeepStrictEqual } from 'node:util';
import { ALL_PROTOCOLS } from './generated';
import { buildInterfaceTable, type InterfaceTable } from './message-table';
import type { InterfaceSpec, MessageSpec, ProtocolSpec } from './types';
import { parseProtocolXml } from './xml-to-spec';

export class ProtocolRegistry {
  private readonly interfaces = new Map<string, InterfaceSpec>();
  /** Which protocol source defined each interface, for conflict messages. */
  private readonly origins = new Map<string, string>();
  private readonly fdCounts = new WeakMap<MessageSpec, number>();
  private readonly tables = new Map<string, InterfaceTable>();

  /** A new registry holding every generated table (wayland.xml and wayland-protocols). */
  static builtin(): ProtocolRegistry {
    const registry = new ProtocolRegistry();
    for (const spec of ALL_PROTOCOLS) registry.add(spec);
    return registry;
  }

  /**
   * Adds every interface of `spec`, all or none. Redefining a known interface differently throws;
   * an identical redefinition is ignored. The spec is frozen: lookups hand out the same objects.
   */
  add(spec: ProtocolSpec): void {
    const fresh: InterfaceSpec[] = [];
    const names = new Set<string>();
    for (const iface of spec.interfaces) {
      if (names.has(iface.name)) throw new Error(`${spec.source}: interface ${iface.name} is defined twice`);
      names.add(iface.name);
      const known = this.interfaces.get(iface.name);
      if (known === undefined) fresh.push(iface);
      else if (!sameInterface(known, iface)) {
        throw new Error(`${spec.source}: interface ${iface.name} conflicts with the one from ${this.origins.get(iface.name)}`);
      }
    }
    for (const iface of fresh) {
      deepFreeze(iface);
      this.interfaces.set(iface.name, iface);
      this.origins.set(iface.name, spec.source);
      this.tables.set(iface.name, buildInterfaceTable(iface));
      for (const message of [...iface.requests, ...iface.events]) {
        this.fdCounts.set(message, message.args.filter((a) => a.type === 'fd').length);
      }
    }
  }

  /** Parses protocol XML (e.g. from `--protocol FILE.xml`) and adds it; returns the parsed spec. */
  loadXmlText(xmlText: string, source: string): ProtocolSpec {
    const spec = parseProtocolXml(xmlText, source);
    this.add(spec);
    return spec;
  }

  interface(name: string): InterfaceSpec | undefined {
    return this.interfaces.get(name);
  }

  /** The per-message entries of a known interface. */
  table(name: string): InterfaceTable | undefined {
    return this.tables.get(name);
  }

  has(name: string): boolean {
    return this.interfaces.has(name);
  }

  /** All known interface names, sorted. */
  interfaceNames(): string[] {
    return [...this.interfaces.keys()].sort();
  }

  request(ifaceName: string, opcode: number): MessageSpec | undefined {
    return this.interfaces.get(ifaceName)?.requests[opcode];
  }

  event(ifaceName: string, opcode: number): MessageSpec | undefined {
    return this.interfaces.get(ifaceName)?.events[opcode];
  }

  /** Number of `fd` args of a message obtained from this registry: how many SCM_RIGHTS fds it consumes. */
  fdCount(message: MessageSpec): number {
    const count = this.fdCounts.get(message);
    if (count === undefined) throw new Error(`message ${message.name} does not come from this registry`);
    return count;
  }
}

/** Equal as data: keys holding undefined count as absent, like in the generated JSON. */
function sameInterface(a: InterfaceSpec, b: InterfaceSpec): boolean {
  return isDeepStrictEqual(JSON.parse(JSON.stringify(a)), JSON.parse(JSON.stringify(b)));
}

function deepFreeze(value: unknown): void {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const child of Object.values(value)) deepFreeze(child);
}
