// A request the host refuses reaches the guest client as the wl_display.error a conforming compositor would post.
import t from 'tap';
import { checkFdLeaks } from '../helpers/fd-leak';
import { replay } from '../helpers/crash-replay';
import { westonPairForFile } from '../helpers/proxy-pair';
import { CRASH_SEQUENCES } from '../fuzz/crash-sequences';

checkFdLeaks(t);

const fixture = westonPairForFile(t);

/** Sequence → the object's interface and the code the XML gives the error (docs/compositor-crashes.md). */
const EXPECTED: [string, string, number, RegExp][] = [
  ['sub-parent-destroyed-place-above', 'wl_subsurface', 0, /no parent or siblings \(wl_subsurface\.bad_surface\)/],
  ['role-xdg-surface-then-subsurface', 'wl_subcompositor', 0, /has an xdg_surface \(wl_subcompositor\.bad_surface\)/],
  ['xdg-surface-destroyed-before-toplevel', 'xdg_surface', 6, /\(xdg_surface\.defunct_role_object\)/],
  ['xdg-surface-request-after-role-destroyed', 'xdg_surface', 1, /\(xdg_surface\.not_constructed\)/],
  ['xdg-wm-base-destroyed-with-surfaces', 'xdg_wm_base', 1, /\(xdg_wm_base\.defunct_surfaces\)/],
  ['role-subsurface-then-xdg-surface', 'xdg_wm_base', 0, /has the wl_subsurface role, not xdg_surface \(xdg_wm_base\.role\)/],
];

for (const [name, iface, code, message] of EXPECTED) {
  t.test(`${name}: ${iface} error ${code}`, async (t) => {
    const seq = CRASH_SEQUENCES.find((s) => s.name === name);
    if (seq === undefined) throw new Error(`no sequence ${name}`);
    const { client } = await replay(fixture.pair.socketPath, seq, false);
    t.teardown(() => client.close());
    const error = client.error();
    t.ok(error !== undefined, 'the client got wl_display.error');
    const [objectId, gotCode, text] = (error?.args ?? []) as [number, number, string];
    t.equal(client.objects.get(objectId)?.iface.name, iface, `on the ${iface} the request went to (#${objectId})`);
    t.equal(gotCode, code, 'with the XML error code');
    t.match(text, message, text);
  });
}
