// Builds and runs the C client (harness/clients/wayvio-test-client.c) and wayland-info against a display.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { clientEnv, type ClientEnv } from './compositors';
import { spawnManaged, waitForLine, type Managed } from './processes';

const run = promisify(execFile);

/** Anything a client can be pointed at: a started compositor, or a proxy socket's env. */
export interface Display {
  env: ClientEnv;
}

/** The repository root: the nearest parent of this file with package.json and harness/clients (works from harness/ and dist/harness/). */
export function repoRoot(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'harness', 'clients'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`no repository root above ${__dirname}`);
    dir = up;
  }
  return dir;
}

export interface TestClients {
  /** build/clients/wayvio-test-client */
  testClient: string;
}

const XDG_SHELL_XML = '/usr/share/wayland-protocols/stable/xdg-shell/xdg-shell.xml';

/**
 * Compiles harness/clients/wayvio-test-client.c into build/clients/ unless the binary is newer than the source.
 * Builds in a temp dir and renames into place, so test files building at the same time do not collide.
 */
export async function buildTestClients(): Promise<TestClients> {
  const root = repoRoot();
  const source = join(root, 'harness', 'clients', 'wayvio-test-client.c');
  const outDir = join(root, 'build', 'clients');
  const binary = join(outDir, 'wayvio-test-client');
  if (existsSync(binary) && statSync(binary).mtimeMs >= statSync(source).mtimeMs) return { testClient: binary };
  mkdirSync(outDir, { recursive: true });
  const work = mkdtempSync(join(outDir, '.build-'));
  try {
    const header = join(work, 'xdg-shell-client-protocol.h');
    const code = join(work, 'xdg-shell-protocol.c');
    await run('wayland-scanner', ['client-header', XDG_SHELL_XML, header]);
    await run('wayland-scanner', ['private-code', XDG_SHELL_XML, code]);
    const pkg = (await run('pkg-config', ['--cflags', '--libs', 'wayland-client'])).stdout.trim().split(/\s+/).filter(Boolean);
    const tmpBinary = join(work, 'wayvio-test-client');
    try {
      await run('cc', ['-std=c11', '-O2', '-Wall', '-Wextra', '-Werror', `-I${work}`, '-o', tmpBinary, source, code, ...pkg]);
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(`building the test client failed: ${e.stderr || e.message}`);
    }
    renameSync(tmpBinary, binary);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return { testClient: binary };
}

export interface PatternClient {
  readonly process: Managed;
  stop(): Promise<void>;
}

/**
 * Starts `wayvio-test-client pattern` and resolves once it printed `ready` (the compositor has shown the first
 * frame). `extraEnv` is added to the client's environment (e.g. WAYLAND_DEBUG=1).
 */
export async function startPatternClient(
  clients: TestClients,
  display: Display,
  opts: { width: number; height: number; seconds?: number; timeoutMs?: number; extraEnv?: Record<string, string> },
): Promise<PatternClient> {
  const args = ['pattern', '--width', String(opts.width), '--height', String(opts.height)];
  if (opts.seconds !== undefined) args.push('--seconds', String(opts.seconds));
  const proc = spawnManaged(clients.testClient, args, { env: clientEnv(display.env, opts.extraEnv) });
  try {
    await waitForLine(proc, 'ready', opts.timeoutMs ?? 15000);
  } catch (err) {
    await proc.stop();
    throw new Error(`pattern client: ${(err as Error).message}`);
  }
  return { process: proc, stop: () => proc.stop() };
}

export interface BenchResult {
  frames: number;
  seconds: number;
  fps: number;
  latency_ms: { median: number; p99: number };
  mode: 'frames' | 'roundtrips';
  width?: number;
  height?: number;
  damage?: string;
  damage_bytes?: number;
}

export type BenchOptions =
  | { width: number; height: number; frames: number; damage?: string; buffers?: number; timeoutMs?: number }
  | { roundtrips: number; timeoutMs?: number };

/** Runs `wayvio-test-client bench` to completion and parses its JSON line; rejects on a non-zero exit. */
export async function runBench(clients: TestClients, display: Display, opts: BenchOptions): Promise<BenchResult> {
  const args = ['bench'];
  if ('roundtrips' in opts) {
    args.push('--roundtrips', String(opts.roundtrips));
  } else {
    args.push('--width', String(opts.width), '--height', String(opts.height), '--frames', String(opts.frames));
    if (opts.damage !== undefined) args.push('--damage', opts.damage);
    if (opts.buffers !== undefined) args.push('--buffers', String(opts.buffers));
  }
  const proc = spawnManaged(clients.testClient, args, { env: clientEnv(display.env) });
  const timeoutMs = opts.timeoutMs ?? 120000;
  const timer = setTimeout(() => void proc.stop(), timeoutMs);
  const code = await proc.exited;
  await proc.closed;
  clearTimeout(timer);
  await proc.stop();
  if (code !== 0) throw new Error(`bench client exited ${code} (${args.join(' ')}): ${proc.stderrTail()}`);
  const line = proc.stdout().trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as BenchResult;
  } catch {
    throw new Error(`bench client printed no JSON line: ${JSON.stringify(proc.stdout())}`);
  }
}

export interface Global {
  interface: string;
  version: number;
  name: number;
}

/** The globals `wayland-info` lists for a display. */
export async function waylandInfo(display: Display, timeoutMs = 10000): Promise<Global[]> {
  const { stdout } = await run('wayland-info', [], { env: clientEnv(display.env), timeout: timeoutMs, maxBuffer: 16 << 20 });
  const seen = new Map<number, Global>();
  for (const m of stdout.matchAll(/^interface: '([^']+)',\s*version:\s*(\d+),\s*name:\s*(\d+)/gm)) {
    seen.set(Number(m[3]), { interface: m[1], version: Number(m[2]), name: Number(m[3]) });
  }
  return [...seen.values()];
}
