// Pure encode and decode of single channel frames; every field is validated on decode.
import {
  CHANNEL_MAGIC, ChannelError, FRAME_HEADER_SIZE, FrameKind, MAX_FDS_PER_FRAME, MAX_MAX_FRAME_SIZE,
  MAX_STRING_BYTES, MIN_MAX_FRAME_SIZE, PipeMode, type Frame,
} from './channel-frames';

const utf8Strict = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();
const MAGIC_BYTES = utf8Encoder.encode(CHANNEL_MAGIC);

export interface FrameHeader {
  size: number;
  kind: FrameKind;
  conn: number;
}

function dataView(buf: Uint8Array): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** Payload bytes before the variable data of each kind (exact size for kinds without data). */
const FIXED_PAYLOAD: Record<FrameKind, number> = {
  [FrameKind.Hello]: 34,
  [FrameKind.Goodbye]: 6,
  [FrameKind.Open]: 2,
  [FrameKind.Close]: 6,
  [FrameKind.Wayland]: 4,
  [FrameKind.ShmCreate]: 16,
  [FrameKind.ShmResize]: 16,
  [FrameKind.ResWrite]: 16,
  [FrameKind.ShmRef]: 24,
  [FrameKind.ResDrop]: 4,
  [FrameKind.ResWriteRect]: 24,
  [FrameKind.FileCreate]: 16,
  [FrameKind.PipeOpen]: 8,
  [FrameKind.PipeData]: 4,
  [FrameKind.PipeClose]: 4,
  [FrameKind.Credit]: 8,
};

/** Reads and validates a frame header; null when fewer than 12 bytes are available. */
export function readFrameHeader(buf: Uint8Array, offset: number, maxFrameSize: number): FrameHeader | null {
  if (buf.byteLength - offset < FRAME_HEADER_SIZE) return null;
  const dv = dataView(buf);
  const size = dv.getUint32(offset, true);
  const kind = dv.getUint8(offset + 4);
  const flags = dv.getUint8(offset + 5);
  const reserved = dv.getUint16(offset + 6, true);
  const conn = dv.getUint32(offset + 8, true);
  if (size < FRAME_HEADER_SIZE) throw new ChannelError('FRAME_TOO_SMALL', `frame size ${size} is below the ${FRAME_HEADER_SIZE}-byte header`);
  if (size > maxFrameSize) throw new ChannelError('FRAME_TOO_LARGE', `frame size ${size} exceeds the limit of ${maxFrameSize}`);
  if (!(kind in FIXED_PAYLOAD)) throw new ChannelError('UNKNOWN_FRAME_KIND', `unknown frame kind 0x${kind.toString(16)}`);
  if (flags !== 0 || reserved !== 0) throw new ChannelError('BAD_RESERVED', `frame kind 0x${kind.toString(16)} has nonzero reserved header bits`);
  const channelLevel = kind === FrameKind.Hello || kind === FrameKind.Goodbye;
  if (channelLevel !== (conn === 0)) {
    throw new ChannelError('BAD_CONNECTION_ID', `frame kind 0x${kind.toString(16)} with connection id ${conn}`);
  }
  const payload = size - FRAME_HEADER_SIZE;
  const fixed = FIXED_PAYLOAD[kind as FrameKind];
  if (payload < fixed) throw new ChannelError('BAD_PAYLOAD_SIZE', `frame kind 0x${kind.toString(16)} needs at least ${fixed} payload bytes, has ${payload}`);
  return { size, kind: kind as FrameKind, conn };
}

class PayloadReader {
  private readonly dv: DataView;
  p = 0;

  constructor(readonly bytes: Uint8Array) {
    this.dv = dataView(bytes);
  }

