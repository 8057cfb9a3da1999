// The native paths the channel's bulk data takes: sendfile from a memfd, reads into a given buffer, half-close.
import t from 'tap';
import { once } from 'node:events';
import { ftruncateSync, writeSync } from 'node:fs';
import { checkFdLeaks } from '../helpers/fd-leak';
import { isOpen } from '../helpers/indexed-memfds';
import { POLL, closeAll, dup, memfdCreate, pipe2, pollNow, recvmsg, sendfile } from '../../native/index';
import { socketpair } from '../../native/test-only';
import { FdSocket } from '../../transport/fd-socket';
import { FdStream } from '../../transport/fd-stream';

checkFdLeaks(t);

function memfdWith(bytes: Uint8Array): number {
  const fd = memfdCreate('channel-io-test', { cloexec: true });
  writeSync(fd, bytes, 0, bytes.byteLength, 0);
  return fd;
}

function pattern(n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + 3) & 0xff;
  return b;
}

function collect(stream: FdSocket | FdStream, bytes: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let got = 0;
  return new Promise((resolve) => {
    stream.on('data', (d: Buffer) => {
      parts.push(Buffer.from(d));
      got += d.byteLength;
      if (got >= bytes) resolve(Buffer.concat(parts));
    });
  });
}

t.test('sendfile copies a memfd range into a pipe; 0 past the end of the file', async (t) => {
  const file = memfdWith(pattern(10000));
  const [r, w] = pipe2();
  t.teardown(() => closeAll([file, r, w]));
  t.equal(sendfile(w, file, 100, 500), 500);
  const out = new FdStream(r);
  const got = await collect(out, 500);
  t.ok(got.equals(pattern(10000).subarray(100, 600)), 'the bytes of the range');
  t.equal(sendfile(w, file, 10000, 10), 0, 'at the end of the file');
  out.destroy();
});

t.test('writeFile: a 3 MiB memfd range crosses a socket in order with the writes around it; the fd is closed after', async (t) => {
  const [a, b] = socketpair();
  const sender = new FdSocket(a, { highWaterMark: 1024 * 1024 });
  const receiver = new FdSocket(b);
  const body = pattern(3 * 1024 * 1024 + 17);
  const file = memfdWith(body);
  const given = dup(file);
  const received = collect(receiver, 5 + body.byteLength - 1000 + 3);
  sender.writeLent(Buffer.from('head:'), () => undefined);
  let sent = false;
  sender.writeFile({ fd: given, offset: 1000, length: body.byteLength - 1000 }, () => (sent = true));
  sender.write(Buffer.from('end'));
  const got = await received;
  t.equal(got.subarray(0, 5).toString(), 'head:');
  t.ok(got.subarray(5, -3).equals(body.subarray(1000)), 'the file bytes, unchanged');
  t.equal(got.subarray(-3).toString(), 'end');
  t.ok(sent, 'onSent ran');
  t.notOk(isOpen(given), 'the stream closed the fd it was given');
  closeAll([file]);
  sender.destroy();
  receiver.destroy();
});

t.test('a file that shrank while queued sends zeros for what is gone', async (t) => {
  const [a, b] = socketpair();
  const sender = new FdSocket(a);
  const receiver = new FdSocket(b);
  const file = memfdWith(pattern(8192));
  ftruncateSync(file, 4096);
  const received = collect(receiver, 8192);
  sender.writeFile({ fd: dup(file), offset: 0, length: 8192 });
  const got = await received;
  t.ok(got.subarray(0, 4096).equals(pattern(4096)), 'what is left is sent');
  t.ok(got.subarray(4096).equals(Buffer.alloc(4096)), 'the rest is zeros, and the stream goes on');
  t.notOk(sender.destroyed);
  closeAll([file]);
  sender.destroy();
  receiver.destroy();
});

t.test('writeFile after end() closes the fd and returns false', async (t) => {
  const [a, b] = socketpair();
  const sender = new FdSocket(a);
  sender.end();
  const given = memfdWith(pattern(10));
  t.equal(sender.writeFile({ fd: given, offset: 0, length: 10 }), false);
  t.notOk(isOpen(given));
  closeAll([b]);
});

t.test('readTarget: reads land in the buffer it returns, and data is a view of it', async (t) => {
  const [a, b] = socketpair();
  const sender = new FdSocket(a);
  const receiver = new FdSocket(b);
  const target = new Uint8Array(64 * 1024);
  let asked = 0;
  receiver.readTarget = () => (asked++ === 0 ? target.subarray(100, 100 + 5000) : null);
  const views: Uint8Array[] = [];
  receiver.on('data', (d: Uint8Array) => views.push(d));
  sender.write(pattern(5000));
  while (views.reduce((n, v) => n + v.byteLength, 0) < 5000) await new Promise((r) => setImmediate(r));
  t.equal(views[0].buffer, target.buffer, 'the first chunk is a view of the target');
  t.equal(views[0].byteOffset, 100);
  t.ok(Buffer.from(target.subarray(100, 100 + views[0].byteLength)).equals(pattern(5000).subarray(0, views[0].byteLength)));
  sender.destroy();
  receiver.destroy();
});

t.test('halfClose: end() lets the peer still send until it closes', async (t) => {
  const [a, b] = socketpair();
  const ending = new FdSocket(a, { halfClose: true });
  const peer = new FdSocket(b);
  const heard = collect(ending, 5);
  const peerEnded = once(peer, 'end');
  ending.write(Buffer.from('bye'));
  ending.end();
  t.notOk(ending.destroyed, 'still open after its own end');
  peer.write(Buffer.from('reply')); // sent before the peer has seen the end
  t.equal((await heard).toString(), 'reply', 'the peer\'s last words arrive');
  await peerEnded; // the peer read end of stream and closed
  await once(ending, 'close');
  t.ok(ending.destroyed, 'closed once the peer closed');
});

t.test('cork: writes wait for uncork and then leave together', async (t) => {
  const [a, b] = socketpair();
  const sender = new FdSocket(a);
  sender.cork();
  sender.cork();
  t.equal(sender.writeLent(Buffer.from('head'), () => undefined), true);
  sender.write(Buffer.from('-body'));
  sender.uncork();
  t.equal(pollNow(b, POLL.POLLIN) & POLL.POLLIN, 0, 'nothing sent while still corked once');
  sender.uncork();
  const buf = Buffer.alloc(64);
  const got = recvmsg(b, buf);
  t.equal(got?.bytes, 9, 'both writes arrive in one read');
  t.equal(buf.toString('utf8', 0, 9), 'head-body');
  sender.uncork();
  sender.write(Buffer.from('!'));
  t.equal(recvmsg(b, buf)?.bytes, 1, 'an extra uncork does not leave the stream corked');
  sender.destroy();
  closeAll([b]);
});
