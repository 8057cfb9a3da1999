// Converts one Wayland protocol XML document into a validated ProtocolSpec (pure: no I/O).
import type { XMLParser } from 'fast-xml-parser';
import type { ArgSpec, ArgType, EnumEntrySpec, EnumSpec, InterfaceSpec, MessageSpec, ProtocolSpec } from './types';

const ARG_TYPES: ReadonlySet<string> = new Set<ArgType>(['int', 'uint', 'fixed', 'string', 'object', 'new_id', 'array', 'fd']);
// wayland-scanner accepts allow-null only on these.
const NULLABLE_TYPES: ReadonlySet<string> = new Set<ArgType>(['string', 'object', 'new_id', 'array']);
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
// Enum entry names may start with a digit (wl_output.transform "90").
const ENTRY_NAME = /^[A-Za-z0-9_]+$/;
const ENUM_REF = /^([A-Za-z_][A-Za-z0-9_]*\.)?[A-Za-z_][A-Za-z0-9_]*$/;

// Elements that can repeat: always arrays, so one child and many children look the same.
const ARRAY_PATHS: ReadonlySet<string> = new Set([
  'protocol.interface',
  'protocol.interface.request',
  'protocol.interface.event',
  'protocol.interface.enum',
  'protocol.interface.request.arg',
  'protocol.interface.event.arg',
  'protocol.interface.enum.entry',
]);

const ATTR = '@_';

type XmlNode = Record<string, unknown>;

/** fast-xml-parser, loaded on the first document: the proxies parse XML only for --protocol. */
let xml: { lib: typeof import('fast-xml-parser'); parser: XMLParser } | undefined;

function loadXml(): NonNullable<typeof xml> {
  if (xml !== undefined) return xml;
  const lib = require('fast-xml-parser') as typeof import('fast-xml-parser');
  const parser = new lib.XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: ATTR,
    parseAttributeValue: false, // "0x10" and "1" stay strings; we convert them ourselves
    parseTagValue: false,
    ignoreDeclaration: true,
    ignorePiTags: true,
    isArray: (_name, jpath, _leaf, isAttribute) => !isAttribute && ARRAY_PATHS.has(String(jpath)),
  });
  return (xml = { lib, parser });
}

/** Parse and validate one protocol XML document; `source` names it in errors and in the result. */
export function parseProtocolXml(xmlText: string, source: string): ProtocolSpec {
  const { lib, parser } = loadXml();
  const wellFormed = lib.XMLValidator.validate(xmlText);
  if (wellFormed !== true) {
    const { msg, line, col } = wellFormed.err;
    throw new Error(`${source}:${line}:${col}: malformed XML: ${msg}`);
  }
  let doc: XmlNode;
  try {
    doc = parser.parse(xmlText) as XmlNode;
  } catch (err) {
    throw new Error(`${source}: malformed XML: ${(err as Error).message}`);
  }
  const roots = Object.keys(doc).filter((k) => !k.startsWith('#') && !k.startsWith('?') && !k.startsWith('!'));
  if (Array.isArray(doc.protocol)) throw new Error(`${source}: more than one <protocol> root element`);
  if (roots.length !== 1 || roots[0] !== 'protocol') {
    throw new Error(`${source}: root element must be <protocol>, found ${roots.map((r) => `<${r}>`).join(', ') || 'none'}`);
  }
  const protocol = asNode(doc.protocol);
  const where = `${source}: <protocol>`;
  checkChildren(protocol, ['copyright', 'description', 'interface'], where);
  const name = identifier(protocol, 'name', where);
  const interfaces = children(protocol, 'interface').map((n) => toInterface(n, `${source}: protocol ${name}`));
  if (interfaces.length === 0) throw new Error(`${source}: protocol ${name} has no <interface>`);
  noDuplicates(interfaces, `${source}: protocol ${name}`, 'interface');
  return { name, source, interfaces };
}

function toInterface(node: XmlNode, where: string): InterfaceSpec {
  checkChildren(node, ['description', 'request', 'event', 'enum'], `${where}: <interface>`);
  const name = identifier(node, 'name', `${where}: <interface>`);
  const here = `${where}: interface ${name}`;
  const version = positiveInt(node, 'version', here);
  if (version === undefined) throw new Error(`${here}: missing attribute "version"`);
  const requests = children(node, 'request').map((n) => toMessage(n, version, `${here}: <request>`));
  const events = children(node, 'event').map((n) => toMessage(n, version, `${here}: <event>`));
  const enums = children(node, 'enum').map((n) => toEnum(n, version, `${here}: <enum>`));
  noDuplicates(requests, here, 'request');
  noDuplicates(events, here, 'event');
  noDuplicates(enums, here, 'enum');
  return { name, version, requests, events, enums };
}

function toMessage(node: XmlNode, version: number, where: string): MessageSpec {
  checkChildren(node, ['description', 'arg'], where);
  const name = identifier(node, 'name', where);
  const here = `${where} ${name}`;
  const since = sinceAttr(node, version, here) ?? 1;
  const type = attr(node, 'type');
  if (type !== undefined && type !== 'destructor') throw new Error(`${here}: unknown message type "${type}" (only "destructor" exists)`);
  const args = children(node, 'arg').map((n) => toArg(n, `${here}: <arg>`));
  noDuplicates(args, here, 'arg');
  return type === 'destructor' ? { name, since, destructor: true, args } : { name, since, args };
}

