// Replays one sequence of test/fuzz/crash-sequences.ts with a raw client on a Wayland socket (a compositor's or a proxy's).
import { ftruncateSync } from 'node:fs';
import { memfdCreate } from '../../native/index';
import type { ArgValue } from '../../protocol/wire-codec';
import { RawClient } from './raw-client';
import type { Arg, CrashSequence, Step } from '../fuzz/crash-sequences';

/** How long a round trip may take before the compositor counts as not answering. */
export const PROBE_MS = 3000;

/** The sequence needs a global the compositor does not offer. */
export class Skip extends Error {}

/**
 * Replays `seq` on a fresh client of `socketPath`; stops at the first step after which the client was ended.
 * When it throws (Skip included) the client is closed first.
 */
export async function replay(socketPath: string, seq: CrashSequence, pipelined: boolean): Promise<{ client: RawClient; stoppedAt: number; ids: Map<string, number> }> {
  const c = new RawClient(socketPath);
  const ids = new Map<string, number>();
  try {
    return { client: c, stoppedAt: await replaySteps(c, seq, pipelined, ids), ids };
  } catch (e) {
    c.close();
    throw e;
  }
}

/** `ids`: filled with the id of each named object. */
async function replaySteps(c: RawClient, seq: CrashSequence, pipelined: boolean, ids: Map<string, number>): Promise<number> {
  const reg = await c.getRegistry();
  const id = (name: string): number => {
    const v = ids.get(name);
    if (v === undefined) throw new Error(`${seq.name}: unknown object '${name}'`);
    return v;
  };
  let i = 0;
  for (; i < seq.steps.length && !c.closed && c.error() === undefined; i++) {
    const step: Step = seq.steps[i];
    if ('bind' in step) {
      const g = c.globals.get(step.bind);
      if (g === undefined) throw new Skip(`global ${step.bind} not advertised`);
      ids.set(step.as, c.bind(reg, step.bind, Math.min(step.version, g.version)));
    } else if ('awaitConfigure' in step) {
      const xs = id(step.awaitConfigure);
      await c.until(() => c.events.some((e) => e.objectId === xs && e.name === 'configure'), 2000);
    } else if ('roundtrip' in step) {
      const cb = c.send(1, 'sync', [0]);
      await c.until(() => c.events.some((e) => e.objectId === cb && e.name === 'done'), PROBE_MS);
    } else {
      const fds: number[] = [];
      const created: string[] = [];
      const args = (step.args ?? []).map((a: Arg): ArgValue => {
        if (a === null) return 0; // a null object
        if (typeof a !== 'object') return a;
        if ('ref' in a) return id(a.ref);
        if ('new' in a) {
          created.push(a.new);
          return 0;
        }
        if ('memfd' in a) {
          const fd = memfdCreate('crash-replay');
          ftruncateSync(fd, a.memfd);
          fds.push(fd);
          return 0;
        }
        const xs = id(a.configureSerial);
        const ev = [...c.events].reverse().find((e) => e.objectId === xs && e.name === 'configure');
        return ev === undefined ? 0 : (ev.args[0] as number);
      });
      const objectId = id(step.obj);
      // Lockstep: a round trip after each request names the step that failed; request and sync go out in one
      // write, so we never write after the compositor closed us (EPIPE would lose its wl_display.error).
      const [newId, cb] = c.batch(() => [c.send(objectId, step.req, args, fds), pipelined ? 0 : c.send(1, 'sync', [0])]);
      if (created.length > 0) ids.set(created[0], newId);
      if (!pipelined) await c.until(() => c.events.some((e) => e.objectId === cb && e.name === 'done'), PROBE_MS);
    }
  }
  return i;
}

export function describeStep(s: Step): string {
  if ('bind' in s) return `bind ${s.bind}`;
  if ('awaitConfigure' in s) return `await configure on ${s.awaitConfigure}`;
  if ('roundtrip' in s) return 'roundtrip';
  return `${s.obj}.${s.req}`;
}

