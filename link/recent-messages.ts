// The last few Wayland messages of one client, kept cheaply and formatted only when an error needs them.
import { formatMessage } from '../protocol/format';
import type { MessageSpec } from '../protocol/types';
import type { ArgValue } from '../protocol/wire-codec';

export const RECENT_MESSAGES = 20;

/** A ring of references (no copies, no strings) to messages already decoded; format() renders them. */
export class RecentMessages {
  private readonly dirs: string[] = [];
  private readonly ifaces: string[] = [];
  private readonly ids: number[] = [];
  private readonly specs: MessageSpec[] = [];
  private readonly args: (readonly ArgValue[] | null)[] = [];
  private next = 0;
  private count = 0;

  constructor(readonly capacity = RECENT_MESSAGES) {}

  /** `dir` is ' -> ' for requests and '<-  ' for events, as WAYVIO_TRACE prints them; args null when not decoded. */
  add(dir: string, iface: string, id: number, spec: MessageSpec, args: readonly ArgValue[] | null): void {
    const i = this.next;
    this.dirs[i] = dir;
    this.ifaces[i] = iface;
    this.ids[i] = id;
    this.specs[i] = spec;
    this.args[i] = args;
    this.next = (i + 1) % this.capacity;
    if (this.count < this.capacity) this.count++;
  }

  get size(): number {
    return this.count;
  }

  /** Oldest first, in WAYVIO_TRACE style. */
  format(): string[] {
    const out: string[] = [];
    for (let k = 0; k < this.count; k++) {
      const i = (this.next - this.count + k + this.capacity) % this.capacity;
      let text: string;
      try {
        text = formatMessage(this.ifaces[i], this.ids[i], this.specs[i], this.args[i]);
      } catch {
        text = `${this.ifaces[i]}#${this.ids[i]}.${this.specs[i].name}(?)`;
      }
      out.push(`${this.dirs[i]}${text}`);
    }
    return out;
  }
}
