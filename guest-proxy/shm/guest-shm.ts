// The guest's shm owner for one client: pools, buffers, surfaces and viewports, and the damage each commit sends.
import { fstatSync } from 'node:fs';
import { closeAll } from '../../transport/fds';
import { FrameKind } from '../../protocol/channel-frames';
import { ProtocolError } from '../../protocol/protocol-error';
import type { ArgValue } from '../../protocol/wire-codec';
import type { Rect } from '../../protocol/damage';
import { RegionSource, SendfileSource } from './byte-sources';
import { DamageSender } from './damage-sender';
import { dropPoolView, poolShrank, poolView } from './pool-view';
import { growShadow, sendChangedDamage } from './shadow-diff';
import type { RegionBlock, SharedRegion } from './shared-region';
import type { ShmPort } from './shm-port';
import { ShmTracker } from './shm-tracker';
import type { CommittedBuffer, GuestPool } from './shm-types';

const rect = (a: ArgValue[]): Rect => ({ x: a[0] as number, y: a[1] as number, w: a[2] as number, h: a[3] as number });

/** Frame bytes besides the data of a RES_WRITE or RES_WRITE_RECT. */
const FRAME_HEADROOM = 64;

export class GuestShm {
  readonly tracker: ShmTracker;

  /** `region`: the shared-memory region when both sides use it on this channel. */
  constructor(private readonly port: ShmPort, private readonly region: SharedRegion | null) {
    this.tracker = new ShmTracker((pool) => this.release(pool), (block) => region?.unref(block));
  }

  get pools(): ReadonlyMap<number, GuestPool> {
    return this.tracker.pools;
  }

  /**
   * Applies a request to the shm state; sends any frames that must precede it. Returns true when
   * it took ownership of the message's fds (their resources are pushed onto `resources`).
   */
  request(name: string, id: number, args: ArgValue[], fds: number[], resources: number[]): boolean {
    const shm = this.tracker;
    switch (name) {
      case 'wl_shm.create_pool':
        this.createPool(args[0] as number, args[2] as number, fds, resources);
        return true;
      case 'wl_shm_pool.resize':
        this.resizePool(id, args[0] as number);
        return false;
      case 'wl_shm_pool.create_buffer': {
        const [bufferId, offset, width, height, stride, format] = args as number[];
        shm.addBuffer(bufferId, id, offset, width, height, stride, format);
        return false;
      }
      case 'wl_shm_pool.destroy':
        shm.destroyPool(id);
        return false;
      case 'wl_buffer.destroy':
        shm.destroyBuffer(id);
        return false;
      case 'wl_surface.attach':
        shm.attach(id, (args[0] as number) === 0 ? null : (args[0] as number));
        return false;
      case 'wl_surface.damage':
        shm.surface(id).surfaceDamage.push(rect(args));
        return false;
      case 'wl_surface.damage_buffer':
        shm.surface(id).bufferDamage.push(rect(args));
        return false;
      case 'wl_surface.set_buffer_scale':
        shm.surface(id).pendingScale = args[0] as number;
        return false;
      case 'wl_surface.set_buffer_transform':
        shm.surface(id).pendingTransform = args[0] as number;
        return false;
      case 'wl_surface.destroy':
        shm.destroySurface(id);
        return false;
      case 'wp_viewporter.get_viewport':
        shm.addViewport(args[0] as number, args[1] as number);
        return false;
      case 'wp_viewport.destroy':
        shm.destroyViewport(id);
        return false;
      case 'wl_surface.commit':
        this.commit(id);
        return false;
      default:
        return false;
    }
  }

  /** Releases every pool (the client is gone). */
  close(): void {
    for (const pool of this.tracker.allPools()) this.release(pool);
  }

