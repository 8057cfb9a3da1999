// Both proxies in this process over a real channel, in front of a real compositor, for integration tests.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GuestProxy } from '../../guest-proxy/guest-proxy';
import { HostProxy, type HostLimits } from '../../host-proxy/host-proxy';
import { createLogger } from '../../link/log';
import { Policy, type PolicyFile } from '../../protocol/policy';
import { ProtocolRegistry } from '../../protocol/registry';
import type { ChannelSpec } from '../../transport/channel-spec';
import { startWeston, type ClientEnv, type Compositor } from '../../harness/compositors';
import type { Test } from 'tap';
import { sleep } from '../../harness/processes';

export interface ProxyPair {
  host: HostProxy;
  guest: GuestProxy;
  /** For clients: the guest proxy's socket. */
  env: ClientEnv;
  socketPath: string;
  /** Every log line of both proxies so far. */
  logs: string[];
  stop(): Promise<void>;
}

export interface PairOptions {
  compositorPath: string;
  /** Default: a UNIX socket in a temp dir (host listens, guest connects). */
  channel?: (dir: string) => { host: ChannelSpec; guest: ChannelSpec };
  policy?: PolicyFile;
  guestPolicy?: PolicyFile;
  registry?: ProtocolRegistry;
  /** A region file both proxies map (the shared-memory fast path). */
  shm?: string;
  /** The host's limits (default DEFAULT_LIMITS). */
  limits?: Partial<HostLimits>;
}

export async function startProxyPair(o: PairOptions): Promise<ProxyPair> {
  const dir = mkdtempSync(join(tmpdir(), 'wayvio-pair-'));
  const logs: string[] = [];
  const write = (line: string): void => {
    logs.push(line);
    if (process.env.WAYVIO_TEST_LOG === '1') process.stderr.write(line + '\n');
  };
  const registry = o.registry ?? ProtocolRegistry.builtin();
  const channels = o.channel?.(dir) ?? { host: { kind: 'unix-listen', path: join(dir, 'channel') }, guest: { kind: 'unix', path: join(dir, 'channel') } };
  const host = new HostProxy({
    channel: channels.host, compositorPath: o.compositorPath, registry, policy: new Policy(o.policy),
    log: createLogger('host', { level: 'debug', write }), software: 'wayvio test host', shm: o.shm, limits: o.limits,
  });
  const socketPath = join(dir, 'wayland-guest');
  const guest = new GuestProxy({
    socketPath, channel: channels.guest, registry, policy: new Policy(o.guestPolicy ?? o.policy, 'guest'),
    log: createLogger('guest', { level: 'debug', write }), software: 'wayvio test guest', shm: o.shm,
  });
  host.start();
  guest.start();
  for (let i = 0; !guest.connected; i++) {
    if (i > 500) throw new Error(`the guest proxy did not connect: ${logs.join('\n')}`);
    await sleep(10);
  }
  return {
    host, guest, socketPath, logs,
    env: { XDG_RUNTIME_DIR: dir, WAYLAND_DISPLAY: socketPath },
    async stop() {
      guest.stop();
      host.stop();
      await sleep(50);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** weston headless and both proxies in front of it for a whole test file: its fields are set before the first test. */
export interface WestonPair {
  weston: Compositor;
  pair: ProxyPair;
}

/** Starts weston and a proxy pair before the file's tests and stops both at its teardown. */
export function westonPairForFile(t: Test, options: Omit<PairOptions, 'compositorPath'> = {}): WestonPair {
  const fixture = {} as WestonPair;
  t.before(async () => {
    fixture.weston = await startWeston();
    fixture.pair = await startProxyPair({ ...options, compositorPath: fixture.weston.socketPath });
  });
  t.teardown(async () => {
    await fixture.pair?.stop();
    await fixture.weston?.stop();
  });
  return fixture;
}
