// Guest handling of the requests that shape shm content: pools, buffers, attach/damage/commit.
import { readSync } from 'node:fs';
import { closeAll, dup } from '../native/index';
import { FrameKind } from '../protocol/channel-frames';
import { BufferPool } from '../link/buffer-pool';
import { ProtocolError } from '../protocol/protocol-error';
import type { ArgValue } from '../protocol/wire-codec';
import { rectPieces, type Rect, type RectWrite } from '../protocol/damage';
import type { GuestClient } from './guest-client';
import { copyDamageToRegion, dropPoolView } from './region-copy';
import { growShadow, sendChangedDamage } from './damage-diff';

const rect = (a: ArgValue[]): Rect => ({ x: a[0] as number, y: a[1] as number, w: a[2] as number, h: a[3] as number });

/** Viewport id → surface id, per client. */
const viewports = new WeakMap<GuestClient, Map<number, number>>();

/**
 * Each queued file write holds a dup of its pool's fd until the channel sent it. Past this many per client
 * the damage is copied instead (a client that commits faster than the channel drains ran the guest proxy
 * out of fds: 589 from one client, `dup EMFILE` under ulimit -n 128).
 */
const MAX_QUEUED_FILE_WRITES = 32;
/** File writes queued per client and not yet sent. */
const queuedFileWrites = new WeakMap<GuestClient, number>();

/**
 * Applies a request to the shm state; sends any frames that must precede it. Returns true when
 * it took ownership of the message's fds (their resources are pushed onto `resources`).
 */
export function handleShmRequest(c: GuestClient, name: string, id: number, args: ArgValue[], fds: number[], resources: number[]): boolean {
  switch (name) {
    case 'wl_shm.create_pool': {
      const [poolId, , size] = args as [number, number, number];
      const fd = fds[0];
      try {
        c.checkPoolFd(fd, size);
      } catch (e) {
        fds.length = 0;
        closeAll([fd]);
        throw e;
      }
      const resource = c.allocateResource();
      const block = c.ctx.region?.allocate(size) ?? null;
      c.shm.addPool({ id: poolId, resource, fd, size, alive: true, buffers: 0, block, view: null, viewFailed: false, diff: null });
      c.batch.flush();
      if (block !== null) c.ctx.session.send({ kind: FrameKind.ShmRef, conn: c.conn, resource, regionOffset: block.offset, size });
      else c.ctx.session.send({ kind: FrameKind.ShmCreate, conn: c.conn, resource, size });
      resources.push(resource);
      return true;
    }
    case 'wl_shm_pool.resize': {
      const pool = c.shm.pools.get(id);
      const size = args[0] as number;
      if (pool === undefined) return false;
      if (size < pool.size) throw new ProtocolError('BAD_ARGUMENT', `wl_shm_pool#${id}.resize: shrinking from ${pool.size} to ${size}`);
      c.checkPoolFd(pool.fd, size);
      pool.size = size;
      dropPoolView(pool);
      growShadow(pool);
      c.batch.flush();
      if (pool.block === null) {
        c.ctx.session.send({ kind: FrameKind.ShmResize, conn: c.conn, resource: pool.resource, size });
        return false;
      }
      const region = c.ctx.region!;
      if (!region.grow(pool.block, size)) {
        // buffers made before the move keep the old block; new ones live in the new block
        const moved = region.allocate(size);
        if (moved === null) throw new ProtocolError('BAD_ARGUMENT', `wl_shm_pool#${id}.resize(${size}): the shared-memory region (${region.size} bytes) is full`);
        region.unref(pool.block);
        pool.block = moved;
      }
      c.ctx.session.send({ kind: FrameKind.ShmRef, conn: c.conn, resource: pool.resource, regionOffset: pool.block.offset, size });
      return false;
    }
    case 'wl_shm_pool.create_buffer': {
      const [bufferId, offset, width, height, stride, format] = args as number[];
      c.shm.addBuffer(bufferId, id, offset, width, height, stride, format);
      return false;
    }
    case 'wl_shm_pool.destroy':
      c.shm.destroyPool(id);
      return false;
    case 'wl_buffer.destroy':
      c.shm.destroyBuffer(id);
      return false;
    case 'wl_surface.attach':
      c.shm.surface(id).pendingBuffer = (args[0] as number) === 0 ? null : (args[0] as number);
      return false;
    case 'wl_surface.damage':
      c.shm.surface(id).surfaceDamage.push(rect(args));
      return false;
    case 'wl_surface.damage_buffer':
      c.shm.surface(id).bufferDamage.push(rect(args));
      return false;
    case 'wl_surface.set_buffer_scale':
      c.shm.surface(id).pendingScale = args[0] as number;
      return false;
    case 'wl_surface.set_buffer_transform':
      c.shm.surface(id).pendingTransform = args[0] as number;
      return false;
    case 'wl_surface.destroy':
      c.shm.destroySurface(id);
      return false;
    case 'wp_viewporter.get_viewport': {
      let map = viewports.get(c);
      if (map === undefined) viewports.set(c, (map = new Map()));
      map.set(args[0] as number, args[1] as number);
      c.shm.surface(args[1] as number).viewport = true;
      return false;
    }
    case 'wp_viewport.destroy': {
      const surfaceId = viewports.get(c)?.get(id);
      if (surfaceId !== undefined) {
        viewports.get(c)!.delete(id);
        const s = c.shm.surfaces.get(surfaceId);
        if (s !== undefined) s.viewport = false;
      }
      return false;
    }
    case 'wl_surface.commit':
      sendDamage(c, id);
      return false;
    default:
      return false;
  }
}

