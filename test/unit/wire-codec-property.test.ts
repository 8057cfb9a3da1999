// Property: for random arguments of every message of every interface in the tables, decode(frame(encode(m))) == m.
import t from 'tap';
import { checkFdLeaks } from '../helpers/fd-leak';
import { Prng } from '../helpers/prng';
import { ProtocolRegistry } from '../../protocol/registry';
import { decodeOne } from '../helpers/wire-messages';
import { encodeMessage, type ArgValue } from '../../protocol/wire-codec';
import type { ArgSpec } from '../../protocol/types';

checkFdLeaks(t);

function randomString(rng: Prng): string {
  const alphabet = 'abcxyz_-. 0123456789äé€漢🙂';
  let s = '';
  for (let i = rng.below(40); i > 0; i--) s += rng.pick([...alphabet]);
  return s;
}

function randomArg(rng: Prng, arg: ArgSpec, registry: ProtocolRegistry): ArgValue {
  const nullable = arg.nullable === true && rng.below(4) === 0;
  switch (arg.type) {
    case 'int': return (rng.u32() | 0);
    case 'uint': return rng.u32();
    case 'fixed': return (rng.u32() | 0) / 256;
    case 'string': return nullable ? null : randomString(rng);
    case 'object': return nullable ? 0 : 1 + rng.below(0xfffffffe);
    case 'new_id':
      if (arg.interface === undefined) {
        const names = registry.interfaceNames();
        return { interface: rng.pick(names), version: 1 + rng.below(9), id: 1 + rng.below(0xfffffffe) };
      }
      return 1 + rng.below(0xfffffffe);
    case 'array': return rng.bytes(rng.below(64));
    case 'fd': return 3 + rng.below(1000);
  }
}

t.test('encode then frame and decode is the identity for every message in the tables', async (t) => {
  const registry = ProtocolRegistry.builtin();
  const rng = new Prng(20261122);
  let messages = 0;
  let failures = 0;
  for (const name of registry.interfaceNames()) {
    const iface = registry.interface(name)!;
    for (const [opcode, spec] of [...iface.requests.entries(), ...iface.events.entries()]) {
      for (let round = 0; round < 20; round++) {
        const args = spec.args.map((a) => randomArg(rng, a, registry));
        const objectId = 1 + rng.below(0xfffffffe);
        const { bytes, fds } = encodeMessage(objectId, opcode, spec, args, 65536);
        const queue = [...fds];
        const parsed = decodeOne(bytes, spec, queue, 65536);
        messages++;
        const same = parsed.objectId === objectId && parsed.opcode === opcode && parsed.size === bytes.byteLength &&
          queue.length === 0 && JSON.stringify(parsed.args.map(norm)) === JSON.stringify(args.map(norm)) &&
          JSON.stringify(parsed.fds) === JSON.stringify(fds);
        if (!same && failures++ < 5) t.fail(`${name}.${spec.name} round ${round} differs`, { args, parsed });
      }
    }
  }
  t.equal(failures, 0, `${messages} random messages round-tripped`);
  t.ok(messages > 5000, 'covered every message of every interface');
});

function norm(v: ArgValue): unknown {
  return v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v;
}
