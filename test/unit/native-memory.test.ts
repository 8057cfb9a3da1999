// memfd + seals and mmap as ArrayBuffer: shared across a socketpair, munmap detaches, finalizers unmap.
import t from 'tap';
import { closeSync, ftruncateSync, mkdtempSync, openSync, readSync, rmSync, writeSync, readdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { spawnSync } from 'node:child_process';
import { checkFdLeaks } from '../helpers/fd-leak';
import { F_SEAL_GROW, F_SEAL_SEAL, F_SEAL_SHRINK, F_SEAL_WRITE, addSeals, closeAll, copyRows, memfdCreate, mmap, munmap, recvmsg, sendmsg } from '../../native/index';
import { getSeals, mappedBytes, socketpair } from '../../native/test-only';

checkFdLeaks(t);

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const MiB = 1024 * 1024;

t.test('a 64 MiB memfd mapped on both ends of a socketpair is shared both ways', async (t) => {
  const baseline = mappedBytes();
  const size = 64 * MiB;
  const memfd = memfdCreate('wayvio-pool', { allowSealing: true });
  ftruncateSync(memfd, size);
  const mine = new Uint8Array(mmap(memfd, size, 0, true));
  const [a, b] = socketpair();
  sendmsg(a, Buffer.from('pool'), 0, 4, [memfd]);
  closeAll([memfd]);
  const got = recvmsg(b, Buffer.alloc(8))!;
  t.equal(got.fds.length, 1);
  const theirsBuffer = mmap(got.fds[0]!, size, 0, true);
  closeAll(got.fds); // the mapping outlives the fd
  const theirs = new Uint8Array(theirsBuffer);
  t.equal(mappedBytes() - baseline, 2 * size);
  const offsets = [0, 1, 4095, 4096, 32 * MiB + 7, size - 4096, size - 1];
  offsets.forEach((at, i) => (mine[at] = 0x10 + i));
  t.same(offsets.map((at) => theirs[at]), offsets.map((_, i) => 0x10 + i), 'sender writes seen by the receiver');
  offsets.forEach((at, i) => (theirs[at] = 0xa0 + i));
  t.same(offsets.map((at) => mine[at]), offsets.map((_, i) => 0xa0 + i), 'receiver writes seen by the sender');
  t.equal(munmap(theirsBuffer), true);
  t.equal(munmap(mine.buffer as ArrayBuffer), true);
  t.equal(mine.byteLength, 0, 'views of a detached buffer are empty');
  t.equal(theirs[0], undefined, 'and reading them is harmless');
  t.equal(mappedBytes(), baseline);
  closeAll([a, b]);
});

t.test('seals: shrink, grow, write (EBUSY while mapped writable), seal', async (t) => {
  const fd = memfdCreate('wayvio-seals', { allowSealing: true });
  ftruncateSync(fd, 8192);
  t.equal(getSeals(fd), 0);
  addSeals(fd, F_SEAL_SHRINK);
  t.throws(() => ftruncateSync(fd, 4096), { code: 'EPERM' }, 'cannot shrink');
  ftruncateSync(fd, 16384);
  addSeals(fd, F_SEAL_GROW);
  t.throws(() => ftruncateSync(fd, 32768), { code: 'EPERM' }, 'cannot grow');

  const writable = mmap(fd, 16384, 0, true);
  t.throws(() => addSeals(fd, F_SEAL_WRITE), { code: 'EBUSY', errno: -16, syscall: 'fcntl' }, 'F_SEAL_WRITE refused while mapped writable');
  munmap(writable);
  addSeals(fd, F_SEAL_WRITE);
  t.throws(() => mmap(fd, 16384, 0, true), { code: 'EPERM', syscall: 'mmap' }, 'no writable mapping once sealed');
  t.throws(() => writeSync(fd, 'x', 0), { code: 'EPERM' });
  const readable = mmap(fd, 16384, 0, false);
  t.equal(new Uint8Array(readable)[100], 0);
  munmap(readable);

  addSeals(fd, F_SEAL_SEAL);
  t.equal(getSeals(fd), F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
  t.throws(() => addSeals(fd, F_SEAL_SHRINK), { code: 'EPERM' }, 'no more seals');
  closeAll([fd]);

  const plain = memfdCreate('wayvio-no-sealing');
  t.equal(getSeals(plain), F_SEAL_SEAL, 'without allowSealing the memfd comes sealed');
  t.throws(() => addSeals(plain, F_SEAL_SHRINK), { code: 'EPERM' });
  closeAll([plain]);
});

t.test('mmap offsets, bounds and errors', async (t) => {
  const fd = memfdCreate('wayvio-offsets');
  ftruncateSync(fd, 3 * 4096);
  writeSync(fd, Buffer.from([42]), 0, 1, 4096 + 5);
  const view = new Uint8Array(mmap(fd, 4096, 4096));
  t.equal(view[5], 42, 'offset maps the right page');
  munmap(view.buffer as ArrayBuffer);
  t.equal(munmap(view.buffer as ArrayBuffer), false, 'second munmap is a no-op');
  t.throws(() => mmap(fd, 0), { code: 'EINVAL', errno: -22, syscall: 'mmap' }, 'length 0');
  t.throws(() => mmap(fd, 4096, 100), { code: 'EINVAL', syscall: 'mmap' }, 'unaligned offset');
  t.throws(() => mmap(fd, 4 * 4096), { code: 'EINVAL', syscall: 'mmap' }, 'past the end of the file');
  t.throws(() => mmap(fd, -1), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
  t.throws(() => munmap(new ArrayBuffer(16)), { code: 'EINVAL', syscall: 'munmap' }, 'not ours');
  t.throws(() => munmap(new Uint8Array(4) as unknown as ArrayBuffer), { code: 'ERR_INVALID_ARG_TYPE' });
  t.throws(() => memfdCreate('x'.repeat(300)), { code: 'EINVAL', syscall: 'memfd_create' });
  closeAll([fd]);
  const [a, b] = socketpair();
  closeAll([a, b]);
  t.throws(() => mmap(a, 4096), { code: 'EBADF' });
  t.throws(() => getSeals(a), { code: 'EBADF', syscall: 'fcntl' });
});

t.test('a /dev/shm file maps like any file; a read-only fd cannot map writable', async (t) => {
  const dir = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
  const path = mkdtempSync(join(dir, 'wayvio-test-'));
  const file = join(path, 'region');
  const fd = openSync(file, 'w+');
  ftruncateSync(fd, 65536);
  const view = new Uint8Array(mmap(fd, 65536, 0, true));
  view[65535] = 9;
  const check = Buffer.alloc(1);
  readSync(fd, check, 0, 1, 65535);
  t.equal(check[0], 9, 'writes reach the file');
  munmap(view.buffer as ArrayBuffer);
  closeSync(fd);
  const readOnly = openSync(file, 'r');
  t.throws(() => mmap(readOnly, 65536, 0, true), { code: 'EACCES', syscall: 'mmap' });
  closeSync(readOnly);
  rmSync(path, { recursive: true });
});

function readablePciBar(): string | undefined {
  const root = '/sys/bus/pci/devices';
  for (const dev of existsSync(root) ? readdirSync(root) : []) {
    for (const name of readdirSync(join(root, dev))) {
      if (!/^resource\d+$/.test(name)) continue;
      try {
        closeSync(openSync(join(root, dev, name), 'r'));
        return join(root, dev, name);
      } catch {
        // not readable by us
      }
    }
  }
  return undefined;
}

const bar = readablePciBar();
t.test('a PCI BAR file (sysfs resourceN) maps read-only', { skip: bar ? false : 'no readable sysfs resourceN file here' }, async (t) => {
  const fd = openSync(bar!, 'r');
  try {
    const buffer = mmap(fd, 4096, 0, false);
    t.equal(buffer.byteLength, 4096);
    munmap(buffer);
  } catch (e) {
    t.match(e, { code: /^E[A-Z]+$/, syscall: 'mmap' }, 'or a clean error (I/O BARs are not mappable)');
  }
  closeSync(fd);
});

t.test('dropped ArrayBuffers are unmapped by their finalizer', async (t) => {
  const baseline = mappedBytes();
  const fd = memfdCreate('wayvio-gc');
  ftruncateSync(fd, MiB);
  (() => {
    for (let i = 0; i < 32; i++) new Uint8Array(mmap(fd, MiB, 0, true))[i] = i;
  })();
  const explicit = mmap(fd, MiB);
  munmap(explicit); // its finalizer must not unmap again
  t.equal(mappedBytes() - baseline, 32 * MiB);
  for (let i = 0; i < 50 && mappedBytes() !== baseline; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 5));
  }
  t.equal(mappedBytes(), baseline, 'every mapping was finalized');
  closeAll([fd]);
});

t.test('copyRows copies ranges and strided rows out of a mapping, inside both bounds', async (t) => {
  const size = 64 * 1024;
  const memfd = memfdCreate('wayvio-copy');
  ftruncateSync(memfd, size);
  const src = mmap(memfd, size, 0, true);
  const bytes = new Uint8Array(src);
  for (let i = 0; i < size; i++) bytes[i] = (i * 7) & 0xff;
  const dst = new Uint8Array(size);
  t.equal(copyRows(src, 100, dst, 100, 5000), true);
  t.same(dst.subarray(100, 5100), bytes.subarray(100, 5100), 'a range');
  t.equal(dst[99], 0);
  t.equal(dst[5100], 0);
  dst.fill(0);
  t.equal(copyRows(src, 1024, dst, 2048, 16, 3, 256), true, 'rows');
  for (let i = 0; i < 3; i++) t.same(dst.subarray(2048 + i * 256, 2048 + i * 256 + 16), bytes.subarray(1024 + i * 256, 1024 + i * 256 + 16));
  t.equal(dst[2048 + 16], 0, 'the gap between rows is left alone');
  t.throws(() => copyRows(src, size - 10, dst, 0, 11), { code: 'ERANGE' }, 'past the source');
  t.throws(() => copyRows(src, 0, dst, size - 10, 11), { code: 'ERANGE' }, 'past the destination');
  t.throws(() => copyRows(src, 0, dst, 0, 16, 2 ** 40, 2 ** 40), { code: 'ERANGE' }, 'huge rows do not wrap around');
  t.throws(() => copyRows(src, 0, dst, 0, 16, 2, 8), { code: 'ERANGE' }, 'rows may not overlap');
  t.throws(() => copyRows(new ArrayBuffer(16), 0, dst, 0, 4), { code: 'EINVAL' }, 'the source must come from mmap');
  munmap(src);
  t.throws(() => copyRows(src, 0, dst, 0, 4), { code: 'EINVAL' }, 'nor after munmap');
  closeAll([memfd]);
});

t.test('copyRows from a file that shrank under its mapping: zeros and false, no SIGBUS', async (t) => {
  const baseline = mappedBytes();
  const size = 1024 * 1024;
  const memfd = memfdCreate('wayvio-shrunk');
  ftruncateSync(memfd, size);
  const src = mmap(memfd, size, 0, true);
  new Uint8Array(src).fill(0x5a);
  ftruncateSync(memfd, 4096);
  const dst = new Uint8Array(size).fill(1);
  t.equal(copyRows(src, 0, dst, 0, size), false, 'the copy reports the fault');
  t.equal(dst.subarray(8192).every((b) => b === 0), true, 'the bytes past the end arrive as zeros');
  t.equal(copyRows(src, 0, dst, 0, 16), true, 'the mapping now reads zeros without faulting');
  t.equal(dst[0], 0);
  t.equal(munmap(src), true, 'and unmaps as usual');
  t.equal(mappedBytes(), baseline);
  closeAll([memfd]);
});

t.test('a SIGBUS outside copyRows still ends the process as before', async (t) => {
  const index = join(__dirname, '../../native/index.js');
  const script = `
    const n = require(${JSON.stringify(index)});
    const fs = require('fs');
    const fd = n.memfdCreate('x');
    fs.ftruncateSync(fd, 65536);
    const m = n.mmap(fd, 65536, 0, true);
    const other = n.mmap(fd, 65536, 0, true);
    fs.ftruncateSync(fd, 0);
    if (n.copyRows(m, 0, new Uint8Array(16), 0, 16) !== false) process.exit(3);
    new Uint8Array(other)[40000] = 1;
    process.exit(4);`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  t.equal(r.signal, 'SIGBUS', `the unguarded fault kills with SIGBUS (status ${r.status}, ${r.stderr.slice(0, 200)})`);
});
