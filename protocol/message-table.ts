// Per-interface facts about each message that the proxies look at on every message, worked out once.
import type { InterfaceSpec, MessageSpec } from './types';

export interface MessageEntry {
  readonly spec: MessageSpec;
  /** The interface's name (`wl_surface`). */
  readonly iface: string;
  /** `wl_surface.commit`, interned: compares to a literal by identity, hashes without a scan. */
  readonly name: string;
  /** SCM_RIGHTS fds the message carries. */
  readonly fdCount: number;
  /** Has a `new_id` argument: creates an object. */
  readonly createsObjects: boolean;
  /** Must be decoded to keep the object map and fds right: creates or destroys objects, or carries fds. */
  readonly changesState: boolean;
}

export interface InterfaceTable {
  readonly requests: readonly MessageEntry[];
  readonly events: readonly MessageEntry[];
}

/** The same string, internalized by V8 (property keys are): equal names become one object. */
function intern(s: string): string {
  return Object.keys({ [s]: 0 })[0];
}

function entry(iface: InterfaceSpec, spec: MessageSpec): MessageEntry {
  let fdCount = 0;
  let createsObjects = false;
  for (const a of spec.args) {
    if (a.type === 'fd') fdCount++;
    else if (a.type === 'new_id') createsObjects = true;
  }
  return Object.freeze({
    spec,
    iface: iface.name,
    name: intern(`${iface.name}.${spec.name}`),
    fdCount,
    createsObjects,
    changesState: createsObjects || fdCount > 0 || spec.destructor === true,
  });
}

export function buildInterfaceTable(iface: InterfaceSpec): InterfaceTable {
  return Object.freeze({
    requests: Object.freeze(iface.requests.map((m) => entry(iface, m))),
    events: Object.freeze(iface.events.map((m) => entry(iface, m))),
  });
}
