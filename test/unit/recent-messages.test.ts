// The ring of a client's last messages: keeps the newest N in order and formats only when asked; the limit flags' parsing.
import t from 'tap';
import { checkFdLeaks } from '../helpers/fd-leak';
import { RecentMessages } from '../../link/recent-messages';
import { ProtocolRegistry } from '../../protocol/registry';
import type { MessageSpec } from '../../protocol/types';
import { limitsFrom, parseLimit } from '../../cli/host-command';
import { UsageError } from '../../cli/usage';

checkFdLeaks(t);

const registry = ProtocolRegistry.builtin();
const surface = registry.interface('wl_surface')!;
const commit = surface.requests.find((r) => r.name === 'commit')!;
const damage = surface.requests.find((r) => r.name === 'damage')!;

t.test('keeps the newest messages, oldest first, formatted like WAYVIO_TRACE', async (t) => {
  const r = new RecentMessages(3);
  t.same(r.format(), [], 'empty');
  r.add(' -> ', 'wl_surface', 5, damage, [0, 0, 10, 20]);
  t.same(r.format(), [' -> wl_surface#5.damage(0, 0, 10, 20)']);
  for (let i = 6; i <= 9; i++) r.add(' -> ', 'wl_surface', i, commit, []);
  r.add('<-  ', 'wl_surface', 9, damage, null);
  t.equal(r.size, 3, 'at most its capacity');
  t.same(r.format(), [' -> wl_surface#8.commit()', ' -> wl_surface#9.commit()', '<-  wl_surface#9.damage(…)'], 'the last three, in order; args not decoded show as …');
});

t.test('adding formats nothing: a spec whose formatting would throw is only touched by format()', async (t) => {
  const r = new RecentMessages(2);
  const hostile = { ...commit, name: 'odd', args: [{ name: 'x', type: 'object', interface: 'wl_surface' }] } as unknown as MessageSpec;
  const args = new Proxy([], { get: () => { throw new Error('read at add time'); } });
  t.doesNotThrow(() => r.add(' -> ', 'wl_surface', 1, hostile, args), 'add() does not look at the args');
  t.same(r.format(), [' -> wl_surface#1.odd(?)'], 'format() survives them');
});

t.test('limit flags: sizes with K/M/G, counts, ranges', async (t) => {
  t.equal(parseLimit('max-shm-bytes', '512M'), 512 * 1024 * 1024);
  t.equal(parseLimit('max-shm-bytes', '2g'), 2 * 1024 ** 3);
  t.equal(parseLimit('max-pool-bytes', '64KiB'), 64 * 1024);
  t.equal(parseLimit('max-frame-size', '16M'), 16 * 1024 * 1024);
  t.equal(parseLimit('max-clients', '7'), 7);
  t.throws(() => parseLimit('max-clients', '7K'), /--max-clients 7K: use a whole number/, 'counts take no unit');
  t.ok((() => { try { parseLimit('max-fds', 'x'); } catch (e) { return e instanceof UsageError; } return false; })(), 'a UsageError (exit 2)');
  t.throws(() => parseLimit('max-frame-size', '17M'), /between 8192 and 16777216/);
  t.throws(() => parseLimit('max-objects', '-1'), /a whole number/);
  t.same(limitsFrom({ 'max-clients': '3', 'max-fds': '100' }), { clients: 3, fds: 100 });
  t.throws(() => limitsFrom({ 'max-pool-bytes': '1G', 'max-shm-bytes': '512M' }), /larger than --max-shm-bytes/);
});
