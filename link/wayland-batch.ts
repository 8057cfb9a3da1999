// Collects forwarded Wayland messages and the resources of their fds into bounded WAYLAND frames.
import { FRAME_HEADER_SIZE, FrameKind } from '../protocol/channel-frames';
import type { ChannelSession } from './channel-session';

const NO_RESOURCES: readonly number[] = [];

export class WaylandBatch {
  /** Messages are copied here as they come; flush() hands a copy of the filled part to the session. */
  private pending = new Uint8Array(4096);
  private bytes = 0;
  private resources: number[] = [];

  constructor(private readonly conn: number, private readonly session: ChannelSession) {}

  /** Appends one message (copied) and the resources standing for its fds, flushing first if it would not fit. */
  add(message: Uint8Array, resources: readonly number[] = NO_RESOURCES): void {
    const size = message.byteLength;
    const limit = this.session.peerMaxFrameSize - FRAME_HEADER_SIZE - 4 - 4 * (this.resources.length + resources.length);
    if (this.bytes + size > limit || this.resources.length + resources.length > 250) this.flush();
    if (this.bytes + size > this.pending.byteLength) this.grow(this.bytes + size);
    this.pending.set(message, this.bytes);
    this.bytes += size;
    for (let i = 0; i < resources.length; i++) this.resources.push(resources[i]);
  }

  get empty(): boolean {
    return this.bytes === 0;
  }

  flush(): void {
    if (this.bytes === 0) return;
    const data = this.pending.slice(0, this.bytes);
    const resources = this.resources;
    this.bytes = 0;
    this.resources = [];
    this.session.send({ kind: FrameKind.Wayland, conn: this.conn, resources, data });
  }

  private grow(need: number): void {
    const next = new Uint8Array(Math.max(need, this.pending.byteLength * 2));
    next.set(this.pending.subarray(0, this.bytes), 0);
    this.pending = next;
  }
}
