// Client request streams for fuzzing the guest proxy: real clients' requests (from the channel corpus) mutated,
// or requests generated from the protocol tables with random and hostile arguments.
import { ObjectMap } from '../../protocol/object-map';
import { ProtocolRegistry } from '../../protocol/registry';
import type { ArgSpec } from '../../protocol/types';
import { encodeMessage, type ArgValue, type UntypedNewId } from '../../protocol/wire-codec';
import { decodeMessage, wholeMessages } from '../helpers/wire-messages';
import { FrameKind } from '../../protocol/channel-frames';
import type { Prng } from '../helpers/prng';
import type { Corpus } from './corpus';
import { INTERESTING_U32 } from './mutate';

export const registry = ProtocolRegistry.builtin();

/** One request as bytes, with the number of fds that travel with it. */
export interface Request {
  bytes: Uint8Array;
  fds: number;
}

export interface ClientStream {
  requests: Request[];
  /** The next id a new object would get (for a closing wl_display.sync), when the stream is still in sequence. */
  nextId: number;
}

/** The requests of each recorded client: the Wayland data of its WAYLAND frames, with fd counts from the tables. */
export function clientStreams(corpus: Corpus): ClientStream[] {
  const deleteId = registry.interface('wl_display')!.events.find((e) => e.name === 'delete_id')!;
  const out: ClientStream[] = [];
  for (const session of corpus.sessions) {
    const objects = new ObjectMap(registry);
    const requests: Request[] = [];
    let maxId = 1;
    for (const f of session) {
      if (f[4] !== FrameKind.Wayland) continue;
      const dv = new DataView(f.buffer, f.byteOffset, f.byteLength);
      for (const message of wholeMessages(f.subarray(16 + 4 * dv.getUint32(12, true)))) {
        const bytes = message.bytes.slice();
        let fds = 0;
        try {
          const spec = objects.requestSpec(message.objectId, message.opcode);
          fds = spec.args.filter((a) => a.type === 'fd').length;
          const { args } = decodeMessage(message, spec, Array.from({ length: fds }, () => -1));
          const created = objects.applyRequest(message.objectId, spec, args);
          for (const c of created) maxId = Math.max(maxId, c.id);
          // what the server's events would do: callbacks and destroyed objects free their ids (delete_id)
          for (const c of created) if (c.iface.name === 'wl_callback') objects.applyEvent(1, deleteId, [c.id]);
          if (spec.destructor) objects.applyEvent(1, deleteId, [message.objectId]);
        } catch {
          // a request to an object the server made (a data offer, ...): its fds cannot be known, assume none
        }
        requests.push({ bytes, fds });
      }
    }
    if (requests.length > 0) out.push({ requests, nextId: maxId + 1 });
  }
  return out;
}

function corrupt(rng: Prng, bytes: Uint8Array): Uint8Array {
  if (bytes.byteLength < 8) return new Uint8Array(bytes.byteLength + 4); // a cut message: grow it into a zero header
  const b = new Uint8Array(bytes);
  const v = new DataView(b.buffer);
  switch (rng.below(6)) {
    case 0: for (let k = 1 + rng.below(3); k > 0; k--) { const bit = rng.below(b.byteLength * 8); b[bit >> 3] ^= 1 << (bit & 7); } break;
    case 1: v.setUint32(0, rng.below(2) === 0 ? rng.below(64) : rng.pick(INTERESTING_U32), true); break; // object id
    case 2: v.setUint16(4, rng.below(2) === 0 ? rng.below(32) : rng.below(65536), true); break; // opcode
    case 3: v.setUint16(6, rng.pick([0, 4, 6, 8, 12, 4096, 4100, 65532, b.byteLength + 4, b.byteLength - 4]) & 0xffff, true); break; // size
    case 4: if (b.byteLength > 8) v.setUint32(8 + 4 * rng.below((b.byteLength - 8) >> 2), rng.pick(INTERESTING_U32), true); break; // an argument
    default: return b.subarray(0, rng.below(b.byteLength)); // cut short
  }
  return b;
}

/** A recorded client's requests with a few mutations; fd counts follow the messages they were recorded with. */
export function mutateStream(rng: Prng, streams: ClientStream[], base: ClientStream): ClientStream {
  const requests = base.requests.map((r) => ({ ...r }));
  for (let k = 1 + rng.below(4); k > 0; k--) {
    const i = rng.below(requests.length);
    switch (rng.below(7)) {
      case 0: case 1: case 2: requests[i] = { ...requests[i], bytes: corrupt(rng, requests[i].bytes) }; break;
      case 3: requests.splice(i, 1); break;
      case 4: requests.splice(rng.below(requests.length + 1), 0, requests[i]); break;
      case 5: { const other = rng.pick(rng.pick(streams).requests); requests.splice(rng.below(requests.length + 1), 0, other); break; }
      default: requests[i] = { ...requests[i], fds: rng.pick([0, 1, 2, 3, 28, 29]) }; // fds that do not match
    }
    if (requests.length === 0) break;
  }
  return { requests, nextId: base.nextId };
}

/** A plausible request needs an object of some interface that the client does not have. */
class NoFittingObject extends Error {}

/** Globals weston lets a client bind only once. */
const SINGLE_BIND = new Set(['zwp_input_panel_v1', 'zwp_input_method_v1', 'zwp_text_input_manager_v1', 'weston_desktop_shell']);

