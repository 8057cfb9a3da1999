// Prints the top self-time and total-time functions of V8 .cpuprofile files (`wayvio bench --cpu-prof DIR` writes them).
//
//   node dist/harness/bench/cpuprofile-summary.js [--top N] FILE.cpuprofile...
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface FunctionTime {
  name: string;
  /** Microseconds sampled in the function itself, and in it or anything it called. */
  selfUs: number;
  totalUs: number;
}

export interface ProfileSummary {
  /** Sampled microseconds that were not idle. */
  busyUs: number;
  idleUs: number;
  functions: FunctionTime[];
}

function nameOf(f: CallFrame): string {
  const fn = f.functionName || '(anonymous)';
  if (f.url === '') return fn;
  const file = f.url.startsWith('file://') ? relative(process.cwd(), f.url.slice(7)) : f.url;
  return `${fn} ${file}:${f.lineNumber + 1}`;
}

export function summarizeProfile(profile: Profile): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<number, number>();
  // timeDeltas[i] is the time before sample i; charge it to the sample's node (the same convention as DevTools)
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + Math.max(0, profile.timeDeltas[i] ?? 0)));
  const fns = new Map<string, FunctionTime>();
  let busyUs = 0;
  let idleUs = 0;
  for (const [id, us] of self) {
    const node = byId.get(id);
    if (node === undefined) continue;
    if (node.callFrame.functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    busyUs += us;
    const own = nameOf(node.callFrame);
    const ownEntry = fns.get(own) ?? { name: own, selfUs: 0, totalUs: 0 };
    ownEntry.selfUs += us;
    fns.set(own, ownEntry);
    // total time: once per function on the stack, however often it recurses
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const n = byId.get(at);
      if (n === undefined || n.callFrame.functionName === '(root)') break;
      const name = nameOf(n.callFrame);
      if (seen.has(name)) continue;
      seen.add(name);
      const e = fns.get(name) ?? { name, selfUs: 0, totalUs: 0 };
      e.totalUs += us;
      fns.set(name, e);
    }
  }
  return { busyUs, idleUs, functions: [...fns.values()] };
}

function pct(part: number, whole: number): string {
  return `${((100 * part) / Math.max(1, whole)).toFixed(1).padStart(5)} %`;
}

export function formatSummary(title: string, s: ProfileSummary, top: number): string {
  const lines = [`${title}: ${(s.busyUs / 1e6).toFixed(2)} s busy, ${(s.idleUs / 1e6).toFixed(2)} s idle`, '  self time:'];
  for (const f of [...s.functions].sort((a, b) => b.selfUs - a.selfUs).slice(0, top)) lines.push(`    ${pct(f.selfUs, s.busyUs)}  ${f.name}`);
  lines.push('  total time (the function and what it called):');
  for (const f of [...s.functions].sort((a, b) => b.totalUs - a.totalUs).slice(0, top)) lines.push(`    ${pct(f.totalUs, s.busyUs)}  ${f.name}`);
  return lines.join('\n');
}

if (require.main === module) {
  const args = process.argv.slice(2);
  let top = 25;
  const at = args.indexOf('--top');
  if (at >= 0) {
    top = Number(args[at + 1]);
    args.splice(at, 2);
  }
  if (args.length === 0 || !(top > 0)) {
    process.stderr.write('usage: cpuprofile-summary [--top N] FILE.cpuprofile...\n');
    process.exit(2);
  }
  for (const file of args) {
    const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
    process.stdout.write(formatSummary(file, summarizeProfile(profile), top) + '\n\n');
  }
}
