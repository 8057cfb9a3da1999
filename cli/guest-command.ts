// `wayvio guest`: the guest proxy, listening where a compositor would.
import { GuestProxy } from '../guest-proxy/guest-proxy';
import { exitFailed, failWhenIdle, onStopSignals } from './lifecycle';
import { COMMON_OPTIONS, SOFTWARE, channelOption, loggerFor, parse, policyFor, registryFor, waylandSocketPath } from './usage';

export function guestCommand(argv: string[]): void {
  const { values } = parse(argv, { ...COMMON_OPTIONS, shm: { type: 'string' }, socket: { type: 'string' } });
  const channel = channelOption(values);
  const log = loggerFor('guest', values);
  const socketPath = waylandSocketPath((values.socket as string | undefined) ?? 'wayland-0', '--socket');
  const proxy = new GuestProxy({ socketPath, channel, registry: registryFor(values), policy: policyFor(values, 'guest'), log, software: SOFTWARE, shm: values.shm as string | undefined, onChannelError: () => exitFailed(() => proxy.stop()) });
  proxy.start();
  failWhenIdle('guest');
  onStopSignals(() => proxy.stop());
}
