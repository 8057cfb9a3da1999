// `wayvio demo`: weston headless, both proxies over a local channel, a real client (then the same client direct); prints what happened.
import { execFile, spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { GuestProxy } from '../guest-proxy/guest-proxy';
import { clientEnv, startWeston } from '../harness/compositors';
import { HostProxy } from '../host-proxy/host-proxy';
import { createLogger } from '../link/log';
import { Policy } from '../protocol/policy';
import { ProtocolRegistry } from '../protocol/registry';
import { SOFTWARE, UsageError, parse } from './usage';

const run = promisify(execFile);

function globalsOf(wayland_info: string): string[] {
  return [...wayland_info.matchAll(/interface: '([^']+)'/g)].map((m) => m[1]);
}

async function waitFor(check: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

export async function demoCommand(argv: string[]): Promise<void> {
  const { values } = parse(argv, { seconds: { type: 'string' }, out: { type: 'string' } });
  const seconds = Number(values.seconds ?? '5');
  if (!(seconds > 0 && seconds <= 600)) throw new UsageError('--seconds takes a number of seconds (0-600]');
  const outDir = resolve((values.out as string | undefined) ?? '.');
  const log = createLogger('wayvio demo', { level: (values['log-level'] as 'info' | undefined) ?? 'warn' });
  const say = (s: string): void => void process.stdout.write(s + '\n');

  const weston = await startWeston({ width: 1024, height: 768 });
  const dir = mkdtempSync(join(tmpdir(), 'wayvio-demo-'));
  const registry = ProtocolRegistry.builtin();
  const policy = new Policy();
  const channel = join(dir, 'channel.sock');
  const host = new HostProxy({ channel: { kind: 'unix-listen', path: channel }, compositorPath: weston.socketPath, registry, policy, log: log.child('host'), software: SOFTWARE });
  const guestSocket = join(dir, 'wayland-guest');
  const guest = new GuestProxy({ socketPath: guestSocket, channel: { kind: 'unix', path: channel }, registry, policy, log: log.child('guest'), software: SOFTWARE });
  try {
    host.start();
    guest.start();
    if (!(await waitFor(() => guest.connected, 5000))) throw new Error('the guest proxy did not connect to the host proxy');
    say(`wayvio demo: weston headless on ${weston.socketPath}; guest proxy on ${guestSocket}; channel ${channel}`);

    const proxiedEnv = clientEnv({ XDG_RUNTIME_DIR: dir, WAYLAND_DISPLAY: guestSocket });
    const direct = globalsOf((await run('wayland-info', [], { env: clientEnv(weston.env) })).stdout);
    const proxied = globalsOf((await run('wayland-info', [], { env: proxiedEnv })).stdout);
    const hidden = direct.filter((g) => !proxied.includes(g));
    say(`globals: ${direct.length} from weston, ${proxied.length} offered through wayvio; hidden: ${hidden.join(', ') || 'none'}`);

    const before = { ...(await channelTotals(host)) };
    const client = spawn('weston-simple-shm', [], { env: proxiedEnv, stdio: 'ignore' });
    const started = Date.now();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const shot = await screenshot(clientEnv(weston.env), outDir);
    client.kill('SIGINT');
    await new Promise((r) => client.once('exit', r));
    const elapsed = (Date.now() - started) / 1000;
    const after = await channelTotals(host);
    const frames = after.commits - before.commits;
    const bytes = after.bytesIn - before.bytesIn;
    const directClient = await directRun(clientEnv(weston.env), seconds);
    say(`client: weston-simple-shm for ${elapsed.toFixed(1)} s through wayvio, then ${directClient.elapsed.toFixed(1)} s connected directly to weston`);
    say(`frames: ${frames} (${(frames / elapsed).toFixed(1)} fps; the same client direct: ${directClient.frames === null ? 'not counted' : `${(directClient.frames / directClient.elapsed).toFixed(1)} fps`})`);
    say(`channel: ${(bytes / 1024 / 1024).toFixed(1)} MiB guest→host, ${frames > 0 ? Math.round(bytes / frames) : 0} bytes per frame`);
    say(shot === null ? 'screenshot: weston-screenshooter produced no file' : `screenshot: ${shot}`);
  } finally {
    guest.stop();
    host.stop();
    await weston.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** weston-simple-shm connected straight to weston for `seconds`: its commits, counted from its WAYLAND_DEBUG log. */
async function directRun(env: NodeJS.ProcessEnv, seconds: number): Promise<{ frames: number | null; elapsed: number }> {
  const client = spawn('weston-simple-shm', [], { env: { ...env, WAYLAND_DEBUG: 'client' }, stdio: ['ignore', 'ignore', 'pipe'] });
  const started = Date.now();
  let commits = 0;
  let partial = '';
  client.stderr.setEncoding('utf8');
  client.stderr.on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) if (COMMIT_REQUEST.test(line)) commits++;
  });
  const exited = new Promise((r) => client.once('close', r));
  await new Promise((r) => setTimeout(r, seconds * 1000));
  client.kill('SIGINT');
  await exited;
  return { frames: commits > 0 ? commits : null, elapsed: (Date.now() - started) / 1000 };
}

/** A wl_surface.commit request in libwayland's debug log: `[ 1234.567]  -> wl_surface@3.commit()` (`#` since 1.23). */
const COMMIT_REQUEST = /-> wl_surface[@#]\d+\.commit\(/;

async function channelTotals(host: HostProxy): Promise<{ commits: number; bytesIn: number }> {
  let bytesIn = 0;
  for (const ch of host.channels.values()) bytesIn += ch.session.stats.bytesIn;
  return { commits: host.totalCommits, bytesIn };
}

async function screenshot(env: NodeJS.ProcessEnv, outDir: string): Promise<string | null> {
  const cwd = mkdtempSync(join(tmpdir(), 'wayvio-shot-'));
  try {
    await run('weston-screenshooter', [], { env, cwd, timeout: 10000 });
    const png = readdirSync(cwd).find((f) => f.endsWith('.png'));
    if (png === undefined) return null;
    const target = join(outDir, 'wayvio-demo-screenshot.png');
    copyFileSync(join(cwd, png), target);
    return target;
  } catch {
    return null;
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
}
