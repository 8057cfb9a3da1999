// `wayvio host`: the host proxy beside the compositor, with its limits and optional status server.
import { DEFAULT_LIMITS, HostProxy, type HostLimits } from '../host-proxy/host-proxy';
import { StatusAddressError, parseStatusAddress, type StatusAddress } from '../host-proxy/status-address';
import type { StatusServer } from '../host-proxy/status-server';
import { MAX_MAX_FRAME_SIZE, MIN_MAX_FRAME_SIZE } from '../protocol/channel-frames';
import { exitFailed, failWhenIdle, onStopSignals, writePidfile } from './lifecycle';
import { COMMON_OPTIONS, SOFTWARE, UsageError, VERSION, channelOption, loggerFor, parse, policyFor, registryFor, waylandSocketPath } from './usage';

/** Each limit flag: the HostLimits field it sets, whether it is a byte size (K/M/G suffixes), and its range. */
const LIMIT_FLAGS: Record<string, { field: keyof HostLimits; bytes: boolean; min: number; max: number }> = {
  'max-shm-bytes': { field: 'shmTotal', bytes: true, min: 4096, max: Number.MAX_SAFE_INTEGER },
  'max-pool-bytes': { field: 'shmPool', bytes: true, min: 4096, max: Number.MAX_SAFE_INTEGER },
  'max-clients': { field: 'clients', bytes: false, min: 1, max: 1_000_000 },
  'max-objects': { field: 'objects', bytes: false, min: 16, max: 0xfeffffff },
  'max-pools': { field: 'pools', bytes: false, min: 1, max: 1 << 20 },
  'max-fds': { field: 'fds', bytes: false, min: 8, max: 1_000_000 },
  'max-frame-size': { field: 'frameSize', bytes: true, min: MIN_MAX_FRAME_SIZE, max: MAX_MAX_FRAME_SIZE },
  'max-channels': { field: 'channels', bytes: false, min: 1, max: 1000 },
  'max-pipe-bytes': { field: 'pipeBytes', bytes: true, min: 64 * 1024, max: Number.MAX_SAFE_INTEGER },
};

const UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** `--max-...` values: an integer, for byte sizes optionally with K, M, G or T (binary: 1K = 1024). */
export function parseLimit(flag: string, text: string): number {
  const spec = LIMIT_FLAGS[flag];
  const m = spec.bytes ? /^(\d+)([kmgt]?)(?:i?b)?$/i.exec(text) : /^(\d+)()$/.exec(text);
  const example = spec.bytes ? `e.g. --${flag} ${flag === 'max-frame-size' ? '1M' : '512M'}` : `e.g. --${flag} ${DEFAULT_LIMITS[spec.field]}`;
  if (m === null) throw new UsageError(`--${flag} ${text}: use ${spec.bytes ? 'a number of bytes (K, M, G allowed)' : 'a whole number'}, ${example}`);
  const value = Number(m[1]) * UNITS[m[2].toLowerCase()];
  if (!Number.isSafeInteger(value) || value < spec.min || value > spec.max) {
    throw new UsageError(`--${flag} ${text}: must be between ${spec.min} and ${spec.max}, ${example}`);
  }
  return value;
}

export function limitsFrom(values: Record<string, unknown>): Partial<HostLimits> {
  const limits: Partial<HostLimits> = {};
  for (const flag of Object.keys(LIMIT_FLAGS)) {
    const v = values[flag];
    if (typeof v === 'string') limits[LIMIT_FLAGS[flag].field] = parseLimit(flag, v);
  }
  if ((limits.shmPool ?? DEFAULT_LIMITS.shmPool) > (limits.shmTotal ?? DEFAULT_LIMITS.shmTotal) && limits.shmPool !== undefined) {
    throw new UsageError(`--max-pool-bytes ${limits.shmPool} is larger than --max-shm-bytes ${limits.shmTotal ?? DEFAULT_LIMITS.shmTotal}; a pool never fits`);
  }
  return limits;
}

export async function hostCommand(argv: string[]): Promise<void> {
  const limitOptions = Object.fromEntries(Object.keys(LIMIT_FLAGS).map((f) => [f, { type: 'string' as const }]));
  const { values } = parse(argv, {
    ...COMMON_OPTIONS, ...limitOptions, shm: { type: 'string' }, compositor: { type: 'string' }, pidfile: { type: 'string' },
    status: { type: 'string' }, 'status-remote': { type: 'boolean' },
  });
  const channel = channelOption(values);
  const log = loggerFor('host', values);
  const compositor = waylandSocketPath((values.compositor as string | undefined) ?? process.env.WAYLAND_DISPLAY ?? 'wayland-0', '--compositor');
  const limits = limitsFrom(values);
  let statusAddress: StatusAddress | undefined;
  if (values['status-remote'] === true && values.status === undefined) throw new UsageError('--status-remote needs --status HOST:PORT');
  if (typeof values.status === 'string') {
    try {
      statusAddress = parseStatusAddress(values.status, values['status-remote'] === true);
    } catch (e) {
      if (e instanceof StatusAddressError) throw new UsageError(e.message);
      throw e;
    }
  }
  let removePidfile = (): void => undefined;
  let status: StatusServer | null = null;
  const proxy = new HostProxy({
    channel, compositorPath: compositor, registry: registryFor(values), policy: policyFor(values, 'host'), log, software: SOFTWARE,
    shm: values.shm as string | undefined, limits,
    onChannelError: () => exitFailed(() => {
      proxy.stop();
      void status?.close();
      removePidfile();
    }),
  });
  proxy.start();
  if (statusAddress !== undefined) {
    // loaded only here: the status server and prom-client cost an idle host about 2 MiB
    const { StatusServer } = await import('../host-proxy/status-server');
    status = new StatusServer(proxy, VERSION, log);
    try {
      await status.listen(statusAddress);
    } catch (e) {
      proxy.stop();
      throw new Error(`--status ${values.status as string}: cannot listen: ${(e as Error).message}`);
    }
  }
  // only once start() succeeded: a host that failed to start must not leave its pidfile behind
  if (values.pidfile !== undefined) removePidfile = writePidfile(values.pidfile as string);
  failWhenIdle('host', removePidfile);
  onStopSignals(async () => {
    proxy.stop();
    await status?.close();
    removePidfile();
  });
}
