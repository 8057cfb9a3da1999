// Wayland wire codec, through the proxies' path (MessageBuffer framing + decodeArgs): hex fixtures for every argument type, partial input and every malformed case.
import t, { type Test } from 'tap';
import { checkFdLeaks } from '../helpers/fd-leak';
import { decodeOne, wholeMessages } from '../helpers/wire-messages';
import { decodeArgs, encodeMessage, messageEndIn, messageSizeAt, opcodeAt, readU32 } from '../../protocol/wire-codec';
import { MessageBuffer } from '../../protocol/message-buffer';
import { ProtocolError } from '../../protocol/protocol-error';
import type { MessageSpec } from '../../protocol/types';

checkFdLeaks(t);

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

const getRegistry: MessageSpec = { name: 'get_registry', since: 1, args: [{ name: 'registry', type: 'new_id', interface: 'wl_registry' }] };
const bind: MessageSpec = { name: 'bind', since: 1, args: [{ name: 'name', type: 'uint' }, { name: 'id', type: 'new_id' }] };
const everything: MessageSpec = {
  name: 'everything',
  since: 1,
  args: [
    { name: 'i', type: 'int' },
    { name: 'u', type: 'uint' },
    { name: 'f', type: 'fixed' },
    { name: 's', type: 'string' },
    { name: 'ns', type: 'string', nullable: true },
    { name: 'o', type: 'object', interface: 'wl_surface' },
    { name: 'no', type: 'object', interface: 'wl_surface', nullable: true },
    { name: 'n', type: 'new_id', interface: 'wl_callback' },
    { name: 'a', type: 'array' },
    { name: 'fd', type: 'fd' },
  ],
};
const keymap: MessageSpec = { name: 'keymap', since: 1, args: [{ name: 'format', type: 'uint' }, { name: 'fd', type: 'fd' }, { name: 'size', type: 'uint' }] };

const GET_REGISTRY_HEX = '01000000 00000c00 02000000';
const BIND_HEX = '02000000 00002800 01000000 0e000000 776c5f636f6d706f7369746f72000000 04000000 03000000';
// int -5, uint 0xdeadbeef, fixed -1.5, "ab", null, object 7, null object, new_id 9, array [1,2,3], fd
const EVERYTHING_HEX =
  '05000000 00003400 fbffffff efbeadde 80feffff 03000000 61620000 00000000 07000000 00000000 09000000 03000000 01020300';

t.test('hex fixtures decode and encode byte for byte', async (t) => {
  const m1 = decodeOne(hex(GET_REGISTRY_HEX), getRegistry);
  t.same({ objectId: m1.objectId, opcode: m1.opcode, size: m1.size, args: m1.args }, { objectId: 1, opcode: 0, size: 12, args: [2] });
  t.equal(toHex(encodeMessage(1, 0, getRegistry, [2]).bytes), GET_REGISTRY_HEX.replace(/\s/g, ''));

  const m2 = decodeOne(hex(BIND_HEX), bind);
  t.same(m2.args, [1, { interface: 'wl_compositor', version: 4, id: 3 }]);
  t.equal(toHex(encodeMessage(2, 0, bind, m2.args).bytes), BIND_HEX.replace(/\s/g, ''));

  const fds = [42, 43];
  const m3 = decodeOne(hex(EVERYTHING_HEX), everything, fds);
  t.same(m3.args, [-5, 0xdeadbeef, -1.5, 'ab', null, 7, 0, 9, new Uint8Array([1, 2, 3]), 42]);
  t.same(m3.fds, [42]);
  t.same(fds, [43], 'exactly one fd consumed');
  const enc = encodeMessage(5, 0, everything, m3.args);
  t.equal(toHex(enc.bytes), EVERYTHING_HEX.replace(/\s/g, ''));
  t.same(enc.fds, [42]);
});

t.test('a message split at every byte is no message until whole', async (t) => {
  const whole = hex(BIND_HEX);
  for (let n = 0; n < whole.byteLength; n++) {
    const input = new MessageBuffer();
    input.push(whole.subarray(0, n), []);
    t.equal(input.next(), null, `prefix of ${n} bytes`);
    input.push(whole.subarray(n), []);
    const m = input.next();
    t.same(m === null ? null : decodeArgs(m.bytes, 8, m.size, bind, []).args, [1, { interface: 'wl_compositor', version: 4, id: 3 }], `then the other ${whole.byteLength - n}`);
    t.equal(input.next(), null, 'and nothing more');
  }
  const two = new Uint8Array([...hex(GET_REGISTRY_HEX), ...whole]);
  const [first, second] = wholeMessages(two);
  t.equal(second.objectId, 2);
  t.equal(first.size + second.size, two.byteLength);
});

