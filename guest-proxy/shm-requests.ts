// Guest handling of the requests that shape shm content: pools, buffers, attach/damage/commit.
import { closeAll } from '../native/index';
import { FrameKind } from '../protocol/channel-frames';
import { ProtocolError } from '../protocol/protocol-error';
import type { ArgValue } from '../protocol/wire-codec';
import type { Rect } from '../protocol/damage';
import type { GuestClient } from './guest-client';

const rect = (a: ArgValue[]): Rect => ({ x: a[0] as number, y: a[1] as number, w: a[2] as number, h: a[3] as number });

/** Viewport id → surface id, per client. */
const viewports = new WeakMap<GuestClient, Map<number, number>>();

/**
 * Applies a request to the shm state; sends any frames that must precede it. Returns true when
 * it took ownership of the message's fds (their resources are pushed onto `resources`).
 */
export function handleShmRequest(c: GuestClient, name: string, id: number, args: ArgValue[], fds: number[], resources: number[]): boolean {
  switch (name) {
    case 'wl_shm.create_pool': {
      const [poolId, , size] = args as [number, number, number];
      const fd = fds[0];
      let mapped;
      try {
        mapped = c.mapPool(fd, size);
      } catch (e) {
        fds.length = 0;
        closeAll([fd]);
        throw e instanceof ProtocolError ? e : new ProtocolError('BAD_ARGUMENT', `wl_shm.create_pool: cannot map the pool: ${(e as Error).message}`);
      }
      const resource = c.allocateResource();
      c.shm.addPool({ id: poolId, resource, fd, size, ...mapped, alive: true, buffers: 0, inflight: 0, retired: [] });
      c.batch.flush();
      c.ctx.session.send({ kind: FrameKind.ShmCreate, conn: c.conn, resource, size });
      resources.push(resource);
      return true;
    }
    case 'wl_shm_pool.resize': {
      const pool = c.shm.pools.get(id);
      const size = args[0] as number;
      if (pool === undefined) return false;
      if (size < pool.size) throw new ProtocolError('BAD_ARGUMENT', `wl_shm_pool#${id}.resize: shrinking from ${pool.size} to ${size}`);
      const mapped = c.mapPool(pool.fd, size);
      pool.retired.push(pool.mapping);
      Object.assign(pool, mapped, { size });
      c.unmapWhenFlushed(pool);
      c.batch.flush();
      c.ctx.session.send({ kind: FrameKind.ShmResize, conn: c.conn, resource: pool.resource, size });
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

function sendDamage(c: GuestClient, surfaceId: number): void {
  c.stats.commits++;
  const result = c.shm.commit(surfaceId);
  if (result === null) return;
  const { buffer, ranges } = result;
  const pool = buffer.pool;
  c.batch.flush();
  const chunkMax = c.ctx.session.peerMaxFrameSize - 64;
  const flushed = (): void => {
    pool.inflight--;
    if (pool.inflight === 0 && pool.onFlushed !== undefined) {
      const f = pool.onFlushed;
      pool.onFlushed = undefined;
      f();
    }
  };
  for (const r of ranges) {
    for (let off = r.start; off < r.end; off += chunkMax) {
      const end = Math.min(r.end, off + chunkMax);
      pool.inflight++;
      c.stats.shmBytes += end - off;
      c.ctx.session.send({ kind: FrameKind.ResWrite, conn: c.conn, resource: pool.resource, offset: off, data: pool.bytes.subarray(off, end) }, flushed);
    }
  }
}

