// The `wayvio` binary as real processes: usage errors, host + guest against weston, signals, locks, run, trace.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { checkFdLeaks } from '../helpers/fd-leak';
import { startWeston, type Compositor } from '../../harness/compositors';
import { sleep, spawnManaged, type Managed } from '../../harness/processes';
import { repoRoot, waylandInfo } from '../../harness/test-clients';

checkFdLeaks(t);

const WAYVIO = join(repoRoot(), 'bin', 'wayvio.js');
let weston: Compositor;

t.before(async () => {
  weston = await startWeston();
});

t.teardown(async () => {
  await weston?.stop();
});

/** `node bin/wayvio.js ARGS` with the caller's environment minus any display, plus `env`; stopped at the end of `t`. */
function wayvio(t: Test, args: string[], env: Record<string, string> = {}): Managed {
  const base: NodeJS.ProcessEnv = { ...process.env };
  for (const key of ['XDG_RUNTIME_DIR', 'WAYLAND_DISPLAY', 'WAYLAND_SOCKET', 'DISPLAY', 'WAYLAND_DEBUG', 'WAYVIO_TRACE']) delete base[key];
  const proc = spawnManaged(process.execPath, [WAYVIO, ...args], { env: { ...base, ...env } });
  t.teardown(() => proc.stop());
  return proc;
}

/** Waits until the process's stderr has a line matching `re`; fails fast if it exits first. */
async function stderrLine(p: Managed, re: RegExp, timeoutMs = 8000): Promise<string> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const line = p.stderrTail().split('\n').find((l) => re.test(l));
    if (line !== undefined) return line;
    if (p.proc.exitCode !== null || p.proc.signalCode !== null) throw new Error(`exited (${p.proc.exitCode ?? p.proc.signalCode}) before ${re}; stderr:\n${p.stderrTail()}`);
    if (Date.now() > end) throw new Error(`no ${re} on stderr within ${timeoutMs} ms; stderr:\n${p.stderrTail()}`);
    await sleep(10);
  }
}

/** Exit code (or signal) and all output of a process that ends by itself. */
async function finished(p: Managed, timeoutMs = 10000): Promise<{ code: number | string; stdout: string; stderr: string }> {
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([p.exited, new Promise<string>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)))]);
  clearTimeout(timer);
  await p.stop();
  return { code, stdout: p.stdout(), stderr: p.stderrTail() };
}

function scratch(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'wayvio-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

interface Running {
  host: Managed;
  guest: Managed;
  channel: string;
  socket: string;
  pidfile: string;
}

/** `wayvio host --channel unix-listen:S --compositor PATH --pidfile F` + `wayvio guest --channel unix:S --socket ABS`, channel up. */
async function hostAndGuest(t: Test, dir: string): Promise<Running> {
  const channel = join(dir, 'channel.sock');
  const socket = join(dir, 'wayland-guest');
  const pidfile = join(dir, 'host.pid');
  const host = wayvio(t, ['host', '--channel', `unix-listen:${channel}`, '--compositor', weston.socketPath, '--pidfile', pidfile]);
  const guest = wayvio(t, ['guest', '--channel', `unix:${channel}`, '--socket', socket]);
  await stderrLine(guest, /^wayvio guest: channel up: wayvio /);
  await stderrLine(host, /guest connected over unix-listen:/);
  return { host, guest, channel, socket, pidfile };
}

/** Sends `signal` to the process (not its group) and resolves with its exit code. */
async function stopWith(p: Managed, signal: NodeJS.Signals): Promise<number | string> {
  process.kill(p.pid, signal);
  return finished(p).then((r) => r.code);
}

t.test('bad usage exits 2 with a message that says what to type', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [[], /^wayvio: a command is required: host, guest, run or demo$/m],
    [['bogus'], /^wayvio: unknown command 'bogus'; use host, guest, run or demo/m],
    [['toString'], /^wayvio: unknown command 'toString'/m],
    [['host'], /^wayvio: --channel is required, e\.g\. --channel unix:/m],
    [['guest', '--socket', '/tmp/x'], /^wayvio: --channel is required/m],
    [['run', '--', 'true'], /^wayvio: --channel is required/m],
    [['host', '--channel', 'nope'], /^wayvio: channel 'nope' has no scheme; use one of: unix:PATH/m],
    [['guest', '--channel', 'tcp:127.0.0.1'], /^wayvio: channel 'tcp:127\.0\.0\.1': expected HOST:PORT after 'tcp:'; use tcp:HOST:PORT, e\.g\./m],
    [['host', '--channel', 'vsock:2'], /use vsock:CID:PORT/m],
    [['guest', '--channel', 'unix:/x', '--bogus'], /^wayvio: Unknown option '--bogus'/m],
    [['host', '--channel', 'unix:/x', '--log-level', 'loud'], /^wayvio: --log-level loud: use error, warn, info or debug$/m],
    [['run', '--channel', 'unix:/x'], /^wayvio: wayvio run needs a command after --, e\.g\./m],
    [['host', '--channel', 'unix:/x', '--compositor', 'wayland-0'], /--compositor 'wayland-0' is a name but XDG_RUNTIME_DIR is not set; give an absolute path/],
  ];
  const results = await Promise.all(cases.map(([args]) => finished(wayvio(t, args))));
  cases.forEach(([args, message], i) => {
    const r = results[i];
    t.equal(r.code, 2, `wayvio ${args.join(' ')}: exit 2`);
    t.match(r.stderr, message, `wayvio ${args.join(' ')}: ${r.stderr.split('\n')[0]}`);
    t.match(r.stderr, /^usage:\n {2}wayvio host/m, `wayvio ${args.join(' ')}: the usage follows`);
  });
  const help = await finished(wayvio(t, ['--help']));
  t.equal(help.code, 0, '--help exits 0');
  t.match(help.stdout, /^usage:/, '--help prints the usage on stdout');
});

