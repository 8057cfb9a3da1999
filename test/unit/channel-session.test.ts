// ChannelSession over a real socket pair: handshake, a peer replaced mid-channel, a lost HELLO, GOODBYE.
import { createServer, connect, type Socket } from 'node:net';
import { mkdtempSync, rmSync, writeSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { checkFdLeaks } from '../helpers/fd-leak';
import { ChannelSession } from '../../link/channel-session';
import { encodeFrame } from '../../protocol/channel-codec';
import { ChannelReader } from '../../protocol/channel-reader';
import { CHANNEL_VERSION, FrameKind, type Frame } from '../../protocol/channel-frames';
import { SocketStream } from '../../transport/socket-stream';
import { FdByteStream } from '../../transport/fd-byte-stream';
import { FdSocket } from '../../transport/fd-socket';
import { closeAll, dup, memfdCreate } from '../../native/index';
import { socketpair } from '../../native/test-only';

checkFdLeaks(t);

const dir = mkdtempSync(join(tmpdir(), 'wayvio-session-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

/** A session on one end of a UNIX socket; the test speaks raw frames on the other. */
async function pair(helloTimeoutMs?: number, maxQueuedBytes?: number): Promise<{ session: ChannelSession; raw: Socket; got: Frame[]; close: () => void }> {
  const path = join(dir, `s${Math.random()}`);
  const server = createServer();
  await new Promise<void>((r) => server.listen(path, r));
  const accepted = new Promise<Socket>((r) => server.once('connection', r));
  const raw = connect(path);
  const session = new ChannelSession(new SocketStream(await accepted, 'test'), { software: 'under test', helloTimeoutMs, maxQueuedBytes });
  const got: Frame[] = [];
  const reader = new ChannelReader();
  raw.on('data', (d) => got.push(...reader.push(d)));
  raw.on('error', () => undefined);
  return { session, raw, got, close: () => { session.destroy(); raw.destroy(); server.close(); } };
}

const hello = (software: string): Uint8Array => encodeFrame({ kind: FrameKind.Hello, conn: 0, minVersion: 1, maxVersion: CHANNEL_VERSION, capabilities: 0, maxFrameSize: 65536, shmRegionSize: 0, software });
const until = async (pred: () => boolean): Promise<boolean> => {
  for (let i = 0; i < 300 && !pred(); i++) await new Promise((r) => setTimeout(r, 10));
  return pred();
};

t.test('a new HELLO on a live channel is a replaced peer, answered with our HELLO', async (t) => {
  const p = await pair();
  const events: string[] = [];
  p.session.on('ready', (h) => events.push(`ready ${h.software}`));
  p.session.on('restart', () => events.push('restart'));
  p.raw.write(hello('first'));
  await until(() => events.length === 1);
  p.raw.write(hello('second'));
  t.ok(await until(() => events.length === 3), 'ready, restart, ready');
  t.same(events, ['ready first', 'restart', 'ready second']);
  t.ok(await until(() => p.got.filter((f) => f.kind === FrameKind.Hello).length === 2), 'our HELLO went out again for the new peer');
  t.notOk(p.session.isClosed, 'the channel stays up');
  p.close();
});

t.test('a peer replaced 5 times in 10 s is served; a 6th HELLO is a flood that ends the channel', async (t) => {
  const p = await pair();
  const restarts: string[] = [];
  p.session.on('restart', () => restarts.push('restart'));
  const closed = once(p.session, 'close');
  p.raw.write(hello('first'));
  for (let i = 0; i < 5; i++) p.raw.write(hello(`replacement ${i}`));
  t.ok(await until(() => restarts.length === 5), '5 restarts');
  t.notOk(p.session.isClosed, 'the channel stays up');
  p.raw.write(hello('flood'));
  const [err] = (await Promise.race([closed, new Promise((r) => setTimeout(() => r([new Error('not closed')]), 2000))])) as [Error];
  t.match(err.message, /more than 5 HELLOs within 10 s on a live channel: a HELLO flood/);
  t.equal(restarts.length, 5, 'no 6th restart');
  t.ok(await until(() => p.got.some((f) => f.kind === FrameKind.Goodbye)), 'the peer is told why');
  p.close();
});

t.test('a peer that does not read: past maxQueuedBytes the queues are released and the channel dropped', async (t) => {
  const p = await pair(undefined, 4 * 1024 * 1024);
  p.raw.pause(); // never reads
  p.raw.write(hello('deaf'));
  await once(p.session, 'ready');
  const closed = once(p.session, 'close');
  let sent = 0;
  const data = new Uint8Array(60 * 1024);
  while (!p.session.isClosed && sent < 64 * 1024 * 1024) {
    p.session.send({ kind: FrameKind.ResWrite, conn: 1 + (sent % 7), resource: 1, offset: 0, data });
    sent += data.byteLength;
  }
  t.ok(p.session.isClosed, 'closed as soon as the bound was passed');
  t.ok(sent <= 8 * 1024 * 1024, `after ${sent} bytes (4 MiB queued plus what the sockets hold)`);
  t.equal(p.session.pendingBytes, 0, 'the queues are released at once');
  const [err] = (await Promise.race([closed, new Promise((r) => setTimeout(() => r([new Error('not closed')]), 2000))])) as [Error];
  t.match(err.message, /the peer does not read: \d+ bytes queued towards it, more than the 4194304 allowed; channel dropped/);
  p.close();
});

t.test('a GOODBYE left over from the previous peer is skipped before HELLO', async (t) => {
  const p = await pair();
  let ready = false;
  p.session.on('ready', () => (ready = true));
  p.raw.write(encodeFrame({ kind: FrameKind.Goodbye, conn: 0, code: 0, reason: 'old guest stopping' }));
  p.raw.write(hello('new'));
  t.ok(await until(() => ready), 'ready after the stale GOODBYE');
  p.close();
});

t.test('no HELLO within the timeout ends the channel', async (t) => {
  const p = await pair(100);
  const closed = new Promise<Error | undefined>((r) => p.session.once('close', r));
  const err = await closed;
  t.match(err?.message, /no HELLO from the peer within 100 ms/);
  t.ok(await until(() => p.got.some((f) => f.kind === FrameKind.Goodbye)), 'the peer is told why');
  p.close();
});

t.test('a GOODBYE drops the stream at once, not just half of it', async (t) => {
  const p = await pair();
  p.raw.write(hello('x'));
  await until(() => p.session.peer !== null);
  const rawClosed = new Promise((r) => p.raw.once('close', r));
  p.raw.resume();
  p.raw.write(encodeFrame({ kind: FrameKind.Goodbye, conn: 0, code: 0, reason: 'bye' }));
  await rawClosed;
  t.ok(p.session.isClosed, 'closed');
  p.close();
});

t.test("producers paused while the stream was blocked get their 'drain'", async (t) => {
  const p = await pair();
  p.raw.write(hello('x'));
  await until(() => p.session.peer !== null);
  p.raw.pause(); // the peer stops reading: the socket fills and the stream blocks
  let drains = 0;
  p.session.on('drain', () => drains++);
  const chunk = new Uint8Array(200 * 1024);
  for (let i = 0; i < 60 && !p.session.congested; i++) {
    p.session.send({ kind: FrameKind.ResWrite, conn: 1 + (i % 5), resource: 1, offset: 0, data: chunk });
  }
  t.ok(p.session.congested, 'congested while the peer does not read');
  p.raw.resume();
  t.ok(await until(() => drains > 0), "'drain' once the queue emptied");
  t.notOk(p.session.congested);
  p.close();
});

t.test('a RES_WRITE sent from a file arrives straight in the receiver\'s target; small or refused ones as usual', async (t) => {
  const [a, b] = socketpair();
  const sender = new ChannelSession(new FdByteStream(new FdSocket(a), 'sender'), { software: 'sender' });
  const receiver = new ChannelSession(new FdByteStream(new FdSocket(b), 'receiver'), { software: 'receiver' });
  t.teardown(() => { sender.destroy(); receiver.destroy(); });
  t.ok(sender.canSendFiles, 'a native socket can send from files');
  const pool = new Uint8Array(4 * 1024 * 1024);
  const asked: string[] = [];
  receiver.receiveWritesInto((conn, resource, offset, length) => {
    asked.push(`${conn}/${resource}@${offset}+${length}`);
    return resource === 7 ? pool.subarray(offset, offset + length) : null;
  });
  const body = Buffer.alloc(3 * 1024 * 1024);
  for (let i = 0; i < body.length; i++) body[i] = (i * 31) & 0xff;
  const file = memfdCreate('session-test', { cloexec: true });
  writeSync(file, body, 0, body.byteLength, 0);
  t.teardown(() => closeAll([file]));
  const frames: Frame[] = [];
  receiver.on('frame', (f: Frame) => frames.push(f));
  await Promise.all([once(sender, 'ready'), once(receiver, 'ready')]);
  sender.sendFileWrite(3, 7, 0, dup(file), 0, 100); // too small to be worth a read of its own while no bulk data flows
  t.ok(await until(() => frames.length === 1), 'the small write arrived');
  const part = 200_000; // below the default frame size limit
  for (let at = 0; at < body.byteLength; at += part) sender.sendFileWrite(3, 7, 4096 + at, dup(file), at, Math.min(part, body.byteLength - at));
  sender.sendFileWrite(3, 8, 0, dup(file), 0, 100_000); // a resource the target refuses
  const total = body.byteLength + 100_000 + 100;
  t.ok(await until(() => frames.reduce((n, f) => n + (f.kind === FrameKind.ResWrite ? f.data.byteLength : 0), 0) === total), 'every byte arrived');
  const into7 = frames.filter((f) => f.kind === FrameKind.ResWrite && f.resource === 7 && f.offset >= 4096) as Array<Frame & { kind: FrameKind.ResWrite }>;
  const inPlace = into7.filter((f) => f.data.buffer === pool.buffer && f.data.byteOffset === f.offset);
  const inPlaceBytes = inPlace.reduce((n, f) => n + f.data.byteLength, 0);
  t.ok(inPlaceBytes > body.byteLength * 0.9, `${inPlaceBytes} of ${body.byteLength} bytes were read straight into the target`);
  for (const f of into7) t.ok(Buffer.from(f.data).equals(body.subarray(f.offset - 4096, f.offset - 4096 + f.data.byteLength)), `part at ${f.offset}`);
  t.ok(asked.some((x) => x.startsWith('3/8@')), 'the refused resource was asked for');
  t.notOk(asked.some((x) => x === '3/7@0+100'), 'the small write was not');
  const refused = frames.filter((f) => f.kind === FrameKind.ResWrite && f.resource === 8) as Array<Frame & { kind: FrameKind.ResWrite }>;
  t.ok(refused.every((f) => f.data.buffer !== pool.buffer), 'refused data arrives in the session\'s own buffers');
  // right after bulk data, a small write is read in place too: read with what follows, the start of
  // a next large write would come along and be copied
  const count = frames.length;
  sender.sendFileWrite(3, 7, 200, dup(file), 0, 100);
  t.ok(await until(() => frames.length > count), 'a small write after the bulk arrived');
  t.ok(asked.includes('3/7@200+100'), 'and was read straight into the target');
  t.ok(Buffer.from(pool.subarray(200, 300)).equals(body.subarray(0, 100)), 'its bytes are in place');
});