t.test('fixed point keeps every raw value exactly', async (t) => {
  const spec: MessageSpec = { name: 'motion', since: 1, args: [{ name: 'x', type: 'fixed' }] };
  for (const raw of [0, 1, -1, 255, 256, -256, 0x7fffffff, -0x80000000, 12345]) {
    const bytes = new Uint8Array(12);
    const dv = new DataView(bytes.buffer);
    dv.setUint32(4, (12 << 16) >>> 0, true);
    dv.setInt32(8, raw, true);
    const m = decodeOne(bytes, spec);
    t.same(encodeMessage(0, 0, spec, m.args).bytes, bytes, `raw ${raw}`);
  }
});

function expectCode(t: Test, code: string, fn: () => unknown, what: string): void {
  try {
    fn();
    t.fail(`${what}: no error`);
  } catch (e) {
    t.ok(e instanceof ProtocolError, `${what}: ProtocolError`);
    t.equal((e as ProtocolError).code, code, `${what}: ${(e as Error).message}`);
  }
}

function withHeader(objectId: number, opcode: number, body: Uint8Array, sizeOverride?: number): Uint8Array {
  const out = new Uint8Array(8 + body.byteLength);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, objectId, true);
  dv.setUint32(4, (((sizeOverride ?? out.byteLength) << 16) | opcode) >>> 0, true);
  out.set(body, 8);
  return out;
}

t.test('malformed input is a typed error with a stable code', async (t) => {
  const str = (s: string): MessageSpec => ({ name: 'set_title', since: 1, args: [{ name: 'title', type: 'string' }] });
  const framed = (bytes: Uint8Array): unknown => {
    const input = new MessageBuffer();
    input.push(bytes, []);
    return input.next();
  };
  expectCode(t, 'BAD_MESSAGE_SIZE', () => framed(hex('01000000 00000400')), 'size below header');
  expectCode(t, 'BAD_MESSAGE_SIZE', () => framed(hex('01000000 00000a00')), 'size not a multiple of 4');
  expectCode(t, 'BAD_MESSAGE_SIZE', () => framed(hex('01000000 00000420')), 'size 8196 above 4096');
  t.equal(framed(hex('01000000 0000')), null, 'short header is not an error');
  // an unknown opcode is the object map's error (UNKNOWN_OPCODE, test/unit/object-map.test.ts), not the codec's
  expectCode(t, 'TRUNCATED_ARGUMENT', () => decodeOne(hex('01000000 00000800'), getRegistry, []), 'argument missing');
  expectCode(t, 'TRAILING_BYTES', () => decodeOne(hex('01000000 00001000 02000000 00000000'), getRegistry, []), 'extra bytes');
  expectCode(t, 'STRING_NOT_TERMINATED', () => decodeOne(withHeader(3, 0, hex('04000000 61626364')), str(''), []), 'no NUL');
  expectCode(t, 'TRUNCATED_ARGUMENT', () => decodeOne(withHeader(3, 0, hex('ffffff7f 61620000')), str(''), []), 'huge string length');
  expectCode(t, 'TRUNCATED_ARGUMENT', () => decodeOne(withHeader(3, 0, hex('05000000 61626364')), str(''), []), 'string past end');
  expectCode(t, 'NULL_STRING', () => decodeOne(withHeader(3, 0, hex('00000000')), str(''), []), 'null string');
  const obj: MessageSpec = { name: 'attach', since: 1, args: [{ name: 'buffer', type: 'object', interface: 'wl_buffer' }] };
  expectCode(t, 'NULL_OBJECT', () => decodeOne(withHeader(3, 0, hex('00000000')), obj, []), 'null object');
  expectCode(t, 'NULL_NEW_ID', () => decodeOne(hex('01000000 00000c00 00000000'), getRegistry, []), 'new_id 0');
  const arr: MessageSpec = { name: 'enter', since: 1, args: [{ name: 'keys', type: 'array' }] };
  expectCode(t, 'TRUNCATED_ARGUMENT', () => decodeOne(withHeader(3, 0, hex('09000000 01020304 05060708')), arr, []), 'array past end');
  const fds: number[] = [];
  expectCode(t, 'MISSING_FD', () => decodeOne(withHeader(4, 0, hex('01000000 10000000')), keymap, fds), 'fd missing');
  expectCode(t, 'BAD_ARGUMENT', () => encodeMessage(1, 0, getRegistry, [0]), 'encode new_id 0');
  expectCode(t, 'BAD_ARGUMENT', () => encodeMessage(1, 0, getRegistry, []), 'encode arity');
  expectCode(t, 'BAD_ARGUMENT', () => encodeMessage(1, 0, everything, [1.5, 0, 0, 'a', null, 1, 0, 1, new Uint8Array(), 3]), 'encode non-integer int');
  expectCode(t, 'BAD_MESSAGE_SIZE', () => encodeMessage(1, 0, str(''), ['x'.repeat(5000)]), 'encode too large');
});

