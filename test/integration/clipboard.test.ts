// The clipboard through the proxy pair on sway: wl-copy/wl-paste both ways, 100 MB intact, primary selection, no pipe left.
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, createReadStream, createWriteStream, mkdtempSync, openSync, readFileSync, readSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { checkFdLeaks } from '../helpers/fd-leak';
import { fileWhen } from '../helpers/wait';
import { clientEnv, startSway, type ClientEnv, type Compositor } from '../../harness/compositors';
import { sleep, spawnManaged, type Managed } from '../../harness/processes';
import { startProxyPair, type ProxyPair } from '../helpers/proxy-pair';
import { repoRoot } from '../../harness/test-clients';
import { ProtocolRegistry } from '../../protocol/registry';

checkFdLeaks(t);

const DATA_CONTROL_XML = join(repoRoot(), 'test', 'fixtures', 'wlr-data-control-unstable-v1.xml');
const BIG_BYTES = 100 * 1000 * 1000;

let sway: Compositor;
let pair: ProxyPair;
let work: string;
let bigFile: string;
let bigHash: string;
/**
 * Long-running clients (wl-copy --foreground, wl-paste --watch), ended by the subtest that started them or at
 * teardown, each with how to end it cleanly: wl-copy removes its /tmp/wl-copy-buffer-* only when its selection is
 * replaced, not when signalled.
 */
const live = new Map<Managed, (() => Promise<unknown>) | null>();

t.before(async () => {
  work = mkdtempSync(join(tmpdir(), 'wayvio-clipboard-'));
  sway = await startSway();
  const registry = ProtocolRegistry.builtin();
  registry.loadXmlText(readFileSync(DATA_CONTROL_XML, 'utf8'), DATA_CONTROL_XML);
  // data-control reads the host clipboard without focus: hidden unless allowed by name
  pair = await startProxyPair({ compositorPath: sway.socketPath, registry, policy: { allow: ['zwlr_data_control_manager_v1'] } });
  bigFile = join(work, 'random.bin');
  bigHash = await writeRandomFile(bigFile, BIG_BYTES);
});

