// OrphanSubsurfaces without a compositor: a parent's destroy detaches its sub-surfaces first, and the guest's objects stay usable until it destroys them.
import t from 'tap';
import { OrphanSubsurfaces } from '../../host-proxy/model/orphan-subsurfaces';
import { ProtocolRegistry } from '../../protocol/registry';
import { encodeMessage } from '../../protocol/wire-codec';
import { wholeMessages } from '../helpers/wire-messages';

const registry = ProtocolRegistry.builtin();
const SUBCOMPOSITOR = 3;
const PARENT = 10;
const CHILD = 11;
const SUB = 12;
const deleteId = registry.interface('wl_display')!.events.findIndex((e) => e.name === 'delete_id');

function deleteIdEvent(id: number): Uint8Array {
  return encodeMessage(1, deleteId, registry.interface('wl_display')!.events[deleteId], [id]).bytes;
}

function withSubsurface(): OrphanSubsurfaces {
  const o = new OrphanSubsurfaces(registry);
  t.equal(o.request('wl_subcompositor.get_subsurface', SUBCOMPOSITOR, [SUB, CHILD, PARENT]), null);
  return o;
}

t.test('the parent\'s destroy is preceded by wl_subsurface.destroy of each child, and the compositor\'s delete_id is swallowed', async (t) => {
  const o = withSubsurface();
  const out = o.request('wl_surface.destroy', PARENT, []);
  t.ok(out !== null && !out.drop, 'the parent\'s destroy goes on');
  const sent = wholeMessages(Buffer.concat(out!.before));
  t.same(sent.map((m) => [m.objectId, m.opcode]), [[SUB, 0]], 'wl_subsurface#12.destroy first');
  t.same(out!.toGuest, [], 'the guest hears nothing yet');
  t.ok(o.swallowsEvent(1, deleteId, deleteIdEvent(SUB)), 'the compositor\'s delete_id(12) is not for the guest');
  t.notOk(o.swallowsEvent(1, deleteId, deleteIdEvent(SUB)), 'only once');
  t.notOk(o.swallowsEvent(1, deleteId, deleteIdEvent(CHILD)), 'other delete_ids pass');
});

t.test('requests to the detached wl_subsurface are dropped; its destroy is answered by the host', async (t) => {
  const o = withSubsurface();
  o.request('wl_surface.destroy', PARENT, []);
  for (const name of ['set_position', 'set_sync', 'set_desync']) t.same(o.request(`wl_subsurface.${name}`, SUB, [1, 1]), { before: [], toGuest: [], drop: true, freed: [] }, name);
  const out = o.request('wl_subsurface.destroy', SUB, []);
  t.equal(out?.drop, true, 'the compositor no longer knows it');
  t.same(out?.freed, [SUB]);
  t.same(out?.toGuest, [deleteIdEvent(SUB)], 'the guest gets delete_id(12) from the host');
  t.equal(o.request('wl_subsurface.set_position', SUB, [1, 1]), null, 'the id is free again');
});

t.test('nothing changes for sub-surfaces destroyed before their parent, or for other surfaces', async (t) => {
  const o = withSubsurface();
  t.equal(o.request('wl_surface.destroy', CHILD, []), null, 'the child surface itself');
  t.equal(o.request('wl_subsurface.destroy', SUB, []), null, 'its wl_subsurface, forwarded');
  t.equal(o.request('wl_surface.destroy', PARENT, []), null, 'the parent has no sub-surfaces left');
  t.equal(o.request('wl_surface.destroy', 99, []), null);
});
