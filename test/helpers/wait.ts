// Waiting for a condition (never for a fixed time): polls `pred` until it holds or the time is up.
import { readdirSync, readFileSync } from 'node:fs';
import { sleep } from '../../harness/processes';

export async function waitFor(pred: () => boolean, timeoutMs = 5000, everyMs = 10): Promise<boolean> {
  for (const end = Date.now() + timeoutMs; !pred(); await sleep(everyMs)) if (Date.now() > end) return pred();
  return true;
}

export async function waitForAsync(pred: () => Promise<boolean>, timeoutMs = 5000, everyMs = 20): Promise<boolean> {
  for (const end = Date.now() + timeoutMs; !(await pred()); await sleep(everyMs)) if (Date.now() > end) return pred();
  return true;
}

/** Open fds of a process (this one by default), from /proc. */
export function fdCount(pid: number | 'self' = 'self'): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** Resident set size of a process in bytes, from /proc/PID/status. */
export function rssBytes(pid: number | 'self' = 'self'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+) kB/m.exec(status);
  return m === null ? 0 : Number(m[1]) * 1024;
}

/** Waits until the file at `path` holds `expected`; returns what it last held ('(no file)' if it never appeared). */
export async function fileWhen(path: string, expected: string, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  do {
    try {
      last = readFileSync(path, 'utf8');
    } catch {
      last = '(no file)';
    }
    if (last === expected) return last;
    await sleep(20);
  } while (Date.now() < deadline);
  return last;
}
