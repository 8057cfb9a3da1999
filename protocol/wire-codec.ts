// Wayland wire format: pure decode of one framed message's arguments and encode of one message against its MessageSpec.
// Byte order is little-endian (the host order of every platform wayvio targets).
import { ProtocolError } from './protocol-error';
import type { ArgSpec, MessageSpec } from './types';

export const HEADER_SIZE = 8;
/** libwayland's default and, before 1.22, fixed limit on one message. */
export const DEFAULT_MAX_MESSAGE_SIZE = 4096;

export interface MessageHeader {
  objectId: number;
  opcode: number;
  size: number;
}

/** The `new_id` of a message whose XML names no interface (wl_registry.bind). */
export interface UntypedNewId {
  interface: string;
  version: number;
  id: number;
}

export type ArgValue = number | string | null | Uint8Array | UntypedNewId;

const utf8 = new TextDecoder('utf-8');
const utf8Encoder = new TextEncoder();

function view(buf: Uint8Array): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

const pad4 = (n: number): number => (n + 3) & ~3;

/** The little-endian unsigned 32-bit word at `p` (the caller checked that 4 bytes are there). */
export function readU32(buf: Uint8Array, p: number): number {
  return (buf[p] | (buf[p + 1] << 8) | (buf[p + 2] << 16) | (buf[p + 3] << 24)) >>> 0;
}

function readI32(buf: Uint8Array, p: number): number {
  return buf[p] | (buf[p + 1] << 8) | (buf[p + 2] << 16) | (buf[p + 3] << 24);
}

/**
 * The size of the message whose header is at `offset`: -1 when fewer than 8 bytes are there;
 * throws BAD_MESSAGE_SIZE for a size that no valid message has.
 */
export function messageSizeAt(buf: Uint8Array, offset: number, maxSize = DEFAULT_MAX_MESSAGE_SIZE): number {
  if (buf.byteLength - offset < HEADER_SIZE) return -1;
  const size = buf[offset + 6] | (buf[offset + 7] << 8);
  if (size < HEADER_SIZE || size % 4 !== 0 || size > maxSize) {
    const opcode = buf[offset + 4] | (buf[offset + 5] << 8);
    throw new ProtocolError('BAD_MESSAGE_SIZE', `object ${readU32(buf, offset)} opcode ${opcode}: message size ${size} is invalid (8..${maxSize}, multiple of 4)`);
  }
  return size;
}

/** Where the whole message at `offset` of a frame's bytes ends; throws BAD_MESSAGE_SIZE when no whole message starts there. */
export function messageEndIn(data: Uint8Array, offset: number): number {
  const size = messageSizeAt(data, offset);
  if (size < 0 || offset + size > data.byteLength) throw new ProtocolError('BAD_MESSAGE_SIZE', `a WAYLAND frame ends inside a message at byte ${offset}`);
  return offset + size;
}

/** The opcode of the message whose header is at `offset`. */
export function opcodeAt(buf: Uint8Array, offset: number): number {
  return buf[offset + 4] | (buf[offset + 5] << 8);
}

function truncated(where: string, arg: ArgSpec): never {
  throw new ProtocolError('TRUNCATED_ARGUMENT', `${where}: argument '${arg.name}' runs past the end of the message`);
}

/** The string (or null) whose length word is at `p`; the caller then skips 4 + pad4(length) bytes. */
function readString(buf: Uint8Array, p: number, end: number, arg: ArgSpec, nullable: boolean, where: string): string | null {
  if (p + 4 > end) truncated(where, arg);
  const len = readU32(buf, p);
  p += 4;
  if (len === 0) {
    if (!nullable) throw new ProtocolError('NULL_STRING', `${where}: string '${arg.name}' is null but not nullable`);
    return null;
  }
  if (len > end - p) throw new ProtocolError('TRUNCATED_ARGUMENT', `${where}: string '${arg.name}' of ${len} bytes runs past the end of the message`);
  if (buf[p + len - 1] !== 0) throw new ProtocolError('STRING_NOT_TERMINATED', `${where}: string '${arg.name}' is not NUL-terminated`);
  if (p + pad4(len) > end) throw new ProtocolError('TRUNCATED_ARGUMENT', `${where}: padding of string '${arg.name}' runs past the end of the message`);
  return utf8.decode(buf.subarray(p, p + len - 1));
}

