// The fds the host holds for one guest client before they reach the compositor, counted against the guest's --max-fds.
import type { FileCreateFrame } from '../protocol/channel-frames';
import { ProtocolError } from '../protocol/protocol-error';
import type { FdResources } from '../link/fd-resources';
import { QuotaError, type HostPools, type ShmQuota } from './host-pools';

export interface FdLimits {
  /** fds the host may hold or hand on for the whole guest (--max-fds). */
  fds: number;
  /** What the whole guest holds now (every client's held()). */
  inUse: () => number;
}

export class ClientFds {
  /** FILE_CREATE resources not yet passed on (their bytes are charged to the quota). */
  private readonly pendingFiles = new Map<number, number>();
  /** PIPE_OPEN ends not yet passed on. */
  private readonly pendingPipeEnds = new Set<number>();

  constructor(private readonly pools: HostPools, private readonly resources: FdResources, private readonly quota: ShmQuota, private readonly limits: FdLimits) {}

  /**
   * fds held or handed on: the compositor connection and what is queued on it, pools, files and pipes
   * not yet passed on, pipe bridges, and the pool mappings the compositor keeps.
   */
  held(socketFds: number, compositorMappings: number): number {
    return socketFds + this.pools.count + this.pendingFiles.size + this.pendingPipeEnds.size + this.resources.bridges.size + compositorMappings;
  }

  /** Throws QuotaError when `n` more fds (0: those now counted) would pass the guest's --max-fds. */
  charge(n: number): void {
    const inUse = this.limits.inUse();
    if (inUse + n > this.limits.fds) throw new QuotaError('max-fds', `the guest would make the host hold ${inUse + n} fds, more than ${this.limits.fds} (--max-fds)`);
  }

  /** FILE_CREATE: its bytes count against the guest's shm quota until the file is passed on. */
  fileCreated(frame: FileCreateFrame): string | null | 'unhandled' {
    this.quota.charge(frame.size);
    const problem = this.resources.onFrame(frame);
    if (problem === null) this.pendingFiles.set(frame.resource, frame.size);
    else this.quota.release(frame.size);
    return problem;
  }

  pipeOpened(resource: number): void {
    this.pendingPipeEnds.add(resource);
  }

  /** The fd to pass on for a resource a request names (the caller owns it): a new fd of a pool, or a file's or pipe end's own. */
  take(resource: number | undefined, name: string): number {
    if (resource === undefined) throw new ProtocolError('MISSING_FD', `${name}: no resource for its fd`);
    const fd = this.pools.has(resource) ? this.pools.fdFor(resource) : this.resources.takeFd(resource);
    if (fd === null) throw new ProtocolError('MISSING_FD', `${name}: resource ${resource} is unknown or used already`);
    const fileBytes = this.pendingFiles.get(resource);
    if (fileBytes !== undefined) {
      this.pendingFiles.delete(resource);
      this.quota.release(fileBytes);
    }
    this.pendingPipeEnds.delete(resource);
    return fd;
  }

  /** The client is gone: what files were charged comes back (their fds close with the resources). */
  release(): void {
    for (const bytes of this.pendingFiles.values()) this.quota.release(bytes);
    this.pendingFiles.clear();
    this.pendingPipeEnds.clear();
  }
}
