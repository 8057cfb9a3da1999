// Tracks the live Wayland objects of one connection (id → interface, version) from the messages both ways.
import { ProtocolError } from './protocol-error';
import type { ProtocolRegistry } from './registry';
import type { InterfaceSpec, MessageSpec } from './types';
import type { InterfaceTable, MessageEntry } from './message-table';
import type { ArgValue, UntypedNewId } from './wire-codec';
import { guestText } from './log-text';

export const SERVER_ID_START = 0xff000000;

export interface TrackedObject {
  id: number;
  iface: InterfaceSpec;
  /** The per-message entries of its interface. */
  table: InterfaceTable;
  version: number;
  /** Destroyed by a destructor but its id not yet free: late messages still parse, new requests are refused. */
  zombie: boolean;
}

export interface NewObject {
  id: number;
  iface: InterfaceSpec;
  version: number;
}

const NONE_CREATED: readonly NewObject[] = Object.freeze([]);

export class ObjectMap {
  private readonly objects = new Map<number, TrackedObject>();

  constructor(readonly registry: ProtocolRegistry) {
    const display = registry.interface('wl_display');
    if (display === undefined) throw new Error('the protocol registry lacks wl_display');
    this.objects.set(1, { id: 1, iface: display, table: registry.table('wl_display')!, version: 1, zombie: false });
  }

  get size(): number {
    return this.objects.size;
  }

  get(id: number): TrackedObject | undefined {
    return this.objects.get(id);
  }

  /** The entry of a request the client sends to `id`, refusing unknown/dead objects and too-new opcodes. */
  request(id: number, opcode: number): MessageEntry {
    const obj = this.objects.get(id);
    // libwayland-server posts both on the connection's wl_display (invalid_method on the object itself)
    if (obj === undefined || obj.zombie) {
      throw new ProtocolError('UNKNOWN_OBJECT', `request to ${obj ? 'destroyed' : 'unknown'} object ${id} (wl_display.invalid_object)`, { objectId: 1, entry: 'wl_display.invalid_object' });
    }
    const entry = obj.table.requests[opcode];
    if (entry === undefined || entry.spec.since > obj.version) {
      throw new ProtocolError('UNKNOWN_OPCODE', `${obj.iface.name}#${id} (version ${obj.version}) has no request ${opcode} (wl_display.invalid_method)`, { objectId: id, entry: 'wl_display.invalid_method' });
    }
    return entry;
  }

  /** The entry of an event the server sends from `id`; zombies still parse. */
  event(id: number, opcode: number): MessageEntry {
    const obj = this.objects.get(id);
    if (obj === undefined) throw new ProtocolError('UNKNOWN_OBJECT', `event from unknown object ${id}`);
    const entry = obj.table.events[opcode];
    if (entry === undefined) throw new ProtocolError('UNKNOWN_OPCODE', `${obj.iface.name}#${id} has no event ${opcode}`);
    return entry;
  }

  /** The spec of a request the client sends to `id`, refusing unknown/dead objects and too-new opcodes. */
  requestSpec(id: number, opcode: number): MessageSpec {
    return this.request(id, opcode).spec;
  }

  /** The spec of an event the server sends from `id`; zombies still parse. */
  eventSpec(id: number, opcode: number): MessageSpec {
    return this.event(id, opcode).spec;
  }

  /** Applies a parsed request: creates its new objects, marks destructors. Returns the objects created. */
  applyRequest(id: number, spec: MessageSpec, args: readonly ArgValue[]): readonly NewObject[] {
    const parent = this.objects.get(id) as TrackedObject;
    const created = this.createObjects(parent, spec, args, false);
    if (spec.destructor) this.destroy(parent);
    return created;
  }

  /** Applies a parsed event: new server objects, destructor events and wl_display.delete_id. */
  applyEvent(id: number, spec: MessageSpec, args: readonly ArgValue[]): readonly NewObject[] {
    const parent = this.objects.get(id) as TrackedObject;
    if (id === 1 && spec.name === 'delete_id') {
      const gone = args[0] as number;
      const obj = this.objects.get(gone);
      if (obj !== undefined && gone < SERVER_ID_START) this.objects.delete(gone);
      return NONE_CREATED;
    }
    const created = this.createObjects(parent, spec, args, true);
    if (spec.destructor) this.destroy(parent);
    return created;
  }

  /** Client ids stay reserved until wl_display.delete_id; the server never sends that for its own ids. */
  private destroy(obj: TrackedObject): void {
    obj.zombie = true;
  }

  private createObjects(parent: TrackedObject, spec: MessageSpec, args: readonly ArgValue[], fromServer: boolean): readonly NewObject[] {
    let out: NewObject[] | null = null;
    for (let i = 0; i < spec.args.length; i++) {
      const arg = spec.args[i];
      if (arg.type !== 'new_id') continue;
      let id: number;
      let iface: InterfaceSpec | undefined;
      let version: number;
      if (arg.interface === undefined) {
        const u = args[i] as UntypedNewId;
        id = u.id;
        iface = this.registry.interface(u.interface);
        version = u.version;
        if (iface === undefined) throw new ProtocolError('UNKNOWN_INTERFACE', `${spec.name}: interface ${guestText(u.interface)} is not known to the proxy`);
        if (version < 1 || version > iface.version) throw new ProtocolError('BAD_VERSION', `${spec.name}: ${u.interface} version ${version} is outside 1..${iface.version}`);
      } else {
        id = args[i] as number;
        iface = this.registry.interface(arg.interface);
        version = parent.version;
        if (iface === undefined) throw new ProtocolError('UNKNOWN_INTERFACE', `${spec.name}: interface ${arg.interface} is not known to the proxy`);
      }
      const inServerRange = id >= SERVER_ID_START;
      if (inServerRange !== fromServer) throw new ProtocolError('BAD_NEW_ID', `${parent.iface.name}#${parent.id}.${spec.name}: new id ${id} is in the wrong range`);
      const existing = this.objects.get(id);
      if (existing !== undefined && !(fromServer && existing.zombie)) {
        throw new ProtocolError('BAD_NEW_ID', `${parent.iface.name}#${parent.id}.${spec.name}: id ${id} is already in use by ${existing.iface.name}`);
      }
      this.objects.set(id, { id, iface, table: this.registry.table(iface.name)!, version, zombie: false });
      (out ??= []).push({ id, iface, version });
    }
    return out ?? NONE_CREATED;
  }
}