t.test('host + guest against weston: wayland-info works; SIGTERM stops both cleanly and removes their files', async (t) => {
  const dir = scratch(t);
  const r = await hostAndGuest(t, dir);
  t.equal(readFileSync(r.pidfile, 'utf8'), `${r.host.pid}\n`, 'the pidfile holds the host pid');
  for (const p of [r.host, r.guest]) {
    const argv = readFileSync(`/proc/${p.pid}/cmdline`, 'utf8').split('\0');
    t.equal(argv[1], '--max-semi-space-size=1', `pid ${p.pid} restarted itself with a lean young generation: ${argv.slice(1, 4).join(' ')}`);
  }
  t.ok(existsSync(r.socket) && existsSync(`${r.socket}.lock`), 'the guest socket and its lock exist');
  const globals = new Set((await waylandInfo({ env: { XDG_RUNTIME_DIR: dir, WAYLAND_DISPLAY: r.socket } })).map((g) => g.interface));
  for (const g of ['wl_compositor', 'wl_shm', 'xdg_wm_base']) t.ok(globals.has(g), `wayland-info through wayvio lists ${g}`);

  t.equal(await stopWith(r.guest, 'SIGTERM'), 0, 'guest: SIGTERM exits 0');
  t.match(r.guest.stderrTail(), /^wayvio: SIGTERM, stopping$/m, 'guest: says why it stops');
  t.notOk(existsSync(r.socket), 'guest socket removed');
  t.notOk(existsSync(`${r.socket}.lock`), 'guest lock removed');
  t.equal(await stopWith(r.host, 'SIGTERM'), 0, 'host: SIGTERM exits 0');
  t.notOk(existsSync(r.pidfile), 'host pidfile removed');
  t.notOk(existsSync(r.channel), 'host channel socket removed');
});

for (const signal of ['SIGINT', 'SIGQUIT'] as const) {
  t.test(`${signal} stops host and guest cleanly too`, async (t) => {
    const r = await hostAndGuest(t, scratch(t));
    t.equal(await stopWith(r.guest, signal), 0, `guest: ${signal} exits 0`);
    t.equal(await stopWith(r.host, signal), 0, `host: ${signal} exits 0`);
    t.notOk(existsSync(r.socket) || existsSync(`${r.socket}.lock`), 'guest socket and lock removed');
    t.notOk(existsSync(r.pidfile) || existsSync(r.channel), 'host pidfile and channel socket removed');
  });
}

