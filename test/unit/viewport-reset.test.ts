// ViewportReset without a compositor: a viewport's destroy is preceded by a whole source and an unset destination, while its surface lives.
import t from 'tap';
import { ViewportReset } from '../../host-proxy/model/viewport-reset';
import { ProtocolRegistry } from '../../protocol/registry';
import { decodeMessage, wholeMessages } from '../helpers/wire-messages';

const registry = ProtocolRegistry.builtin();
const viewport = registry.interface('wp_viewport')!;

t.test('destroying a viewport of a live surface sends set_source(0, 0, 1, 1) and set_destination(-1, -1) first', async (t) => {
  const v = new ViewportReset(registry);
  t.equal(v.request('wp_viewporter.get_viewport', 5, [20, 10]), null);
  const out = v.request('wp_viewport.destroy', 20, []);
  t.equal(out?.drop, false, 'the destroy itself goes on');
  const sent = wholeMessages(Buffer.concat(out!.before)).map((m) => [m.objectId, viewport.requests[m.opcode].name, decodeMessage(m, viewport.requests[m.opcode]).args]);
  t.same(sent, [[20, 'set_source', [0, 0, 1, 1]], [20, 'set_destination', [-1, -1]]]);
  t.equal(v.request('wp_viewport.destroy', 20, []), null, 'once');
});

t.test('an inert viewport (its surface destroyed) is destroyed as it is: set_source would be no_surface', async (t) => {
  const v = new ViewportReset(registry);
  v.request('wp_viewporter.get_viewport', 5, [20, 10]);
  v.request('wl_surface.destroy', 10, []);
  t.equal(v.request('wp_viewport.destroy', 20, []), null);
});
