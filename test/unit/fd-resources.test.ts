// What each kind of fd becomes on the channel: files travel as contents, pipe ends as streams, the rest is refused.
import { closeSync, openSync, writeSync } from 'node:fs';
import t from 'tap';
import { checkFdLeaks } from '../helpers/fd-leak';
import { classifyFd } from '../../link/fd-resources';
import { memfdCreate, pipe2 } from '../../native/index';
import { socketpair } from '../../native/test-only';

checkFdLeaks(t);

t.test('fd kinds', async (t) => {
  const memfd = memfdCreate('keymap');
  writeSync(memfd, Buffer.from('xkb_keymap {};'));
  t.same(classifyFd(memfd), { kind: 'file', size: 14, what: 'file' });
  const [r, w] = pipe2();
  t.equal(classifyFd(r).kind, 'pipe-read-end');
  t.equal(classifyFd(w).kind, 'pipe-write-end');
  const [a, b] = socketpair();
  t.equal(classifyFd(a).kind, 'pipe-write-end', 'a socket carries data like a write end (clipboard targets)');
  const dir = openSync('/', 'r');
  t.same(classifyFd(dir), { kind: 'unsupported', size: 0, what: 'directory' });
  const tty = openSync('/dev/null', 'r');
  t.equal(classifyFd(tty).what, 'character device');
  for (const fd of [memfd, r, w, a, b, dir, tty]) closeSync(fd);
});