t.test('a second guest on a live socket exits 1 naming the lock; a stale socket and lock are taken over', async (t) => {
  const dir = scratch(t);
  const r = await hostAndGuest(t, dir);
  const second = await finished(wayvio(t, ['guest', '--channel', `unix:${r.channel}`, '--socket', r.socket]));
  t.equal(second.code, 1, 'the second guest exits 1');
  t.match(second.stderr, `wayvio guest: ${r.socket} is owned by a live process (its lock ${r.socket}.lock is held)`, 'and names the socket and its lock');
  t.ok(existsSync(r.socket) && existsSync(`${r.socket}.lock`), "the first guest's socket and lock are untouched");

  // the first guest dies without cleaning up: socket and lock stay, with no live owner
  t.equal(await stopWith(r.guest, 'SIGKILL'), 'SIGKILL');
  t.ok(existsSync(r.socket) && existsSync(`${r.socket}.lock`), 'SIGKILL left a stale socket and lock');
  const third = wayvio(t, ['guest', '--channel', `unix:${r.channel}`, '--socket', r.socket]);
  await stderrLine(third, /^wayvio guest: channel up: /);
  const globals = await waylandInfo({ env: { XDG_RUNTIME_DIR: dir, WAYLAND_DISPLAY: r.socket } });
  t.ok(globals.some((g) => g.interface === 'wl_compositor'), 'the new guest took the socket over and serves clients');
  t.equal(await stopWith(third, 'SIGTERM'), 0);
  t.notOk(existsSync(r.socket) || existsSync(`${r.socket}.lock`), 'and removed both when it stopped');
});

t.test('--compositor and --socket NAMEs are relative to XDG_RUNTIME_DIR; --compositor defaults to $WAYLAND_DISPLAY', async (t) => {
  const guestDir = scratch(t);
  const channel = join(guestDir, 'channel.sock');
  const host = wayvio(t, ['host', '--channel', `unix-listen:${channel}`, '--compositor', weston.display], { XDG_RUNTIME_DIR: weston.runtimeDir });
  t.equal(await stderrLine(host, /^wayvio host: compositor /), `wayvio host: compositor ${weston.socketPath}`);
  const guest = wayvio(t, ['guest', '--channel', `unix:${channel}`, '--socket', 'wayland-named'], { XDG_RUNTIME_DIR: guestDir });
  t.equal(await stderrLine(guest, /^wayvio guest: listening on /), `wayvio guest: listening on ${join(guestDir, 'wayland-named')}`);
  await stderrLine(guest, /^wayvio guest: channel up: /);
  const globals = await waylandInfo({ env: { XDG_RUNTIME_DIR: guestDir, WAYLAND_DISPLAY: 'wayland-named' } });
  t.ok(globals.some((g) => g.interface === 'wl_compositor'), 'wayland-info reaches weston through the named sockets');

  const byEnv = wayvio(t, ['host', '--channel', `unix-listen:${join(guestDir, 'other.sock')}`], { XDG_RUNTIME_DIR: weston.runtimeDir, WAYLAND_DISPLAY: weston.display });
  t.equal(await stderrLine(byEnv, /^wayvio host: compositor /), `wayvio host: compositor ${weston.socketPath}`, 'no --compositor: $WAYLAND_DISPLAY');
  const byDefault = wayvio(t, ['host', '--channel', `unix-listen:${join(guestDir, 'third.sock')}`], { XDG_RUNTIME_DIR: guestDir });
  t.equal(await stderrLine(byDefault, /^wayvio host: compositor /), `wayvio host: compositor ${join(guestDir, 'wayland-0')}`, 'nor $WAYLAND_DISPLAY: wayland-0');
  t.equal(await stopWith(byEnv, 'SIGTERM'), 0);
  t.equal(await stopWith(byDefault, 'SIGTERM'), 0);
  t.equal(await stopWith(guest, 'SIGTERM'), 0);
  t.equal(await stopWith(host, 'SIGTERM'), 0);
});