  private createPool(poolId: number, size: number, fds: number[], resources: number[]): void {
    const fd = fds[0];
    try {
      checkPoolFd(fd, size);
    } catch (e) {
      fds.length = 0;
      closeAll([fd]);
      throw e;
    }
    const resource = this.port.allocateResource();
    const block = this.region?.allocate(size) ?? null;
    this.tracker.addPool({ id: poolId, resource, fd, size, alive: true, buffers: 0, block, view: null, viewFailed: false, diff: 'later' });
    this.port.flush();
    if (block !== null) this.port.send({ kind: FrameKind.ShmRef, conn: this.port.conn, resource, regionOffset: block.offset, size });
    else this.port.send({ kind: FrameKind.ShmCreate, conn: this.port.conn, resource, size });
    resources.push(resource);
  }

  private resizePool(id: number, size: number): void {
    const pool = this.tracker.pools.get(id);
    if (pool === undefined) return;
    if (size < pool.size) throw new ProtocolError('BAD_ARGUMENT', `wl_shm_pool#${id}.resize: shrinking from ${pool.size} to ${size}`);
    checkPoolFd(pool.fd, size);
    if (pool.block !== null) pool.block = this.growBlock(id, pool.block, size);
    pool.size = size;
    dropPoolView(pool);
    growShadow(pool);
    this.port.flush();
    if (pool.block === null) this.port.send({ kind: FrameKind.ShmResize, conn: this.port.conn, resource: pool.resource, size });
    else this.port.send({ kind: FrameKind.ShmRef, conn: this.port.conn, resource: pool.resource, regionOffset: pool.block.offset, size });
  }

  /** The pool's block grown in place, or a new block: buffers made before the move keep the old one. */
  private growBlock(id: number, block: RegionBlock, size: number): RegionBlock {
    const region = this.region as SharedRegion;
    if (region.grow(block, size)) return block;
    const moved = region.allocate(size);
    if (moved === null) throw new ProtocolError('BAD_ARGUMENT', `wl_shm_pool#${id}.resize(${size}): the shared-memory region (${region.size} bytes) is full`);
    region.unref(block);
    return moved;
  }

  /** Sends the damaged parts of the committed buffer before the commit: into the region, or over the channel. */
  private commit(surfaceId: number): void {
    this.port.stats.commits++;
    const committed = this.tracker.commit(surfaceId);
    if (committed === null) return;
    const { buffer } = committed;
    if (buffer.block !== null && this.region !== null) {
      this.copyToRegion(committed, buffer.block.offset);
      return;
    }
    this.port.flush();
    const maxPiece = this.port.maxFrameData - FRAME_HEADROOM;
    if (sendChangedDamage(this.port, committed, maxPiece)) return;
    const pool = buffer.pool;
    const sender = new DamageSender(new SendfileSource(this.port, pool.resource, pool.fd), maxPiece);
    sender.send(committed.writes);
    this.port.stats.shmBytes += sender.bytes;
  }

  /** The compositor reads the region itself: the damage is copied into it, and nothing goes over the channel. */
  private copyToRegion({ buffer, writes }: CommittedBuffer, base: number): void {
    const pool = buffer.pool;
    const source = new RegionSource((this.region as SharedRegion).bytes, base, poolView(pool), pool.fd);
    const sender = new DamageSender(source, Infinity);
    sender.send(writes);
    this.port.stats.regionBytes += sender.bytes;
    if (!source.intact) poolShrank(pool); // what was past the file's end arrived as zeros; from now on, pread
  }

  private release(pool: GuestPool): void {
    if (pool.fd < 0) return;
    if (pool.block !== null) this.region?.unref(pool.block);
    pool.block = null;
    dropPoolView(pool);
    this.port.send({ kind: FrameKind.ResDrop, conn: this.port.conn, resource: pool.resource });
    closeAll([pool.fd]);
    pool.fd = -1;
  }
}

/** Checks that a client's pool fd really holds `size` bytes. */
function checkPoolFd(fd: number, size: number): void {
  const st = fstatSync(fd);
  if (!st.isFile()) throw new ProtocolError('BAD_ARGUMENT', 'wl_shm pool fd is not a regular file or memfd');
  if (size <= 0 || size > st.size) throw new ProtocolError('BAD_ARGUMENT', `wl_shm pool size ${size} does not fit the ${st.size}-byte fd`);
}
