// Object tracking: ids created by requests and events, destructors, delete_id, and the errors for bad ids.
import t from 'tap';
import { checkFdLeaks } from '../helpers/fd-leak';
import { ObjectMap, SERVER_ID_START } from '../../protocol/object-map';
import { ProtocolRegistry } from '../../protocol/registry';

checkFdLeaks(t);
const registry = ProtocolRegistry.builtin();

function request(map: ObjectMap, id: number, opcode: number, args: never[]) {
  const spec = map.requestSpec(id, opcode);
  return map.applyRequest(id, spec, args);
}

t.test('a client session: registry, bind, surface, destroy, delete_id', async (t) => {
  const map = new ObjectMap(registry);
  t.equal(map.get(1)?.iface.name, 'wl_display');
  t.same(request(map, 1, 1, [2] as never[]).map((o) => o.iface.name), ['wl_registry']);
  const bound = request(map, 2, 0, [1, { interface: 'wl_compositor', version: 4, id: 3 }] as never[]);
  t.same(bound.map((o) => [o.id, o.iface.name, o.version]), [[3, 'wl_compositor', 4]]);
  const surf = request(map, 3, 0, [4] as never[]);
  t.same(surf.map((o) => [o.iface.name, o.version]), [['wl_surface', 4]], 'new objects inherit the version');
  request(map, 4, 0, [] as never[]); // wl_surface.destroy
  t.equal(map.get(4)?.zombie, true);
  t.throws(() => map.requestSpec(4, 1), { code: 'UNKNOWN_OBJECT' }, 'requests to a destroyed object are refused');
  t.throws(() => request(map, 3, 0, [4] as never[]), { code: 'BAD_NEW_ID' }, 'id not reusable before delete_id');
  map.applyEvent(1, map.eventSpec(1, 1), [4]);
  t.equal(map.get(4), undefined);
  t.same(request(map, 3, 0, [4] as never[]).map((o) => o.id), [4], 'reusable after delete_id');
});

t.test('bad ids and versions are typed errors', async (t) => {
  const map = new ObjectMap(registry);
  request(map, 1, 1, [2] as never[]);
  t.throws(() => map.requestSpec(99, 0), { code: 'UNKNOWN_OBJECT' });
  t.throws(() => map.requestSpec(1, 9), { code: 'UNKNOWN_OPCODE' });
  t.throws(() => request(map, 2, 0, [1, { interface: 'wl_nonexistent', version: 1, id: 5 }] as never[]), { code: 'UNKNOWN_INTERFACE' });
  t.throws(() => request(map, 2, 0, [1, { interface: 'wl_compositor', version: 99, id: 5 }] as never[]), { code: 'BAD_VERSION' });
  t.throws(() => request(map, 1, 1, [SERVER_ID_START + 1] as never[]), { code: 'BAD_NEW_ID' }, 'client may not use server ids');
  t.throws(() => request(map, 1, 1, [2] as never[]), { code: 'BAD_NEW_ID' }, 'id in use');
  request(map, 2, 0, [1, { interface: 'wl_seat', version: 1, id: 6 }] as never[]);
  t.throws(() => map.requestSpec(6, 3), { code: 'UNKNOWN_OPCODE' }, 'wl_seat.release needs version 5');
});

t.test('server-created objects', async (t) => {
  const map = new ObjectMap(registry);
  request(map, 1, 1, [2] as never[]);
  request(map, 2, 0, [1, { interface: 'wl_data_device_manager', version: 3, id: 3 }] as never[]);
  request(map, 2, 0, [2, { interface: 'wl_seat', version: 7, id: 4 }] as never[]);
  request(map, 3, 1, [5, 4] as never[]); // get_data_device
  const offerId = SERVER_ID_START;
  const made = map.applyEvent(5, map.eventSpec(5, 0), [offerId]);
  t.same(made.map((o) => [o.id, o.iface.name, o.version]), [[offerId, 'wl_data_offer', 3]]);
  t.throws(() => map.applyEvent(5, map.eventSpec(5, 0), [7]), { code: 'BAD_NEW_ID' }, 'server may not use client ids');
  request(map, offerId, 2, [] as never[]); // wl_data_offer.destroy
  t.equal(map.eventSpec(offerId, 0).name, 'offer', 'events of a destroyed server object still parse');
  t.same(map.applyEvent(5, map.eventSpec(5, 0), [offerId]).length, 1, 'the server may reuse its id');
});