/**
 * Decodes the arguments of one whole message whose body (the bytes after the header) is
 * buf[start, end); nothing outside it is read. Takes its fds from the front of `fds` only when
 * the whole message is valid. Malformed input throws a ProtocolError.
 */
export function decodeArgs(buf: Uint8Array, start: number, end: number, spec: MessageSpec, fds: number[], where = spec.name): { args: ArgValue[]; fds: number[] } {
  const args: ArgValue[] = [];
  const specArgs = spec.args;
  let p = start;
  let fdCount = 0;
  for (let i = 0; i < specArgs.length; i++) {
    const arg = specArgs[i];
    switch (arg.type) {
      case 'int':
        if (p + 4 > end) truncated(where, arg);
        args.push(readI32(buf, p));
        p += 4;
        break;
      case 'uint':
        if (p + 4 > end) truncated(where, arg);
        args.push(readU32(buf, p));
        p += 4;
        break;
      case 'fixed':
        if (p + 4 > end) truncated(where, arg);
        args.push(readI32(buf, p) / 256);
        p += 4;
        break;
      case 'object': {
        if (p + 4 > end) truncated(where, arg);
        const id = readU32(buf, p);
        p += 4;
        if (id === 0 && !arg.nullable) throw new ProtocolError('NULL_OBJECT', `${where}: object '${arg.name}' is null but not nullable`);
        args.push(id);
        break;
      }
      case 'new_id': {
        if (arg.interface === undefined) {
          const iface = readString(buf, p, end, arg, false, where) as string;
          p += 4 + pad4(readU32(buf, p));
          if (p + 8 > end) truncated(where, arg);
          const version = readU32(buf, p);
          const id = readU32(buf, p + 4);
          p += 8;
          if (id === 0) throw new ProtocolError('NULL_NEW_ID', `${where}: new_id '${arg.name}' is 0`);
          args.push({ interface: iface, version, id });
          break;
        }
        if (p + 4 > end) truncated(where, arg);
        const id = readU32(buf, p);
        p += 4;
        if (id === 0) throw new ProtocolError('NULL_NEW_ID', `${where}: new_id '${arg.name}' is 0`);
        args.push(id);
        break;
      }
      case 'string':
        args.push(readString(buf, p, end, arg, arg.nullable === true, where));
        p += 4 + pad4(readU32(buf, p));
        break;
      case 'array': {
        if (p + 4 > end) truncated(where, arg);
        const len = readU32(buf, p);
        p += 4;
        if (len > end - p || pad4(len) > end - p) throw new ProtocolError('TRUNCATED_ARGUMENT', `${where}: array '${arg.name}' of ${len} bytes runs past the end of the message`);
        args.push(buf.slice(p, p + len));
        p += pad4(len);
        break;
      }
      case 'fd':
        if (fdCount >= fds.length) throw new ProtocolError('MISSING_FD', `${where}: fd '${arg.name}' expected but none was received`);
        args.push(fds[fdCount++]);
        break;
    }
  }
  if (p !== end) throw new ProtocolError('TRAILING_BYTES', `${where}: ${end - p} bytes left after the last argument`);
  return { args, fds: fdCount === 0 ? [] : fds.splice(0, fdCount) };
}

function badArg(spec: MessageSpec, arg: ArgSpec, why: string): never {
  throw new ProtocolError('BAD_ARGUMENT', `${spec.name}: argument '${arg.name}' ${why}`);
}

function checkU32(spec: MessageSpec, arg: ArgSpec, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) badArg(spec, arg, `must be an unsigned 32-bit integer, got ${String(v)}`);
  return v;
}

function stringBytes(spec: MessageSpec, arg: ArgSpec, v: unknown, nullable: boolean): Uint8Array | null {
  if (v === null) {
    if (!nullable) badArg(spec, arg, 'is null but not nullable');
    return null;
  }
  if (typeof v !== 'string') badArg(spec, arg, 'must be a string');
  return utf8Encoder.encode(v);
}

