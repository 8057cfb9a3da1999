// Usage text, the usage error (exit 2) and shared option parsing for every wayvio command.
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { parseArgs } from 'node:util';
import { createLogger, isLogLevel, type Logger } from '../link/log';
import { Policy, parsePolicy, type PolicySide } from '../protocol/policy';
import { ProtocolRegistry } from '../protocol/registry';
import { parseChannelSpec, SpecError, type ChannelSpec } from '../transport/channel-spec';

export const USAGE = `usage:
  wayvio host  --channel SPEC [--compositor NAME|PATH] [--shm PATH] [--policy FILE] [--protocol FILE.xml]...
               [--pidfile FILE] [--status [HOST:]PORT [--status-remote]] [--log-level LEVEL] [LIMITS]
  wayvio guest --channel SPEC [--socket NAME|PATH] [--shm PATH|ivshmem] [--policy FILE] [--protocol FILE.xml]...
               [--log-level LEVEL]
  wayvio run   --channel SPEC [--shm PATH|ivshmem] [--policy FILE] -- COMMAND [ARG...]
  wayvio demo  [--seconds N] [--out DIR]
  wayvio bench [--quick] [--runs N] [--json FILE] [--scenarios ID,...] [--paths direct,wayvio,wayvio-shm,waypipe]
               [--no-bytes] [--cpu-prof DIR]

SPEC: unix:PATH unix-listen:PATH virtio:NAME file:PATH vsock:CID:PORT vsock-listen:PORT
      tcp:HOST:PORT tcp-listen:HOST:PORT ws://HOST:PORT/PATH wss://... ws-listen:HOST:PORT
POLICY (--policy FILE, JSON): the host offers a guest only the globals its request model checks (the list
      is in docs/globals.md); {"allow": [NAME...]} adds others by name, {"deny": [NAME...]} removes,
      {"versions": {NAME: N}} caps, {"titlePrefix": "[vm1] "} marks the guest's windows. Allowing a global
      hands the guest what it can do to the whole host session: screencopy and export-dmabuf read the whole
      screen, data-control reads and sets the clipboard without focus, virtual keyboard/pointer type and
      click into any window, layer-shell draws over everything, foreign-toplevel lists and controls every
      window; and the host does not check such a global's requests, so a guest can send the compositor what
      it may crash on. The host log says why each hidden global is hidden. Globals that cannot cross a VM
      (dmabuf, wl_drm, sync objects, leases, security contexts) stay hidden whatever the file says. On the
      guest, --policy only denies or caps what the host offers.
LEVEL: error, warn, info (default), debug. WAYVIO_TRACE=1 prints every message both ways.
--status serves GET /status (JSON) and GET /metrics (Prometheus) on 127.0.0.1 unless HOST is given;
      a HOST that is not loopback also needs --status-remote.
LIMITS (host; for the whole guest unless noted; sizes may end in K, M or G). Passing one ends the
      client that asked (or refuses the client or channel), never the proxy:
  --max-shm-bytes N   shm pool and file bytes held for the guest (default 2G)
  --max-pool-bytes N  largest single pool or file (default 512M)
  --max-clients N     clients at once (default 256)
  --max-objects N     live Wayland objects per client (default 65536)
  --max-pools N       shm pools the compositor maps per client (live, or with live buffers; default 1024)
  --max-fds N         fds held or handed on for the guest: compositor connections, pools, files, pipes,
                      fds queued to the compositor and its pool mappings (default 4096)
  --max-frame-size N  largest channel frame accepted, 8K..16M (default 256K)
  --max-channels N    guest channels at once (default 4)
  --max-pipe-bytes N  bytes written to pipes (clipboard, drag and drop) held until read (default 32M)`;

export class UsageError extends Error {}

export const VERSION: string = (JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
export const SOFTWARE = `wayvio ${VERSION}`;

type Options = NonNullable<Parameters<typeof parseArgs>[0]>['options'];

export function parse(argv: string[], options: Options, allowPositionals = false): { values: Record<string, string | string[] | boolean | undefined>; positionals: string[] } {
  try {
    const r = parseArgs({ args: argv, options: { ...options, 'log-level': { type: 'string' } }, allowPositionals, strict: true });
    return { values: r.values as Record<string, string | string[] | boolean | undefined>, positionals: r.positionals };
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

export function requireString(values: Record<string, unknown>, name: string, example?: string): string {
  const v = values[name];
  if (typeof v !== 'string' || v === '') throw new UsageError(`--${name} is required${example === undefined ? '' : `, e.g. ${example}`}`);
  return v;
}

export function channelOption(values: Record<string, unknown>): ChannelSpec {
  try {
    return parseChannelSpec(requireString(values, 'channel', '--channel unix:/run/wayvio/vm1.sock (see SPEC below)'));
  } catch (e) {
    if (e instanceof SpecError) throw new UsageError(e.message);
    throw e;
  }
}

export function loggerFor(role: string, values: Record<string, unknown>): Logger {
  const level = (values['log-level'] as string | undefined) ?? 'info';
  if (!isLogLevel(level)) throw new UsageError(`--log-level ${level}: use error, warn, info or debug`);
  return createLogger(`wayvio ${role}`, { level });
}

/** A socket NAME is relative to $XDG_RUNTIME_DIR, an absolute PATH is used as is (as libwayland does). */
export function waylandSocketPath(nameOrPath: string, what: string): string {
  if (isAbsolute(nameOrPath)) return nameOrPath;
  const dir = process.env.XDG_RUNTIME_DIR;
  if (dir === undefined || dir === '') throw new UsageError(`${what} '${nameOrPath}' is a name but XDG_RUNTIME_DIR is not set; give an absolute path`);
  return join(dir, nameOrPath);
}

export function registryFor(values: Record<string, unknown>): ProtocolRegistry {
  const registry = ProtocolRegistry.builtin();
  for (const file of (values.protocol as string[] | undefined) ?? []) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new UsageError(`--protocol ${file}: ${(e as Error).message}`);
    }
    registry.loadXmlText(text, file);
  }
  return registry;
}

export function policyFor(values: Record<string, unknown>, side: PolicySide): Policy {
  const file = values.policy as string | undefined;
  if (file === undefined) return new Policy({}, side);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`--policy ${file}: ${(e as Error).message}`);
  }
  try {
    return parsePolicy(text, file, side);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

export const COMMON_OPTIONS = {
  channel: { type: 'string' },
  policy: { type: 'string' },
  protocol: { type: 'string', multiple: true },
} as const;
