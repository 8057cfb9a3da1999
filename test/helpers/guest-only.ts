// A guest proxy alone in this process (for a host proxy that runs elsewhere, e.g. as a `wayvio host` process).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GuestProxy } from '../../guest-proxy/guest-proxy';
import { createLogger } from '../../link/log';
import { Policy } from '../../protocol/policy';
import { ProtocolRegistry } from '../../protocol/registry';
import type { ChannelSpec } from '../../transport/channel-spec';
import type { ClientEnv } from '../../harness/compositors';
import { waitFor } from './wait';

export interface LoneGuest {
  guest: GuestProxy;
  env: ClientEnv;
  socketPath: string;
  logs: string[];
  stop(): void;
}

/** Starts a guest proxy on a private socket; with `waitConnected`, resolves once its channel is up. */
export async function startGuest(channel: ChannelSpec, waitConnected = true): Promise<LoneGuest> {
  const dir = mkdtempSync(join(tmpdir(), 'wayvio-guest-'));
  const logs: string[] = [];
  const socketPath = join(dir, 'wayland-guest');
  const guest = new GuestProxy({
    socketPath, channel, registry: ProtocolRegistry.builtin(), policy: new Policy({}, 'guest'), software: 'wayvio test guest',
    log: createLogger('guest', { level: 'debug', write: (l) => {
      logs.push(l);
      if (process.env.WAYVIO_TEST_LOG === '1') process.stderr.write(l + '\n');
    } }),
  });
  guest.start();
  const stop = (): void => {
    guest.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  if (waitConnected && !(await waitFor(() => guest.connected, 10000))) {
    stop();
    throw new Error(`the guest proxy did not connect over ${JSON.stringify(channel)}:\n${logs.join('\n')}`);
  }
  return { guest, env: { XDG_RUNTIME_DIR: dir, WAYLAND_DISPLAY: socketPath }, socketPath, logs, stop };
}
