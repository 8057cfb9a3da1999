// Every sequence of the compositor-crash corpus, replayed through both proxies: weston and sway survive each one.
import t from 'tap';
import { checkFdLeaks } from '../helpers/fd-leak';
import { startSway, startWeston, type Compositor } from '../../harness/compositors';
import { PROBE_MS, Skip, describeStep, replay } from '../helpers/crash-replay';
import { sleep, waylandAnswers } from '../../harness/processes';
import { startProxyPair } from '../helpers/proxy-pair';
import { waylandInfo } from '../../harness/test-clients';
import { waitFor } from '../helpers/wait';
import { CRASH_SEQUENCES } from '../fuzz/crash-sequences';

checkFdLeaks(t);

/** The sequences that crashed a compositor when it was sent directly and that the host refuses (docs/compositor-crashes.md). */
const CRASHED_DIRECTLY: Record<'weston' | 'sway', string[]> = {
  weston: ['sub-parent-destroyed-place-above', 'sub-parent-destroyed-place-below-parent', 'sub-nested-middle-destroyed',
    'role-xdg-surface-then-subsurface', 'role-xdg-surface-then-subsurface-commit', 'xdg-surface-destroyed-before-toplevel',
    'xdg-surface-request-after-role-destroyed', 'popup-parent-role-destroyed', 'wl-surface-destroyed-then-set-title',
    'wl-surface-destroyed-then-geometry', 'popup-on-parent-without-wl-surface'],
  sway: ['sub-parent-destroyed-place-above', 'sub-parent-destroyed-place-below-parent', 'sub-nested-middle-destroyed', 'wl-surface-destroyed-then-set-title',
    'decoration-for-inert-toplevel'],
};

for (const kind of ['weston', 'sway'] as const) {
  t.test(`${kind}: the crash corpus through the proxy pair`, async (t) => {
    const compositor: Compositor = kind === 'weston' ? await startWeston({ width: 640, height: 480 }) : await startSway({ width: 640, height: 480 });
    const pair = await startProxyPair({ compositorPath: compositor.socketPath });
    t.teardown(async () => {
      await pair.stop();
      await compositor.stop();
    });
    const known = new Set(CRASH_SEQUENCES.map((s) => s.name));
    t.same(CRASHED_DIRECTLY[kind].filter((n) => !known.has(n)), [], 'the corpus holds every sequence that crashed it');
    const endings: Record<string, number> = {};
    // defused, not refused: the host detaches the orphaned sub-surface before sway sees it (host-proxy/model/orphan-subsurfaces.ts)
    if (kind === 'sway') t.ok(known.has('idle-inhibitor-on-orphaned-subsurface'), 'the corpus holds the sway crash the fuzzer found');
    for (const seq of CRASH_SEQUENCES) {
      let ending: string;
      try {
        const { client, stoppedAt } = await replay(pair.socketPath, seq, false);
        const error = client.error();
        ending = error === undefined ? (client.closed ? 'closed' : 'accepted') : `error at ${describeStep(seq.steps[stoppedAt - 1])}`;
        client.close();
      } catch (e) {
        if (!(e instanceof Skip)) throw e;
        ending = 'skipped';
      }
      endings[ending.split(' ')[0]] = (endings[ending.split(' ')[0]] ?? 0) + 1;
      await sleep(20); // a repaint
      const status = compositor.exitStatus();
      if (status !== undefined || !(await waylandAnswers(compositor.socketPath, PROBE_MS))) {
        t.fail(`${seq.name}: ${kind} ${status === undefined ? 'stopped answering' : `exited (${status})`} after it (${ending}); ${compositor.log().slice(-300)}`);
        return;
      }
      if (CRASHED_DIRECTLY[kind].includes(seq.name)) t.match(ending, /^error/, `${seq.name}: refused (${ending})`);
    }
    t.pass(`${kind} survived all ${CRASH_SEQUENCES.length} sequences: ${Object.entries(endings).map(([k, n]) => `${k} ${n}`).join(', ')}`);
    t.ok(await waitFor(() => pair.host.clientCount === 0 && pair.guest.clientCount === 0, 5000), 'every client gone on both sides');
    t.ok((await waylandInfo(pair)).some((g) => g.interface === 'wl_compositor'), 'a real client is served after them');
  });
}

for (const kind of ['weston', 'sway'] as const) {
  t.test(`${kind}: a popup whose toplevel goes first is dismissed by the host, and its id comes back to the guest`, async (t) => {
    const compositor: Compositor = kind === 'weston' ? await startWeston({ width: 640, height: 480 }) : await startSway({ width: 640, height: 480 });
    const pair = await startProxyPair({ compositorPath: compositor.socketPath });
    t.teardown(async () => {
      await pair.stop();
      await compositor.stop();
    });
    const seq = CRASH_SEQUENCES.find((s) => s.name === 'popup-parent-destroyed-then-disconnect')!;
    // the toplevel, its popup p, and the toplevel's xdg_toplevel and xdg_surface destroyed
    const { client: c, ids } = await replay(pair.socketPath, seq, false);
    t.teardown(() => c.close());
    t.equal(c.error(), undefined, 'no error');
    const popupId = ids.get('p.popup')!;
    t.ok(c.events.some((e) => e.objectId === popupId && e.name === 'popup_done'), 'the guest got popup_done');
    c.send(ids.get('p.xs')!, 'set_window_geometry', [0, 0, 8, 8]); // weston freed this xdg_surface's state with the popup: the host drops it
    c.send(popupId, 'destroy', []);
    c.send(ids.get('p.xs')!, 'destroy', []);
    await c.roundtrip();
    t.ok(c.events.some((e) => e.name === 'delete_id' && e.args[0] === popupId), `the guest got delete_id(${popupId}) after destroying it`);
    t.equal(c.events.filter((e) => e.objectId === popupId && e.name === 'popup_done').length, 1, 'popup_done once');
    c.reuseId(popupId);
    const reused = c.send(ids.get('comp')!, 'create_surface', [0]);
    c.send(reused, 'commit', []);
    await c.roundtrip();
    t.equal(reused, popupId, 'a new wl_surface with the popup\'s id');
    t.equal(c.error(), undefined, 'is served');
    t.ok(c.events.some((e) => e.name === 'delete_id' && e.args[0] === ids.get('p.xs')), 'the popup\'s xdg_surface was destroyed by the compositor as usual');
    t.equal(compositor.exitStatus(), undefined, `${kind} alive`);
  });
}
