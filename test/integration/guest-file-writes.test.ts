// The guest proxy's queued file writes (a dup of the pool fd each) are bounded per client while the channel does not drain.
import { ftruncateSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { checkFdLeaks } from '../helpers/fd-leak';
import { startGuest } from '../helpers/guest-only';
import { RawClient } from '../helpers/raw-client';
import { fdCount, waitFor } from '../helpers/wait';
import { ChannelSession } from '../../link/channel-session';
import { closeAll, memfdCreate } from '../../native/index';
import { FrameKind, type Frame } from '../../protocol/channel-frames';
import { ProtocolRegistry } from '../../protocol/registry';
import { encodeMessage } from '../../protocol/wire-codec';
import { SocketStream } from '../../transport/socket-stream';

checkFdLeaks(t);

const registry = ProtocolRegistry.builtin();

t.test('a client committing into a channel that does not drain holds a bounded number of fds', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wayvio-guest-writes-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // a host that answers the registry with two globals, then reads nothing more
  const peers: Socket[] = [];
  const server = createServer((socket) => {
    peers.push(socket);
    const session = new ChannelSession(new SocketStream(socket, 'deaf host'), { software: 'deaf host' });
    session.on('frame', (f: Frame) => {
      if (f.kind !== FrameKind.Wayland) return;
      const global = registry.event('wl_registry', 0)!;
      const data = Buffer.concat([encodeMessage(2, 0, global, [1, 'wl_compositor', 4]).bytes, encodeMessage(2, 0, global, [2, 'wl_shm', 1]).bytes]);
      session.send({ kind: FrameKind.Wayland, conn: f.conn, resources: [], data });
      socket.pause();
    });
  });
  const channelPath = join(dir, 'channel');
  await new Promise<void>((resolve) => server.listen(channelPath, resolve));
  t.teardown(() => {
    for (const p of peers) p.destroy();
    server.close();
  });
  const g = await startGuest({ kind: 'unix', path: channelPath });
  t.teardown(() => g.stop());

  const c = new RawClient(g.socketPath);
  t.teardown(() => c.close());
  const reg = c.send(1, 'get_registry', [0]);
  t.ok(await c.until(() => c.globals.has('wl_shm')), 'the deaf host offered its globals');
  const compositor = c.bind(reg, 'wl_compositor', 4, 1);
  const shm = c.bind(reg, 'wl_shm', 1, 2);
  const width = 256;
  const height = 256;
  const size = width * height * 4;
  const memfd = memfdCreate('wayvio-test-pool');
  ftruncateSync(memfd, size);
  const pool = c.send(shm, 'create_pool', [0, 0, size], [memfd]);
  closeAll([memfd]);
  const buffer = c.send(pool, 'create_buffer', [0, 0, width, height, width * 4, 0]);
  const surface = c.send(compositor, 'create_surface', [0]);
  const baseline = fdCount();
  // 16 whole rows damaged and committed again and again: one 16 KiB RES_WRITE range each (the channel congests at 8 MiB)
  let most = 0;
  for (let i = 0; i < 1000; i++) {
    c.send(surface, 'attach', [buffer, 0, 0]);
    c.send(surface, 'damage_buffer', [0, 0, width, 16]);
    c.send(surface, 'commit', []);
    if (i % 20 === 19) {
      await new Promise((r) => setTimeout(r, 5));
      most = Math.max(most, fdCount() - baseline);
    }
  }
  await waitFor(() => false, 300);
  most = Math.max(most, fdCount() - baseline);
  t.comment(`fds held for the client's queued writes: at most ${most} (1000 commits of 16 KiB)`);
  t.ok(most <= 32 + 4, `at most 32 queued file writes hold a pool fd (+4 slack): ${most}`);
  t.notOk(g.logs.some((l) => /EMFILE/.test(l)), 'no dup EMFILE');
});
