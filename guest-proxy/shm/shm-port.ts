// What the guest's shm owner needs of its client connection: a narrow port, so the owner never sees the client.
import type { Frame } from '../../protocol/channel-frames';

export interface ShmStats {
  commits: number;
  /** Damaged bytes sent over the channel. */
  shmBytes: number;
  /** Damaged bytes not sent because the host already held them. */
  shmBytesUnchanged: number;
  /** Damaged bytes copied into the shared region. */
  regionBytes: number;
}

export interface ShmPort {
  readonly conn: number;
  /** Queues a frame of this connection behind its earlier ones; `flushed` runs once it left the process. */
  send(frame: Frame, flushed?: () => void): void;
  /**
   * Queues a RES_WRITE of `length` bytes read from `fd` at `offset` by the kernel (sendfile), or returns
   * false when the channel cannot send files. Does not take `fd`.
   */
  sendFromFile(resource: number, fd: number, offset: number, length: number): boolean;
  /** The most data bytes one frame may carry towards the host. */
  readonly maxFrameData: number;
  /** Sends the Wayland messages batched so far, so that the frames sent next come after them. */
  flush(): void;
  allocateResource(): number;
  readonly stats: ShmStats;
}
