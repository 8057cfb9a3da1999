// FdStream over pipes: data in order, backpressure and drain, EOF, EPIPE, write-only ends.
import t from 'tap';
import { once } from 'node:events';
import { openSync } from 'node:fs';
import { checkFdLeaks } from '../helpers/fd-leak';
import { closeAll, pipe2, write } from '../../native/index';
import { FdStream } from '../../transport/fd-stream';

checkFdLeaks(t);

function readAll(stream: FdStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  stream.on('data', (data: Buffer) => parts.push(data));
  return once(stream, 'close').then(() => Buffer.concat(parts));
}

t.test('bytes written into a pipe come out in order, then end and close', async (t) => {
  const [r, w] = pipe2();
  const reader = new FdStream(r);
  const writer = new FdStream(w, { readable: false, highWaterMark: 4096 });
  const received = readAll(reader);
  let ended = false;
  reader.on('end', () => (ended = true));
  const payload = Buffer.alloc(3 * 1024 * 1024);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 13) & 0xff;
  let drains = 0;
  writer.on('drain', () => drains++);
  const step = 100_000;
  for (let at = 0; at < payload.length; at += step) {
    if (!writer.write(payload.subarray(at, at + step))) await once(writer, 'drain');
  }
  writer.end();
  const got = await received;
  t.ok(got.equals(payload), `${got.length} bytes in order`);
  t.ok(drains > 0, `drained ${drains} times`);
  t.equal(ended, true);
  t.equal(writer.destroyed, true);
});

t.test('write() copies what it queues, so the caller may reuse its buffer', async (t) => {
  const [r, w] = pipe2();
  const fill = Buffer.alloc(200_000, 1);
  write(w, fill); // the pipe is now full: the next write is queued
  const writer = new FdStream(w, { readable: false });
  const buffer = Buffer.from('queued');
  writer.write(buffer);
  buffer.fill(0x21);
  writer.end();
  const got = await readAll(new FdStream(r));
  t.equal(got.subarray(-6).toString(), 'queued');
});

t.test('a write to a pipe without reader closes the stream with EPIPE', async (t) => {
  const [r, w] = pipe2();
  closeAll([r]);
  const writer = new FdStream(w, { readable: false });
  const closed = once(writer, 'close');
  writer.write(Buffer.from('nobody listens'));
  const [error] = await closed;
  t.match(error, { code: 'EPIPE', syscall: 'write' });
});

t.test('a full pipe whose reader goes away reports the error through the watcher', async (t) => {
  const [r, w] = pipe2();
  const writer = new FdStream(w, { readable: false });
  while (writer.write(Buffer.alloc(65536)));
  const closed = once(writer, 'close');
  closeAll([r]);
  const [error] = await closed;
  t.match(error, { code: /^(EPIPE|EBADF)$/ });
});

t.test('pause() holds reads back until resume()', async (t) => {
  const [r, w] = pipe2();
  const reader = new FdStream(r);
  const chunks: Buffer[] = [];
  reader.on('data', (d: Buffer) => chunks.push(d));
  reader.pause();
  write(w, Buffer.from('held'));
  await new Promise((resolve) => setTimeout(resolve, 20));
  t.equal(chunks.length, 0);
  reader.resume();
  await once(reader, 'data');
  t.equal(Buffer.concat(chunks).toString(), 'held');
  closeAll([w]);
  await once(reader, 'close');
});

t.test('a regular file cannot be watched: the constructor throws and closes the fd', async (t) => {
  const fd = openSync(__filename, 'r');
  t.throws(() => new FdStream(fd), { code: 'EPERM', syscall: 'uv_poll_init' });
  t.throws(() => new FdStream(fd), { code: 'EBADF' }, 'the fd was closed');
});