t.teardown(async () => {
  for (const m of [...live.keys()]) await stopLive(m);
  await pair?.stop();
  await sway?.stop();
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

t.test('data-control is offered to guests once its XML is loaded', async (t) => {
  const r = await run('wayland-info', [], pair.env, 10000);
  t.match(r.stdout, /zwlr_data_control_manager_v1/, 'the guest sees zwlr_data_control_manager_v1');
});

t.test('text guest → host', async (t) => {
  const text = `wayvio guest to host ${Date.now()}`;
  const copier = startCopy(pair.env, [text]);
  try {
    t.equal(await pasteWhen(sway.env, [], text, 15000), text, 'wl-paste on sway gets the text wl-copy set in the guest');
    await expectNoBridges(t);
  } finally {
    await stopLive(copier);
  }
});

t.test('text host → guest', async (t) => {
  const text = `wayvio host to guest ${Date.now()} ✓ ünïcödé`;
  const copier = startCopy(sway.env, [text]);
  try {
    t.equal(await pasteWhen(pair.env, [], text, 15000), text, 'wl-paste in the guest gets the text wl-copy set on sway');
    await expectNoBridges(t);
  } finally {
    await stopLive(copier);
  }
});

t.test('primary selection guest → host', async (t) => {
  const text = `wayvio primary ${Date.now()}`;
  const copier = startCopy(pair.env, ['--primary', text]);
  try {
    t.equal(await pasteWhen(sway.env, ['--primary'], text, 15000), text, 'wl-paste --primary on sway gets it');
    const regular = await run('wl-paste', ['-n'], sway.env, 10000);
    t.not(regular.stdout, text, 'the regular selection did not get it');
    await expectNoBridges(t);
  } finally {
    await stopLive(copier);
  }
});

for (const direction of ['guest → host', 'host → guest'] as const) {
  t.test(`100 MB of random bytes ${direction} arrive intact`, async (t) => {
    const [from, to] = direction === 'guest → host' ? [pair.env, sway.env] : [sway.env, pair.env];
    const type = `application/x-wayvio-test-${Date.now()}`;
    const out = join(work, `pasted-${direction === 'guest → host' ? 'host' : 'guest'}.bin`);
    const copier = startCopy(from, ['--type', type], bigFile);
    try {
      await waitForType(to, type, 30000);
      const channelBefore = channelBytes(direction);
      const started = Date.now();
      const r = await run('sh', ['-c', 'exec wl-paste -n --type "$1" > "$2"', 'sh', type, out], to, 45000);
      const ms = Date.now() - started;
      t.ok(channelBytes(direction) - channelBefore >= BIG_BYTES, 'the bytes crossed the channel');
      t.equal(r.code, 0, `wl-paste exited 0 (stderr: ${r.stderr.trim()})`);
      t.equal(statSync(out).size, BIG_BYTES, 'every byte arrived');
      t.equal(await sha256(out), bigHash, 'sha256 matches');
      t.comment(`${direction}: ${BIG_BYTES / 1e6} MB in ${ms} ms (${((BIG_BYTES / 1e6) / (ms / 1000)).toFixed(0)} MB/s)`);
      await expectNoBridges(t);
    } finally {
      await stopLive(copier);
      rmSync(out, { force: true });
    }
  });
}

for (const direction of ['guest → host', 'host → guest'] as const) {
  t.test(`a paste that stops reading early (${direction}) ends both pipe bridges, and the source serves again`, async (t) => {
    const [from, to] = direction === 'guest → host' ? [pair.env, sway.env] : [sway.env, pair.env];
    const type = `application/x-wayvio-test-${Date.now()}`;
    const out = join(work, 'head.bin');
    const copier = startCopy(from, ['--type', type], bigFile);
    try {
      await waitForType(to, type, 30000);
      // head exits after 1000 bytes; wl-paste dies of SIGPIPE and closes the read end mid-transfer
      const r = await run('sh', ['-c', 'wl-paste -n --type "$1" | head -c 1000 > "$2"', 'sh', type, out], to, 30000);
      t.equal(r.code, 0, `the pipeline ended (stderr: ${r.stderr.trim()})`);
      t.same(readFileSync(out), readHead(bigFile, 1000), 'the first 1000 bytes are right');
      await expectNoBridges(t);
      const again = await run('sh', ['-c', 'exec wl-paste -n --type "$1" > "$2"', 'sh', type, out], to, 45000);
      t.equal(again.code, 0, 'a full paste afterwards works');
      t.equal(await sha256(out), bigHash, 'and is intact');
      await expectNoBridges(t);
    } finally {
      await stopLive(copier);
      rmSync(out, { force: true });
    }
  });
}

t.test('a guest client that keeps watching the clipboard ends a pipe bridge per transfer (host → guest)', async (t) => {
  const out = join(work, 'watched.txt');
  // wl-paste --watch stays connected and runs the command, stdin = the new selection, on every change
  const watcher = spawnManaged('wl-paste', ['-n', '--watch', 'sh', '-c', 'cat > "$0.tmp" && mv "$0.tmp" "$0"', out], { env: clientEnvIn(pair.env), cwd: work });
  live.set(watcher, null);
  try {
    for (let i = 0; i < 3; i++) {
      const text = `watched ${i} ${Date.now()}`;
      const copier = startCopy(sway.env, [text]);
      try {
        t.equal(await fileWhen(out, text, 15000), text, `change ${i + 1} arrived in the guest`);
        t.ok(pair.guest.clientCount >= 1, 'the watcher is still connected');
        await expectNoBridges(t);
      } finally {
        await stopLive(copier);
      }
    }
  } finally {
    await stopLive(watcher);
  }
});

t.test('several pastes from one live source leave no pipe bridge and no client behind', async (t) => {
  const text = `wayvio repeat ${Date.now()}`;
  const copier = startCopy(pair.env, [text]);
  try {
    t.equal(await pasteWhen(sway.env, [], text, 15000), text);
    for (let i = 0; i < 5; i++) t.equal((await run('wl-paste', ['-n'], sway.env, 10000)).stdout, text, `paste ${i + 2}`);
    t.ok(pair.guest.clientCount >= 1, 'the source client is still connected');
    await expectNoBridges(t);
  } finally {
    await stopLive(copier);
  }
  for (let i = 0; i < 100 && (pair.guest.clientCount > 0 || hostClients().length > 0); i++) await sleep(20);
  t.equal(pair.guest.clientCount, 0, 'no guest client is left');
  t.equal(hostClients().length, 0, 'no host client is left');
  t.notOk(pair.logs.some((l) => /protocol (error|violation)|internal error/.test(l)), 'no protocol errors logged');
});

t.test('without data-control XML, wl-clipboard falls back to wl_data_device and fails cleanly', async (t) => {
  const plain = await startProxyPair({ compositorPath: sway.socketPath });
  try {
    const info = await run('wayland-info', [], plain.env, 10000);
    t.notMatch(info.stdout, /zwlr_data_control_manager_v1/, 'data-control hidden');
    t.ok(plain.logs.some((l) => /global zwlr_data_control_manager_v1 v2 hidden: no protocol XML/.test(l)), 'and the host says why');
    // wl_data_device needs keyboard focus; sway's headless seat has no keyboard, so wl-clipboard refuses
    const copy = await run('wl-copy', ['--foreground', 'never arrives'], plain.env, 10000);
    t.equal(copy.code, 1, 'wl-copy in the guest fails');
    t.match(copy.stderr, /no keyboard/, `and says why (${copy.stderr.trim()})`);
    const hostText = `host selection ${Date.now()}`;
    const copier = startCopy(sway.env, [hostText]);
    try {
      t.equal(await pasteWhen(sway.env, [], hostText, 15000), hostText, 'the host has a selection');
      const paste = await run('wl-paste', ['-n'], plain.env, 10000);
      t.equal(paste.code, 1, 'wl-paste in the guest cannot get it');
      t.match(paste.stderr, /no keyboard/, `for the same reason (${paste.stderr.trim()})`);
    } finally {
      await stopLive(copier);
    }
    for (let i = 0; i < 100 && plain.guest.clientCount > 0; i++) await sleep(20);
    t.equal(plain.guest.clientCount, 0, 'both clients are gone');
  } finally {
    await plain.stop();
  }
});

// ---- helpers

interface RunResult {
  code: number | string;
  stdout: string;
  stderr: string;
}

/** Client environment; TMPDIR for the clients that honour it. */
function clientEnvIn(env: ClientEnv): NodeJS.ProcessEnv {
  return clientEnv(env, { TMPDIR: work });
}

/** Runs a client to completion against `env` (killed after timeoutMs). */
async function run(command: string, args: string[], env: ClientEnv, timeoutMs: number): Promise<RunResult> {
  const m = spawnManaged(command, args, { env: clientEnvIn(env), cwd: work });
  const timer = setTimeout(() => void m.stop(), timeoutMs);
  const code = await m.exited;
  clearTimeout(timer);
  await m.stop();
  return { code, stdout: m.stdout(), stderr: m.stderrTail() };
}

/** `wl-copy --foreground ARGS` (stdin from `stdinFile`, if given) serving the selection until stopLive(). */
function startCopy(env: ClientEnv, args: string[], stdinFile?: string): Managed {
  const options = { env: clientEnvIn(env), cwd: work };
  const m = stdinFile === undefined
    ? spawnManaged('wl-copy', ['--foreground', ...args], options)
    : spawnManaged('sh', ['-c', 'exec wl-copy --foreground "$@" < "$0"', stdinFile, ...args], options);
  live.set(m, () => run('wl-copy', ['--clear', ...args.filter((a) => a === '--primary')], env, 10000));
  return m;
}

/** Ends a long-running client: a wl-copy by clearing its selection (it then exits and cleans up), else by signal. */
async function stopLive(m: Managed): Promise<void> {
  const clear = live.get(m);
  if (clear && m.proc.exitCode === null && m.proc.signalCode === null) {
    await clear();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([m.exited, new Promise((resolve) => (timer = setTimeout(resolve, 3000)))]);
    clearTimeout(timer);
  }
  await m.stop();
  live.delete(m);
}

/** Pastes until the selection holds `expected` (wl-copy sets it asynchronously); returns the last paste. */
async function pasteWhen(env: ClientEnv, args: string[], expected: string, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last: RunResult;
  do {
    last = await run('wl-paste', ['-n', ...args], env, 10000);
    if (last.code === 0 && last.stdout === expected) return last.stdout;
    await sleep(50);
  } while (Date.now() < deadline);
  return `${last.stdout} [exit ${last.code}: ${last.stderr.trim()}]`;
}


/** Waits until the selection offers MIME type `type`. */
async function waitForType(env: ClientEnv, type: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: RunResult;
  do {
    last = await run('wl-paste', ['--list-types'], env, 10000);
    if (last.code === 0 && last.stdout.split('\n').includes(type)) return;
    await sleep(50);
  } while (Date.now() < deadline);
  throw new Error(`the selection never offered ${type}: ${last.stdout} ${last.stderr}`);
}

/** Bytes the host proxy's channel(s) carried in that direction so far. */
function channelBytes(direction: 'guest → host' | 'host → guest'): number {
  let n = 0;
  for (const ch of pair.host.channels.values()) n += direction === 'guest → host' ? ch.session.stats.bytesIn : ch.session.stats.bytesOut;
  return n;
}

function hostClients(): Array<{ pipes: number }> {
  const out: Array<{ pipes: number }> = [];
  for (const ch of pair.host.channels.values()) for (const c of ch.clients.values()) out.push({ pipes: c['resources'].pipeCount });
  return out;
}

function guestClients(): Array<{ pipes: number }> {
  return [...pair.guest['clients'].values()].map((c) => ({ pipes: c['resources'].pipeCount }));
}

/** Every pipe bridge of every live client on both sides has finished (they end shortly after the transfer). */
async function expectNoBridges(t: Test): Promise<void> {
  const count = (): number => [...guestClients(), ...hostClients()].reduce((n, c) => n + c.pipes, 0);
  for (let i = 0; i < 100 && count() > 0; i++) await sleep(20);
  t.equal(count(), 0, `no pipe bridge left (${guestClients().length} guest and ${hostClients().length} host clients live)`);
}

/** Writes `bytes` random bytes to `path` in 1 MiB chunks; returns their sha256 (hex). */
async function writeRandomFile(path: string, bytes: number): Promise<string> {
  const hash = createHash('sha256');
  const out = createWriteStream(path);
  for (let left = bytes; left > 0;) {
    const chunk = randomBytes(Math.min(left, 1024 * 1024));
    hash.update(chunk);
    left -= chunk.byteLength;
    if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  return hash.digest('hex');
}

function readHead(path: string, bytes: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(bytes);
    return buf.subarray(0, readSync(fd, buf, 0, bytes, 0));
  } finally {
    closeSync(fd);
  }
}

function sha256(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path).on('data', (c) => hash.update(c)).on('error', reject).on('end', () => resolve(hash.digest('hex')));
  });
}