  u16(): number { const v = this.dv.getUint16(this.p, true); this.p += 2; return v; }
  u32(): number { const v = this.dv.getUint32(this.p, true); this.p += 4; return v; }
  zero32(what: string): void {
    if (this.u32() !== 0) throw new ChannelError('BAD_RESERVED', `${what}: reserved field is not zero`);
  }
  u64(what: string): number {
    const v = this.dv.getBigUint64(this.p, true);
    this.p += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ChannelError('BAD_VALUE', `${what}: ${v} is out of range`);
    return Number(v);
  }
  resource(what: string): number {
    const r = this.u32();
    if (r === 0) throw new ChannelError('BAD_VALUE', `${what}: resource id 0`);
    return r;
  }
  str(what: string): string {
    const len = this.u16();
    if (len > MAX_STRING_BYTES || this.p + len > this.bytes.byteLength) throw new ChannelError('BAD_STRING', `${what}: string of ${len} bytes does not fit`);
    const raw = this.bytes.subarray(this.p, this.p + len);
    this.p += len;
    try {
      return utf8Strict.decode(raw);
    } catch {
      throw new ChannelError('BAD_STRING', `${what}: string is not valid UTF-8`);
    }
  }
  rest(): Uint8Array { const r = this.bytes.subarray(this.p); this.p = this.bytes.byteLength; return r; }
  end(what: string): void {
    if (this.p !== this.bytes.byteLength) throw new ChannelError('BAD_PAYLOAD_SIZE', `${what}: ${this.bytes.byteLength - this.p} unexpected trailing bytes`);
  }
  nonEmptyRest(what: string): Uint8Array {
    const r = this.rest();
    if (r.byteLength === 0) throw new ChannelError('BAD_PAYLOAD_SIZE', `${what}: no data`);
    return r;
  }
}

/** Decodes a whole frame whose header was validated. Data fields are views into `frame`. */
export function decodeFrame(frame: Uint8Array, header: FrameHeader): Frame {
  const r = new PayloadReader(frame.subarray(FRAME_HEADER_SIZE, header.size));
  const conn = header.conn;
  const name = `${FrameKind[header.kind]}#${conn}`;
  let out: Frame;
  switch (header.kind) {
    case FrameKind.Hello: {
      const magic = r.bytes.subarray(0, 8);
      if (!magic.every((b, i) => b === MAGIC_BYTES[i])) throw new ChannelError('BAD_MAGIC', 'hello does not start with the wayvio magic');
      r.p = 8;
      const minVersion = r.u16();
      const maxVersion = r.u16();
      const capabilities = r.u32();
      const maxFrameSize = r.u32();
      r.zero32(name);
      const shmRegionSize = r.u64(name);
      const software = r.str(name);
      if (minVersion === 0 || minVersion > maxVersion) throw new ChannelError('BAD_VALUE', `hello: version range ${minVersion}..${maxVersion}`);
      if (maxFrameSize < MIN_MAX_FRAME_SIZE || maxFrameSize > MAX_MAX_FRAME_SIZE) throw new ChannelError('BAD_VALUE', `hello: max frame size ${maxFrameSize} outside ${MIN_MAX_FRAME_SIZE}..${MAX_MAX_FRAME_SIZE}`);
      out = { kind: FrameKind.Hello, conn: 0, minVersion, maxVersion, capabilities, maxFrameSize, shmRegionSize, software };
      break;
    }
    case FrameKind.Goodbye:
      out = { kind: FrameKind.Goodbye, conn: 0, code: r.u32(), reason: r.str(name) };
      break;
    case FrameKind.Open:
      out = { kind: FrameKind.Open, conn, description: r.str(name) };
      break;
    case FrameKind.Close:
      out = { kind: FrameKind.Close, conn, code: r.u32(), reason: r.str(name) };
      break;
    case FrameKind.Wayland: {
      const n = r.u32();
      if (n > MAX_FDS_PER_FRAME) throw new ChannelError('TOO_MANY_FDS', `${name}: ${n} fd resources exceed ${MAX_FDS_PER_FRAME}`);
      if (r.p + 4 * n > r.bytes.byteLength) throw new ChannelError('BAD_PAYLOAD_SIZE', `${name}: ${n} resource ids do not fit`);
      const resources: number[] = [];
      for (let i = 0; i < n; i++) resources.push(r.resource(name));
      const data = r.rest();
      if (data.byteLength < 8 || data.byteLength % 4 !== 0) throw new ChannelError('BAD_PAYLOAD_SIZE', `${name}: ${data.byteLength} bytes cannot hold whole Wayland messages`);
      out = { kind: FrameKind.Wayland, conn, resources, data };
      break;
    }
    case FrameKind.ShmCreate:
    case FrameKind.ShmResize: {
      const resource = r.resource(name);
      r.zero32(name);
      out = { kind: header.kind, conn, resource, size: r.u64(name) };
      break;
    }
    case FrameKind.ResWrite: {
      const resource = r.resource(name);
      r.zero32(name);
      const offset = r.u64(name);
      out = { kind: FrameKind.ResWrite, conn, resource, offset, data: r.nonEmptyRest(name) };
      break;
    }
    case FrameKind.ResWriteRect: {
      const resource = r.resource(name);
      const rowBytes = r.u32();
      const offset = r.u64(name);
      const stride = r.u32();
      const rows = r.u32();
      const data = r.rest();
      if (rowBytes === 0 || rows === 0 || stride < rowBytes) throw new ChannelError('BAD_VALUE', `${name}: ${rows} rows of ${rowBytes} bytes at stride ${stride}`);
      if (data.byteLength !== rows * rowBytes) throw new ChannelError('BAD_PAYLOAD_SIZE', `${name}: ${data.byteLength} data bytes for ${rows} rows of ${rowBytes}`);
      out = { kind: FrameKind.ResWriteRect, conn, resource, offset, stride, rowBytes, rows, data };
      break;
    }
    case FrameKind.ShmRef: {
      const resource = r.resource(name);
      r.zero32(name);
      out = { kind: FrameKind.ShmRef, conn, resource, regionOffset: r.u64(name), size: r.u64(name) };
      break;
    }
    case FrameKind.ResDrop:
    case FrameKind.PipeClose:
      out = { kind: header.kind, conn, resource: r.resource(name) };
      break;
    case FrameKind.FileCreate: {
      const resource = r.resource(name);
      const flags = r.u32();
      if ((flags & ~1) !== 0) throw new ChannelError('BAD_VALUE', `${name}: unknown flags 0x${flags.toString(16)}`);
      out = { kind: FrameKind.FileCreate, conn, resource, flags, size: r.u64(name) };
      break;
    }
    case FrameKind.PipeOpen: {
      const resource = r.resource(name);
      const mode = r.u32();
      if (mode !== PipeMode.WriteEnd && mode !== PipeMode.ReadEnd) throw new ChannelError('BAD_VALUE', `${name}: unknown pipe mode ${mode}`);
      out = { kind: FrameKind.PipeOpen, conn, resource, mode };
      break;
    }
    case FrameKind.PipeData: {
      const resource = r.resource(name);
      out = { kind: FrameKind.PipeData, conn, resource, data: r.nonEmptyRest(name) };
      break;
    }
    case FrameKind.Credit: {
      const resource = r.resource(name);
      const bytes = r.u32();
      if (bytes === 0) throw new ChannelError('BAD_VALUE', `${name}: zero credit`);
      out = { kind: FrameKind.Credit, conn, resource, bytes };
      break;
    }
  }
  r.end(name);
  return out;
}

