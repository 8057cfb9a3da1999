// WriteQueue: segments carry <= 28 fds and >= 1 byte, fds never travel later than their write allows.
import t from 'tap';
import { checkFdLeaks } from '../helpers/fd-leak';
import { WriteQueue } from '../../transport/write-queue';

checkFdLeaks(t);

const bytes = (n: number, fill = 1): Uint8Array => new Uint8Array(n).fill(fill);

t.test('small writes coalesce into one segment with all their fds', async (t) => {
  const q = new WriteQueue(28);
  q.push(bytes(8, 1), [10]);
  q.push(bytes(12, 2), [11, 12]);
  q.push(bytes(4, 3));
  const seg = q.peek()!;
  t.equal(seg.data.byteLength, 24);
  t.same(seg.fds, [10, 11, 12]);
  t.same([...seg.data.subarray(6, 10)], [1, 1, 2, 2]);
  t.same(q.consume(24, 3), [10, 11, 12]);
  t.equal(q.length, 0);
  t.equal(q.peek(), null);
});

t.test('chunks over 4 KiB are not copied to coalesce: they go alone, as views of the caller\'s bytes', async (t) => {
  const q = new WriteQueue(28);
  const big = bytes(4097, 5);
  q.push(bytes(16, 1), [], () => undefined);
  q.push(big, [], () => undefined);
  q.push(bytes(8, 2), [], () => undefined);
  const first = q.peek()!;
  t.equal(first.data.byteLength, 16, 'the small head goes without the big chunk behind it');
  q.consume(16, 0);
  const second = q.peek()!;
  t.equal(second.data.buffer, big.buffer, 'the big chunk is sent from its own buffer');
  t.equal(second.data.byteLength, 4097, 'and nothing small is copied onto it');
  q.consume(4097, 0);
  t.equal(q.peek()!.data.byteLength, 8);
});

t.test('a segment stops before a write whose fds would not all fit (some may go early, as in libwayland)', async (t) => {
  const q = new WriteQueue(28);
  const first = Array.from({ length: 20 }, (_, i) => i);
  const second = Array.from({ length: 20 }, (_, i) => 100 + i);
  q.push(bytes(16), first);
  q.push(bytes(16), second);
  const a = q.peek()!;
  t.equal(a.data.byteLength, 16, 'only the first write');
  t.same(a.fds, [...first, ...second.slice(0, 8)], 'filled up to 28 with fds of the next write');
  q.consume(16, a.fds.length);
  const b = q.peek()!;
  t.equal(b.data.byteLength, 16);
  t.same(b.fds, second.slice(8));
});

t.test('200 fds on one write go 28 per byte, the rest with the remaining bytes', async (t) => {
  const q = new WriteQueue(28);
  const fds = Array.from({ length: 200 }, (_, i) => i);
  q.push(bytes(64), fds);
  const got: number[] = [];
  let segments = 0;
  for (let seg = q.peek(); seg; seg = q.peek()) {
    segments++;
    t.ok(seg.fds.length <= 28);
    got.push(...q.consume(seg.data.byteLength, seg.fds.length));
  }
  t.same(got, fds);
  t.equal(segments, 8, '7 one-byte segments with 28 fds, then 57 bytes with 4');
});

t.test('a partial send keeps the fds sent and the rest of the bytes queued', async (t) => {
  const q = new WriteQueue(28);
  q.push(bytes(100), [1, 2]);
  const seg = q.peek()!;
  t.same(q.consume(30, seg.fds.length), [1, 2]);
  const rest = q.peek()!;
  t.equal(rest.data.byteLength, 70);
  t.same(rest.fds, []);
  t.same(q.consume(0, 0), [], 'nothing sent, nothing consumed');
  t.equal(q.length, 70);
});

t.test('own() copies what still references the caller buffer', async (t) => {
  const q = new WriteQueue(28);
  const caller = bytes(10, 7);
  q.push(caller);
  q.consume(4, 0);
  q.own();
  caller.fill(0);
  const seg = q.peek()!;
  t.same([...seg.data], [7, 7, 7, 7, 7, 7]);
});

t.test('more fds than 28 per byte is refused', async (t) => {
  const q = new WriteQueue(28);
  t.throws(() => q.push(bytes(1), Array.from({ length: 29 }, (_, i) => i)), RangeError);
  t.throws(() => q.push(bytes(0), [1]), RangeError);
  t.equal(q.fdCount, 0);
});

