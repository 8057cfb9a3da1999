// FdWatcher: readiness on uv_poll, start/stop/close, close from its own callback, errors, loop liveness, GC.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { checkFdLeaks } from '../helpers/fd-leak';
import { FdWatcher, READABLE, WRITABLE, closeAll, pipe2, read, write } from '../../native/index';
import { DISCONNECT, socketpair } from '../../native/test-only';

checkFdLeaks(t);

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const INDEX = JSON.stringify(join(__dirname, '../../native/index.js'));

function next(watcher: FdWatcher, events: number, calls: [number, number][]): Promise<[number, number]> {
  return new Promise((resolve) => {
    const seen = calls.length;
    const poll = (): void => {
      if (calls.length > seen) resolve(calls[seen]!);
      else setImmediate(poll);
    };
    watcher.start(events);
    poll();
  });
}

t.test('readable and writable readiness, stop and restart', async (t) => {
  const [r, w] = pipe2();
  const calls: [number, number][] = [];
  const reader = new FdWatcher(r, (status, events) => {
    calls.push([status, events]);
    reader.stop();
  });
  t.equal(reader.active, false);
  reader.start(READABLE);
  t.equal(reader.active, true);
  write(w, Buffer.from('ping'));
  t.same(await next(reader, READABLE, calls), [0, READABLE]);
  t.equal(reader.active, false, 'stopped inside the callback');
  const buf = Buffer.alloc(8);
  t.equal(read(r, buf), 4);

  const writes: [number, number][] = [];
  const writer = new FdWatcher(w, (status, events) => {
    writes.push([status, events]);
    writer.stop();
  });
  t.same(await next(writer, WRITABLE, writes), [0, WRITABLE]);
  closeAll([w]);
  t.same(await next(reader, READABLE, calls), [0, READABLE], 'EOF shows as readable');
  t.equal(read(r, buf), 0);
  reader.close();
  writer.close();
  t.equal(reader.closed, true);
  closeAll([r]);
});

t.test('close() inside the callback, twice, and start() after close', async (t) => {
  const [a, b] = socketpair();
  let calls = 0;
  const done = new Promise<void>((resolve) => {
    const watcher = new FdWatcher(a, () => {
      calls++;
      watcher.close();
      watcher.close();
      t.equal(watcher.closed, true);
      t.throws(() => watcher.start(READABLE), { code: 'ERR_WATCHER_CLOSED' });
      watcher.stop(); // harmless
      setTimeout(resolve, 20);
    });
    watcher.start(READABLE | DISCONNECT);
  });
  write(b, Buffer.from('x'));
  await done;
  t.equal(calls, 1, 'no callback after close');
  closeAll([a, b]);
});

t.test('POLLERR arrives as a negative status and stops the watcher', async (t) => {
  const [r, w] = pipe2();
  closeAll([r]);
  const calls: [number, number][] = [];
  const watcher = new FdWatcher(w, (status, events) => calls.push([status, events]));
  const [status] = await next(watcher, WRITABLE, calls);
  t.ok(status < 0, `status ${status}`);
  t.equal(watcher.active, false);
  watcher.close();
  closeAll([w]);
});

t.test('bad fds and arguments throw Node-style errors', async (t) => {
  const file = openSync(__filename, 'r');
  t.throws(() => new FdWatcher(file, () => {}), { code: 'EPERM', syscall: 'uv_poll_init' }, 'regular files cannot be polled');
  closeSync(file);
  t.throws(() => new FdWatcher(file, () => {}), { code: 'EBADF', errno: -9, syscall: 'uv_poll_init' });
  t.throws(() => new FdWatcher(-1, () => {}), { name: 'RangeError' });
  const [a, b] = socketpair();
  t.throws(() => new FdWatcher(a, 5 as unknown as () => void), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
  const watcher = new FdWatcher(a, () => {});
  t.throws(() => watcher.start(64), { name: 'RangeError' });
  watcher.start(READABLE);
  t.throws(() => new FdWatcher(a, () => {}), { code: 'EEXIST', syscall: 'uv_poll_init' }, 'one started watcher per fd');
  watcher.close();
  closeAll([a, b]);
});

t.test('dropped stopped watchers are collected without trouble', async (t) => {
  const [a, b] = socketpair();
  for (let i = 0; i < 200; i++) {
    const w = new FdWatcher(a, () => w.stop());
    w.start(READABLE);
    w.stop();
  }
  gc();
  await new Promise((r) => setTimeout(r, 10));
  gc();
  const calls: [number, number][] = [];
  const survivor = new FdWatcher(a, (status, events) => {
    calls.push([status, events]);
    survivor.stop();
  });
  write(b, Buffer.from('x'));
  t.same(await next(survivor, READABLE, calls), [0, READABLE], 'the fd still works after the others were collected');
  survivor.close();
  closeAll([a, b]);
});

t.test('collecting an old stopped watcher leaves a newer watcher on the reused fd number alone', async (t) => {
  const [a, b] = socketpair();
  (() => {
    const old = new FdWatcher(a, () => {});
    old.start(READABLE);
    old.stop();
  })();
  closeAll([a, b]);
  const [c, d] = socketpair();
  t.equal(c, a, 'the kernel reused the number');
  const calls: [number, number][] = [];
  const current = new FdWatcher(c, (status, events) => calls.push([status, events]));
  current.start(READABLE);
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 5));
  }
  write(d, Buffer.from('x'));
  t.same(await next(current, READABLE, calls), [0, READABLE], 'still notified');
  current.close();
  closeAll([c, d]);
});

function child(script: string): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['-e', `const n = require(${INDEX});\n${script}`], { encoding: 'utf8', timeout: 10_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

t.test('a started watcher keeps the loop alive; a stopped one does not', async (t) => {
  const started = child(`
    const [r, w] = n.pipe2();
    const watcher = new n.FdWatcher(r, () => { console.log('woke'); watcher.close(); });
    watcher.start(n.READABLE);
    setTimeout(() => n.write(w, Buffer.from('x')), 100).unref();
  `);
  t.equal(started.stdout.trim(), 'woke', 'the loop waited for the fd');
  t.equal(started.status, 0);
  const stopped = child(`
    const [r, w] = n.pipe2();
    const watcher = new n.FdWatcher(r, () => console.log('woke'));
    watcher.start(n.READABLE);
    watcher.stop();
    setTimeout(() => n.write(w, Buffer.from('x')), 100).unref();
    process.on('exit', () => console.log('exit'));
  `);
  t.equal(stopped.stdout.trim(), 'exit', 'the process exited without waiting');
  t.equal(stopped.status, 0);
});

t.test('an exception in the callback is an uncaught exception, like any callback', async (t) => {
  const result = child(`
    const [r, w] = n.pipe2();
    const watcher = new n.FdWatcher(r, () => { watcher.close(); throw new Error('boom from callback'); });
    watcher.start(n.READABLE);
    n.write(w, Buffer.from('x'));
    process.on('uncaughtException', (e) => { console.log('caught ' + e.message); });
  `);
  t.equal(result.stdout.trim(), 'caught boom from callback');
  t.equal(result.status, 0);
  const fatal = child(`
    const [r, w] = n.pipe2();
    const watcher = new n.FdWatcher(r, () => { throw new Error('boom'); });
    watcher.start(n.READABLE);
    n.write(w, Buffer.from('x'));
  `);
  t.equal(fatal.status, 1, 'unhandled: the process exits 1');
  t.match(fatal.stderr, /Error: boom/);
});
