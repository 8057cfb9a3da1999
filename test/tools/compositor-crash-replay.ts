// Replays test/fuzz/crash-sequences.ts against a fresh headless weston or sway per sequence and reports, for each,
// whether the compositor crashed, hung, posted a wl_display.error, or accepted it.
// Usage: node dist/test/tools/compositor-crash-replay.js --compositor weston|sway [--only NAME[,NAME]] [--json FILE]
// [--pipelined] (send all requests at once instead of a wl_display.sync round trip after each)
import { writeFileSync } from 'node:fs';
import { startSway, startWeston } from '../../harness/compositors';
import { sleep, waylandAnswers } from '../../harness/processes';
import type { RawClient } from '../helpers/raw-client';
import { PROBE_MS, Skip, describeStep, replay } from '../helpers/crash-replay';
import { CRASH_SEQUENCES, type CrashSequence } from '../fuzz/crash-sequences';

export interface ReplayResult {
  name: string;
  /** crash: the compositor exited; hang: it no longer answers a fresh client; error: it posted wl_display.error; accepted. */
  outcome: 'crash' | 'hang' | 'error' | 'accepted' | 'skipped';
  /** 'sequence' when it happened before our client disconnected, 'disconnect' when only after. */
  when?: 'sequence' | 'disconnect';
  detail: string;
}

function describeError(c: RawClient): string | undefined {
  const e = c.error();
  if (e === undefined) return undefined;
  const [objectId, code, message] = e.args as [number, number, string];
  const iface = c.objects.get(objectId)?.iface.name ?? '?';
  return `${iface}#${objectId} code ${code}: ${message.trim()}`;
}

async function runOne(kind: 'weston' | 'sway', seq: CrashSequence, pipelined: boolean): Promise<ReplayResult> {
  const comp = kind === 'weston' ? await startWeston({ width: 640, height: 480 }) : await startSway({ width: 640, height: 480 });
  try {
    let client: RawClient | undefined;
    let stoppedAt = 0;
    try {
      ({ client, stoppedAt } = await replay(comp.socketPath, seq, pipelined));
    } catch (err) {
      if (err instanceof Skip) return { name: seq.name, outcome: 'skipped', detail: err.message };
      if (comp.exitStatus() === undefined) throw err;
    }
    await sleep(300); // a repaint or two
    const error = client === undefined ? undefined : describeError(client);
    const failed = stoppedAt > 0 ? seq.steps[stoppedAt - 1] : undefined;
    const step = stoppedAt < seq.steps.length && failed !== undefined ? ` (at step ${stoppedAt - 1}: ${describeStep(failed)})` : '';
    const crashed = async (when: 'sequence' | 'disconnect'): Promise<ReplayResult | undefined> => {
      const status = comp.exitStatus();
      if (status !== undefined) {
        const lines = comp.log().trim().split('\n');
        const telling = lines.filter((l) => /assert|segmentation|backtrace|fatal|abort/i.test(l)).slice(0, 2);
        const tail = (telling.length > 0 ? telling : lines.slice(-2)).join(' | ');
        return { name: seq.name, outcome: 'crash', when, detail: `exit ${status}${error ? `; error first: ${error}` : ''}${step}; log: ${tail}` };
      }
      if (!(await waylandAnswers(comp.socketPath, PROBE_MS))) {
        return { name: seq.name, outcome: comp.exitStatus() !== undefined ? 'crash' : 'hang', when, detail: `no wl_display.sync reply in ${PROBE_MS} ms${step}` };
      }
      return undefined;
    };
    const closedByServer = client?.closed === true;
    const during = await crashed('sequence');
    if (during !== undefined) return during;
    client?.close();
    await sleep(300);
    const after = await crashed('disconnect');
    if (after !== undefined) return after;
    if (error !== undefined) return { name: seq.name, outcome: 'error', detail: error + step };
    return { name: seq.name, outcome: 'accepted', detail: closedByServer ? 'connection closed without wl_display.error' : '' };
  } finally {
    await comp.stop();
  }
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const opt = (name: string): string | undefined => {
    const at = argv.indexOf(name);
    return at >= 0 ? argv[at + 1] : undefined;
  };
  const kind = opt('--compositor');
  if (kind !== 'weston' && kind !== 'sway') throw new Error('--compositor weston|sway is required');
  const only = opt('--only')?.split(',');
  const seqs = only === undefined ? CRASH_SEQUENCES : CRASH_SEQUENCES.filter((s) => only.includes(s.name));
  if (only !== undefined && seqs.length !== only.length) throw new Error(`unknown sequence in --only ${only.join(',')}`);
  const results: ReplayResult[] = [];
  for (const seq of seqs) {
    let r: ReplayResult;
    try {
      r = await runOne(kind, seq, argv.includes('--pipelined'));
    } catch (err) {
      r = { name: seq.name, outcome: 'skipped', detail: `replay failed: ${(err as Error).message.split('\n')[0]}` };
    }
    results.push(r);
    console.log(`${kind}\t${r.name}\t${r.outcome}${r.when ? ` (${r.when})` : ''}\t${r.detail}`);
  }
  const json = opt('--json');
  if (json !== undefined) writeFileSync(json, JSON.stringify(results, null, 2) + '\n');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
