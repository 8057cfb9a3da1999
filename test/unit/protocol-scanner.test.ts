// Tests protocol/xml-to-spec.ts and scripts/generate-protocol-tables.ts, including the golden check of protocol/generated/.
import { checkFdLeaks } from '../helpers/fd-leak';
import t from 'tap';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseProtocolXml } from '../../protocol/xml-to-spec';
import { defaultRoots, generateTables, GENERATED_DIR } from '../../scripts/generate-protocol-tables';

checkFdLeaks(t);

const REPO = resolve(__dirname, '..', '..', '..'); // dist/test/unit -> repo root

const protocol = (body: string, name = 'test') => `<?xml version="1.0" encoding="UTF-8"?>
<protocol name="${name}">
  <copyright>Copyright &amp; stuff</copyright>
  ${body}
</protocol>`;

const iface = (body: string, version = 3, name = 'test_thing', proto = 'test') => protocol(`<interface name="${name}" version="${version}">
  <description summary="a thing">long text</description>
  ${body}
</interface>`, proto);

t.test('golden: protocol/generated matches the system XML', (t) => {
  const roots = defaultRoots();
  const missing = [roots.waylandXml, roots.protocolsDir, ...(roots.extraXml ?? [])].filter((f) => !existsSync(f));
  if (missing.length > 0) {
    t.fail(`missing ${missing.join(', ')}: apt-get install libwayland-dev wayland-protocols plasma-wayland-protocols (or set WAYVIO_WAYLAND_XML / WAYVIO_PROTOCOLS_DIR / WAYVIO_EXTRA_XML)`);
    return t.end();
  }
  const expected = generateTables(roots);
  const dir = join(REPO, GENERATED_DIR);
  const onDisk = existsSync(dir) ? readdirSync(dir).filter((n) => n.endsWith('.json') || n === 'index.ts') : [];
  const differing: string[] = [];
  for (const [name, text] of expected) {
    const path = join(dir, name);
    if (!existsSync(path) || readFileSync(path, 'utf8') !== text) differing.push(`${GENERATED_DIR}/${name}`);
  }
  for (const name of onDisk) if (!expected.has(name)) differing.push(`${GENERATED_DIR}/${name} (stale)`);
  t.same(differing, [], `generated tables differ from the system XML; run \`npm run build && npm run generate\`: ${differing.join(', ')}`);
  t.ok(expected.has('wayland.json') && expected.has('xdg_shell.json') && expected.has('index.ts'));
  t.end();
});

t.test('every arg type, untyped new_id, allow-null, enum refs', (t) => {
  const spec = parseProtocolXml(iface(`
    <request name="all">
      <arg name="i" type="int" enum="kind"/>
      <arg name="u" type="uint" enum="wl_shm.format"/>
      <arg name="f" type="fixed"/>
      <arg name="s" type="string" allow-null="true"/>
      <arg name="o" type="object" interface="wl_surface" allow-null="true"/>
      <arg name="n" type="new_id" interface="test_thing"/>
      <arg name="a" type="array" allow-null="false"/>
      <arg name="h" type="fd"/>
    </request>
    <request name="bind">
      <arg name="name" type="uint"/>
      <arg name="id" type="new_id"/>
    </request>
    <request name="noargs"></request>`), 'fixtures/all.xml');
  t.equal(spec.name, 'test');
  t.equal(spec.source, 'fixtures/all.xml');
  t.same(spec.interfaces[0].requests[0], {
    name: 'all',
    since: 1,
    args: [
      { name: 'i', type: 'int', enum: 'kind' },
      { name: 'u', type: 'uint', enum: 'wl_shm.format' },
      { name: 'f', type: 'fixed' },
      { name: 's', type: 'string', nullable: true },
      { name: 'o', type: 'object', interface: 'wl_surface', nullable: true },
      { name: 'n', type: 'new_id', interface: 'test_thing' },
      { name: 'a', type: 'array' },
      { name: 'h', type: 'fd' },
    ],
  });
  t.strictSame(spec.interfaces[0].requests[1].args[1], { name: 'id', type: 'new_id' }, 'no interface key on untyped new_id');
  t.strictSame(spec.interfaces[0].requests[2], { name: 'noargs', since: 1, args: [] });
  t.end();
});

