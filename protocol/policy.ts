// Global policy: which compositor globals guest clients may see and bind, at which versions (pure).
import { DEFAULT_OFFERED, HIDDEN_BY_DEFAULT } from './default-offer';
import type { ProtocolRegistry } from './registry';

/** Globals that cannot work across a VM boundary: GPU buffers, sync objects, leases, sandbox contexts. */
export const NEVER_FORWARDED = [
  'zwp_linux_dmabuf_v1',
  'wl_drm',
  'zwp_linux_explicit_synchronization_v1',
  'wp_linux_drm_syncobj_manager_v1',
  'wp_drm_lease_device_v1',
  'wp_security_context_manager_v1',
];

export interface PolicyFile {
  /** Interfaces offered on top of DEFAULT_OFFERED (each one at the risk HIDDEN_BY_DEFAULT names). */
  allow?: string[];
  /** Interfaces never forwarded (on top of the built-in list). */
  deny?: string[];
  /** Highest version offered per interface. */
  versions?: Record<string, number>;
  /** Prepended to every toplevel title, e.g. "[vm1] ". */
  titlePrefix?: string;
}

/**
 * The host decides which globals a guest may have: DEFAULT_OFFERED and what its policy allows by name. The
 * guest proxy offers its clients whatever the host offers it, less what its own file denies or caps.
 */
export type PolicySide = 'host' | 'guest';

export type Verdict = { allowed: true; version: number } | { allowed: false; reason: string };

export class Policy {
  private readonly deny: Set<string>;
  /** Offered when the compositor advertises them; null on the guest side, where the host already chose. */
  private readonly offered: Set<string> | null;
  private readonly versions: Map<string, number>;
  readonly titlePrefix: string;

  constructor(file: PolicyFile = {}, side: PolicySide = 'host') {
    this.deny = new Set([...NEVER_FORWARDED, ...(file.deny ?? [])]);
    this.offered = side === 'guest' ? null : new Set([...DEFAULT_OFFERED, ...(file.allow ?? [])]);
    this.versions = new Map(Object.entries(file.versions ?? {}));
    this.titlePrefix = file.titlePrefix ?? '';
  }

  /** Whether a global the compositor advertises may be offered, and at which version. */
  judge(iface: string, advertised: number, registry: ProtocolRegistry): Verdict {
    const known = registry.interface(iface);
    if (known === undefined) return { allowed: false, reason: 'no protocol XML for it' };
    if (this.deny.has(iface)) return { allowed: false, reason: NEVER_FORWARDED.includes(iface) ? 'cannot work across a VM' : 'denied by policy' };
    if (this.offered !== null && !this.offered.has(iface)) return { allowed: false, reason: notOfferedReason(iface) };
    const cap = this.versions.get(iface) ?? Infinity;
    const version = Math.min(advertised, known.version, cap);
    if (version < 1) return { allowed: false, reason: `version cap ${cap}` };
    return { allowed: true, version };
  }
}

function notOfferedReason(iface: string): string {
  const risk = HIDDEN_BY_DEFAULT[iface] ?? 'the host\'s request model does not cover it, so a guest could send the compositor what it may crash on';
  return `not offered by default: ${risk}; allow it by name in the policy file`;
}

/** Parses and checks a policy file's JSON text; throws an Error naming the bad field. */
export function parsePolicy(text: string, source: string, side: PolicySide = 'host'): Policy {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`${source}: not JSON: ${(e as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`${source}: expected a JSON object`);
  const o = raw as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!['allow', 'deny', 'versions', 'titlePrefix'].includes(key)) throw new Error(`${source}: unknown key '${key}' (allow, deny, versions, titlePrefix)`);
  }
  const names = (key: string): string[] | undefined => {
    const v = o[key];
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) throw new Error(`${source}: '${key}' must be a list of interface names`);
    return v as string[];
  };
  const versions = o.versions;
  if (versions !== undefined) {
    if (typeof versions !== 'object' || versions === null || Array.isArray(versions)) throw new Error(`${source}: 'versions' must map interface names to versions`);
    for (const [k, v] of Object.entries(versions)) {
      if (!Number.isInteger(v) || (v as number) < 1) throw new Error(`${source}: versions.${k} must be a positive integer`);
    }
  }
  if (o.titlePrefix !== undefined && typeof o.titlePrefix !== 'string') throw new Error(`${source}: 'titlePrefix' must be a string`);
  return new Policy({ allow: names('allow'), deny: names('deny'), versions: versions as Record<string, number> | undefined, titlePrefix: o.titlePrefix as string | undefined }, side);
}
