// Tests protocol/message-table.ts through the registry and the object map: names, fd counts, state flags.
import t from 'tap';
import { checkFdLeaks } from '../helpers/fd-leak';
import { ObjectMap } from '../../protocol/object-map';
import { ProtocolRegistry } from '../../protocol/registry';

checkFdLeaks(t);
const registry = ProtocolRegistry.builtin();

t.test('each interface has one entry per request and event, in opcode order', (t) => {
  for (const name of registry.interfaceNames()) {
    const iface = registry.interface(name)!;
    const table = registry.table(name)!;
    t.equal(table.requests.length, iface.requests.length, `${name} requests`);
    t.equal(table.events.length, iface.events.length, `${name} events`);
    table.requests.forEach((e, i) => {
      if (e.spec !== iface.requests[i] || e.name !== `${name}.${e.spec.name}` || e.iface !== name || e.fdCount !== registry.fdCount(e.spec)) {
        t.fail(`${name} request ${i}`);
      }
    });
    table.events.forEach((e, i) => {
      if (e.spec !== iface.events[i] || e.name !== `${name}.${e.spec.name}` || e.fdCount !== registry.fdCount(e.spec)) t.fail(`${name} event ${i}`);
    });
  }
  t.equal(registry.table('nope'), undefined);
  t.end();
});

t.test('entries say which messages change the object map or carry fds', (t) => {
  const req = (iface: string, opcode: number) => registry.table(iface)!.requests[opcode];
  const ev = (iface: string, opcode: number) => registry.table(iface)!.events[opcode];
  t.match(req('wl_display', 0), { name: 'wl_display.sync', createsObjects: true, changesState: true, fdCount: 0 });
  t.match(req('wl_surface', 6), { name: 'wl_surface.commit', createsObjects: false, changesState: false });
  t.match(req('wl_surface', 0), { name: 'wl_surface.destroy', createsObjects: false, changesState: true }, 'a destructor');
  t.match(req('wl_shm', 0), { name: 'wl_shm.create_pool', createsObjects: true, fdCount: 1, changesState: true });
  t.match(ev('wl_keyboard', 0), { name: 'wl_keyboard.keymap', createsObjects: false, fdCount: 1, changesState: true }, 'carries an fd');
  t.match(ev('wl_callback', 0), { name: 'wl_callback.done', changesState: true }, 'a destructor event');
  t.match(ev('wl_display', 1), { name: 'wl_display.delete_id', changesState: false }, 'delete_id is special to the proxies, not to the table');
  t.ok(Object.isFrozen(req('wl_display', 0)) && Object.isFrozen(registry.table('wl_display')!.requests), 'entries are shared and cannot change');
  t.end();
});

t.test('the object map hands out entries with the same checks as specs', (t) => {
  const map = new ObjectMap(registry);
  t.equal(map.request(1, 1).name, 'wl_display.get_registry');
  map.applyRequest(1, map.requestSpec(1, 1), [2]);
  t.equal(map.request(2, 0).name, 'wl_registry.bind', 'new objects get their interface table');
  t.equal(map.event(2, 0).name, 'wl_registry.global');
  t.throws(() => map.request(9, 0), { code: 'UNKNOWN_OBJECT' });
  t.throws(() => map.request(1, 7), { code: 'UNKNOWN_OPCODE' });
  t.throws(() => map.event(1, 7), { code: 'UNKNOWN_OPCODE' });
  map.applyRequest(2, map.requestSpec(2, 0), [1, { interface: 'wl_seat', version: 4, id: 3 }]);
  t.throws(() => map.request(3, 3), { code: 'UNKNOWN_OPCODE' }, 'wl_seat.release needs version 5');
  t.end();
});
