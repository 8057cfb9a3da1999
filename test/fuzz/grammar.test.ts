// The grammar generator: the same seed gives the same sequence, every object is made before it is used, and the
// sequences cover roles, buffers, popups, sub-surfaces and each kind of wrong step.
import t from 'tap';
import { DEFAULT_OFFERED } from '../../protocol/default-offer';
import type { Step } from './crash-sequences';
import { registry } from './client-streams';
import { WRONG_STEPS, grammarSequence } from './grammar';

const advertised = new Map(DEFAULT_OFFERED.map((g) => [g, registry.interface(g)?.version ?? 1]));

function undefinedNames(steps: Step[]): string[] {
  const known = new Set<string>();
  const missing: string[] = [];
  for (const s of steps) {
    if ('bind' in s) known.add(s.as);
    else if ('awaitConfigure' in s) {
      if (!known.has(s.awaitConfigure)) missing.push(s.awaitConfigure);
    } else if ('obj' in s) {
      if (!known.has(s.obj)) missing.push(s.obj);
      for (const a of s.args ?? []) {
        if (a === null || typeof a !== 'object') continue;
        if ('ref' in a && !known.has(a.ref)) missing.push(a.ref);
        if ('new' in a) known.add(a.new);
      }
    }
  }
  return missing;
}

t.test('one seed, one sequence', async (t) => {
  t.same(grammarSequence(1234, advertised, 20), grammarSequence(1234, advertised, 20));
  t.not(JSON.stringify(grammarSequence(1234, advertised, 20).steps), JSON.stringify(grammarSequence(1235, advertised, 20).steps));
});

t.test('2000 sequences: well formed, and covering what the brief asks', async (t) => {
  const wrong = new Map<string, number>();
  const requests = new Set<string>();
  const missing: string[] = [];
  for (let seed = 0; seed < 2000; seed++) {
    const seq = grammarSequence(seed * 2654435761, advertised, 4 + (seed % 28));
    wrong.set(seq.wrong, (wrong.get(seq.wrong) ?? 0) + 1);
    missing.push(...undefinedNames(seq.steps).map((n) => `${seq.name}: ${n}`));
    for (const s of seq.steps) if ('req' in s) requests.add(s.req);
  }
  t.same(missing.slice(0, 5), [], 'every object named is made first');
  for (const w of WRONG_STEPS) t.ok((wrong.get(w) ?? 0) > 50, `wrong step ${w}: ${wrong.get(w) ?? 0}`);
  for (const r of ['create_pool', 'create_buffer', 'attach', 'commit', 'get_toplevel', 'get_popup', 'get_subsurface', 'ack_configure', 'set_anchor_rect', 'destroy']) {
    t.ok(requests.has(r), `some sequence sends ${r}`);
  }
  t.ok(requests.size > 60, `${requests.size} different requests`);
});

t.test('only globals the compositor advertised are bound', async (t) => {
  const seq = grammarSequence(7, new Map([['wl_compositor', 4], ['wl_shm', 1]]), 10);
  t.same([...new Set(seq.steps.filter((s) => 'bind' in s).map((s) => (s as { bind: string }).bind))].sort(), ['wl_compositor', 'wl_shm']);
});
