// Tests protocol/registry.ts: builtin tables, lookups, fd counts, conflicts, run-time XML.
import { checkFdLeaks } from '../helpers/fd-leak';
import t from 'tap';
import { ProtocolRegistry } from '../../protocol/registry';
import { ALL_PROTOCOLS, SHADOWED_PROTOCOLS } from '../../protocol/generated';
import type { ProtocolSpec } from '../../protocol/types';

checkFdLeaks(t);

const custom = (version = 2, arg = 'fd') => `<protocol name="custom_v1">
  <interface name="custom_manager_v1" version="${version}">
    <request name="destroy" type="destructor"/>
    <request name="send"><arg name="data" type="${arg}"/><arg name="more" type="fd"/></request>
    <event name="done" since="2"/>
  </interface>
</protocol>`;

t.test('builtin holds the core and xdg-shell interfaces at the versions of the XML', (t) => {
  const reg = ProtocolRegistry.builtin();
  const versions: Record<string, number> = { wl_display: 1, wl_registry: 1, wl_compositor: 5, wl_surface: 5, wl_shm: 1, wl_seat: 8, xdg_wm_base: 5 };
  for (const [name, version] of Object.entries(versions)) {
    t.ok(reg.has(name), `has ${name}`);
    t.equal(reg.interface(name)?.version, version, `${name} version`);
  }
  t.notOk(reg.has('xdg_shell'), 'xdg-shell-unstable-v5 is shadowed, so its global stays hidden');
  t.equal(reg.interface('nope'), undefined);
  t.equal(reg.interfaceNames().length, ALL_PROTOCOLS.reduce((n, p) => n + p.interfaces.length, 0));
  t.ok(ProtocolRegistry.builtin() !== reg, 'each builtin() is a fresh registry');
  t.end();
});

t.test('requests and events by opcode', (t) => {
  const reg = ProtocolRegistry.builtin();
  t.equal(reg.request('wl_display', 0)?.name, 'sync');
  t.equal(reg.request('wl_display', 1)?.name, 'get_registry');
  t.equal(reg.event('wl_display', 0)?.name, 'error');
  const bind = reg.request('wl_registry', 0)!;
  t.equal(bind.name, 'bind');
  t.strictSame(bind.args[1], { name: 'id', type: 'new_id' }, 'bind has an untyped new_id');
  t.equal(reg.request('wl_surface', 0)?.destructor, true);
  t.equal(reg.request('wl_surface', 8)?.name, 'set_buffer_scale');
  t.equal(reg.request('wl_surface', 8)?.since, 3);
  t.equal(reg.request('wl_surface', 99), undefined);
  t.equal(reg.request('wl_surface', -1), undefined);
  t.equal(reg.request('nope', 0), undefined);
  t.equal(reg.event('xdg_wm_base', 0)?.name, 'ping');
  t.end();
});

t.test('fd counts', (t) => {
  const reg = ProtocolRegistry.builtin();
  t.equal(reg.fdCount(reg.request('wl_shm', 0)!), 1, 'wl_shm.create_pool');
  t.equal(reg.fdCount(reg.event('wl_keyboard', 0)!), 1, 'wl_keyboard.keymap');
  t.equal(reg.event('wl_keyboard', 0)!.name, 'keymap');
  t.equal(reg.fdCount(reg.request('wl_data_offer', 1)!), 1, 'wl_data_offer.receive');
  t.equal(reg.fdCount(reg.request('wl_surface', 1)!), 0, 'wl_surface.attach');
  t.throws(() => reg.fdCount({ name: 'x', since: 1, args: [] }), /does not come from this registry/);
  t.end();
});

t.test('tables are frozen', (t) => {
  const reg = ProtocolRegistry.builtin();
  const attach = reg.request('wl_surface', 1)!;
  t.throws(() => {
    (attach.args as unknown[]).push({ name: 'h', type: 'fd' });
  }, TypeError);
  t.end();
});

t.test('conflicts: a different redefinition throws, an identical one is ignored', (t) => {
  const reg = ProtocolRegistry.builtin();
  t.throws(() => reg.add(SHADOWED_PROTOCOLS.find((p) => p.name === 'xdg_shell_unstable_v5')!), /interface xdg_surface conflicts with the one from stable\/xdg-shell\/xdg-shell\.xml/);
  t.notOk(reg.has('xdg_shell'), 'a failed add adds nothing');
  const wayland = ALL_PROTOCOLS.find((p) => p.name === 'wayland')!;
  const copy = JSON.parse(JSON.stringify(wayland)) as ProtocolSpec;
  t.doesNotThrow(() => reg.add({ ...copy, source: 'copy.xml' }));
  t.equal(reg.interface('wl_surface'), wayland.interfaces.find((i) => i.name === 'wl_surface'), 'the first definition stays');
  copy.interfaces.find((i) => i.name === 'wl_output')!.version = 99;
  t.throws(() => reg.add({ ...copy, source: 'changed.xml' }), /changed\.xml: interface wl_output conflicts with the one from wayland\.xml/);
  const twice: ProtocolSpec = { name: 'twice', source: 'twice.xml', interfaces: [copy.interfaces[0], copy.interfaces[0]] };
  t.throws(() => new ProtocolRegistry().add(twice), /interface wl_display is defined twice/);
  t.end();
});

t.test('loadXmlText adds a custom interface at run time', (t) => {
  const reg = ProtocolRegistry.builtin();
  t.notOk(reg.has('custom_manager_v1'));
  const spec = reg.loadXmlText(custom(), 'extra/custom.xml');
  t.equal(spec.source, 'extra/custom.xml');
  t.equal(reg.interface('custom_manager_v1')?.version, 2);
  t.equal(reg.request('custom_manager_v1', 0)?.destructor, true);
  t.equal(reg.fdCount(reg.request('custom_manager_v1', 1)!), 2);
  t.equal(reg.event('custom_manager_v1', 0)?.since, 2);
  t.doesNotThrow(() => reg.loadXmlText(custom(), 'again.xml'), 'identical again is fine');
  t.throws(() => reg.loadXmlText(custom(3), 'v3.xml'), /v3\.xml: interface custom_manager_v1 conflicts with the one from extra\/custom\.xml/);
  t.throws(() => reg.loadXmlText(custom(2, 'float'), 'bad.xml'), /unknown arg type "float"/);
  t.equal(reg.fdCount(reg.request('custom_manager_v1', 1)!), 2, 'failed loads change nothing');
  t.end();
});