class PayloadWriter {
  private readonly dv: DataView;
  p = FRAME_HEADER_SIZE;

  constructor(readonly bytes: Uint8Array) {
    this.dv = dataView(bytes);
  }

  u16(v: number): void { this.dv.setUint16(this.p, v, true); this.p += 2; }
  u32(v: number): void { this.dv.setUint32(this.p, v, true); this.p += 4; }
  u64(v: number): void { this.dv.setBigUint64(this.p, BigInt(v), true); this.p += 8; }
  raw(b: Uint8Array): void { this.bytes.set(b, this.p); this.p += b.byteLength; }
  str(b: Uint8Array): void { this.u16(b.byteLength); this.raw(b); }
}

function encodedString(s: string): Uint8Array {
  const b = utf8Encoder.encode(s);
  if (b.byteLength > MAX_STRING_BYTES) throw new ChannelError('BAD_STRING', `string of ${b.byteLength} bytes exceeds ${MAX_STRING_BYTES}`);
  return b;
}

/** Writes a frame header into `out` at `offset`. */
export function writeFrameHeader(out: Uint8Array, offset: number, size: number, kind: FrameKind, conn: number): void {
  const dv = dataView(out);
  dv.setUint32(offset, size, true);
  dv.setUint8(offset + 4, kind);
  dv.setUint8(offset + 5, 0);
  dv.setUint16(offset + 6, 0, true);
  dv.setUint32(offset + 8, conn, true);
}

/**
 * The header and fixed fields of a frame whose variable data follows separately,
 * so a large data payload can be written without copying it into the frame.
 */
