// FdListener: accepts UNIX connections as FdSockets, carries fds end to end, closes cleanly.
import t from 'tap';
import { once } from 'node:events';
import { mkdtempSync, rmSync, readSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkFdLeaks } from '../helpers/fd-leak';
import { closeAll, memfdCreate, unixConnect } from '../../native/index';
import { FdListener } from '../../transport/fd-listener';
import { FdSocket } from '../../transport/fd-socket';

checkFdLeaks(t);

const dir = mkdtempSync(join(tmpdir(), 'wayvio-listener-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

t.test('accepts every pending connection and hands out FdSockets', async (t) => {
  const path = join(dir, 'wayland-1');
  const listener = FdListener.unix(path, 16);
  const accepted: FdSocket[] = [];
  const allAccepted = new Promise<void>((resolve) => {
    listener.on('connection', (socket: FdSocket) => {
      accepted.push(socket);
      if (accepted.length === 5) resolve();
    });
  });
  const clients = Array.from({ length: 5 }, () => new FdSocket(unixConnect(path)));
  await allAccepted;

  const memfd = memfdCreate('wayvio-listener');
  writeSync(memfd, 'shared');
  const arrivals = accepted.map(
    (socket) => new Promise<[string, number[]]>((resolve) => socket.once('data', (d: Buffer, fds: number[]) => resolve([d.toString(), fds]))),
  );
  clients.forEach((c, i) => c.write(Buffer.from(`client ${i}`), i === 0 ? [memfd] : []));
  const got = await Promise.all(arrivals);
  t.same(got.map(([text]) => text).sort(), [0, 1, 2, 3, 4].map((i) => `client ${i}`), 'one accepted socket per client');
  const [, fds] = got.find(([text]) => text === 'client 0')!;
  const buf = Buffer.alloc(8);
  t.equal(buf.toString('utf8', 0, readSync(fds[0]!, buf, 0, 8, 0)), 'shared', 'the fd came through');
  t.same(got.filter(([text]) => text !== 'client 0').flatMap(([, f]) => f), [], 'and only there');
  closeAll(fds);

  const closes = [...clients, ...accepted].map((s) => once(s, 'close'));
  for (const s of [...clients, ...accepted]) s.destroy();
  await Promise.all(closes);
  const closed = once(listener, 'close');
  listener.close();
  listener.close();
  await closed;
  t.equal(listener.closed, true);
  t.throws(() => unixConnect(path), { code: 'ECONNREFUSED' }, 'nobody listens any more (the file stays)');
});

t.test('without a connection listener, connections are closed', async (t) => {
  const path = join(dir, 'wayland-2');
  const listener = FdListener.unix(path);
  const client = new FdSocket(unixConnect(path));
  const [error] = await once(client, 'close');
  t.equal(error, undefined, 'the client saw a clean EOF');
  listener.close();
  await once(listener, 'close');
});

t.test('a bad fd is refused', async (t) => {
  t.throws(() => new FdListener(-5), { name: 'RangeError' });
});