/** Random argument values for one argument spec: plausible ones, or (`hostile`) anything. */
function randomArg(rng: Prng, a: ArgSpec, objects: ObjectMap, live: number[], nextId: () => number, hostile: boolean, iface: string): ArgValue {
  if (!hostile && a.enum !== undefined && (a.type === 'uint' || a.type === 'int')) {
    const [owner, name] = a.enum.includes('.') ? a.enum.split('.') : [iface, a.enum];
    const e = registry.interface(owner)?.enums.find((x) => x.name === name);
    if (e !== undefined && e.entries.length > 0) return rng.pick(e.entries).value;
  }
  switch (a.type) {
    case 'int': return hostile && rng.below(2) === 0 ? rng.pick(INTERESTING_U32) | 0 : rng.below(hostile ? 600 : 300) - (hostile ? 100 : 0);
    case 'uint': return hostile && rng.below(2) === 0 ? rng.pick(INTERESTING_U32) : rng.below(hostile ? 600 : 64);
    case 'fixed': return (rng.below(2000) - 1000) / 4;
    case 'string': {
      if (a.nullable && rng.below(5) === 0) return null;
      const n = hostile && rng.below(4) === 0 ? 1000 + rng.below(3000) : rng.below(40);
      return Array.from({ length: n }, () => String.fromCharCode(32 + rng.below(95))).join('');
    }
    case 'object': {
      if (a.nullable && rng.below(4) === 0) return 0;
      const fitting = live.filter((id) => a.interface === undefined || objects.get(id)?.iface.name === a.interface);
      if (fitting.length === 0 && !hostile) {
        if (a.nullable) return 0;
        throw new NoFittingObject();
      }
      return (hostile && rng.below(3) === 0) || fitting.length === 0 ? rng.pick([0, 1, 2, 999, 0xff000001, rng.below(64)]) : rng.pick(fitting);
    }
    case 'new_id': {
      const id = hostile && rng.below(6) === 0 ? rng.pick([0, 1, 5, 0xff000000]) : nextId();
      if (a.interface !== undefined) return id;
      const iface = registry.interface(rng.pick(['wl_compositor', 'wl_shm', 'wl_seat', 'xdg_wm_base', 'wl_output', 'wl_subcompositor']))!;
      return { interface: iface.name, version: 1 + rng.below(iface.version), id } satisfies UntypedNewId;
    }
    case 'array': return new Uint8Array(rng.bytes(rng.below(4) * 4));
    case 'fd': return -1; // the caller attaches an fd
  }
}

/**
 * Random requests on live objects (`globals`: what the registry offered, as name → [interface, version]);
 * `hostility` (0..1) is the share of requests with hostile arguments (a fifth of that many are corrupted too).
 * Valid ones are applied to a local object map so later requests can target what they created.
 */
export function generateStream(rng: Prng, globals: Map<number, [string, number]>, count: number, hostility: number): ClientStream {
  const objects = new ObjectMap(registry);
  objects.applyRequest(1, registry.interface('wl_display')!.requests[1], [2]); // get_registry → wl_registry#2
  let next = 4; // the client used #3 for the sync that brought the globals
  const requests: Request[] = [];
  const nextId = (): number => next++;
  const live = (): number[] => {
    const ids: number[] = [];
    for (let id = 1; id < next; id++) if (objects.get(id) !== undefined && !objects.get(id)!.zombie) ids.push(id);
    return ids;
  };
  // bind most globals first, so that requests reach every kind of object
  for (const [name, [iface, version]] of globals) {
    if (rng.below(4) === 0 || SINGLE_BIND.has(iface)) continue;
    const spec = registry.interface('wl_registry')!.requests[0];
    const args: ArgValue[] = [name, { interface: iface, version: 1 + rng.below(version), id: nextId() }];
    const { bytes } = encodeMessage(2, 0, spec, args);
    objects.applyRequest(2, spec, args);
    requests.push({ bytes, fds: 0 });
  }
  for (let i = 0; i < count; i++) {
    const ids = live();
    const id = rng.pick(ids);
    const obj = objects.get(id)!;
    const opcode = rng.below(obj.iface.requests.length);
    const spec = obj.iface.requests[opcode];
    if (spec === undefined || spec.since > obj.version) continue;
    if (obj.iface.name === 'wl_display' && spec.name === 'get_registry') continue;
    const hostile = rng.below(1000) < hostility * 1000;
    // a plausible client binds only what it was offered (done above) and acks only serials it got (which a
    // stream made in advance cannot know)
    if (!hostile && (spec.name === 'bind' || spec.name === 'ack_configure')) continue;
    const saved = next;
    let args: ArgValue[];
    try {
      args = spec.args.map((a) => randomArg(rng, a, objects, ids, nextId, hostile, obj.iface.name));
    } catch (e) {
      if (!(e instanceof NoFittingObject)) throw e;
      next = saved;
      continue;
    }
    let bytes: Uint8Array;
    try {
      bytes = encodeMessage(id, opcode, spec, args).bytes;
    } catch {
      next = saved;
      continue;
    }
    const fds = spec.args.filter((a) => a.type === 'fd').length;
    try {
      objects.applyRequest(id, spec, args);
    } catch {
      next = saved; // invalid: the proxy ends the client at this request; later ones test nothing more
      if (!hostile) continue;
    }
    requests.push({ bytes: rng.below(1000) < hostility * 200 ? corrupt(rng, bytes) : bytes, fds });
  }
  return { requests, nextId: next };
}
