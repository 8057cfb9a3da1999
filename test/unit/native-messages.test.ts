// native sendmsg/recvmsg over a socketpair: fd counts, partial reads, EAGAIN, backpressure, EOF, bad arguments.
import t from 'tap';
import { join } from 'node:path';
import { checkFdLeaks } from '../helpers/fd-leak';
import { indexedMemfd, isOpen, memfdIndex } from '../helpers/indexed-memfds';
import { MAX_FDS_PER_SENDMSG, closeAll, recvmsg, sendmsg } from '../../native/index';
import { socketpair } from '../../native/test-only';

checkFdLeaks(t);


t.test('0, 1 and 28 fds in one sendmsg arrive with their bytes, in order', async (t) => {
  const [a, b] = socketpair();
  for (const count of [0, 1, MAX_FDS_PER_SENDMSG]) {
    const fds = Array.from({ length: count }, (_, i) => indexedMemfd(i));
    const payload = Buffer.from(`message with ${count} fds`);
    t.equal(sendmsg(a, payload, 0, payload.length, fds), payload.length);
    t.ok(fds.every(isOpen), 'sendmsg leaves the sent fds open');
    closeAll(fds);
    const buf = Buffer.alloc(256);
    const got = recvmsg(b, buf);
    t.ok(got);
    t.equal(buf.toString('utf8', 0, got!.bytes), payload.toString());
    t.equal(got!.fds.length, count);
    t.same(got!.fds.map(memfdIndex), fds.map((_, i) => i), 'each fd is the one sent at that index');
    closeAll(got!.fds);
  }
  closeAll([a, b]);
});

