// The ring of a client's last messages: keeps copies of the newest N in order and formats only when asked; the limit flags' parsing.
import t from 'tap';
import { checkFdLeaks } from '../helpers/fd-leak';
import { RECENT_MESSAGE_BYTES, RecentMessages } from '../../link/recent-messages';
import { encodeMessage } from '../../protocol/wire-codec';
import { ProtocolRegistry } from '../../protocol/registry';
import type { MessageSpec } from '../../protocol/types';
import { limitsFrom, parseLimit } from '../../cli/host-command';
import { UsageError } from '../../cli/usage';

checkFdLeaks(t);

const registry = ProtocolRegistry.builtin();
const surface = registry.interface('wl_surface')!;
const commit = surface.requests.find((r) => r.name === 'commit')!;
const damage = surface.requests.find((r) => r.name === 'damage')!;

/** The message's bytes, in a larger buffer at `at`, as the proxies hand them over. */
function inBuffer(bytes: Uint8Array, at = 16): Uint8Array {
  const buf = new Uint8Array(at + bytes.byteLength + 16).fill(0xee);
  buf.set(bytes, at);
  return buf;
}

t.test('keeps the newest messages, oldest first, formatted like WAYVIO_TRACE from their bytes', async (t) => {
  const r = new RecentMessages(3);
  t.same(r.format(), [], 'empty');
  const d = encodeMessage(5, 2, damage, [0, 0, 10, 20]).bytes;
  r.add(' -> ', 'wl_surface', 5, damage, inBuffer(d), 16, 16 + d.byteLength);
  t.same(r.format(), [' -> wl_surface#5.damage(0, 0, 10, 20)']);
  for (let i = 6; i <= 9; i++) {
    const c = encodeMessage(i, 6, commit, []).bytes;
    r.add(' -> ', 'wl_surface', i, commit, c, 0, c.byteLength);
  }
  const d9 = encodeMessage(9, 2, damage, [1, 2, 3, 4]).bytes;
  const buf = inBuffer(d9);
  r.add('<-  ', 'wl_surface', 9, damage, buf, 16, 16 + d9.byteLength);
  buf.fill(0); // the ring holds a copy, not a view of the caller's buffer
  t.equal(r.size, 3, 'at most its capacity');
  t.same(r.format(), [' -> wl_surface#8.commit()', ' -> wl_surface#9.commit()', '<-  wl_surface#9.damage(1, 2, 3, 4)'], 'the last three, in order');
});

t.test('fds are shown as they were; a message longer than what is kept is named with its size', async (t) => {
  const shm = registry.interface('wl_shm')!;
  const createPool = shm.requests.find((r) => r.name === 'create_pool')!;
  const toplevel = registry.interface('xdg_toplevel')!;
  const setTitle = toplevel.requests.find((r) => r.name === 'set_title')!;
  const r = new RecentMessages(4);
  const pool = encodeMessage(3, 0, createPool, [7, 42, 4096]).bytes;
  r.add(' -> ', 'wl_shm', 3, createPool, pool, 0, pool.byteLength, [42]);
  const long = encodeMessage(8, 2, setTitle, ['t'.repeat(RECENT_MESSAGE_BYTES)]).bytes;
  r.add(' -> ', 'xdg_toplevel', 8, setTitle, long, 0, long.byteLength);
  t.same(r.format(), [' -> wl_shm#3.create_pool(new id wl_shm_pool#7, fd 42, 4096)', ` -> xdg_toplevel#8.set_title(… ${long.byteLength} bytes)`]);
});

t.test('adding decodes nothing: bytes that do not decode are only touched by format()', async (t) => {
  const r = new RecentMessages(2);
  const hostile = { ...commit, name: 'odd', args: [{ name: 'x', type: 'string' }] } as unknown as MessageSpec;
  const bad = new Uint8Array([1, 0, 0, 0, 0, 0, 16, 0, 200, 0, 0, 0, 1, 2, 3, 4]);
  t.doesNotThrow(() => r.add(' -> ', 'wl_surface', 1, hostile, bad, 0, bad.byteLength), 'add() does not decode');
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
