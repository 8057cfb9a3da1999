// Collects forwarded Wayland messages and the resources of their fds into bounded WAYLAND frames.
import { FRAME_HEADER_SIZE, FrameKind } from '../protocol/channel-frames';
import type { ChannelSession } from './channel-session';

export class WaylandBatch {
  private parts: Uint8Array[] = [];
  private bytes = 0;
  private resources: number[] = [];

  constructor(private readonly conn: number, private readonly session: ChannelSession) {}

  /** Appends one message (copied) and the resources standing for its fds, flushing first if it would not fit. */
  add(message: Uint8Array, resources: readonly number[] = []): void {
    const limit = this.session.peerMaxFrameSize - FRAME_HEADER_SIZE - 4 - 4 * (this.resources.length + resources.length);
    if (this.bytes + message.byteLength > limit || this.resources.length + resources.length > 250) this.flush();
    this.parts.push(Uint8Array.prototype.slice.call(message));
    this.bytes += message.byteLength;
    this.resources.push(...resources);
  }

  get empty(): boolean {
    return this.parts.length === 0;
  }

  flush(): void {
    if (this.parts.length === 0) return;
    const data = this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts, this.bytes);
    this.session.send({ kind: FrameKind.Wayland, conn: this.conn, resources: this.resources, data });
    this.parts = [];
    this.bytes = 0;
    this.resources = [];
  }
}
