// Partial damage with double buffering, checked in pixels on the host: each buffer gets every change since it was last sent.
import { closeSync, ftruncateSync, writeSync } from 'node:fs';
import t from 'tap';
import { checkFdLeaks } from '../helpers/fd-leak';
import { westonPairForFile } from '../helpers/proxy-pair';
import { RawClient } from '../helpers/raw-client';
import { describeSearch, findPattern, patternPixel, screenshot } from '../helpers/screenshot';
import { dup, memfdCreate } from '../../native/index';

checkFdLeaks(t);

const W = 160;
const H = 120;
const STRIDE = W * 4;
const fixture = westonPairForFile(t);

interface Rect { x: number; y: number; w: number; h: number }
const inside = (r: Rect, x: number, y: number): boolean => x >= r.x && x < r.x + r.w && y >= r.y && y < r.y + r.h;
const MARK = [0xff00ff00, 0xffff00ff];

/** The picture after the given rects were painted in their marks. */
function picture(changes: Rect[]): (x: number, y: number) => number {
  return (x, y) => {
    for (let i = changes.length - 1; i >= 0; i--) if (inside(changes[i], x, y)) return MARK[i % 2];
    return patternPixel(x, y);
  };
}

function paint(fd: number, base: number, pixel: (x: number, y: number) => number, area: Rect): void {
  const row = Buffer.alloc(area.w * 4);
  for (let y = area.y; y < area.y + area.h; y++) {
    for (let x = 0; x < area.w; x++) row.writeUInt32LE(pixel(area.x + x, y) >>> 0, x * 4);
    writeSync(fd, row, 0, row.byteLength, base + y * STRIDE + area.x * 4);
  }
}

t.test('narrow and wide damage on alternating buffers', async (t) => {
  const c = new RawClient(fixture.pair.socketPath);
  const { surface, shm } = await c.toplevel();

  const fd = memfdCreate('damage-test');
  ftruncateSync(fd, 2 * STRIDE * H);
  const pool = c.send(shm, 'create_pool', [0, 0, 2 * STRIDE * H], [dup(fd)]);
  const buffers = [c.send(pool, 'create_buffer', [0, 0, W, H, STRIDE, 1]), c.send(pool, 'create_buffer', [0, STRIDE * H, W, H, STRIDE, 1])];
  const whole = { x: 0, y: 0, w: W, h: H };
  const changes: Rect[] = [];
  const frame = async (i: number, damage: Rect, history: Rect[]): Promise<void> => {
    // the client repaints what changed since this buffer was last used: `history`
    for (const r of history) paint(fd, i * STRIDE * H, picture(changes), r);
    c.send(surface, 'attach', [buffers[i], 0, 0]);
    c.send(surface, 'damage_buffer', [damage.x, damage.y, damage.w, damage.h]);
    const cb = c.send(surface, 'frame', [0]);
    c.send(surface, 'commit', []);
    await c.until(() => c.events.some((e) => e.objectId === cb && e.name === 'done'));
  };
  await frame(0, whole, [whole]);
  await frame(1, whole, [whole]);
  const narrow = { x: 20, y: 10, w: 12, h: 30 };
  changes.push(narrow);
  await frame(0, narrow, [narrow]);
  const wide = { x: 0, y: 70, w: W, h: 9 };
  changes.push(wide);
  // buffer 1 last showed the frame before `narrow`: the client repaints both, but damages only `wide`
  await frame(1, wide, [narrow, wide]);
  const found = findPattern(await screenshot(fixture.weston), W, H, picture(changes));
  t.ok(found.position !== null, `the host shows both changes: ${describeSearch(found)}`);
  t.equal(c.error(), undefined, 'no protocol error');
  closeSync(fd);
  c.close();
});
