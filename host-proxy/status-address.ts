// `--status ADDRESS`: which addresses the status server may listen on. Apart from the server, so
// that a host without --status never loads it (nor prom-client).
import { isIP } from 'node:net';

export interface StatusAddress {
  host: string;
  port: number;
}

/** Why an address was refused; the CLI turns it into a usage error (exit 2). */
export class StatusAddressError extends Error {}

function isLoopback(host: string): boolean {
  if (host === 'localhost' || host === '::1') return true;
  return isIP(host) === 4 && host.startsWith('127.');
}

/**
 * `PORT`, `HOST:PORT` or `[V6]:PORT`; the host defaults to 127.0.0.1. A host that is not loopback is refused
 * unless `allowRemote`: the status names every guest client's app and title.
 */
export function parseStatusAddress(text: string, allowRemote = false): StatusAddress {
  const m = /^(?:(?:\[([^\]]+)\]|([^:[\]]*)):)?(\d{1,5})$/.exec(text);
  const port = m === null ? NaN : Number(m[3]);
  if (m === null || port > 65535) throw new StatusAddressError(`--status ${text}: use PORT or HOST:PORT, e.g. --status 127.0.0.1:9187`);
  const host = m[1] ?? (m[2] === undefined || m[2] === '' ? '127.0.0.1' : m[2]);
  if (host !== 'localhost' && isIP(host) === 0) throw new StatusAddressError(`--status ${text}: '${host}' is not an IP address; use e.g. 127.0.0.1:${port}`);
  if (!allowRemote && !isLoopback(host)) {
    throw new StatusAddressError(`--status ${text}: ${host} is not a loopback address; the status shows what every guest runs, so add --status-remote to serve it beyond this machine`);
  }
  return { host, port };
}