function toArg(node: XmlNode, where: string): ArgSpec {
  checkChildren(node, ['description'], where);
  const name = identifier(node, 'name', where);
  const here = `${where} ${name}`;
  const type = attr(node, 'type');
  if (type === undefined) throw new Error(`${here}: missing attribute "type"`);
  if (!ARG_TYPES.has(type)) throw new Error(`${here}: unknown arg type "${type}"`);
  const arg: ArgSpec = { name, type: type as ArgType };
  const iface = attr(node, 'interface');
  if (iface !== undefined) {
    if (type !== 'object' && type !== 'new_id') throw new Error(`${here}: "interface" is only allowed on object and new_id args, not ${type}`);
    if (!IDENTIFIER.test(iface)) throw new Error(`${here}: bad interface name "${iface}"`);
    arg.interface = iface;
  }
  if (bool(node, 'allow-null', here)) {
    if (!NULLABLE_TYPES.has(type)) throw new Error(`${here}: allow-null is only allowed on string, object, new_id and array args, not ${type}`);
    arg.nullable = true;
  }
  const enumRef = attr(node, 'enum');
  if (enumRef !== undefined) {
    if (type !== 'int' && type !== 'uint') throw new Error(`${here}: "enum" is only allowed on int and uint args, not ${type}`);
    if (!ENUM_REF.test(enumRef)) throw new Error(`${here}: bad enum reference "${enumRef}"`);
    arg.enum = enumRef;
  }
  return arg;
}

function toEnum(node: XmlNode, version: number, where: string): EnumSpec {
  checkChildren(node, ['description', 'entry'], where);
  const name = identifier(node, 'name', where);
  const here = `${where} ${name}`;
  const since = sinceAttr(node, version, here);
  const bitfield = bool(node, 'bitfield', here);
  const entries = children(node, 'entry').map((n) => toEntry(n, version, `${here}: <entry>`));
  noDuplicates(entries, here, 'entry');
  // Optional keys only when set, so specs compare equal to their JSON round trip.
  return { name, ...(since !== undefined && { since }), ...(bitfield && { bitfield }), entries };
}

function toEntry(node: XmlNode, version: number, where: string): EnumEntrySpec {
  checkChildren(node, ['description'], where);
  const name = attr(node, 'name');
  if (name === undefined) throw new Error(`${where}: missing attribute "name"`);
  if (!ENTRY_NAME.test(name)) throw new Error(`${where}: bad name "${name}"`);
  const here = `${where} ${name}`;
  const text = attr(node, 'value');
  if (text === undefined) throw new Error(`${here}: missing attribute "value"`);
  const entry: EnumEntrySpec = { name, value: uint32(text, here) };
  const since = sinceAttr(node, version, here);
  if (since !== undefined) entry.since = since;
  return entry;
}

function asNode(value: unknown): XmlNode {
  // An element with neither attributes nor children parses as "".
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as XmlNode) : {};
}

function children(node: XmlNode, tag: string): XmlNode[] {
  const value = node[tag];
  return value === undefined ? [] : (value as unknown[]).map(asNode);
}

/** A misspelt <arg> would silently change a signature (and the fd count), so unknown elements are errors. */
function checkChildren(node: XmlNode, allowed: string[], where: string): void {
  for (const key of Object.keys(node)) {
    if (key.startsWith(ATTR) || key === '#text') continue;
    if (!allowed.includes(key)) throw new Error(`${where}: unexpected element <${key}>`);
  }
}

function attr(node: XmlNode, name: string): string | undefined {
  const value = node[ATTR + name];
  return value === undefined ? undefined : String(value);
}

function identifier(node: XmlNode, name: string, where: string): string {
  const value = attr(node, name);
  if (value === undefined || value === '') throw new Error(`${where}: missing attribute "${name}"`);
  if (!IDENTIFIER.test(value)) throw new Error(`${where}: bad ${name} "${value}"`);
  return value;
}

function positiveInt(node: XmlNode, name: string, where: string): number | undefined {
  const text = attr(node, name);
  if (text === undefined) return undefined;
  const value = /^[0-9]+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value) || value < 1 || value > 0xffffffff) {
    throw new Error(`${where}: ${name} must be a positive integer, got "${text}"`);
  }
  return value;
}

function sinceAttr(node: XmlNode, version: number, where: string): number | undefined {
  const since = positiveInt(node, 'since', where);
  if (since !== undefined && since > version) throw new Error(`${where}: since ${since} is above the interface version ${version}`);
  return since;
}

function bool(node: XmlNode, name: string, where: string): boolean {
  const text = attr(node, name);
  if (text === undefined || text === 'false') return false;
  if (text === 'true') return true;
  throw new Error(`${where}: ${name} must be "true" or "false", got "${text}"`);
}

function uint32(text: string, where: string): number {
  const value = /^0[xX][0-9a-fA-F]+$/.test(text) || /^[0-9]+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value) || value > 0xffffffff) {
    throw new Error(`${where}: value must be an unsigned 32-bit decimal or 0x hex number, got "${text}"`);
  }
  return value;
}

function noDuplicates(items: { name: string }[], where: string, what: string): void {
  const seen = new Set<string>();
  for (const { name } of items) {
    if (seen.has(name)) throw new Error(`${where}: duplicate ${what} "${name}"`);
    seen.add(name);
  }
}
