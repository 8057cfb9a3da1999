// unixListen/unixConnect/accept in a temp dir, abstract sockets, path errors, and AF_VSOCK errors.
import t from 'tap';
import { mkdtempSync, rmSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkFdLeaks } from '../helpers/fd-leak';
import { accept, closeAll, isNativeError, pipe2, recvmsg, sendmsg, setSocketBuffers, socketError, unixConnect, unixListen, vsockListen } from '../../native/index';
import { VMADDR_CID_HOST, socketpair, vsockConnect } from '../../native/test-only';
import { vsockConnectAsync } from '../../transport/vsock-connect';
import { FdSocket } from '../../transport/fd-socket';

checkFdLeaks(t);

const dir = mkdtempSync(join(tmpdir(), 'wayvio-sockets-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

function fdFlags(fd: number): number {
  return parseInt(/^flags:\s+(\d+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))![1]!, 8);
}

t.test('listen, connect, accept and talk', async (t) => {
  const path = join(dir, 'wayland-test');
  const listener = unixListen(path, 4);
  t.ok(existsSync(path));
  t.equal(accept(listener), -1, 'nothing pending: -1');
  const client = unixConnect(path);
  const server = accept(listener);
  t.ok(server >= 0);
  for (const fd of [listener, client, server]) t.equal(fdFlags(fd) & 0o2004000, 0o2004000, 'O_NONBLOCK|O_CLOEXEC');
  t.equal(socketError(client), 0);
  sendmsg(client, Buffer.from('hello'));
  const buf = Buffer.alloc(8);
  t.equal(recvmsg(server, buf)!.bytes, 5);
  t.equal(buf.toString('utf8', 0, 5), 'hello');
  t.throws(() => unixListen(path), { code: 'EADDRINUSE', syscall: 'bind' }, 'the old path is not unlinked for you');
  closeAll([client, server, listener]);
});

t.test('abstract socket names', async (t) => {
  const name = `\0wayvio-test-${process.pid}`;
  const listener = unixListen(name);
  const client = unixConnect(name);
  const server = accept(listener);
  t.ok(server >= 0);
  closeAll([client, server, listener]);
});

t.test('connect and path errors', async (t) => {
  t.throws(() => unixConnect(join(dir, 'missing')), { message: 'connect ENOENT', code: 'ENOENT', errno: -2, syscall: 'connect' });
  t.throws(() => unixListen(join(dir, 'x'.repeat(120))), { code: 'ENAMETOOLONG', syscall: 'bind' });
  t.throws(() => unixListen(join(dir, 'no\0nul')), { code: 'EINVAL' });
  t.throws(() => unixListen(join(dir, 'nodir', 'sock')), { code: 'ENOENT', syscall: 'bind' });
  t.throws(() => unixListen(''), { code: 'EINVAL' });
  t.throws(() => unixListen(42 as unknown as string), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
  t.throws(() => accept(2 ** 31), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
  const path = join(dir, 'refused');
  closeAll([unixListen(path)]);
  t.throws(() => unixConnect(path), { code: 'ECONNREFUSED', syscall: 'connect' }, 'a socket file nobody listens on');
});

t.test('AF_VSOCK: sockets where the kernel has vsock, Node-style errors for what cannot connect', async (t) => {
  // no VM answers on CID 3 nor the host on port 1 here; with vsock absent every call fails at socket()
  const vsock = existsSync('/dev/vsock');
  const port = 40_000 + (process.pid % 20_000);
  if (vsock) {
    const fd = vsockListen(port);
    t.ok(fd >= 0, `vsockListen(${port}) gives a socket`);
    t.throws(() => vsockListen(port), { code: 'EADDRINUSE', syscall: 'bind' }, 'a second listener on the port is refused');
    closeAll([fd]);
  } else {
    t.throws(() => vsockListen(port), { code: /^(EAFNOSUPPORT|EPERM|EACCES)$/, syscall: 'socket' }, 'no vsock: socket() fails');
  }
  const refused = (what: string, call: () => number): void => {
    let fd = -1;
    try {
      fd = call();
    } catch (e) {
      t.ok(isNativeError(e), `${what}: ${(e as Error).message}`);
      t.match(e, { code: /^E[A-Z0-9]+$/, errno: Number, syscall: vsock ? 'connect' : 'socket' });
      return;
    }
    closeAll([fd]);
    t.fail(`${what}: connected, but nobody listens there`);
  };
  refused('vsockConnect to CID 3', () => vsockConnect(3, 1));
  refused('vsockConnect to the host', () => vsockConnect(VMADDR_CID_HOST, 1));
  t.throws(() => vsockConnect(-1, 1), { name: 'RangeError' });
  await t.rejects(vsockConnectAsync(VMADDR_CID_HOST, 1), { code: /^E[A-Z0-9]+$/, errno: Number, syscall: vsock ? 'connect' : 'socket' }, 'async connect to the host fails too');
});

t.test('socket buffers: the kernel doubles the request and caps it at wmem_max', async (t) => {
  const wmemMax = Number(readFileSync('/proc/sys/net/core/wmem_max', 'utf8'));
  const [a, b] = socketpair();
  t.equal(setSocketBuffers(a, 300_000), 2 * Math.min(300_000, wmemMax));
  t.equal(setSocketBuffers(a, 2 ** 31), 2 * wmemMax, 'a huge request is capped, not refused');
  closeAll([a, b]);
  const [r, w] = pipe2();
  t.throws(() => setSocketBuffers(r, 4096), { code: 'ENOTSOCK', syscall: 'setsockopt' });
  t.throws(() => new FdSocket(w, { bufferBytes: 4096 }), { code: 'ENOTSOCK' }, 'FdSocket refuses a pipe');
  t.throws(() => readFileSync(`/proc/self/fdinfo/${w}`), { code: 'ENOENT' }, 'and closed the fd it was given');
  closeAll([r]);
});
