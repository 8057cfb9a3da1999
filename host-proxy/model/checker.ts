// What every protocol family's checker in the host's request model looks like, and how it accounts for the XML's errors.
import type { ArgValue } from '../../protocol/wire-codec';

/**
 * The state of one protocol family for one guest client. `request` sees each request (`iface.request`) before
 * the compositor does and throws ProtocolError (with `posted` naming the XML error entry) to refuse it, or
 * QuotaError for a ceiling passed; `event` sees each event (`iface.event`) the compositor sends the client.
 */
export interface FamilyChecker {
  request(name: string, id: number, args: readonly ArgValue[]): void;
  event?(name: string, id: number, args: readonly ArgValue[]): void;
}

/** How the host answers for one `<enum name="error">` entry: it refuses the request itself, or it leaves the check to the compositor. */
export type ErrorAccount = { enforcedBy: 'host'; test: string } | { enforcedBy: 'compositor'; because: string };

/** `interface.entry` → its account, for every error entry of a protocol family's interfaces. */
export type ErrorAccounts = Readonly<Record<string, ErrorAccount>>;

/** The host refuses it; `test` is the test file (from the repository root) that sends the request and checks the refusal. */
export function byHost(test: string): ErrorAccount {
  return { enforcedBy: 'host', test };
}

/** The compositor's own check is safe, for the reason given. */
export function leftToCompositor(because: string): ErrorAccount {
  return { enforcedBy: 'compositor', because };
}
