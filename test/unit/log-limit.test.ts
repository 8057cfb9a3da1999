// Rate-limited loggers on a fake clock: bursts and refills in lines and bytes, nested budgets, counts of what was held back.
import t from 'tap';
import { checkFdLeaks } from '../helpers/fd-leak';
import { createLogger, MAX_LINE_CHARS, MAX_MESSAGE_LINES, type LogBudget } from '../../link/log';
import { LogLimit } from '../../link/log-limit';

checkFdLeaks(t);

const BIG = 1e12;

function setup(level: 'info' | 'debug' = 'debug'): { lines: string[]; clock: { now: number }; log: ReturnType<typeof createLogger> } {
  const lines: string[] = [];
  const clock = { now: 0 };
  const log = createLogger('host', { level, write: (l) => lines.push(l), clock: () => clock.now });
  return { lines, clock, log };
}

t.test('a burst passes, then lines are held back and counted; the count comes before the next line that goes', async (t) => {
  const { lines, clock, log } = setup();
  const ch = log.limited('channel 1', { lines: 5, linesPerSecond: 2, bytes: BIG, bytesPerSecond: BIG });
  for (let i = 0; i < 20; i++) ch.warn(`violation ${i}`);
  t.same(lines, [0, 1, 2, 3, 4].map((i) => `host channel 1: warn: violation ${i}`), 'the burst of 5');
  clock.now += 999;
  ch.info('too soon');
  t.equal(lines.length, 5, 'one token is not enough for the count and a line');
  clock.now += 1;
  ch.info('again');
  t.same(lines.slice(5), ['host channel 1: warn: 16 log lines suppressed (rate limit)', 'host channel 1: again'], 'count, then the line');
  clock.now += 500;
  ch.info('next');
  t.same(lines.slice(7), ['host channel 1: next'], 'nothing owed: just the line');
});

t.test('the byte budget stops long lines at a full line rate', async (t) => {
  const { lines, clock, log } = setup();
  const ch = log.limited('channel 1', { lines: 1000, linesPerSecond: 1000, bytes: 1000, bytesPerSecond: 100 });
  const long = 'y'.repeat(300);
  for (let i = 0; i < 10; i++) ch.info(long);
  t.equal(lines.length, 3, '3 lines of ~320 bytes fit in 1000 bytes');
  const before = lines.length;
  for (let s = 0; s < 100; s++) {
    clock.now += 100;
    for (let i = 0; i < 10; i++) ch.info(long);
  }
  const bytes = lines.slice(before).reduce((n, l) => n + Buffer.byteLength(l) + 1, 0);
  t.ok(bytes <= 1000 + 100 * 10, `10 s wrote ${bytes} bytes, within 1000 + 100 × 10`);
});

t.test('children share the budget; a budget above binds them all; counts go up when a channel ends', async (t) => {
  const { lines, clock, log } = setup();
  const guest = log.limited('', { lines: 6, linesPerSecond: 1, bytes: BIG, bytesPerSecond: BIG });
  const a = guest.limited('channel 1', { lines: 4, linesPerSecond: 1, bytes: BIG, bytesPerSecond: BIG });
  const b = guest.limited('channel 2', { lines: 4, linesPerSecond: 1, bytes: BIG, bytesPerSecond: BIG });
  const client = a.child('client 7');
  for (let i = 0; i < 3; i++) client.warn(`c${i}`);
  a.info('a');
  client.warn('held');
  t.same(lines, ['host channel 1 client 7: warn: c0', 'host channel 1 client 7: warn: c1', 'host channel 1 client 7: warn: c2', 'host channel 1: a'], 'channel 1 and its client share 4');
  b.info('b0');
  b.info('b1');
  b.info('b2');
  t.equal(lines.length, 6, 'channel 2 gets only what the guest budget has left (2)');
  guest.info('connection line');
  t.equal(lines.length, 6, 'the guest budget is empty for its own lines too');
  a.end(' on this channel');
  t.equal(lines.length, 6, 'channel 1 ends with no room above: its count goes up');
  clock.now += 3000;
  guest.info('later');
  t.same(lines.slice(6), ['host: warn: 2 log lines suppressed (rate limit)', 'host: later'], 'the guest count includes channel 1\'s held line and its own');
  b.end(' on this channel');
  t.same(lines.slice(8), ['host channel 2: warn: 1 log line suppressed (rate limit) on this channel'], 'channel 2 reports at its end');
  b.end();
  t.equal(lines.length, 9, 'once');
});

t.test('errors share the budget and are named in the count', async (t) => {
  const { lines, clock, log } = setup();
  const ch = log.limited('channel 3', { lines: 2, linesPerSecond: 1, bytes: BIG, bytesPerSecond: BIG });
  ch.warn('first');
  ch.warn('second');
  ch.error('internal error on WAYLAND for client 1: Error: boom');
  ch.warn('third');
  clock.now += 3000;
  ch.info('fourth');
  t.same(lines.slice(2), ['host channel 3: warn: 2 log lines suppressed (rate limit), 1 of them error', 'host channel 3: fourth']);
});

t.test('lines below the level cost nothing', async (t) => {
  const { lines, log } = setup('info');
  const ch = log.limited('channel 1', { lines: 2, linesPerSecond: 0, bytes: BIG, bytesPerSecond: 0 });
  for (let i = 0; i < 100; i++) ch.debug('quiet');
  ch.info('one');
  ch.info('two');
  t.same(lines, ['host channel 1: one', 'host channel 1: two']);
});

t.test('every physical line carries the prefix; control characters are escaped; long lines and messages are cut', async (t) => {
  const { lines, log } = setup();
  log.error('internal error: Error: x\n    at f (a.js:1:1)\n    at g (b.js:2:2)');
  t.same(lines, ['host: error: internal error: Error: x', 'host: error:       at f (a.js:1:1)', 'host: error:       at g (b.js:2:2)']);
  lines.length = 0;
  log.info('raw \x1b[31m\u202e\r');
  t.same(lines, ['host: raw \\x1b[31m\\u202e\\r']);
  lines.length = 0;
  log.info('z'.repeat(MAX_LINE_CHARS + 10));
  t.equal(lines[0], `host: ${'z'.repeat(MAX_LINE_CHARS)}…[10 more chars]`);
  lines.length = 0;
  log.info('l\n'.repeat(MAX_MESSAGE_LINES + 5));
  t.equal(lines.length, MAX_MESSAGE_LINES + 1);
  t.match(lines[lines.length - 1], /…\[\d+ more lines\]$/);
  t.ok(lines.every((l) => l.startsWith('host: ')), 'all prefixed');
});

t.test('a bucket refills at its rate up to its size, not beyond', async (t) => {
  let now = 0;
  const budget: LogBudget = { lines: 10, linesPerSecond: 10, bytes: BIG, bytesPerSecond: BIG };
  const b = new LogLimit('x', budget, null, () => now);
  t.ok(b.take(10, 0), 'the burst');
  t.notOk(b.take(1, 0), 'then empty');
  now += 100;
  t.ok(b.take(1, 0), 'one token per 100 ms');
  t.notOk(b.take(1, 0));
  now += 3_600_000;
  t.ok(b.take(10, 0), 'an hour later: full');
  t.notOk(b.take(1, 0), 'but no more than full');
  now -= 5000;
  t.notOk(b.take(1, 0), 'a clock going back adds nothing');
});