/** Reads the damaged parts of the committed buffer from the client's pool and sends them before the commit. */
function sendDamage(c: GuestClient, surfaceId: number): void {
  c.stats.commits++;
  const result = c.shm.commit(surfaceId);
  if (result === null) return;
  const { buffer, writes } = result;
  const pool = buffer.pool;
  const region = c.ctx.region;
  if (buffer.block !== null && region !== null) {
    // the compositor reads the region itself: copy the damage into it, nothing goes over the channel
    c.stats.regionBytes += copyDamageToRegion(pool, region.bytes, buffer.block.offset, writes);
    return;
  }
  c.batch.flush();
  const session = c.ctx.session;
  const chunkMax = session.peerMaxFrameSize - 64;
  if (sendChangedDamage(c, result, chunkMax)) return;
  for (const r of writes.ranges) {
    for (let off = r.start; off < r.end; off += chunkMax) {
      const length = Math.min(r.end - off, chunkMax);
      const queued = queuedFileWrites.get(c) ?? 0;
      if (session.canSendFiles && queued < MAX_QUEUED_FILE_WRITES) {
        // the kernel copies from the client's memfd into the channel: the bytes never enter this process
        queuedFileWrites.set(c, queued + 1);
        session.sendFileWrite(c.conn, pool.resource, off, dup(pool.fd), off, length, () => queuedFileWrites.set(c, (queuedFileWrites.get(c) ?? 1) - 1));
        c.stats.shmBytes += length;
      } else if (!sendRangeCopy(c, pool.fd, pool.resource, off, length)) return; // the client shrank its pool; the compositor will see what is there
    }
  }
  for (const w of writes.rects) sendRect(c, pool.fd, pool.resource, w, chunkMax);
}

/** `length` damaged bytes from `start`, read into this process and sent as one RES_WRITE; false when the pool has no bytes there. */
function sendRangeCopy(c: GuestClient, fd: number, resource: number, start: number, length: number): boolean {
  const buf = damageBuffers.acquire(length);
  const n = readSync(fd, buf, 0, length, start);
  if (n <= 0) {
    damageBuffers.release(buf);
    return false;
  }
  c.stats.shmBytes += n;
  c.ctx.session.send({ kind: FrameKind.ResWrite, conn: c.conn, resource, offset: start, data: buf.subarray(0, n) }, () => damageBuffers.release(buf));
  return true;
}

/** A narrow damaged rectangle: its rows packed into RES_WRITE_RECT frames of at most chunkMax bytes. */
function sendRect(c: GuestClient, fd: number, resource: number, w: RectWrite, chunkMax: number): void {
  for (const p of rectPieces(w, chunkMax)) {
    const bytes = p.rows * p.rowBytes;
    const buf = damageBuffers.acquire(bytes);
    for (let i = 0; i < p.rows; i++) {
      if (readSync(fd, buf, i * p.rowBytes, p.rowBytes, p.start + i * p.stride) < p.rowBytes) buf.fill(0, i * p.rowBytes, (i + 1) * p.rowBytes);
    }
    c.stats.shmBytes += bytes;
    c.ctx.session.send({ kind: FrameKind.ResWriteRect, conn: c.conn, resource, offset: p.start, stride: p.stride, rowBytes: p.rowBytes, rows: p.rows, data: buf.subarray(0, bytes) },
      () => damageBuffers.release(buf));
  }
}

/** Damage is read into these and they come back once the channel wrote them: no allocation per frame. */
const damageBuffers = new BufferPool();
