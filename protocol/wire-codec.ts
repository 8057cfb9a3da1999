// Wayland wire format: pure parse and encode of one message against its MessageSpec.
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

export interface WireMessage {
  objectId: number;
  opcode: number;
  args: ArgValue[];
}

export interface ParsedMessage extends WireMessage {
  /** Bytes the message took on the wire. */
  size: number;
  /** The fds consumed from the queue, in argument order. */
  fds: number[];
}

export const NEED_MORE = Symbol('need more bytes');
export type ParseResult = ParsedMessage | typeof NEED_MORE;

const utf8 = new TextDecoder('utf-8');
const utf8Encoder = new TextEncoder();

function view(buf: Uint8Array): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

const pad4 = (n: number): number => (n + 3) & ~3;

/**
 * Reads the 8-byte header at `offset`. Returns null when fewer than 8 bytes are there;
 * throws BAD_MESSAGE_SIZE for a size that no valid message has.
 */
export function readHeader(buf: Uint8Array, offset: number, maxSize = DEFAULT_MAX_MESSAGE_SIZE): MessageHeader | null {
  if (buf.byteLength - offset < HEADER_SIZE) return null;
  const dv = view(buf);
  const objectId = dv.getUint32(offset, true);
  const word = dv.getUint32(offset + 4, true);
  const size = word >>> 16;
  const opcode = word & 0xffff;
  if (size < HEADER_SIZE || size % 4 !== 0 || size > maxSize) {
    throw new ProtocolError('BAD_MESSAGE_SIZE', `object ${objectId} opcode ${opcode}: message size ${size} is invalid (8..${maxSize}, multiple of 4)`);
  }
  return { objectId, opcode, size };
}

/** Number of `fd` arguments in a message. */
export function countFds(spec: MessageSpec): number {
  let n = 0;
  for (const a of spec.args) if (a.type === 'fd') n++;
  return n;
}

/**
 * Decodes the arguments of one whole message (`body` = bytes after the header).
 * Takes its fds from the front of `fds` only when the whole message is valid.
 */
export function decodeArgs(body: Uint8Array, spec: MessageSpec, fds: number[], where = spec.name): { args: ArgValue[]; fds: number[] } {
  const dv = view(body);
  const end = body.byteLength;
  const args: ArgValue[] = [];
  let p = 0;
  let fdCount = 0;

  const need = (n: number, arg: ArgSpec): void => {
    if (p + n > end) throw new ProtocolError('TRUNCATED_ARGUMENT', `${where}: argument '${arg.name}' runs past the end of the message`);
  };
  const readString = (arg: ArgSpec, nullable: boolean): string | null => {
    need(4, arg);
    const len = dv.getUint32(p, true);
    p += 4;
    if (len === 0) {
      if (!nullable) throw new ProtocolError('NULL_STRING', `${where}: string '${arg.name}' is null but not nullable`);
      return null;
    }
    if (len > end - p) throw new ProtocolError('TRUNCATED_ARGUMENT', `${where}: string '${arg.name}' of ${len} bytes runs past the end of the message`);
    if (body[p + len - 1] !== 0) throw new ProtocolError('STRING_NOT_TERMINATED', `${where}: string '${arg.name}' is not NUL-terminated`);
    const s = utf8.decode(body.subarray(p, p + len - 1));
    p += pad4(len);
    if (p > end) throw new ProtocolError('TRUNCATED_ARGUMENT', `${where}: padding of string '${arg.name}' runs past the end of the message`);
    return s;
  };

  for (const arg of spec.args) {
    switch (arg.type) {
      case 'int':
        need(4, arg);
        args.push(dv.getInt32(p, true));
        p += 4;
        break;
      case 'uint':
        need(4, arg);
        args.push(dv.getUint32(p, true));
        p += 4;
        break;
      case 'fixed':
        need(4, arg);
        args.push(dv.getInt32(p, true) / 256);
        p += 4;
        break;
      case 'object': {
        need(4, arg);
        const id = dv.getUint32(p, true);
        p += 4;
        if (id === 0 && !arg.nullable) throw new ProtocolError('NULL_OBJECT', `${where}: object '${arg.name}' is null but not nullable`);
        args.push(id);
        break;
      }
      case 'new_id': {
        if (arg.interface === undefined) {
          const iface = readString(arg, false) as string;
          need(8, arg);
          const version = dv.getUint32(p, true);
          const id = dv.getUint32(p + 4, true);
          p += 8;
          if (id === 0) throw new ProtocolError('NULL_NEW_ID', `${where}: new_id '${arg.name}' is 0`);
          args.push({ interface: iface, version, id });
          break;
        }
        need(4, arg);
        const id = dv.getUint32(p, true);
        p += 4;
        if (id === 0) throw new ProtocolError('NULL_NEW_ID', `${where}: new_id '${arg.name}' is 0`);
        args.push(id);
        break;
      }
      case 'string':
        args.push(readString(arg, arg.nullable === true));
        break;
      case 'array': {
        need(4, arg);
        const len = dv.getUint32(p, true);
        p += 4;
        if (len > end - p || pad4(len) > end - p) throw new ProtocolError('TRUNCATED_ARGUMENT', `${where}: array '${arg.name}' of ${len} bytes runs past the end of the message`);
        args.push(body.slice(p, p + len));
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
  return { args, fds: fds.splice(0, fdCount) };
}

/**
 * Parses one message at `offset`. Returns NEED_MORE while the message is incomplete.
 * `resolve` maps (object id, opcode) to the message's spec, or undefined for an unknown one.
 */
export function parseMessage(
  buf: Uint8Array,
  offset: number,
  resolve: (objectId: number, opcode: number) => MessageSpec | undefined,
  fds: number[],
  maxSize = DEFAULT_MAX_MESSAGE_SIZE,
): ParseResult {
  const header = readHeader(buf, offset, maxSize);
  if (header === null || buf.byteLength - offset < header.size) return NEED_MORE;
  const spec = resolve(header.objectId, header.opcode);
  if (spec === undefined) {
    throw new ProtocolError('UNKNOWN_OPCODE', `object ${header.objectId} has no message with opcode ${header.opcode}`);
  }
  const body = buf.subarray(offset + HEADER_SIZE, offset + header.size);
  const decoded = decodeArgs(body, spec, fds, `${spec.name}@${header.objectId}`);
  return { objectId: header.objectId, opcode: header.opcode, size: header.size, args: decoded.args, fds: decoded.fds };
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