t.test('wayvio run: the command sees the globals and its exit status is wayvio\'s; WAYVIO_TRACE=1 traces every message', async (t) => {
  const dir = scratch(t);
  const channel = join(dir, 'channel.sock');
  const host = wayvio(t, ['host', '--channel', `unix-listen:${channel}`, '--compositor', weston.socketPath]);
  await stderrLine(host, /^wayvio host: compositor /);
  const env = { XDG_RUNTIME_DIR: dir };

  const [info, falseRun, seven, traced] = await Promise.all([
    finished(wayvio(t, ['run', '--channel', `unix:${channel}`, '--', 'wayland-info'], env)),
    finished(wayvio(t, ['run', '--channel', `unix:${channel}`, '--', 'false'], env)),
    finished(wayvio(t, ['run', '--channel', `unix:${channel}`, '--', 'sh', '-c', 'exit 7'], env)),
    finished(wayvio(t, ['run', '--channel', `unix:${channel}`, '--', 'wayland-info'], { ...env, WAYVIO_TRACE: '1' })),
  ]);
  t.equal(info.code, 0, 'run -- wayland-info exits 0');
  t.match(info.stdout, /^interface: 'wl_compositor',/m, 'and printed the globals');
  t.match(info.stdout, /^interface: 'xdg_wm_base',/m);
  t.notMatch(info.stderr, /wl_registry#2\.bind\(/, 'no trace without WAYVIO_TRACE');
  t.equal(falseRun.code, 1, 'run -- false exits 1');
  t.equal(seven.code, 7, "run -- sh -c 'exit 7' exits 7");

  t.equal(traced.code, 0, 'traced run exits 0');
  t.match(traced.stderr, /^\[\d+\.\d+\] .*-> wl_registry#2\.bind\(/m, 'WAYVIO_TRACE=1: requests, WAYLAND_DEBUG style');
  t.match(traced.stderr, /wl_display#1\.get_registry\(new id wl_registry#2\)/, 'the get_registry request');
  t.match(traced.stderr, /wl_registry#2\.global\(\d+, "wl_compositor", \d+\)/, 'and the events');
  const missing = await finished(wayvio(t, ['run', '--channel', `unix:${channel}`, '--', 'no-such-program-wayvio'], env));
  t.equal(missing.code, 1, 'a command that cannot start: exit 1');
  t.match(missing.stderr, /cannot run no-such-program-wayvio: spawn no-such-program-wayvio ENOENT/);
  t.equal(await stopWith(host, 'SIGTERM'), 0);
  t.same(readdirSync(dir).filter((n) => n.startsWith('wayvio-run-')), [], 'every run removed its private socket dir');
});

t.test('a semi-space size given to node is kept: no restart', async (t) => {
  const dir = scratch(t);
  const proc = spawnManaged(process.execPath, ['--max-semi-space-size=4', WAYVIO, 'guest', '--channel', `unix:${join(dir, 'nobody')}`, '--socket', join(dir, 'g')], { env: { ...process.env, XDG_RUNTIME_DIR: dir } });
  t.teardown(() => proc.stop());
  await stderrLine(proc, /retrying/);
  t.same(readFileSync(`/proc/${proc.pid}/cmdline`, 'utf8').split('\0').slice(1, 3), ['--max-semi-space-size=4', WAYVIO]);
});

t.test('a host that cannot listen exits 1 with the reason and leaves no pidfile', async (t) => {
  const dir = scratch(t);
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => blocker.close(() => resolve())));
  const port = (blocker.address() as { port: number }).port;
  const pidfile = join(dir, 'host.pid');
  const busy = await finished(wayvio(t, ['host', '--channel', `tcp-listen:127.0.0.1:${port}`, '--compositor', weston.socketPath, '--pidfile', pidfile]));
  t.equal(busy.code, 1, 'tcp-listen on a busy port: exit 1');
  t.match(busy.stderr, `channel tcp-listen:127.0.0.1:${port}: cannot listen: listen EADDRINUSE`);
  t.notOk(existsSync(pidfile), 'no pidfile left behind');

  const file = join(dir, 'precious.txt');
  writeFileSync(file, 'keep me');
  const notSocket = await finished(wayvio(t, ['host', '--channel', `unix-listen:${file}`, '--compositor', weston.socketPath, '--pidfile', pidfile]));
  t.equal(notSocket.code, 1, 'unix-listen on a regular file: exit 1');
  t.match(notSocket.stderr, `${file} exists and is not a socket`);
  t.equal(readFileSync(file, 'utf8'), 'keep me', 'and the file is untouched');
  t.notOk(existsSync(pidfile), 'no pidfile left behind');
});