t.test('fds are taken only when the whole message is valid', async (t) => {
  const fds = [10, 11];
  const bad = withHeader(4, 0, hex('01000000'));
  expectCode(t, 'TRUNCATED_ARGUMENT', () => decodeArgs(bad, 8, bad.byteLength, keymap, fds), 'truncated after fd');
  t.same(fds, [10, 11], 'queue untouched');
});

t.test('encode rejects values of the wrong type for every argument type', async (t) => {
  for (const [i, arg] of everything.args.entries()) {
    const good: unknown[] = [-5, 1, 1.5, 'ab', null, 7, 0, 9, new Uint8Array(1), 3];
    good[i] = arg.type === 'string' && arg.nullable ? 5 : 'not-a-valid-value';
    if (arg.type === 'string' && !arg.nullable) good[i] = 5;
    expectCode(t, 'BAD_ARGUMENT', () => encodeMessage(1, 0, everything, good as never), `${arg.type} ${arg.name}`);
  }
});

t.test('decodeArgs decodes a body in place, wherever it sits in the buffer', (t) => {
  const whole = hex(BIND_HEX);
  const inPlace = decodeArgs(whole, 8, whole.byteLength, bind, [], 'bind');
  t.same(inPlace, decodeArgs(whole.slice(8), 0, whole.byteLength - 8, bind, []), 'the same as a copy of the body');
  t.same(inPlace.args, [1, { interface: 'wl_compositor', version: 4, id: 3 }]);
  expectCode(t, 'TRAILING_BYTES', () => decodeArgs(whole, 8, whole.byteLength, getRegistry, [], 'x'), 'the end bounds the body');
  expectCode(t, 'TRUNCATED_ARGUMENT', () => decodeArgs(whole, 8, 12, bind, [], 'x'), 'nothing past the end is read');
  t.end();
});

t.test('messageSizeAt and the header fields', (t) => {
  const two = hex(`${GET_REGISTRY_HEX} ${BIND_HEX}`);
  t.equal(messageSizeAt(two, 0), 12);
  t.equal(messageSizeAt(two, 12), 40);
  t.equal(readU32(two, 12), 2, 'object id');
  t.equal(opcodeAt(two, 12), 0);
  t.equal(messageSizeAt(two, two.byteLength - 4), -1, 'fewer than 8 bytes');
  expectCode(t, 'BAD_MESSAGE_SIZE', () => messageSizeAt(hex('01000000 00000a00'), 0), 'size not a multiple of 4');
  t.equal(readU32(hex('ffffffff'), 0), 0xffffffff, 'unsigned');
  t.end();
});

t.test('messageEndIn: the end of each whole message of a frame, BAD_MESSAGE_SIZE for a cut or impossible one', async (t) => {
  const two = Buffer.concat([hex(GET_REGISTRY_HEX), hex(GET_REGISTRY_HEX)]);
  t.equal(messageEndIn(two, 0), 12);
  t.equal(messageEndIn(two, 12), 24);
  expectCode(t, 'BAD_MESSAGE_SIZE', () => messageEndIn(two.subarray(0, 20), 12), 'a message cut by the frame end');
  expectCode(t, 'BAD_MESSAGE_SIZE', () => messageEndIn(two.subarray(0, 16), 12), 'a header cut by the frame end');
  expectCode(t, 'BAD_MESSAGE_SIZE', () => messageEndIn(hex('01000000 00000600'), 0), 'a size no message has');
});