t.test('order = opcode, since, destructor, single elements become arrays', (t) => {
  const spec = parseProtocolXml(iface(`
    <event name="e0"/>
    <request name="r0" type="destructor"/>
    <event name="e1" since="2"><arg name="x" type="int"/></event>
    <request name="r1" since="3"/>`), 'x.xml');
  const i = spec.interfaces[0];
  t.same(i.requests.map((m) => m.name), ['r0', 'r1']);
  t.same(i.events.map((m) => m.name), ['e0', 'e1']);
  t.equal(i.requests[0].destructor, true);
  t.notOk('destructor' in i.requests[1]);
  t.same(i.requests.map((m) => m.since), [1, 3]);
  t.same(i.events[1].args, [{ name: 'x', type: 'int' }]);
  t.same(i.enums, []);
  t.end();
});

t.test('enums: hex and decimal values as uint32, bitfield, since', (t) => {
  const spec = parseProtocolXml(iface(`
    <enum name="flags" bitfield="true" since="2">
      <entry name="none" value="0"/>
      <entry name="top" value="0x1" summary="up"/>
      <entry name="high" value="0x80000000" since="3"/>
      <entry name="all" value="0xFFFFFFFF"/>
    </enum>
    <enum name="transform" bitfield="false">
      <entry name="90" value="1"/>
    </enum>`), 'x.xml');
  t.strictSame(spec.interfaces[0].enums, [
    {
      name: 'flags',
      since: 2,
      bitfield: true,
      entries: [
        { name: 'none', value: 0 },
        { name: 'top', value: 1 },
        { name: 'high', value: 0x80000000, since: 3 },
        { name: 'all', value: 0xffffffff },
      ],
    },
    { name: 'transform', entries: [{ name: '90', value: 1 }] },
  ]);
  t.end();
});

t.test('malformed XML throws a clear error', (t) => {
  const cases: Array<[string, string, RegExp]> = [
    ['not well-formed', '<protocol name="x"><interface name="a" version="1"></protocol>', /malformed XML/],
    ['empty document', '', /malformed XML|root element/],
    ['wrong root', '<interface name="a" version="1"/>', /root element must be <protocol>/],
    ['two roots', '<protocol name="x"><interface name="a" version="1"/></protocol><protocol name="y"/>', /more than one <protocol> root/],
    ['dangerous element name', protocol('<__proto__/><interface name="a" version="1"/>'), /malformed XML|unexpected element/],
    ['protocol without name', '<protocol><interface name="a" version="1"/></protocol>', /missing attribute "name"/],
    ['no interfaces', protocol(''), /has no <interface>/],
    ['interface without name', protocol('<interface version="1"/>'), /missing attribute "name"/],
    ['interface without version', protocol('<interface name="a"/>'), /missing attribute "version"/],
    ['version zero', iface('', 0), /version must be a positive integer, got "0"/],
    ['version not a number', protocol('<interface name="a" version="two"/>'), /version must be a positive integer/],
    ['version fractional', protocol('<interface name="a" version="1.5"/>'), /version must be a positive integer/],
    ['duplicate interface', protocol('<interface name="a" version="1"/><interface name="a" version="1"/>'), /duplicate interface "a"/],
    ['bad interface name', protocol('<interface name="a-b" version="1"/>'), /bad name "a-b"/],
    ['unknown arg type', iface('<request name="r"><arg name="x" type="double"/></request>'), /unknown arg type "double"/],
    ['arg without type', iface('<request name="r"><arg name="x"/></request>'), /missing attribute "type"/],
    ['arg without name', iface('<request name="r"><arg type="int"/></request>'), /missing attribute "name"/],
    ['request without name', iface('<request/>'), /missing attribute "name"/],
    ['duplicate request', iface('<request name="r"/><request name="r"/>'), /duplicate request "r"/],
    ['duplicate arg', iface('<event name="e"><arg name="x" type="int"/><arg name="x" type="int"/></event>'), /duplicate arg "x"/],
    ['since zero', iface('<request name="r" since="0"/>'), /since must be a positive integer/],
    ['since above version', iface('<request name="r" since="4"/>', 3), /since 4 is above the interface version 3/],
    ['unknown message type', iface('<request name="r" type="constructor"/>'), /unknown message type "constructor"/],
    ['allow-null on int', iface('<request name="r"><arg name="x" type="int" allow-null="true"/></request>'), /allow-null is only allowed/],
    ['allow-null not boolean', iface('<request name="r"><arg name="x" type="string" allow-null="yes"/></request>'), /allow-null must be "true" or "false"/],
    ['interface on uint', iface('<request name="r"><arg name="x" type="uint" interface="wl_surface"/></request>'), /"interface" is only allowed/],
    ['enum on string', iface('<request name="r"><arg name="x" type="string" enum="e"/></request>'), /"enum" is only allowed/],
    ['misspelt arg element', iface('<request name="r"><agr name="x" type="int"/></request>'), /unexpected element <agr>/],
    ['entry without value', iface('<enum name="e"><entry name="a"/></enum>'), /missing attribute "value"/],
    ['negative entry value', iface('<enum name="e"><entry name="a" value="-1"/></enum>'), /unsigned 32-bit/],
    ['entry value above 32 bits', iface('<enum name="e"><entry name="a" value="0x100000000"/></enum>'), /unsigned 32-bit/],
    ['entry value garbage', iface('<enum name="e"><entry name="a" value="1e3"/></enum>'), /unsigned 32-bit/],
    ['bitfield not boolean', iface('<enum name="e" bitfield="1"><entry name="a" value="1"/></enum>'), /bitfield must be "true" or "false"/],
    ['duplicate entry', iface('<enum name="e"><entry name="a" value="1"/><entry name="a" value="2"/></enum>'), /duplicate entry "a"/],
  ];
  for (const [what, xml, message] of cases) {
    t.throws(() => parseProtocolXml(xml, 'bad.xml'), message, what);
  }
  t.throws(() => parseProtocolXml(iface('<request name="r"><arg name="x" type="double"/></request>'), 'bad.xml'), /^bad\.xml: protocol test: interface test_thing: <request> r: <arg> x: unknown arg type "double"$/, 'errors name the source');
  t.end();
});

