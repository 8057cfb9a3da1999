// The core wayland.xml checks and the ceilings through the pair to weston: a refused or over-ceiling client is ended with a clear error, the others go on.
import t, { type Test } from 'tap';
import { checkFdLeaks } from '../helpers/fd-leak';
import { westonPairForFile } from '../helpers/proxy-pair';
import { RawClient } from '../helpers/raw-client';
import { buildTestClients, startPatternClient, type TestClients } from '../../harness/test-clients';

checkFdLeaks(t);

const fixture = westonPairForFile(t);
let clients: TestClients;
t.before(async () => {
  clients = await buildTestClients();
});

function rawClient(t: Test): RawClient {
  const c = new RawClient(fixture.pair.socketPath);
  t.teardown(() => c.close());
  return c;
}

/** The wl_display.error the client got: the interface of the object, the code and the text. */
function errorOf(c: RawClient): { iface: string | undefined; code: number; text: string } | undefined {
  const e = c.error();
  if (e === undefined) return undefined;
  const [objectId, code, text] = e.args as [number, number, string];
  return { iface: objectId === 1 ? 'wl_display' : c.objects.get(objectId)?.iface.name, code, text };
}

t.test('one ceiling ends only the client that reaches it', async (t) => {
  const bystander = await startPatternClient(clients, fixture.pair, { width: 32, height: 32 });
  const c = rawClient(t);
  const reg = await c.getRegistry();
  const compositor = c.bind(reg, 'wl_compositor', 4);
  const region = c.send(compositor, 'create_region', [0]);
  c.batch(() => {
    for (let i = 0; i < 1100; i++) c.send(region, 'add', [i, 0, 1, 1]);
  });
  t.ok(await c.until(() => c.error() !== undefined), 'the client gets wl_display.error');
  t.match(errorOf(c)?.text, /wl_region#\d+\.add gives it 1025 rectangles, more than 1024 \(the regionRectangles ceiling\)/);
  t.ok(fixture.pair.logs.some((l) => /limit reached, client ended: wl_region#\d+\.add gives it 1025 rectangles/.test(l)), 'the host logged why');
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.equal(bystander.process.proc.exitCode, null, 'the other client runs on');
  const other = rawClient(t);
  const reg2 = await other.getRegistry();
  const comp2 = other.bind(reg2, 'wl_compositor', 4);
  const region2 = other.send(comp2, 'create_region', [0]);
  for (let i = 0; i < 1000; i++) other.send(region2, 'add', [i, 0, 1, 1]);
  await other.roundtrip();
  t.equal(other.error(), undefined, 'a new client with 1000 rectangles on a region goes on');
  await bystander.stop();
});

t.test('wl_surface.set_buffer_scale 0 is posted as weston would: invalid_scale on the surface', async (t) => {
  const c = rawClient(t);
  const reg = await c.getRegistry();
  const surface = c.send(c.bind(reg, 'wl_compositor', 4), 'create_surface', [0]);
  c.send(surface, 'set_buffer_scale', [0]);
  t.ok(await c.until(() => c.error() !== undefined));
  const e = errorOf(c);
  t.equal(e?.iface, 'wl_surface');
  t.equal(e?.code, 0, 'wl_surface.invalid_scale is 0');
  t.match(e?.text, /scale 0 is not positive \(wl_surface\.invalid_scale\)/);
});

t.test('a request to a destroyed object, and one too new for its version, are wl_display errors', async (t) => {
  const a = rawClient(t);
  const regA = await a.getRegistry();
  const region = a.send(a.bind(regA, 'wl_compositor', 4), 'create_region', [0]);
  a.send(region, 'destroy', []);
  a.send(region, 'add', [0, 0, 1, 1]);
  t.ok(await a.until(() => a.error() !== undefined));
  t.same([errorOf(a)?.iface, errorOf(a)?.code], ['wl_display', 0], `invalid_object on wl_display: ${errorOf(a)?.text}`);
  const b = rawClient(t);
  const regB = await b.getRegistry();
  const surface = b.send(b.bind(regB, 'wl_compositor', 1), 'create_surface', [0]);
  b.send(surface, 'damage_buffer', [0, 0, 1, 1]);
  t.ok(await b.until(() => b.error() !== undefined));
  t.same([errorOf(b)?.iface, errorOf(b)?.code], ['wl_display', 1], `invalid_method: ${errorOf(b)?.text}`);
});

t.test('damage past INT32_MAX and empty rectangles reach weston clamped or not at all; the client goes on', async (t) => {
  const c = rawClient(t);
  const reg = await c.getRegistry();
  const compositor = c.bind(reg, 'wl_compositor', 4);
  const surface = c.send(compositor, 'create_surface', [0]);
  const region = c.send(compositor, 'create_region', [0]);
  c.send(surface, 'damage', [100, 100, 0x7fffffff, 0x7fffffff]);
  c.send(surface, 'damage_buffer', [5, 5, 0x7fffffff, -3]);
  c.send(region, 'add', [10, 10, -5, 0x7fffffff]);
  c.send(region, 'subtract', [0x7ffffff0, 0, 100, 100]);
  c.send(surface, 'set_input_region', [region]);
  c.send(surface, 'commit', []);
  await c.roundtrip();
  t.equal(c.error(), undefined, 'no error: weston took the clamped rectangles, and the client is served on');
  // sent as they came, each of these makes weston's pixman print "*** BUG *** ... Invalid rectangle passed"
  t.notMatch(fixture.weston.log(), /Invalid rectangle passed/, 'pixman in weston saw no invalid rectangle');
});
