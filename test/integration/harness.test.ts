import { checkFdLeaks } from '../helpers/fd-leak';
// The harness itself, with no proxy in between: the baselines that the proxy tests compare against.
import t, { type Test } from 'tap';
import { startSway, startWeston, type Compositor } from '../../harness/compositors';
import { describeSearch, findPattern, patternPixel, screenshot } from '../helpers/screenshot';
import { buildTestClients, runBench, startPatternClient, waylandInfo, type TestClients } from '../../harness/test-clients';

checkFdLeaks(t);

let clients: TestClients;

t.before(async () => {
  clients = await buildTestClients();
});

async function withCompositor(tt: Test, start: () => Promise<Compositor>): Promise<Compositor> {
  const c = await start();
  tt.teardown(() => c.stop());
  return c;
}

t.test('weston: the pattern client directly, every pixel on screen', async (t) => {
  const weston = await withCompositor(t, () => startWeston({ width: 640, height: 480 }));
  const w = 301;
  const h = 203; // odd sizes: stride and rows must not line up by luck
  const client = await startPatternClient(clients, weston, { width: w, height: h, seconds: 60 });
  t.teardown(() => client.stop());

  const shot = await screenshot(weston);
  t.equal(shot.width, 640, 'screenshot width is the output width');
  t.equal(shot.height, 480, 'screenshot height is the output height');
  const found = findPattern(shot, w, h, patternPixel);
  t.ok(found.position, `pattern found exactly: ${describeSearch(found)}`);

  // the search must not pass on a picture without the window
  const blank = { ...shot, rgba: Buffer.alloc(shot.rgba.length, 0x40) };
  t.equal(findPattern(blank, w, h).position, null, 'no pattern in a blank image');
});

t.test('weston: globals through wayland-info', async (t) => {
  const weston = await withCompositor(t, () => startWeston());
  const names = new Set((await waylandInfo(weston)).map((g) => g.interface));
  for (const iface of ['wl_compositor', 'wl_shm', 'xdg_wm_base', 'wl_output', 'wl_data_device_manager', 'weston_screenshooter']) {
    t.ok(names.has(iface), `weston advertises ${iface}`);
  }
});

t.test('sway: globals through wayland-info', async (t) => {
  const sway = await withCompositor(t, () => startSway());
  const globals = await waylandInfo(sway);
  const names = new Set(globals.map((g) => g.interface));
  for (const iface of ['wl_compositor', 'wl_shm', 'xdg_wm_base', 'wl_seat', 'wl_data_device_manager', 'zwp_primary_selection_device_manager_v1']) {
    t.ok(names.has(iface), `sway advertises ${iface}`);
  }
  t.ok(names.has('zwlr_data_control_manager_v1'), 'sway advertises zwlr_data_control_manager_v1 (wl-clipboard uses it)');
});

t.test('sway: bench client, 100 frames with sync round trips', async (t) => {
  const sway = await withCompositor(t, () => startSway());
  const frames = await runBench(clients, sway, { width: 320, height: 240, frames: 100, damage: 'rows:25' });
  t.equal(frames.frames, 100, 'frames');
  t.equal(frames.mode, 'frames', 'mode');
  t.ok(frames.seconds > 0 && frames.fps > 0, `${frames.fps.toFixed(0)} frames/s`);
  t.ok(frames.latency_ms.median > 0 && frames.latency_ms.p99 >= frames.latency_ms.median, 'latency median <= p99');
  t.equal(frames.damage_bytes, 320 * 60 * 4, 'rows:25 damages a quarter of the rows');

  const trips = await runBench(clients, sway, { roundtrips: 200 });
  t.equal(trips.frames, 200, 'round trips');
  t.equal(trips.mode, 'roundtrips', 'mode');
});

t.test('the test client fails clearly without a compositor', async (t) => {
  const nowhere = { env: { XDG_RUNTIME_DIR: '/nonexistent-wayvio', WAYLAND_DISPLAY: 'wayland-none' } };
  await t.rejects(runBench(clients, nowhere, { roundtrips: 1 }), /exited 1.*cannot connect to the Wayland display wayland-none/s);
});