t.test('29 fds and fds without bytes are rejected before the syscall', async (t) => {
  const [a, b] = socketpair();
  const fds = Array.from({ length: 29 }, (_, i) => indexedMemfd(i));
  t.throws(() => sendmsg(a, Buffer.from('x'), 0, 1, fds), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
  t.throws(() => sendmsg(a, Buffer.from('x'), 0, 0, [fds[0]!]), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
  t.equal(recvmsg(b, Buffer.alloc(8)), null, 'nothing was sent');
  t.ok(fds.every(isOpen), 'the caller still owns them');
  closeAll(fds);
  closeAll([a, b]);
});

t.test('a message is read completely through small receive buffers; fds come with its first byte', async (t) => {
  const [a, b] = socketpair();
  const payload = Buffer.alloc(100_003);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 31 + 7) & 0xff;
  const fds = [indexedMemfd(0), indexedMemfd(1), indexedMemfd(2)];
  let sent = sendmsg(a, payload, 0, payload.length, fds);
  closeAll(fds);
  t.ok(sent > 0);
  const received = Buffer.alloc(payload.length);
  let at = 0;
  const gotFds: number[][] = [];
  let reads = 0;
  let eof = false;
  while (at < payload.length && !eof) {
    if (sent < payload.length) {
      const n = sendmsg(a, payload, sent, payload.length - sent);
      if (n > 0) sent += n;
    }
    const got = recvmsg(b, received, at, Math.min(7, payload.length - at));
    if (got === null) continue;
    eof = got.bytes === 0;
    reads++;
    if (got.fds.length > 0) gotFds.push(got.fds);
    at += got.bytes;
  }
  t.notOk(eof, 'no EOF in the middle');
  t.ok(reads >= payload.length / 7, `${reads} reads`);
  t.ok(received.equals(payload), 'every byte arrived in order');
  t.equal(gotFds.length, 1, 'fds arrived once');
  t.same(gotFds[0]!.map(memfdIndex), [0, 1, 2]);
  closeAll(gotFds.flat());
  t.equal(recvmsg(b, received), null, 'then EAGAIN');
  closeAll([a, b]);
});

t.test('EAGAIN on an empty socket is null, not an exception', async (t) => {
  const [a, b] = socketpair();
  t.equal(recvmsg(b, Buffer.alloc(64)), null);
  t.equal(recvmsg(a, Buffer.alloc(64)), null);
  closeAll([a, b]);
});

t.test('sendmsg returns -1 once the socket is full, and works again after the peer read', async (t) => {
  const [a, b] = socketpair();
  const chunk = Buffer.alloc(64 * 1024, 0x5a);
  let total = 0;
  for (let n; (n = sendmsg(a, chunk)) > 0; ) total += n;
  t.equal(sendmsg(a, chunk), -1, 'EAGAIN is -1');
  t.ok(total > 0, `${total} bytes fitted`);
  const sink = Buffer.alloc(256 * 1024);
  let read = 0;
  for (let got; (got = recvmsg(b, sink)) !== null; ) read += got.bytes;
  t.equal(read, total, 'the peer reads exactly what was accepted');
  t.ok(sendmsg(a, chunk) > 0, 'writable again');
  closeAll([a, b]);
});

t.test('EOF reads 0; writing to a closed peer is EPIPE, not SIGPIPE', async (t) => {
  const [a, b] = socketpair();
  sendmsg(a, Buffer.from('last'));
  closeAll([a]);
  const buf = Buffer.alloc(16);
  t.equal(recvmsg(b, buf)!.bytes, 4);
  t.same(recvmsg(b, buf), { bytes: 0, fds: [] });
  t.throws(() => sendmsg(b, Buffer.from('x')), { code: 'EPIPE', errno: -32, syscall: 'sendmsg' });
  closeAll([b]);
});

t.test('closed fds throw Node-style EBADF errors', async (t) => {
  const [c, d] = socketpair();
  const [a, b] = socketpair();
  closeAll([a, b]);
  t.throws(() => sendmsg(a, Buffer.from('x')), { message: 'sendmsg EBADF', code: 'EBADF', errno: -9, syscall: 'sendmsg' });
  t.throws(() => recvmsg(b, Buffer.alloc(1)), { message: 'recvmsg EBADF', code: 'EBADF', errno: -9, syscall: 'recvmsg' });
  t.throws(() => sendmsg(c, Buffer.from('x'), 0, 1, [a]), { code: 'EBADF', syscall: 'sendmsg' }, 'a closed fd in SCM_RIGHTS');
  closeAll([c, d]);
});

t.test('bad arguments are TypeError/RangeError with Node codes', async (t) => {
  const [a, b] = socketpair();
  const buf = Buffer.alloc(8);
  t.throws(() => recvmsg(b, buf, 0, -1), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
  t.throws(() => recvmsg(b, buf, 4, 5), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
  t.throws(() => recvmsg(b, buf, 9, 0), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
  t.throws(() => sendmsg(a, buf, 0.5, 1), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
  t.throws(() => sendmsg(-1, buf), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
  t.throws(() => sendmsg('3' as unknown as number, buf), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
  t.throws(() => sendmsg(a, [1, 2] as unknown as Uint8Array), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
  t.throws(() => sendmsg(a, buf, 0, 1, [1.5]), { name: 'RangeError' });
  t.throws(() => sendmsg(a, buf, 0, 1, 'x' as unknown as number[]), { name: 'TypeError' });
  closeAll([a, b]);
});

t.test('the raw addon checks bounds itself (TS checks bypassed)', async (t) => {
  const raw = require(join(__dirname, '../../../build/Release/wayvio_native.node'));
  const [a, b] = socketpair();
  const buf = Buffer.alloc(8);
  const out = new Int32Array(254);
  t.throws(() => raw.sendmsg(a, buf, 4, 5, []), RangeError);
  t.throws(() => raw.recvmsg(b, buf, 0, 9, out), RangeError);
  t.throws(() => raw.recvmsg(b, buf, 0, 8, new Int32Array(3)), TypeError);
  t.throws(() => raw.sendmsg(a, buf, 0, 1, new Array(29).fill(0)), RangeError);
  t.throws(() => raw.sendmsg(a, buf, 0, 1, [-1]), TypeError);
  t.throws(() => raw.read(a, buf, -1, 1), RangeError);
  t.throws(() => raw.mmap(a, 0, 0, false), { code: 'EINVAL' });
  t.throws(() => raw.munmap(new ArrayBuffer(8)), { code: 'EINVAL' });
  t.throws(() => new raw.FdWatcher(a, 'nope'), TypeError);
  closeAll([a, b]);
});
