// MessageBuffer: whole messages out of bytes split anywhere, whether they were copied in or read into freeSpace().
import t from 'tap';
import { MessageBuffer } from '../../protocol/message-buffer';
import { encodeMessage } from '../../protocol/wire-codec';
import type { MessageSpec } from '../../protocol/types';

const spec: MessageSpec = { name: 'm', since: 1, args: [{ name: 's', type: 'string' }, { name: 'a', type: 'array' }] };

/** A deterministic stream of messages of 12 to ~2 KiB; returns the stream and each message's bytes. */
function stream(count: number, seed: number): { all: Uint8Array; messages: Uint8Array[] } {
  let x = seed;
  const rand = (n: number): number => {
    x = (x * 1103515245 + 12345) >>> 0;
    return x % n;
  };
  const messages: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const array = new Uint8Array(rand(2000)).map((_, k) => (k * 7 + i) & 0xff);
    messages.push(encodeMessage(1 + rand(50), rand(4), spec, [`message ${i}`, array]).bytes);
  }
  return { all: Buffer.concat(messages), messages };
}

t.test('bytes read into freeSpace() and bytes copied in give the same messages, wherever the reads split them', async (t) => {
  const { all, messages } = stream(300, 7);
  for (const mode of ['in place', 'copied', 'mixed'] as const) {
    const buffer = new MessageBuffer();
    const out: Uint8Array[] = [];
    let p = 0;
    let read = 0;
    while (p < all.byteLength) {
      const space = buffer.freeSpace();
      t.ok(space.byteLength >= 4096, 'at least the asked-for room');
      const n = Math.min(all.byteLength - p, 1 + ((read * 977) % space.byteLength));
      const inPlace = mode === 'in place' || (mode === 'mixed' && read % 2 === 0);
      if (inPlace) {
        space.set(all.subarray(p, p + n));
        buffer.push(space.subarray(0, n), []);
      } else {
        buffer.push(all.slice(p, p + n), []);
      }
      for (let m = buffer.next(); m !== null; m = buffer.next()) out.push(m.bytes.slice());
      p += n;
      read++;
    }
    t.equal(buffer.pendingBytes, 0, `${mode}: nothing left over`);
    t.same(out, messages, `${mode}: every message, in order, unchanged`);
  }
});

t.test('a read into freeSpace() is taken where it landed; a view of another buffer is copied', async (t) => {
  const buffer = new MessageBuffer();
  const message = encodeMessage(3, 1, spec, ['x', new Uint8Array(8)]).bytes;
  const space = buffer.freeSpace();
  space.set(message);
  buffer.push(space.subarray(0, message.byteLength), []);
  const m = buffer.next()!;
  t.equal(m.bytes.buffer, space.buffer, 'the message is a view of the buffer the read filled');
  t.equal(m.bytes.byteOffset, space.byteOffset);

  const elsewhere = new Uint8Array(message.byteLength + 64);
  elsewhere.set(message, 64);
  buffer.push(elsewhere.subarray(64), []);
  const copied = buffer.next()!;
  t.not(copied.bytes.buffer, elsewhere.buffer, 'a foreign view is copied in');
  t.same(copied.bytes, message);
});

t.test('unread bytes move to the front before the buffer grows; growth stays bounded by the message size limit', async (t) => {
  const buffer = new MessageBuffer(4096);
  const big = encodeMessage(2, 0, spec, ['', new Uint8Array(4000)]).bytes;
  let largest = 0;
  for (let i = 0; i < 200; i++) {
    // each round leaves part of a message unread, so freeSpace() must move it out of the way
    const space = buffer.freeSpace();
    largest = Math.max(largest, space.byteOffset + space.byteLength);
    const cut = 100 + ((i * 389) % (big.byteLength - 100));
    space.set(big.subarray(0, cut));
    buffer.push(space.subarray(0, cut), []);
    t.equal(buffer.next(), null, 'half a message is no message');
    const rest = buffer.freeSpace();
    rest.set(big.subarray(cut));
    buffer.push(rest.subarray(0, big.byteLength - cut), []);
    t.same(buffer.next()?.bytes, big);
  }
  t.ok(largest <= 16384, `the buffer stayed small (${largest} bytes)`);
});

t.test('fds queue with the bytes, and too many are refused', async (t) => {
  const buffer = new MessageBuffer(4096, 4);
  buffer.push(new Uint8Array(0), [10, 11]);
  t.same(buffer.fds, [10, 11]);
  t.throws(() => buffer.push(new Uint8Array(0), [12, 13, 14]), RangeError);
  t.same(buffer.takeFds(), [10, 11]);
});