t.test('generateTables on a fixture tree: order, sources, shadowing', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'wayvio-scan-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const write = (rel: string, text: string) => {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), text);
  };
  write('wayland.xml', iface('<request name="r"/>', 1, 'wl_core', 'wayland'));
  write('p/unstable/b/b.xml', iface('<request name="other"/>', 1, 'shared', 'proto_b'));
  write('p/stable/a/a.xml', iface('<request name="r"/>', 1, 'shared', 'proto_a'));
  write('p/staging/c/c.xml', protocol('<interface name="wl_core" version="1"><request name="r"/></interface>', 'proto_c'));
  write('p/stable/a/notes.txt', 'not xml');
  const files = generateTables({ waylandXml: join(root, 'wayland.xml'), protocolsDir: join(root, 'p') });
  t.same([...files.keys()].sort(), ['index.ts', 'proto_a.json', 'proto_b.json', 'proto_c.json', 'wayland.json'].sort());
  const a = JSON.parse(files.get('proto_a.json')!);
  t.match(a['//'], /generated by scripts\/generate-protocol-tables\.ts from stable\/a\/a\.xml/);
  t.equal(a.source, 'stable/a/a.xml');
  t.ok(files.get('proto_a.json')!.endsWith('}\n'));
  const index = files.get('index.ts')!;
  t.match(index, /do not edit/);
  // proto_c repeats wl_core identically: kept. proto_b redefines "shared": shadowed.
  const all = index.slice(index.indexOf('ALL_PROTOCOLS'), index.indexOf('SHADOWED_PROTOCOLS'));
  t.ok(all.indexOf('p_wayland') < all.indexOf('p_proto_a') && all.indexOf('p_proto_a') < all.indexOf('p_proto_c'), 'wayland, stable, staging');
  t.notMatch(all, /p_proto_b/);
  t.match(index.slice(index.indexOf('SHADOWED_PROTOCOLS')), /spec\(p_proto_b\), \/\/ redefines shared \(from stable\/a\/a\.xml\)/);

  write('p/unstable/b/b.xml', iface('<request name="r"/>', 1, 'other', 'proto_a'));
  t.throws(() => generateTables({ waylandXml: join(root, 'wayland.xml'), protocolsDir: join(root, 'p') }), /protocol name proto_a is used by two files/);
  t.end();
});
