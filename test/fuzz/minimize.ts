// `node dist/test/fuzz/minimize.js weston|sway crash-corpus/<file>.json`: shrinks a saved grammar sequence that crashes
// or hangs the compositor sent directly (no proxies) to the fewest steps that still do, and prints them as JSON.
import { readFileSync } from 'node:fs';
import { startSway, startWeston, type Compositor } from '../../harness/compositors';
import { sleep, waylandAnswers } from '../../harness/processes';
import type { Step } from './crash-sequences';
import { replayEntry, type CorpusEntry } from './crash-corpus';

/** Every name a step uses is made by an earlier one. */
function wellFormed(steps: Step[]): boolean {
  const known = new Set<string>();
  for (const s of steps) {
    if ('bind' in s) known.add(s.as);
    else if ('awaitConfigure' in s) {
      if (!known.has(s.awaitConfigure)) return false;
    } else if ('obj' in s) {
      if (!known.has(s.obj)) return false;
      for (const a of s.args ?? []) {
        if (a === null || typeof a !== 'object') continue;
        if ('ref' in a && !known.has(a.ref)) return false;
        if ('configureSerial' in a && !known.has(a.configureSerial)) return false;
        if ('new' in a) known.add(a.new);
      }
    }
  }
  return true;
}

async function main(): Promise<void> {
  const [kind, file] = process.argv.slice(2);
  if ((kind !== 'weston' && kind !== 'sway') || file === undefined) {
    process.stderr.write('usage: node dist/test/fuzz/minimize.js weston|sway <corpus file>.json\n');
    process.exit(2);
  }
  const entry = JSON.parse(readFileSync(file, 'utf8')) as CorpusEntry;
  if (entry.sequence === undefined) throw new Error(`${file}: a byte stream, not a grammar sequence`);
  const start = (): Promise<Compositor> => (kind === 'weston' ? startWeston({ width: 800, height: 600 }) : startSway({ width: 800, height: 600 }));
  let c = await start();
  const fails = async (steps: Step[]): Promise<boolean> => {
    await replayEntry(c.socketPath, { sequence: { ...entry.sequence!, steps } }).catch(() => 'threw');
    await sleep(100);
    if (c.exitStatus() === undefined && (await waylandAnswers(c.socketPath, 4000))) return false;
    await c.stop();
    c = await start();
    return true;
  };
  let steps = entry.sequence.steps;
  try {
    if (!(await fails(steps))) throw new Error(`${file}: ${kind} survives it sent directly`);
    let lo = 0;
    let hi = steps.length;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (await fails(steps.slice(0, mid))) hi = mid;
      else lo = mid;
    }
    steps = steps.slice(0, hi);
    for (let i = steps.length - 1; i >= 0; i--) {
      const fewer = steps.filter((_, j) => j !== i);
      if (wellFormed(fewer) && (await fails(fewer))) steps = fewer;
    }
    process.stdout.write(`${JSON.stringify(steps, null, 1)}\n`);
  } finally {
    await c.stop();
  }
}

void main().catch((e: Error) => {
  process.stderr.write(`${e.message}\n`);
  process.exit(1);
});
