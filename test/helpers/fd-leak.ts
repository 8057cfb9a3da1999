// Fails a tap test file when it ends with more open fds than it started with.
import { readdirSync, readlinkSync } from 'node:fs';
import type { Test } from 'tap';

export function openFds(): Map<number, string> {
  const out = new Map<number, string>();
  for (const name of readdirSync('/proc/self/fd')) {
    try {
      out.set(Number(name), readlinkSync(`/proc/self/fd/${name}`));
    } catch {
      // the fd that listed the directory is gone by now
    }
  }
  return out;
}

/** Snapshot fds now; at teardown, fail on any fd that was not open at the snapshot. */
export function checkFdLeaks(t: Test): void {
  const before = openFds();
  t.teardown(async () => {
    // let pending closes (libuv handles, finalizers) run first
    await new Promise((r) => setImmediate(r));
    const after = openFds();
    const leaked = [...after].filter(([fd, target]) => before.get(fd) !== target && !/^anon_inode:\[(eventfd|eventpoll|timerfd|io_uring)\]$/.test(target));
    if (leaked.length > 0) {
      t.fail(`fd leak: ${leaked.map(([fd, target]) => `${fd} -> ${target}`).join(', ')}`);
    }
  });
}
