// `wayvio host`: the host proxy beside the compositor.
import { HostProxy } from '../host-proxy/host-proxy';
import { failWhenIdle, onStopSignals, writePidfile } from './lifecycle';
import { COMMON_OPTIONS, SOFTWARE, channelOption, loggerFor, parse, policyFor, registryFor, waylandSocketPath } from './usage';

export function hostCommand(argv: string[]): void {
  const { values } = parse(argv, { ...COMMON_OPTIONS, shm: { type: 'string' }, compositor: { type: 'string' }, pidfile: { type: 'string' } });
  const channel = channelOption(values);
  const log = loggerFor('host', values);
  const compositor = waylandSocketPath((values.compositor as string | undefined) ?? process.env.WAYLAND_DISPLAY ?? 'wayland-0', '--compositor');
  const proxy = new HostProxy({ channel, compositorPath: compositor, registry: registryFor(values), policy: policyFor(values), log, software: SOFTWARE, shm: values.shm as string | undefined });
  proxy.start();
  // only once start() succeeded: a host that failed to start must not leave its pidfile behind
  const removePidfile = values.pidfile === undefined ? () => undefined : writePidfile(values.pidfile as string);
  failWhenIdle('host', removePidfile);
  onStopSignals(() => {
    proxy.stop();
    removePidfile();
  });
}
