// Wayland wire codec: hex fixtures for every argument type, partial input and every malformed case.
import t, { type Test } from 'tap';
import { checkFdLeaks } from '../helpers/fd-leak';
import {
  NEED_MORE, decodeArgs, decodeArgsIn, encodeMessage, messageSizeAt, opcodeAt, parseMessage, readHeader, readU32, type ParsedMessage,
} from '../../protocol/wire-codec';
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

function only(spec: MessageSpec) {
  return () => spec;
}

t.test('hex fixtures decode and encode byte for byte', async (t) => {
  const m1 = parseMessage(hex(GET_REGISTRY_HEX), 0, only(getRegistry), []) as ParsedMessage;
  t.same({ objectId: m1.objectId, opcode: m1.opcode, size: m1.size, args: m1.args }, { objectId: 1, opcode: 0, size: 12, args: [2] });
  t.equal(toHex(encodeMessage(1, 0, getRegistry, [2]).bytes), GET_REGISTRY_HEX.replace(/\s/g, ''));

  const m2 = parseMessage(hex(BIND_HEX), 0, only(bind), []) as ParsedMessage;
  t.same(m2.args, [1, { interface: 'wl_compositor', version: 4, id: 3 }]);
  t.equal(toHex(encodeMessage(2, 0, bind, m2.args).bytes), BIND_HEX.replace(/\s/g, ''));

  const fds = [42, 43];
  const m3 = parseMessage(hex(EVERYTHING_HEX), 0, only(everything), fds) as ParsedMessage;
  t.same(m3.args, [-5, 0xdeadbeef, -1.5, 'ab', null, 7, 0, 9, new Uint8Array([1, 2, 3]), 42]);
  t.same(m3.fds, [42]);
  t.same(fds, [43], 'exactly one fd consumed');
  const enc = encodeMessage(5, 0, everything, m3.args);
  t.equal(toHex(enc.bytes), EVERYTHING_HEX.replace(/\s/g, ''));
  t.same(enc.fds, [42]);
});

t.test('a message split at every byte needs more until whole', async (t) => {
  const whole = hex(BIND_HEX);
  for (let n = 0; n < whole.byteLength; n++) {
    t.equal(parseMessage(whole.subarray(0, n), 0, only(bind), []), NEED_MORE, `prefix of ${n} bytes`);
  }
  const two = new Uint8Array([...hex(GET_REGISTRY_HEX), ...whole]);
  const first = parseMessage(two, 0, only(getRegistry), []) as ParsedMessage;
  const second = parseMessage(two, first.size, only(bind), []) as ParsedMessage;
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
    const m = parseMessage(bytes, 0, only(spec), []) as ParsedMessage;
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
  expectCode(t, 'BAD_MESSAGE_SIZE', () => readHeader(hex('01000000 00000400'), 0), 'size below header');
  expectCode(t, 'BAD_MESSAGE_SIZE', () => readHeader(hex('01000000 00000a00'), 0), 'size not a multiple of 4');
  expectCode(t, 'BAD_MESSAGE_SIZE', () => readHeader(hex('01000000 00000420'), 0), 'size 8196 above 4096');
  t.equal(readHeader(hex('01000000 0000'), 0), null, 'short header is not an error');
  expectCode(t, 'UNKNOWN_OPCODE', () => parseMessage(hex(GET_REGISTRY_HEX), 0, () => undefined, []), 'unknown opcode');
  expectCode(t, 'TRUNCATED_ARGUMENT', () => parseMessage(hex('01000000 00000800'), 0, only(getRegistry), []), 'argument missing');
  expectCode(t, 'TRAILING_BYTES', () => parseMessage(hex('01000000 00001000 02000000 00000000'), 0, only(getRegistry), []), 'extra bytes');
  expectCode(t, 'STRING_NOT_TERMINATED', () => parseMessage(withHeader(3, 0, hex('04000000 61626364')), 0, only(str('')), []), 'no NUL');
  expectCode(t, 'TRUNCATED_ARGUMENT', () => parseMessage(withHeader(3, 0, hex('ffffff7f 61620000')), 0, only(str('')), []), 'huge string length');
  expectCode(t, 'TRUNCATED_ARGUMENT', () => parseMessage(withHeader(3, 0, hex('05000000 61626364')), 0, only(str('')), []), 'string past end');
  expectCode(t, 'NULL_STRING', () => parseMessage(withHeader(3, 0, hex('00000000')), 0, only(str('')), []), 'null string');
  const obj: MessageSpec = { name: 'attach', since: 1, args: [{ name: 'buffer', type: 'object', interface: 'wl_buffer' }] };
  expectCode(t, 'NULL_OBJECT', () => parseMessage(withHeader(3, 0, hex('00000000')), 0, only(obj), []), 'null object');
  expectCode(t, 'NULL_NEW_ID', () => parseMessage(hex('01000000 00000c00 00000000'), 0, only(getRegistry), []), 'new_id 0');
  const arr: MessageSpec = { name: 'enter', since: 1, args: [{ name: 'keys', type: 'array' }] };
  expectCode(t, 'TRUNCATED_ARGUMENT', () => parseMessage(withHeader(3, 0, hex('09000000 01020304 05060708')), 0, only(arr), []), 'array past end');
  const fds: number[] = [];
  expectCode(t, 'MISSING_FD', () => parseMessage(withHeader(4, 0, hex('01000000 10000000')), 0, only(keymap), fds), 'fd missing');
  expectCode(t, 'BAD_ARGUMENT', () => encodeMessage(1, 0, getRegistry, [0]), 'encode new_id 0');
  expectCode(t, 'BAD_ARGUMENT', () => encodeMessage(1, 0, getRegistry, []), 'encode arity');
  expectCode(t, 'BAD_ARGUMENT', () => encodeMessage(1, 0, everything, [1.5, 0, 0, 'a', null, 1, 0, 1, new Uint8Array(), 3]), 'encode non-integer int');
  expectCode(t, 'BAD_MESSAGE_SIZE', () => encodeMessage(1, 0, str(''), ['x'.repeat(5000)]), 'encode too large');
});

t.test('fds are taken only when the whole message is valid', async (t) => {
  const fds = [10, 11];
  const bad = withHeader(4, 0, hex('01000000'));
  expectCode(t, 'TRUNCATED_ARGUMENT', () => decodeArgs(bad.subarray(8), keymap, fds), 'truncated after fd');
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

t.test('decodeArgsIn decodes a body in place, as decodeArgs does its view', (t) => {
  const whole = hex(BIND_HEX);
  const inPlace = decodeArgsIn(whole, 8, whole.byteLength, bind, [], 'bind');
  t.same(inPlace, decodeArgs(whole.subarray(8), bind, []));
  t.same(inPlace.args, [1, { interface: 'wl_compositor', version: 4, id: 3 }]);
  expectCode(t, 'TRAILING_BYTES', () => decodeArgsIn(whole, 8, whole.byteLength, getRegistry, [], 'x'), 'the end bounds the body');
  expectCode(t, 'TRUNCATED_ARGUMENT', () => decodeArgsIn(whole, 8, 12, bind, [], 'x'), 'nothing past the end is read');
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