/** Encodes one message. Returns its bytes and the fds it carries, in argument order. */
export function encodeMessage(objectId: number, opcode: number, spec: MessageSpec, args: readonly ArgValue[], maxSize = DEFAULT_MAX_MESSAGE_SIZE): { bytes: Uint8Array; fds: number[] } {
  if (args.length !== spec.args.length) {
    throw new ProtocolError('BAD_ARGUMENT', `${spec.name}: expected ${spec.args.length} arguments, got ${args.length}`);
  }
  // first pass: sizes and validation
  let size = HEADER_SIZE;
  const strings: (Uint8Array | null)[] = [];
  spec.args.forEach((arg, i) => {
    const v = args[i];
    switch (arg.type) {
      case 'int':
        if (typeof v !== 'number' || !Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) badArg(spec, arg, `must be a signed 32-bit integer, got ${String(v)}`);
        size += 4;
        break;
      case 'fixed':
        if (typeof v !== 'number' || !Number.isFinite(v) || Math.round(v * 256) < -0x80000000 || Math.round(v * 256) > 0x7fffffff) badArg(spec, arg, 'must be a finite number within fixed range');
        size += 4;
        break;
      case 'uint':
        checkU32(spec, arg, v);
        size += 4;
        break;
      case 'object':
        if (checkU32(spec, arg, v) === 0 && !arg.nullable) badArg(spec, arg, 'is null but not nullable');
        size += 4;
        break;
      case 'new_id':
        if (arg.interface === undefined) {
          const u = v as UntypedNewId;
          if (typeof u !== 'object' || u === null || u instanceof Uint8Array) badArg(spec, arg, 'must be {interface, version, id}');
          const s = stringBytes(spec, arg, u.interface, false) as Uint8Array;
          strings.push(s);
          checkU32(spec, arg, u.version);
          if (checkU32(spec, arg, u.id) === 0) badArg(spec, arg, 'is 0');
          size += 4 + pad4(s.byteLength + 1) + 8;
        } else {
          if (checkU32(spec, arg, v) === 0) badArg(spec, arg, 'is 0');
          size += 4;
        }
        break;
      case 'string': {
        const s = stringBytes(spec, arg, v, arg.nullable === true);
        strings.push(s);
        size += 4 + (s === null ? 0 : pad4(s.byteLength + 1));
        break;
      }
      case 'array':
        if (!(v instanceof Uint8Array)) badArg(spec, arg, 'must be a Uint8Array');
        size += 4 + pad4(v.byteLength);
        break;
      case 'fd':
        if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) badArg(spec, arg, 'must be a file descriptor');
        break;
    }
  });
  if (size > maxSize) {
    throw new ProtocolError('BAD_MESSAGE_SIZE', `${spec.name}: encoded size ${size} exceeds the limit of ${maxSize}`);
  }
  // second pass: write
  const bytes = new Uint8Array(size);
  const dv = view(bytes);
  dv.setUint32(0, objectId, true);
  dv.setUint32(4, ((size << 16) | opcode) >>> 0, true);
  const fds: number[] = [];
  let p = HEADER_SIZE;
  let si = 0;
  const writeString = (s: Uint8Array | null): void => {
    if (s === null) {
      dv.setUint32(p, 0, true);
      p += 4;
      return;
    }
    dv.setUint32(p, s.byteLength + 1, true);
    bytes.set(s, p + 4);
    p += 4 + pad4(s.byteLength + 1);
  };
  spec.args.forEach((arg, i) => {
    const v = args[i];
    switch (arg.type) {
      case 'int':
        dv.setInt32(p, v as number, true);
        p += 4;
        break;
      case 'fixed':
        dv.setInt32(p, Math.round((v as number) * 256), true);
        p += 4;
        break;
      case 'uint':
      case 'object':
        dv.setUint32(p, v as number, true);
        p += 4;
        break;
      case 'new_id':
        if (arg.interface === undefined) {
          const u = v as UntypedNewId;
          writeString(strings[si++]);
          dv.setUint32(p, u.version, true);
          dv.setUint32(p + 4, u.id, true);
          p += 8;
        } else {
          dv.setUint32(p, v as number, true);
          p += 4;
        }
        break;
      case 'string':
        writeString(strings[si++]);
        break;
      case 'array': {
        const a = v as Uint8Array;
        dv.setUint32(p, a.byteLength, true);
        bytes.set(a, p + 4);
        p += 4 + pad4(a.byteLength);
        break;
      }
      case 'fd':
        fds.push(v as number);
        break;
    }
  });
  return { bytes, fds };
}
