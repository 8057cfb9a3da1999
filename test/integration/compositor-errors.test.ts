// A compositor's wl_display.error reaches the guest client even when the host's next write finds the compositor gone.
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { checkFdLeaks } from '../helpers/fd-leak';
import { westonPairForFile } from '../helpers/proxy-pair';
import { RawClient } from '../helpers/raw-client';
import { RawGuest, request } from '../helpers/raw-guest';
import { waylandInfo } from '../../harness/test-clients';
import { waitFor } from '../helpers/wait';
import { decodeMessage, wholeMessages } from '../helpers/wire-messages';
import type { HostClient } from '../../host-proxy/host-client';
import { CloseCode, FrameKind, type Frame } from '../../protocol/channel-frames';
import { ProtocolRegistry } from '../../protocol/registry';

checkFdLeaks(t);

/** What fixture.weston 10 posts for a second wl_data_source.set_actions, a check the host leaves to the compositor. */
const ACTIONS_ERROR = /cannot set actions more than once/;

const fixture = westonPairForFile(t);

function onlyHostClient(): HostClient {
  const all = [...fixture.pair.host.channels.values()].flatMap((ch) => [...ch.clients.values()]);
  if (all.length !== 1) throw new Error(`expected one host client, found ${all.length}`);
  return all[0];
}

/**
 * The race, made certain: the host stops reading the compositor (as it does while the channel is
 * congested), the guest's request makes fixture.weston post an error and hang up, and `poke` keeps sending
 * requests until one finds the compositor gone (EPIPE). `done` says when to stop poking.
 */
async function provokeWhilePaused(t: Test, poke: () => void, done: () => boolean): Promise<void> {
  const timer = setInterval(() => {
    if (!done()) poke();
  }, 20);
  t.teardown(() => clearInterval(timer));
  await waitFor(done, 5000);
  clearInterval(timer);
}

t.test('a guest client gets fixture.weston\'s error for a second set_actions, although the host\'s next write failed with EPIPE', async (t) => {
  const c = new RawClient(fixture.pair.socketPath);
  t.teardown(() => c.close());
  const reg = await c.getRegistry();
  const manager = c.bind(reg, 'wl_data_device_manager', 3);
  const source = c.send(manager, 'create_data_source', [0]);
  c.send(source, 'set_actions', [1]);
  await c.roundtrip();
  t.equal(c.error(), undefined, 'no error yet');
  onlyHostClient().pause();
  c.send(source, 'set_actions', [1]);
  await provokeWhilePaused(t, () => c.send(1, 'sync', [0]), () => c.closed || c.error() !== undefined);
  const error = c.error();
  t.ok(error !== undefined, 'the client got wl_display.error');
  t.equal(error?.args[1], 0, 'with fixture.weston\'s code (wl_data_source.error.invalid_action_mask)');
  t.match(String(error?.args[2]), ACTIONS_ERROR, `and its message: ${String(error?.args[2])}`);
  t.ok(await c.until(() => c.closed), 'then the connection closed');
  t.ok(fixture.pair.logs.some((l) => /host channel \d+ client \d+: warn: compositor error: wl_display#1\.error\(.*cannot set actions more than once/.test(l)), 'the host logged the error');
  t.ok(await waitFor(() => fixture.pair.host.clientCount === 0 && fixture.pair.guest.clientCount === 0), 'both proxies dropped the client');
  t.ok((await waylandInfo(fixture.pair)).some((g) => g.interface === 'wl_compositor'), 'the next client is served');
});

t.test('a raw channel peer sees the WAYLAND frame with wl_display.error before the CLOSE frame', async (t) => {
  const g = await RawGuest.attach(join(fixture.pair.env.XDG_RUNTIME_DIR, 'channel'));
  t.teardown(() => g.destroy());
  const globals = await g.openWithRegistry(1);
  const manager = g.newId(1);
  const source = g.newId(1);
  g.wayland(1, [
    request('wl_registry', 'bind', 2, [globals.get('wl_data_device_manager')!, { interface: 'wl_data_device_manager', version: 3, id: manager }]),
    request('wl_data_device_manager', 'create_data_source', manager, [source]),
    request('wl_data_source', 'set_actions', source, [1]),
  ]);
  t.ok(await g.roundtrip(1), 'the data source is made');
  onlyHostClient().pause();
  g.wayland(1, [request('wl_data_source', 'set_actions', source, [1])]);
  await provokeWhilePaused(t, () => g.wayland(1, [request('wl_display', 'sync', 1, [g.newId(1)])]), () => g.closeFrame(1) !== undefined);
  const close = g.closeFrame(1);
  t.equal(close?.code, CloseCode.CompositorGone, `CLOSE with COMPOSITOR_GONE: ${close?.reason}`);
  t.match(close?.reason, /^the compositor ended the client: wl_display#1\.error\(.*cannot set actions more than once/, 'its reason is the compositor\'s error');
  const errorSpec = ProtocolRegistry.builtin().event('wl_display', 0)!;
  const frames = g.frames.filter((f: Frame) => f.conn === 1);
  const closeAt = frames.indexOf(close!);
  let errorAt = -1;
  let message = '';
  frames.forEach((f, i) => {
    if (f.kind !== FrameKind.Wayland) return;
    for (const m of wholeMessages(f.data)) {
      if (m.objectId !== 1 || m.opcode !== 0) continue;
      errorAt = i;
      message = String(decodeMessage(m, errorSpec).args[2]);
    }
  });
  t.ok(errorAt >= 0 && errorAt < closeAt, `wl_display.error came in frame ${errorAt}, before the CLOSE in frame ${closeAt}`);
  t.match(message, ACTIONS_ERROR, message);
  t.ok(await waitFor(() => fixture.pair.host.clientCount === 0), 'the host dropped the client');
});
