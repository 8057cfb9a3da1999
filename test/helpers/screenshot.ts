// What weston really shows: weston-screenshooter captures, the test client's pattern, and a search for it.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { clientEnv, type Compositor } from '../../harness/compositors';

/** An RGBA image, 4 bytes per pixel, rows top to bottom, no padding. */
export interface Image {
  width: number;
  height: number;
  rgba: Buffer;
}

/**
 * The test client's pattern as XRGB8888 (0xffRRGGBB): r = x & 255, g = y & 255, b = (x*7 + y*13) & 255.
 * Must match pattern_pixel() in harness/clients/wayvio-test-client.c.
 */
export function patternPixel(x: number, y: number): number {
  return (0xff000000 | ((x & 255) << 16) | ((y & 255) << 8) | ((x * 7 + y * 13) & 255)) >>> 0;
}

/**
 * Captures every output of a weston started with --debug (startWeston does) via weston-screenshooter, which
 * writes wayland-screenshot-*.png into its cwd (a temp dir, removed again).
 */
export async function screenshot(weston: Pick<Compositor, 'env'>, timeoutMs = 10000): Promise<Image> {
  const dir = mkdtempSync(join(tmpdir(), 'wayvio-shot-'));
  try {
    await new Promise<void>((resolve, reject) => {
      execFile('weston-screenshooter', [], { cwd: dir, env: clientEnv(weston.env), timeout: timeoutMs }, (err, _out, stderr) => {
        if (err) reject(new Error(`weston-screenshooter failed (${err.message.split('\n')[0]}): ${stderr}`));
        else resolve();
      });
    });
    const file = readdirSync(dir).find((n) => n.endsWith('.png'));
    if (!file) throw new Error('weston-screenshooter wrote no PNG (was weston started with --debug?)');
    const png = PNG.sync.read(readFileSync(join(dir, file)));
    return { width: png.width, height: png.height, rgba: png.data };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** 0xRRGGBB of the screenshot pixel at (x, y). */
export function rgbAt(image: Image, x: number, y: number): number {
  const i = (y * image.width + x) * 4;
  return ((image.rgba[i] << 16) | (image.rgba[i + 1] << 8) | image.rgba[i + 2]) >>> 0;
}

export interface PatternSearch {
  /** Top-left corner of a w×h area equal to the pattern in every pixel, or null. */
  position: { x: number; y: number } | null;
  /** Places whose first row and column start like the pattern (each was checked pixel by pixel). */
  candidates: number;
  /** The candidate with the fewest wrong pixels, for the failure message when nothing matched exactly. */
  best: { x: number; y: number; mismatches: number; firstMismatch: { x: number; y: number; want: number; got: number } | null } | null;
}

/**
 * Finds a w×h window whose pixel (x, y) is pixelFn(x, y) (compared as RGB; alpha is ignored as in XRGB) in the
 * image: the signature (first few pixels of the top row and left column) picks candidates, then every pixel
 * is verified.
 */
export function findPattern(image: Image, w: number, h: number, pixelFn: (x: number, y: number) => number = patternPixel): PatternSearch {
  const rgb = (x: number, y: number): number => pixelFn(x, y) & 0xffffff;
  const sigX = Math.min(w, 8);
  const sigY = Math.min(h, 8);
  const result: PatternSearch = { position: null, candidates: 0, best: null };
  for (let py = 0; py + h <= image.height; py++) {
    for (let px = 0; px + w <= image.width; px++) {
      if (rgbAt(image, px, py) !== rgb(0, 0)) continue;
      let sig = true;
      for (let i = 1; i < sigX && sig; i++) sig = rgbAt(image, px + i, py) === rgb(i, 0);
      for (let j = 1; j < sigY && sig; j++) sig = rgbAt(image, px, py + j) === rgb(0, j);
      if (!sig) continue;
      result.candidates++;
      let mismatches = 0;
      let firstMismatch: { x: number; y: number; want: number; got: number } | null = null;
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const got = rgbAt(image, px + x, py + y);
          const want = rgb(x, y);
          if (got !== want) {
            mismatches++;
            firstMismatch ??= { x, y, want, got };
          }
        }
      }
      if (result.best === null || mismatches < result.best.mismatches) {
        result.best = { x: px, y: py, mismatches, firstMismatch };
      }
      if (mismatches === 0) {
        result.position = { x: px, y: py };
        return result;
      }
    }
  }
  return result;
}

/** One line for a failed search: where the best candidate was and what differed. */
export function describeSearch(s: PatternSearch): string {
  if (s.position) return `found at ${s.position.x},${s.position.y}`;
  if (!s.best) return 'no place in the screenshot starts like the pattern';
  const m = s.best.firstMismatch;
  const hex = (v: number): string => '#' + v.toString(16).padStart(6, '0');
  return (
    `not found; best of ${s.candidates} candidates at ${s.best.x},${s.best.y} has ${s.best.mismatches} wrong pixels` +
    (m ? `, first at +${m.x},+${m.y}: want ${hex(m.want)} got ${hex(m.got)}` : '')
  );
}
