// The wl_display.error event a conforming compositor sends for a request the host refused in its place.
import type { PostedError } from '../protocol/protocol-error';
import type { ProtocolRegistry } from '../protocol/registry';
import { encodeMessage } from '../protocol/wire-codec';

/** The event's bytes, or null when the registry has no such error entry (the guest then gets a generic error). */
export function postedErrorEvent(registry: ProtocolRegistry, posted: PostedError, message: string): Uint8Array | null {
  const [iface, entry] = posted.entry.split('.');
  const value = registry.interface(iface)?.enums.find((e) => e.name === 'error')?.entries.find((x) => x.name === entry)?.value;
  const display = registry.interface('wl_display');
  const opcode = display?.events.findIndex((e) => e.name === 'error') ?? -1;
  if (value === undefined || display === undefined || opcode < 0) return null;
  return encodeMessage(1, opcode, display.events[opcode], [posted.objectId, value, message]).bytes;
}
