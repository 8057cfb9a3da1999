// The interfaces a client can reach from a set of globals: every interface their requests and events create, transitively (pure).
import type { ProtocolRegistry } from './registry';

/** Every client has these, whatever it binds. */
const CORE = ['wl_display', 'wl_registry', 'wl_callback'];

/** `globals` and the core interfaces, and all that new_id arguments lead to from them; sorted. Names the registry lacks are skipped. */
export function reachableInterfaces(registry: ProtocolRegistry, globals: readonly string[]): string[] {
  const seen = new Set<string>();
  const todo = [...CORE, ...globals];
  while (todo.length > 0) {
    const name = todo.pop() as string;
    const spec = registry.interface(name);
    if (seen.has(name) || spec === undefined) continue;
    seen.add(name);
    for (const message of [...spec.requests, ...spec.events]) {
      for (const arg of message.args) if (arg.type === 'new_id' && arg.interface !== undefined) todo.push(arg.interface);
    }
  }
  return [...seen].sort();
}

/** `interface.entry` of every `<enum name="error">` entry of these interfaces, with its value. */
export function errorEntries(registry: ProtocolRegistry, interfaces: readonly string[]): Array<{ entry: string; value: number }> {
  const out: Array<{ entry: string; value: number }> = [];
  for (const name of interfaces) {
    const errors = registry.interface(name)?.enums.find((e) => e.name === 'error');
    for (const x of errors?.entries ?? []) out.push({ entry: `${name}.${x.name}`, value: x.value });
  }
  return out;
}
