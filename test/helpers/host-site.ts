// A host proxy in this process in front of a real compositor, listening on a channel of its own, for raw-peer tests.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Compositor } from '../../harness/compositors';
import { HostProxy, type HostLimits } from '../../host-proxy/host-proxy';
import { createLogger } from '../../link/log';
import { Policy } from '../../protocol/policy';
import { ProtocolRegistry } from '../../protocol/registry';

export interface HostSite {
  compositor: Compositor;
  host: HostProxy;
  dir: string;
  /** The unix-listen channel path raw guests connect to. */
  channel: string;
  /** Stops the host and the compositor, and removes the dir. */
  stop(): Promise<void>;
}

export interface HostSiteOptions {
  limits?: Partial<HostLimits>;
  software?: string;
  /** Every log line of the host (debug included); default: dropped. */
  write?: (line: string) => void;
}

export function startHostSite(compositor: Compositor, options: HostSiteOptions = {}): HostSite {
  const dir = mkdtempSync(join(tmpdir(), `wayvio-host-site-${compositor.kind}-`));
  const channel = join(dir, 'channel');
  const host = new HostProxy({
    channel: { kind: 'unix-listen', path: channel }, compositorPath: compositor.socketPath, registry: ProtocolRegistry.builtin(),
    policy: new Policy(), log: createLogger('host', { level: 'debug', write: options.write ?? (() => undefined) }),
    software: options.software ?? 'host under attack', limits: options.limits,
  });
  host.start();
  return {
    compositor, host, dir, channel,
    async stop() {
      host.stop();
      await compositor.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
