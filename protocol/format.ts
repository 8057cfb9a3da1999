// Formats Wayland messages the way WAYLAND_DEBUG does: `wl_surface#12.attach(wl_buffer#20, 0, 0)`; strings escaped and cut.
import type { MessageSpec } from './types';
import type { ArgValue, UntypedNewId } from './wire-codec';
import { guestText, quotedGuestText } from './log-text';

function formatArg(spec: MessageSpec['args'][number], v: ArgValue): string {
  switch (spec.type) {
    case 'string': return v === null ? 'nil' : quotedGuestText(v as string);
    case 'object': return v === 0 ? 'nil' : `${spec.interface ?? '[unknown]'}#${v as number}`;
    case 'new_id': {
      if (spec.interface === undefined) {
        const u = v as UntypedNewId;
        return `new id ${guestText(u.interface)}#${u.id} v${u.version}`;
      }
      return `new id ${spec.interface}#${v as number}`;
    }
    case 'array': return `array[${(v as Uint8Array).byteLength}]`;
    case 'fd': return `fd ${v as number}`;
    default: return String(v);
  }
}

export function formatMessage(iface: string, id: number, spec: MessageSpec, args: readonly ArgValue[] | null): string {
  const body = args === null ? '…' : spec.args.map((a, i) => formatArg(a, args[i])).join(', ');
  return `${iface}#${id}.${spec.name}(${body})`;
}
