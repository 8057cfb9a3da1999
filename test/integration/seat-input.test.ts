// Keyboard input through the proxy pair: wtype on sway types a command into foot in the guest (keymap fd + key events).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { checkFdLeaks } from '../helpers/fd-leak';
import { fileWhen } from '../helpers/wait';
import { clientEnv, startSway, type Compositor } from '../../harness/compositors';
import { sleep, spawnManaged } from '../../harness/processes';
import { startProxyPair, type ProxyPair } from '../helpers/proxy-pair';

checkFdLeaks(t);

let sway: Compositor;
let pair: ProxyPair;
let work: string;

t.before(async () => {
  work = mkdtempSync(join(tmpdir(), 'wayvio-seat-'));
  sway = await startSway();
  pair = await startProxyPair({ compositorPath: sway.socketPath });
});

t.teardown(async () => {
  await pair?.stop();
  await sway?.stop();
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

t.test('keys typed on the host with wtype run a command in foot in the guest', async (t) => {
  const target = join(work, 'typed.txt');
  // `foot sh`: the shell does not depend on root's login shell or profile
  const foot = spawnManaged('foot', ['sh'], { env: clientEnv(pair.env, { HOME: work, SHELL: '/bin/sh', ENV: '' }), cwd: work });
  try {
    for (let i = 0; i < 750 && hostCommits() === 0; i++) {
      if (foot.proc.exitCode !== null) break;
      await sleep(20);
    }
    t.ok(hostCommits() > 0, `foot drew through the proxies (stderr: ${foot.stderrTail().split('\n').slice(-3).join(' | ')})`);
    // sway's seat has no keyboard: wtype's virtual keyboard gives it one, and only then does foot bind
    // wl_keyboard and get the keymap (a memfd the host proxy sends as FILE_CREATE + RES_WRITE). -s 300 lets
    // that happen before the first key; a later attempt covers keys lost to a slow start anyway.
    let got = '';
    let attempts = 0;
    while (attempts < 3 && got !== 'typed\n') {
      attempts++;
      const wtype = spawnManaged('wtype', ['-s', '300', `echo typed > ${target}`, '-k', 'Return'], { env: clientEnv(sway.env) });
      const timer = setTimeout(() => void wtype.stop(), 15000);
      const code = await wtype.exited;
      clearTimeout(timer);
      await wtype.stop();
      t.equal(code, 0, `wtype attempt ${attempts} exited 0 (stderr: ${wtype.stderrTail().trim()})`);
      got = await fileWhen(target, 'typed\n', 4000);
    }
    t.equal(got, 'typed\n', 'the shell in foot ran the typed command');
    t.comment(`needed ${attempts} wtype attempt(s)`);
    t.equal(foot.proc.exitCode, null, 'foot is still running');
    t.notOk(pair.logs.some((l) => /protocol (error|violation)|internal error|event dropped/.test(l)), 'no errors logged by the proxies');
  } finally {
    await foot.stop();
  }
  for (let i = 0; i < 100 && pair.guest.clientCount > 0; i++) await sleep(20);
  t.equal(pair.guest.clientCount, 0, 'foot\'s connection is gone');
});

function hostCommits(): number {
  let n = 0;
  for (const ch of pair.host.channels.values()) for (const c of ch.clients.values()) n += c.stats.commits;
  return n;
}

