// FdSocket over a socketpair: many fds per write, order and identity, backpressure, close and fd ownership.
import t from 'tap';
import { once } from 'node:events';
import { readdirSync, readlinkSync } from 'node:fs';
import { checkFdLeaks } from '../helpers/fd-leak';
import { indexedMemfd, isOpen, memfdIndex } from '../helpers/indexed-memfds';
import { closeAll, recvmsg, sendmsg } from '../../native/index';
import { socketpair } from '../../native/test-only';
import { FdSocket } from '../../transport/fd-socket';

checkFdLeaks(t);


/** Open fds in this process that are test memfds (fd numbers get reused, names tell them apart). */
function openTestMemfds(): number {
  let count = 0;
  for (const name of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${name}`).includes('memfd:wayvio-test-')) count++;
    } catch {
      // the directory's own fd
    }
  }
  return count;
}

/** Collects bytes and fds until `bytes` arrived. */
function collect(socket: FdSocket, bytes: number): Promise<{ data: Buffer; fds: number[]; reads: number }> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    const fds: number[] = [];
    let got = 0;
    let reads = 0;
    const onData = (data: Buffer, received: number[]): void => {
      parts.push(data);
      fds.push(...received);
      got += data.length;
      reads++;
      if (got >= bytes) {
        socket.off('data', onData);
        resolve({ data: Buffer.concat(parts), fds, reads });
      }
    };
    socket.on('data', onData);
  });
}

function pair(options = {}): [FdSocket, FdSocket] {
  const [a, b] = socketpair();
  return [new FdSocket(a, options), new FdSocket(b, options)];
}

async function closeBoth(a: FdSocket, b: FdSocket): Promise<void> {
  const closed = [once(a, 'close'), once(b, 'close')];
  a.destroy();
  b.destroy();
  await Promise.all(closed);
}

for (const count of [29, 200]) {
  t.test(`write() with ${count} fds: all arrive, in order, and are closed on the sending side`, async (t) => {
    const [a, b] = pair();
    const fds = Array.from({ length: count }, (_, i) => indexedMemfd(i));
    const payload = Buffer.from('x'.repeat(64));
    const received = collect(b, payload.length * 2);
    t.equal(a.write(payload, fds), true);
    a.write(payload);
    const got = await received;
    t.ok(got.data.equals(Buffer.concat([payload, payload])));
    t.equal(got.fds.length, count);
    t.same(got.fds.map(memfdIndex), fds.map((_, i) => i), 'identity and order');
    t.equal(openTestMemfds(), count, 'only the received copies are open: the sender closed what it sent');
    closeAll(got.fds);
    t.equal(openTestMemfds(), 0);
    await closeBoth(a, b);
  });
}

t.test('many small writes with fds interleave correctly', async (t) => {
  const [a, b] = pair();
  const sent: number[] = [];
  let total = 0;
  for (let i = 0; i < 300; i++) {
    const fds = i % 3 === 0 ? [indexedMemfd(sent.length)] : [];
    sent.push(...fds.map(() => sent.length));
    const msg = Buffer.alloc(8 + (i % 5) * 4, i & 0xff);
    total += msg.length;
    a.write(msg, fds);
  }
  const got = await collect(b, total);
  t.equal(got.data.length, total);
  t.same(got.fds.map(memfdIndex), sent);
  closeAll(got.fds);
  await closeBoth(a, b);
});

t.test('write() returns false above the high-water mark and emits drain once the peer reads', async (t) => {
  const [a, b] = pair({ highWaterMark: 1024 });
  b.pause();
  const chunk = Buffer.alloc(32 * 1024, 1);
  let writes = 0;
  let total = 0;
  while (a.write(chunk)) {
    writes++;
    total += chunk.length;
  }
  total += chunk.length;
  t.ok(a.writableLength > 1024, `queued ${a.writableLength} bytes after ${writes} writes`);
  let drained = false;
  a.once('drain', () => (drained = true));
  const received = collect(b, total);
  await new Promise((r) => setTimeout(r, 20));
  t.notOk(drained, 'no drain while the peer does not read');
  b.resume();
  const got = await received;
  t.equal(got.data.length, total);
  if (!drained) await once(a, 'drain');
  t.equal(a.writableLength, 0);
  await closeBoth(a, b);
});

t.test('destroy() closes the fd and every fd still queued; close is emitted once', async (t) => {
  const [a, b] = pair();
  const filler = Buffer.alloc(1024 * 1024);
  a.write(filler); // more than the socket buffer holds
  const queued = Array.from({ length: 40 }, (_, i) => indexedMemfd(i));
  a.write(Buffer.alloc(8), queued);
  t.ok(queued.every(isOpen), 'queued behind the filler, still open');
  let closes = 0;
  a.on('close', () => closes++);
  const closed = once(a, 'close');
  a.destroy();
  a.destroy();
  t.equal(a.destroyed, true);
  t.notOk(queued.some(isOpen), 'queued fds closed');
  t.notOk(isOpen(a.fd), 'socket fd closed');
  const [error] = await closed;
  t.equal(error, undefined);
  await new Promise((r) => setImmediate(r));
  t.equal(closes, 1);
  const extra = indexedMemfd(1);
  t.equal(a.write(Buffer.from('late'), [extra]), false, 'write after destroy');
  t.notOk(isOpen(extra), 'and its fds are closed');
  b.destroy();
  await once(b, 'close');
});

t.test('the peer sees end and close; fds in flight are released by the kernel', async (t) => {
  const [x, y] = socketpair();
  const memfd = indexedMemfd(7);
  sendmsg(x, Buffer.from('pending'), 0, 7, [memfd]);
  closeAll([memfd, x]);
  const b = new FdSocket(y);
  b.destroy(); // pending data and its fd never read
  await once(b, 'close');

  const [a, c] = pair();
  const ended = once(c, 'end');
  const closed = once(c, 'close');
  a.end();
  await ended;
  const [error] = await closed;
  t.equal(error, undefined, 'EOF is a clean close');
  t.equal(c.destroyed, true);
});

t.test('end() flushes what is queued before closing', async (t) => {
  const [a, b] = pair();
  b.pause();
  const big = Buffer.alloc(512 * 1024, 3);
  const fd = indexedMemfd(5);
  a.write(big, [fd]);
  a.end();
  t.equal(a.write(Buffer.from('x')), false, 'no writes after end()');
  const received = collect(b, big.length);
  const closed = once(b, 'close');
  b.resume();
  const got = await received;
  t.equal(got.data.length, big.length);
  t.same(got.fds.map(memfdIndex), [5]);
  closeAll(got.fds);
  await closed;
  t.equal(a.destroyed, true);
});

t.test('received fds are closed when nobody listens for data', async (t) => {
  const [x, y] = socketpair();
  const b = new FdSocket(y);
  const memfd = indexedMemfd(1);
  sendmsg(x, Buffer.from('hi'), 0, 2, [memfd]);
  closeAll([memfd]);
  await new Promise((r) => setTimeout(r, 20));
  t.equal(recvmsg(y, Buffer.alloc(4)), null, 'the socket consumed the message');
  closeAll([x]);
  await once(b, 'close');
});

t.test('invalid writes throw and leave the fds with the caller', async (t) => {
  const [a, b] = pair();
  const fds = Array.from({ length: 29 }, (_, i) => indexedMemfd(i));
  t.throws(() => a.write(Buffer.alloc(1), fds), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
  t.throws(() => a.write('text' as unknown as Uint8Array), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
  t.throws(() => a.write(Buffer.alloc(4), [-1]), { name: 'RangeError' });
  t.ok(fds.every(isOpen));
  closeAll(fds);
  await closeBoth(a, b);
});

t.test('a write error closes the socket with that error', async (t) => {
  const [a, b] = pair();
  const closedB = once(b, 'close');
  b.destroy();
  await closedB;
  const closed = once(a, 'close');
  a.write(Buffer.from('into the void'));
  const [error] = await closed;
  t.match(error, { code: /^(EPIPE|ECONNRESET)$/, syscall: 'sendmsg' });
});

t.test('a peer that said its last words and left: a write finds it gone, the words still come before close (even paused)', async (t) => {
  const [fdA, fdB] = socketpair();
  const a = new FdSocket(fdA);
  const lastWords = Buffer.alloc(200 * 1024, 0x45); // more than one read
  t.equal(sendmsg(fdB, lastWords, 0, 100 * 1024, []), 100 * 1024);
  t.equal(sendmsg(fdB, lastWords, 100 * 1024, 100 * 1024, []), 100 * 1024);
  closeAll([fdB]);
  a.pause(); // as a congested proxy does: nothing is read until the write fails
  const events: string[] = [];
  let got = 0;
  a.on('data', (data: Buffer) => {
    got += data.length;
    events.push('data');
  });
  const closed = once(a, 'close').then(([error]) => {
    events.push('close');
    return error as Error & { code: string };
  });
  a.write(Buffer.from('to a peer that is gone'));
  const error = await closed;
  t.match(error, { code: /^(EPIPE|ECONNRESET)$/, syscall: 'sendmsg' }, 'the write error closes it');
  t.equal(got, lastWords.length, 'every byte the peer sent was delivered');
  t.equal(events.at(-1), 'close', 'all of it before close');
});

t.test('a short read ends the read loop without a recvmsg that would say EAGAIN; later data still comes', async (t) => {
  const native = require('../../native/index') as { recvmsg: typeof recvmsg };
  const real = native.recvmsg;
  let calls = 0;
  native.recvmsg = (...args: Parameters<typeof recvmsg>) => {
    calls++;
    return real(...args);
  };
  t.teardown(() => {
    native.recvmsg = real;
  });
  const [a, b] = pair();
  const first = collect(b, 3);
  a.write(Buffer.from('one'));
  t.equal((await first).data.toString(), 'one');
  t.equal(calls, 1, 'one recvmsg for one short read');
  const second = collect(b, 3);
  a.write(Buffer.from('two'));
  t.equal((await second).data.toString(), 'two', 'the fd stays readable for what came after');
  b.pause();
  a.write(Buffer.from('three'));
  await new Promise((r) => setTimeout(r, 20));
  const third = collect(b, 5);
  b.resume();
  t.equal((await third).data.toString(), 'three', 'resume() reads at once');
  await closeBoth(a, b);
});

t.test('queuedFdCount counts the fds written and not yet sent', async (t) => {
  const [a, b] = pair();
  t.equal(a.queuedFdCount, 0);
  a.cork();
  a.write(Buffer.alloc(8), [indexedMemfd(1), indexedMemfd(2)]);
  a.write(Buffer.alloc(4), [indexedMemfd(3)]);
  t.equal(a.queuedFdCount, 3, 'three fds wait while corked');
  const got = collect(b, 12);
  a.uncork();
  t.equal(a.queuedFdCount, 0, 'none once they were sent');
  const { fds } = await got;
  t.equal(fds.length, 3);
  closeAll(fds);
  await closeBoth(a, b);
});

t.test('receiveFds: false never installs fds: the kernel drops them, every byte arrives', async (t) => {
  const [x, y] = socketpair();
  const b = new FdSocket(y, { receiveFds: false });
  const received = collect(b, 3 * 100);
  const before = openTestMemfds();
  for (let i = 0; i < 3; i++) {
    const memfds = Array.from({ length: 28 }, (_, k) => indexedMemfd(i * 28 + k));
    sendmsg(x, Buffer.alloc(100, i + 1), 0, 100, memfds);
    closeAll(memfds);
  }
  const got = await received;
  t.same([...got.data], [...Buffer.alloc(100, 1), ...Buffer.alloc(100, 2), ...Buffer.alloc(100, 3)], 'the bytes are intact');
  t.same(got.fds, [], 'no fd delivered');
  t.equal(openTestMemfds(), before, 'and none installed in this process');
  closeAll([x]);
  await once(b, 'close');
});