export function encodeFramePrefix(frame: Frame): { prefix: Uint8Array; data: Uint8Array | null } {
  let fixedLen = FIXED_PAYLOAD[frame.kind];
  let strBytes: Uint8Array | null = null;
  let data: Uint8Array | null = null;
  switch (frame.kind) {
    case FrameKind.Hello:
      strBytes = encodedString(frame.software);
      break;
    case FrameKind.Goodbye:
    case FrameKind.Close:
      strBytes = encodedString(frame.reason);
      break;
    case FrameKind.Open:
      strBytes = encodedString(frame.description);
      break;
    case FrameKind.Wayland:
      if (frame.resources.length > MAX_FDS_PER_FRAME) throw new ChannelError('TOO_MANY_FDS', `${frame.resources.length} fd resources exceed ${MAX_FDS_PER_FRAME}`);
      fixedLen += 4 * frame.resources.length;
      data = frame.data;
      break;
    case FrameKind.ResWrite:
    case FrameKind.ResWriteRect:
    case FrameKind.PipeData:
      data = frame.data;
      break;
    default:
      break;
  }
  if (strBytes !== null) fixedLen += strBytes.byteLength;
  const prefixLen = FRAME_HEADER_SIZE + fixedLen;
  const total = prefixLen + (data === null ? 0 : data.byteLength);
  const w = new PayloadWriter(new Uint8Array(prefixLen));
  writeFrameHeader(w.bytes, 0, total, frame.kind, frame.conn);
  switch (frame.kind) {
    case FrameKind.Hello:
      w.raw(MAGIC_BYTES);
      w.u16(frame.minVersion);
      w.u16(frame.maxVersion);
      w.u32(frame.capabilities);
      w.u32(frame.maxFrameSize);
      w.u32(0);
      w.u64(frame.shmRegionSize);
      w.str(strBytes as Uint8Array);
      break;
    case FrameKind.Goodbye:
    case FrameKind.Close:
      w.u32(frame.code);
      w.str(strBytes as Uint8Array);
      break;
    case FrameKind.Open:
      w.str(strBytes as Uint8Array);
      break;
    case FrameKind.Wayland:
      w.u32(frame.resources.length);
      for (const r of frame.resources) w.u32(r);
      break;
    case FrameKind.ShmCreate:
    case FrameKind.ShmResize:
      w.u32(frame.resource);
      w.u32(0);
      w.u64(frame.size);
      break;
    case FrameKind.ResWrite:
      w.u32(frame.resource);
      w.u32(0);
      w.u64(frame.offset);
      break;
    case FrameKind.ResWriteRect:
      w.u32(frame.resource);
      w.u32(frame.rowBytes);
      w.u64(frame.offset);
      w.u32(frame.stride);
      w.u32(frame.rows);
      break;
    case FrameKind.ShmRef:
      w.u32(frame.resource);
      w.u32(0);
      w.u64(frame.regionOffset);
      w.u64(frame.size);
      break;
    case FrameKind.ResDrop:
    case FrameKind.PipeClose:
    case FrameKind.PipeData:
      w.u32(frame.resource);
      break;
    case FrameKind.FileCreate:
      w.u32(frame.resource);
      w.u32(frame.flags);
      w.u64(frame.size);
      break;
    case FrameKind.PipeOpen:
      w.u32(frame.resource);
      w.u32(frame.mode);
      break;
    case FrameKind.Credit:
      w.u32(frame.resource);
      w.u32(frame.bytes);
      break;
  }
  return { prefix: w.bytes, data };
}

/** The header and fixed fields of a RES_WRITE whose `length` data bytes are sent separately (straight from a file). */
export function encodeResWritePrefix(conn: number, resource: number, offset: number, length: number): Uint8Array {
  const prefixLen = FRAME_HEADER_SIZE + FIXED_PAYLOAD[FrameKind.ResWrite];
  const w = new PayloadWriter(new Uint8Array(prefixLen));
  writeFrameHeader(w.bytes, 0, prefixLen + length, FrameKind.ResWrite, conn);
  w.u32(resource);
  w.u32(0);
  w.u64(offset);
  return w.bytes;
}

/** Encodes a whole frame into one buffer. */
export function encodeFrame(frame: Frame): Uint8Array {
  const { prefix, data } = encodeFramePrefix(frame);
  if (data === null) return prefix;
  const out = new Uint8Array(prefix.byteLength + data.byteLength);
  out.set(prefix, 0);
  out.set(data, prefix.byteLength);
  return out;
}
