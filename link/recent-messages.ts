// The last few Wayland messages of one client, kept cheaply and formatted only when an error needs them.
import { formatMessage } from '../protocol/format';
import { guestText } from '../protocol/log-text';
import type { MessageSpec } from '../protocol/types';
import { HEADER_SIZE, decodeArgs } from '../protocol/wire-codec';
import type { Logger } from './log';

export const RECENT_MESSAGES = 20;
/** Bytes kept of each message; longer ones are named without their arguments. */
export const RECENT_MESSAGE_BYTES = 256;

const NO_FDS: readonly number[] = [];

/**
 * A ring of the messages' first bytes, copied into one buffer allocated up front, so that adding
 * allocates nothing and keeps no decoded objects alive (they would outlive V8's young
 * generation and pile up in the old one). format() decodes them again.
 */
export class RecentMessages {
  private readonly dirs: string[] = [];
  private readonly ifaces: string[] = [];
  private readonly ids: number[] = [];
  private readonly specs: MessageSpec[] = [];
  private readonly fds: (readonly number[])[] = [];
  private readonly sizes: Int32Array;
  private readonly bytes: Uint8Array;
  private next = 0;
  private count = 0;

  constructor(readonly capacity = RECENT_MESSAGES) {
    this.sizes = new Int32Array(capacity);
    this.bytes = new Uint8Array(capacity * RECENT_MESSAGE_BYTES);
  }

  /**
   * Notes the message at buf[start, end), header included, and the fds it carried. `dir` is ' -> '
   * for requests and '<-  ' for events, as WAYVIO_TRACE prints them.
   */
  add(dir: string, iface: string, id: number, spec: MessageSpec, buf: Uint8Array, start: number, end: number, fds: readonly number[] = NO_FDS): void {
    const i = this.next;
    this.dirs[i] = dir;
    this.ifaces[i] = iface;
    this.ids[i] = id;
    this.specs[i] = spec;
    this.fds[i] = fds.length === 0 ? NO_FDS : fds;
    this.sizes[i] = end - start;
    const kept = Math.min(end - start, RECENT_MESSAGE_BYTES);
    const bytes = this.bytes;
    for (let k = 0, to = i * RECENT_MESSAGE_BYTES; k < kept; k++) bytes[to + k] = buf[start + k];
    this.next = (i + 1) % this.capacity;
    if (this.count < this.capacity) this.count++;
  }

  get size(): number {
    return this.count;
  }

  /** Oldest first, in WAYVIO_TRACE style. */
  /** Writes the messages as warnings after a line naming `who` (escaped: the guest may have chosen it). */
  log(log: Logger, who: string): void {
    if (this.count === 0) return;
    log.warn(`last ${this.count} messages of ${guestText(who)}:`);
    for (const line of this.format()) log.warn(`  ${line}`);
  }

  format(): string[] {
    const out: string[] = [];
    for (let k = 0; k < this.count; k++) {
      const i = (this.next - this.count + k + this.capacity) % this.capacity;
      out.push(`${this.dirs[i]}${this.formatOne(i)}`);
    }
    return out;
  }

  private formatOne(i: number): string {
    const size = this.sizes[i];
    if (size > RECENT_MESSAGE_BYTES) return `${this.ifaces[i]}#${this.ids[i]}.${this.specs[i].name}(… ${size} bytes)`;
    try {
      const from = i * RECENT_MESSAGE_BYTES;
      const { args } = decodeArgs(this.bytes, from + HEADER_SIZE, from + size, this.specs[i], [...this.fds[i]]);
      return formatMessage(this.ifaces[i], this.ids[i], this.specs[i], args);
    } catch {
      return `${this.ifaces[i]}#${this.ids[i]}.${this.specs[i].name}(?)`;
    }
  }
}
