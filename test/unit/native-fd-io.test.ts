// pipe2, read/write with EAGAIN and EOF, flock contention, pollNow, setNonBlocking, close.
import t from 'tap';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkFdLeaks } from '../helpers/fd-leak';
import { POLL, close, closeAll, dup, flock, pipe2, pollNow, read, write } from '../../native/index';
import { setNonBlocking } from '../../native/test-only';

checkFdLeaks(t);

function fdFlags(fd: number): number {
  return parseInt(/^flags:\s+(\d+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))![1]!, 8);
}
const O_NONBLOCK = 0o4000;
const O_CLOEXEC = 0o2000000;

t.test('pipe2: nonblocking cloexec ends; -1 when empty or full, 0 at EOF', async (t) => {
  const [r, w] = pipe2();
  t.ok(fdFlags(r) & O_NONBLOCK && fdFlags(w) & O_NONBLOCK, 'O_NONBLOCK');
  t.ok(fdFlags(r) & O_CLOEXEC && fdFlags(w) & O_CLOEXEC, 'O_CLOEXEC');
  const buf = Buffer.alloc(64 * 1024);
  t.equal(read(r, buf), -1, 'empty: EAGAIN');
  t.equal(write(w, Buffer.from('hello'), 1, 3), 3);
  t.equal(read(r, buf, 10, 20), 3);
  t.equal(buf.toString('utf8', 10, 13), 'ell');
  let total = 0;
  for (let n; (n = write(w, buf)) > 0; ) total += n;
  t.equal(write(w, buf), -1, 'full: EAGAIN');
  t.ok(total >= 4096, `pipe took ${total} bytes`);
  let drained = 0;
  for (let n; (n = read(r, buf)) > 0; ) drained += n;
  t.equal(drained, total);
  close(w);
  t.equal(read(r, buf), 0, 'EOF once the writer is gone');
  close(r);
});

t.test('write to a pipe without reader is EPIPE; closed fds are EBADF', async (t) => {
  const [r, w] = pipe2();
  close(r);
  t.throws(() => write(w, Buffer.from('x')), { message: 'write EPIPE', code: 'EPIPE', errno: -32, syscall: 'write' });
  close(w);
  t.throws(() => write(w, Buffer.from('x')), { code: 'EBADF', errno: -9, syscall: 'write' });
  t.throws(() => read(r, Buffer.alloc(1)), { code: 'EBADF', errno: -9, syscall: 'read' });
  t.throws(() => close(r), { code: 'EBADF', syscall: 'close' });
  t.throws(() => read(r, Buffer.alloc(1), 0, -1), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
});

t.test('pollNow reports POLLIN, POLLOUT, POLLHUP and POLLERR', async (t) => {
  const [r, w] = pipe2();
  t.equal(pollNow(r, POLL.POLLIN), 0);
  t.equal(pollNow(w, POLL.POLLOUT), POLL.POLLOUT);
  write(w, Buffer.from('x'));
  t.equal(pollNow(r, POLL.POLLIN), POLL.POLLIN);
  close(w);
  t.equal(pollNow(r, POLL.POLLIN), POLL.POLLIN | POLL.POLLHUP, 'data and hangup');
  const [r2, w2] = pipe2();
  close(r2);
  t.ok(pollNow(w2, POLL.POLLOUT) & POLL.POLLERR, 'writer without reader');
  closeAll([r, w2]);
  t.equal(pollNow(r, POLL.POLLIN), POLL.POLLNVAL, 'closed fd');
});

t.test('setNonBlocking toggles O_NONBLOCK', async (t) => {
  const [r, w] = pipe2();
  setNonBlocking(r, false);
  t.equal(fdFlags(r) & O_NONBLOCK, 0);
  setNonBlocking(r, true);
  t.equal(fdFlags(r) & O_NONBLOCK, O_NONBLOCK);
  t.throws(() => setNonBlocking(r, 1 as unknown as boolean), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
  closeAll([r, w]);
  t.throws(() => setNonBlocking(r, true), { code: 'EBADF', syscall: 'fcntl' });
});

t.test('flock: exclusive and shared locks between two opens of one file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wayvio-flock-'));
  const path = join(dir, 'wayland-0.lock');
  const one = openSync(path, 'w');
  const two = openSync(path, 'r');
  t.equal(flock(one, 'ex', true), true, 'first exclusive lock');
  t.equal(flock(two, 'ex', true), false, 'second exclusive lock would block');
  t.equal(flock(two, 'sh', true), false, 'shared lock would block too');
  t.equal(flock(one, 'ex', true), true, 'the holder may lock again');
  t.equal(flock(one, 'un'), true);
  t.equal(flock(two, 'sh', true), true);
  t.equal(flock(one, 'sh', true), true, 'shared locks coexist');
  t.equal(flock(one, 'ex', true), false, 'no upgrade while another holds shared');
  t.equal(flock(two, 'un'), true);
  t.equal(flock(one, 'ex'), true, 'blocking lock succeeds once free');
  t.throws(() => flock(one, 'exclusive' as 'ex'), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
  closeSync(one);
  t.equal(flock(two, 'ex', true), true, 'closing the holder releases the lock');
  closeSync(two);
  t.throws(() => flock(two, 'ex', true), { code: 'EBADF', syscall: 'flock' });
  rmSync(dir, { recursive: true });
});

t.test('dup gives a cloexec copy of the same open file', async (t) => {
  const [r, w] = pipe2();
  const copy = dup(w);
  t.not(copy, w);
  t.ok(fdFlags(copy) & O_CLOEXEC, 'O_CLOEXEC');
  close(w);
  write(copy, Buffer.from('via dup'));
  const buf = Buffer.alloc(16);
  t.equal(buf.toString('utf8', 0, read(r, buf)), 'via dup');
  closeAll([copy, r]);
  t.throws(() => dup(r), { code: 'EBADF', errno: -9, syscall: 'dup' });
});
