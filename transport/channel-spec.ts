// Parses a channel SPEC from the command line (`unix:PATH`, `tcp-listen:HOST:PORT`, `ws://…`, …).

export type ChannelSpec =
  | { kind: 'unix'; path: string }
  | { kind: 'unix-listen'; path: string }
  | { kind: 'virtio'; path: string }
  | { kind: 'file'; path: string }
  | { kind: 'vsock'; cid: number; port: number }
  | { kind: 'vsock-listen'; port: number }
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'tcp-listen'; host: string; port: number }
  | { kind: 'ws'; url: string }
  | { kind: 'ws-listen'; host: string; port: number };

export class SpecError extends Error {
  readonly code = 'BAD_CHANNEL_SPEC';
}

const FORMS = 'unix:PATH, unix-listen:PATH, virtio:NAME, file:PATH, vsock:CID:PORT, vsock-listen:PORT, tcp:HOST:PORT, tcp-listen:HOST:PORT, ws://HOST:PORT/PATH, wss://…, ws-listen:HOST:PORT';

/** What to type for each scheme, with an example; every error message ends with one of these. */
const HINT: Record<string, string> = {
  unix: 'unix:PATH, e.g. unix:/run/wayvio/vm1.sock',
  'unix-listen': 'unix-listen:PATH, e.g. unix-listen:/run/wayvio/vm1.sock',
  virtio: 'virtio:NAME for /dev/virtio-ports/NAME, e.g. virtio:org.wayvio.0 (use file:PATH for any other path)',
  file: 'file:PATH of a character device, e.g. file:/dev/hvc1',
  vsock: 'vsock:CID:PORT, e.g. vsock:2:5000 (CID 2 is the host)',
  'vsock-listen': 'vsock-listen:PORT, e.g. vsock-listen:5000',
  tcp: 'tcp:HOST:PORT, e.g. tcp:127.0.0.1:5000 or tcp:[::1]:5000',
  'tcp-listen': 'tcp-listen:HOST:PORT, e.g. tcp-listen:127.0.0.1:5000 or tcp-listen:[::1]:5000',
  ws: 'ws://HOST:PORT/PATH or wss://HOST:PORT/PATH, e.g. ws://127.0.0.1:5000/wayvio',
  'ws-listen': 'ws-listen:HOST:PORT, e.g. ws-listen:127.0.0.1:5000',
};

/** sun_path holds 108 bytes including the terminating NUL. */
const MAX_UNIX_PATH = 107;
/** VMADDR_CID_ANY / VMADDR_PORT_ANY (-1U) name no peer and no fixed port. */
const MAX_VSOCK = 0xfffffffe;

function bad(spec: string, scheme: string, problem: string): SpecError {
  return new SpecError(`channel '${spec}': ${problem}; use ${HINT[scheme]}`);
}

function port(text: string, spec: string, scheme: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 65535) throw bad(spec, scheme, `'${text}' is not a port (1-65535)`);
  return n;
}

function vsockNumber(text: string, what: string, spec: string, scheme: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n > MAX_VSOCK) throw bad(spec, scheme, `'${text}' is not a ${what} (0-${MAX_VSOCK})`);
  return n;
}

/** Splits `HOST:PORT`, allowing `[::1]:PORT`. */
function hostPort(rest: string, spec: string, scheme: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:([^:]*)$/.exec(rest) ?? /^([^:[\]]+):([^:]*)$/.exec(rest);
  if (m === null) {
    const hint = rest.split(':').length > 2 && !rest.startsWith('[') ? ' (put an IPv6 address in brackets)' : '';
    throw bad(spec, scheme, `expected HOST:PORT after '${scheme}:'${hint}`);
  }
  return { host: m[1], port: port(m[2], spec, scheme) };
}

function path(rest: string, spec: string, scheme: string): string {
  if (rest.includes('\0')) throw bad(spec, scheme, 'the path contains a NUL byte');
  return rest;
}

function unixPath(rest: string, spec: string, scheme: string): string {
  const bytes = Buffer.byteLength(path(rest, spec, scheme));
  if (bytes > MAX_UNIX_PATH) throw bad(spec, scheme, `a UNIX socket path has at most ${MAX_UNIX_PATH} bytes, this one ${bytes}`);
  return rest;
}

function wsUrl(spec: string): string {
  let url: URL;
  try {
    url = new URL(spec);
  } catch {
    throw bad(spec, 'ws', 'not a WebSocket URL');
  }
  if (url.hostname === '') throw bad(spec, 'ws', 'the URL names no host');
  return spec;
}

export function parseChannelSpec(spec: string): ChannelSpec {
  if (/^wss?:\/\//.test(spec)) return { kind: 'ws', url: wsUrl(spec) };
  const colon = spec.indexOf(':');
  if (colon <= 0) throw new SpecError(`channel '${spec}' has no scheme; use one of: ${FORMS}`);
  const scheme = spec.slice(0, colon);
  const rest = spec.slice(colon + 1);
  if (scheme === 'ws' || scheme === 'wss') throw bad(spec, 'ws', `a WebSocket channel is a URL starting with ${scheme}://`);
  if (!Object.hasOwn(HINT, scheme)) throw new SpecError(`channel '${spec}': unknown scheme '${scheme}'; use one of: ${FORMS}`);
  if (rest === '') throw bad(spec, scheme, `nothing after '${scheme}:'`);
  switch (scheme) {
    case 'unix': return { kind: 'unix', path: unixPath(rest, spec, scheme) };
    case 'unix-listen': return { kind: 'unix-listen', path: unixPath(rest, spec, scheme) };
    case 'virtio':
      if (rest.includes('/') || rest === '.' || rest === '..') throw bad(spec, scheme, `'${rest}' is not a port NAME`);
      return { kind: 'virtio', path: `/dev/virtio-ports/${path(rest, spec, scheme)}` };
    case 'file': return { kind: 'file', path: path(rest, spec, scheme) };
    case 'vsock': {
      const m = /^([^:]*):([^:]*)$/.exec(rest);
      if (m === null) throw bad(spec, scheme, 'expected a CID and a PORT');
      return { kind: 'vsock', cid: vsockNumber(m[1], 'CID', spec, scheme), port: vsockNumber(m[2], 'vsock port', spec, scheme) };
    }
    case 'vsock-listen': return { kind: 'vsock-listen', port: vsockNumber(rest, 'vsock port', spec, scheme) };
    case 'tcp': return { kind: 'tcp', ...hostPort(rest, spec, scheme) };
    case 'tcp-listen': return { kind: 'tcp-listen', ...hostPort(rest, spec, scheme) };
    default: return { kind: 'ws-listen', ...hostPort(rest, spec, scheme) };
  }
}

export function isListenSpec(spec: ChannelSpec): boolean {
  return spec.kind.endsWith('-listen');
}

/** The SPEC again, in a form parseChannelSpec() reads back to the same value. */
export function describeSpec(spec: ChannelSpec): string {
  switch (spec.kind) {
    case 'ws': return spec.url;
    case 'vsock': return `vsock:${spec.cid}:${spec.port}`;
    case 'vsock-listen': return `vsock-listen:${spec.port}`;
    case 'tcp': case 'tcp-listen': case 'ws-listen': return `${spec.kind}:${spec.host.includes(':') ? `[${spec.host}]` : spec.host}:${spec.port}`;
    case 'virtio': return `virtio:${spec.path.slice(spec.path.lastIndexOf('/') + 1)}`;
    default: return `${spec.kind}:${spec.path}`;
  }
}
