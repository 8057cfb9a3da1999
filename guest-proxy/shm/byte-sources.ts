// Where a commit's damaged bytes come from: the pool's shadow, pread or sendfile of the client's file, or a copy into the region.
import { readSync } from 'node:fs';
import { copyRows } from '../../link/memory';
import { FrameKind } from '../../protocol/channel-frames';
import type { RectWrite } from '../../protocol/damage';
import { BufferPool } from '../../link/buffer-pool';
import type { ByteSource } from './damage-sender';
import type { ShmPort } from './shm-port';

/** Bytes read or packed for a frame come from these and go back once the channel wrote them: no allocation per frame. */
const frameBuffers = new BufferPool();

/** Packs a rectangle's rows into one pooled buffer and sends it as a RES_WRITE_RECT. */
function sendPacked(port: ShmPort, resource: number, p: RectWrite, fill: (into: Buffer, row: number, from: number) => void): void {
  const bytes = p.rows * p.rowBytes;
  const packed = frameBuffers.acquire(bytes);
  for (let row = 0; row < p.rows; row++) fill(packed, row, p.start + row * p.stride);
  port.send({ kind: FrameKind.ResWriteRect, conn: port.conn, resource, offset: p.start, stride: p.stride, rowBytes: p.rowBytes, rows: p.rows, data: packed.subarray(0, bytes) },
    () => frameBuffers.release(packed));
}

/**
 * The pool's shadow (the host's bytes), lent to the channel: only a later commit of the same buffer
 * changes those bytes, and the client may draw it again only after the compositor released it, so
 * after these frames left.
 */
export class ShadowSource implements ByteSource {
  constructor(private readonly port: ShmPort, private readonly resource: number, private readonly shadow: Uint8Array) {}

  range(offset: number, length: number): void {
    this.port.send({ kind: FrameKind.ResWrite, conn: this.port.conn, resource: this.resource, offset, data: this.shadow.subarray(offset, offset + length) });
  }

  rect(p: RectWrite): void {
    sendPacked(this.port, this.resource, p, (into, row, from) => into.set(this.shadow.subarray(from, from + p.rowBytes), row * p.rowBytes));
  }
}

/** pread from the client's file; what lies past its end (a client that shrank it) goes out as zeros or not at all. */
export class PreadSource implements ByteSource {
  constructor(private readonly port: ShmPort, private readonly resource: number, private readonly fd: number) {}

  range(offset: number, length: number): void {
    const buf = frameBuffers.acquire(length);
    const n = readSync(this.fd, buf, 0, length, offset);
    if (n <= 0) {
      frameBuffers.release(buf);
      return; // the client shrank its pool; the compositor will see what is there
    }
    this.port.send({ kind: FrameKind.ResWrite, conn: this.port.conn, resource: this.resource, offset, data: buf.subarray(0, n) }, () => frameBuffers.release(buf));
  }

  rect(p: RectWrite): void {
    sendPacked(this.port, this.resource, p, (into, row, from) => {
      const at = row * p.rowBytes;
      if (readSync(this.fd, into, at, p.rowBytes, from) < p.rowBytes) into.fill(0, at, at + p.rowBytes);
    });
  }
}

/** The kernel copies ranges from the client's file into the channel (the bytes never enter this process); rectangles are read. */
export class SendfileSource implements ByteSource {
  private readonly pread: PreadSource;

  constructor(private readonly port: ShmPort, private readonly resource: number, private readonly fd: number) {
    this.pread = new PreadSource(port, resource, fd);
  }

  range(offset: number, length: number): void {
    if (!this.port.sendFromFile(this.resource, this.fd, offset, length)) this.pread.range(offset, length);
  }

  rect(p: RectWrite): void {
    this.pread.rect(p);
  }
}

/**
 * Copies into the shared region at `base` from the pool's mapping with a SIGBUS-guarded memcpy, or
 * with pread when there is no mapping. `intact` turns false when the client shrank its file under the
 * mapping: what was past its end arrived as zeros.
 */
export class RegionSource implements ByteSource {
  intact = true;

  constructor(private readonly region: Uint8Array, private readonly base: number, private readonly view: ArrayBuffer | null, private readonly fd: number) {}

  range(offset: number, length: number): void {
    if (this.view !== null) this.intact = copyRows(this.view, offset, this.region, this.base + offset, length) && this.intact;
    else readSync(this.fd, this.region, this.base + offset, length, offset);
  }

  rect(p: RectWrite): void {
    if (this.view !== null) {
      this.intact = copyRows(this.view, p.start, this.region, this.base + p.start, p.rowBytes, p.rows, p.stride) && this.intact;
      return;
    }
    for (let i = 0, at = p.start; i < p.rows; i++, at += p.stride) readSync(this.fd, this.region, this.base + at, p.rowBytes, at);
  }
}
