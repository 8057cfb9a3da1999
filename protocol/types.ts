// Data shapes of the protocol tables: what the scanner writes and the codecs read.

export type ArgType = 'int' | 'uint' | 'fixed' | 'string' | 'object' | 'new_id' | 'array' | 'fd';

export interface ArgSpec {
  name: string;
  type: ArgType;
  /** Target interface of an `object` or `new_id`; absent for the untyped `new_id` of wl_registry.bind. */
  interface?: string;
  nullable?: boolean;
  /** Enum name as written in the XML (`wl_shm.format` or `format`). */
  enum?: string;
}

export interface MessageSpec {
  name: string;
  since: number;
  destructor?: boolean;
  args: ArgSpec[];
}

export interface EnumEntrySpec {
  name: string;
  value: number;
  since?: number;
}

export interface EnumSpec {
  name: string;
  since?: number;
  bitfield?: boolean;
  entries: EnumEntrySpec[];
}

export interface InterfaceSpec {
  name: string;
  version: number;
  requests: MessageSpec[];
  events: MessageSpec[];
  enums: EnumSpec[];
}

export interface ProtocolSpec {
  /** The `<protocol name="...">` attribute. */
  name: string;
  /** Where the XML came from, relative to its root (e.g. `stable/xdg-shell/xdg-shell.xml`). */
  source: string;
  interfaces: InterfaceSpec[];
}
