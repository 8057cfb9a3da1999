// Starts weston headless (pixman, --debug so weston-screenshooter works) on a private runtime dir.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface HeadlessWeston {
  runtimeDir: string;
  display: string;
  socketPath: string;
  env: NodeJS.ProcessEnv;
  process: ChildProcess;
  stop(): Promise<void>;
}

function canConnect(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export async function startHeadlessWeston(opts: { width?: number; height?: number; timeoutMs?: number } = {}): Promise<HeadlessWeston> {
  const runtimeDir = mkdtempSync(join(tmpdir(), 'wayvio-weston-'));
  const display = 'wayland-weston';
  const socketPath = join(runtimeDir, display);
  const env: NodeJS.ProcessEnv = { ...process.env, XDG_RUNTIME_DIR: runtimeDir };
  delete env.WAYLAND_DISPLAY;
  delete env.DISPLAY;
  const child = spawn('weston', [
    '--backend=headless-backend.so', '--use-pixman', '--debug', `--socket=${display}`, '--idle-time=0', '--no-config',
    `--width=${opts.width ?? 1024}`, `--height=${opts.height ?? 768}`,
  ], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(runtimeDir, { recursive: true, force: true });
  };
  const deadline = Date.now() + (opts.timeoutMs ?? 10000);
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      await stop();
      throw new Error(`weston exited early (${child.exitCode ?? child.signalCode}): ${stderr.trim().split('\n').slice(-5).join(' | ')}`);
    }
    if (existsSync(socketPath) && (await canConnect(socketPath))) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`weston did not open ${socketPath} in time: ${stderr.trim().split('\n').slice(-5).join(' | ')}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { runtimeDir, display, socketPath, env: { ...env, WAYLAND_DISPLAY: display }, process: child, stop };
}
