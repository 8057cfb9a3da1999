// CPU seconds and peak RSS of a process and its same-named descendants, read from /proc (Linux only).
//
// CPU is the sum of every live thread's run time from /proc/PID/task/TID/schedstat (nanoseconds) plus the children
// a process has reaped (cutime + cstime of /proc/PID/stat). The utime + stime fields of /proc/PID/stat would do for
// one process, but they count whole 10 ms ticks per process: waypipe's 50 per-connection processes, each a few ms,
// would all read 0. Threads that end between two readings are not counted; the proxies' threads live as long as
// they do.
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second for the tick fields of /proc/PID/stat (USER_HZ: 100 on every Linux ABI). */
const TICKS_PER_SECOND = 100;

interface Stat {
  pid: number;
  comm: string;
  ppid: number;
  /** cutime + cstime, in ticks: the children it has reaped. */
  reapedTicks: number;
}

function readStat(pid: number): Stat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null; // gone
  }
  // comm is in parentheses and may itself hold spaces or parentheses: the fields start after the last ')'
  const close = text.lastIndexOf(')');
  const comm = text.slice(text.indexOf('(') + 1, close);
  const f = text.slice(close + 2).split(' ');
  // f[0] is field 3 (state): field N is f[N - 3]
  const num = (field: number): number => Number(f[field - 3]);
  return { pid, comm, ppid: num(4), reapedTicks: num(16) + num(17) };
}

/** Run time of every live thread of a process, in nanoseconds. */
function threadsNs(pid: number): number {
  let ns = 0;
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return 0;
  }
  for (const tid of tasks) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // the thread ended
    }
  }
  return ns;
}

/** VmHWM (peak resident set) of a process in bytes, or 0 when it is gone. */
function readHwm(pid: number): number {
  try {
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** The process `root` and every live descendant with the same command name (waypipe forks one per connection). */
function sameNameTree(root: number): Stat[] {
  const top = readStat(root);
  if (top === null) return [];
  const children = new Map<number, Stat[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = readStat(Number(name));
    if (s === null) continue;
    const list = children.get(s.ppid);
    if (list) list.push(s);
    else children.set(s.ppid, [s]);
  }
  const out: Stat[] = [];
  const visit = (s: Stat): void => {
    out.push(s);
    for (const c of children.get(s.pid) ?? []) if (c.comm === top.comm) visit(c);
  };
  visit(top);
  return out;
}

export interface ProcUsage {
  /** CPU seconds (user + system) so far, including reaped children: subtract two readings for an interval. */
  cpuSeconds: number;
  /** Sum of VmHWM over the processes alive now, in bytes. */
  peakRss: number;
  /** How many processes were counted. */
  processes: number;
}

/** CPU and peak RSS of `pid` together with its live same-named descendants. */
export function readUsage(pid: number): ProcUsage {
  const tree = sameNameTree(pid);
  let seconds = 0;
  let peakRss = 0;
  for (const s of tree) {
    seconds += threadsNs(s.pid) / 1e9 + s.reapedTicks / TICKS_PER_SECOND;
    peakRss += readHwm(s.pid);
  }
  return { cpuSeconds: seconds, peakRss, processes: tree.length };
}