t.test('clear() returns the unsent fds', async (t) => {
  const q = new WriteQueue(28);
  q.push(bytes(1), [1]);
  q.push(bytes(1), [2, 3]);
  const seg = q.peek()!;
  q.consume(1, seg.fds.length === 3 ? 1 : seg.fds.length);
  t.same(q.clear(), [2, 3]);
  t.equal(q.length, 0);
});

t.test('random writes and partial sends: order, limits, and fds no later than allowed', async (t) => {
  let seed = 12345;
  const random = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  for (let round = 0; round < 200; round++) {
    const q = new WriteQueue(28);
    const writes: { start: number; length: number; fds: number[] }[] = [];
    let pos = 0;
    let nextFd = 0;
    const fdArrival = new Map<number, number>();
    const order: number[] = [];
    let streamAt = 0;
    let violations = 0;
    const send = (): void => {
      const seg = q.peek();
      if (!seg) return;
      if (seg.data.byteLength < 1 || seg.fds.length > 28) violations++;
      const n = Math.max(1, random(seg.data.byteLength + 1));
      for (const fd of q.consume(n, seg.fds.length)) {
        fdArrival.set(fd, streamAt);
        order.push(fd);
      }
      streamAt += n;
    };
    for (let i = 0; i < 40; i++) {
      const length = 1 + random(random(4) === 0 ? 5000 : 40);
      const count = random(4) === 0 ? random(Math.min(length * 28, 90) + 1) : random(3);
      const fds = Array.from({ length: count }, () => nextFd++);
      writes.push({ start: pos, length, fds });
      q.push(bytes(length), fds);
      pos += length;
      if (random(3) === 0) send();
    }
    while (q.length > 0) send();
    t.equal(q.fdCount, 0);
    if (violations) t.fail(`round ${round}: ${violations} bad segments`);
    t.same(order, Array.from({ length: nextFd }, (_, i) => i), `round ${round}: fds in order`);
    for (const w of writes) {
      w.fds.forEach((fd, j) => {
        // fd j of a write arrives with byte start + floor(j / 28) or earlier
        if (fdArrival.get(fd)! > w.start + Math.floor(j / 28)) t.fail(`round ${round}: fd ${fd} late`);
      });
    }
  }
});

t.test('a file range is a segment of its own: small writes around it do not coalesce across it', async (t) => {
  const q = new WriteQueue(0);
  q.push(bytes(8, 1));
  q.pushFile({ fd: 50, offset: 4096, length: 1000 });
  q.push(bytes(8, 2));
  t.equal(q.length, 1016);
  const a = q.peek()!;
  t.equal(a.file, null);
  t.equal(a.data.byteLength, 8, 'the bytes before the file only');
  q.consume(8, 0);
  const b = q.peek()!;
  t.same(b.file, { fd: 50, offset: 4096, length: 1000 });
  t.equal(b.data.byteLength, 0);
  t.same(q.consume(600, 0), [], 'a partly sent file keeps its fd');
  t.same(q.peek()!.file, { fd: 50, offset: 4696, length: 400 }, 'the rest continues where the send stopped');
  t.same(q.consume(400, 0), [50], 'once sent to its end the fd is returned for closing');
  t.same([...q.peek()!.data], [2, 2, 2, 2, 2, 2, 2, 2]);
});

t.test('lent data is never copied and its onSent runs once it is sent', async (t) => {
  const q = new WriteQueue(0);
  const lent = bytes(10, 7);
  const done: string[] = [];
  q.push(lent, [], () => done.push('lent'));
  q.push(bytes(1), [], () => done.push('second'));
  q.own();
  lent.fill(9);
  const seg = q.peek()!;
  t.equal(seg.data[0], 9, 'own() left the lent bytes where they were');
  q.consume(5, 0);
  t.same(q.takeFinished(), [], 'not before every byte is sent');
  q.consume(6, 0);
  for (const f of q.takeFinished()) f();
  t.same(done, ['lent', 'second']);
});

t.test('clear() returns queued file fds and finishes lent chunks', async (t) => {
  const q = new WriteQueue(28);
  let finished = 0;
  q.push(bytes(4), [11], () => finished++);
  q.pushFile({ fd: 12, offset: 0, length: 10 }, () => finished++);
  t.same(q.clear().sort(), [11, 12]);
  for (const f of q.takeFinished()) f();
  t.equal(finished, 2);
  t.throws(() => q.pushFile({ fd: 13, offset: 0, length: 0 }), RangeError, 'an empty range is refused');
});
