// The host out of fds: the client that needed one ends with a reason that blames the host, not the guest.
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import t from 'tap';
import { checkFdLeaks, openFds } from '../helpers/fd-leak';
import { westonPairForFile } from '../helpers/proxy-pair';
import { RawGuest } from '../helpers/raw-guest';
import { waylandInfo } from '../../harness/test-clients';
import { fdCount, waitFor } from '../helpers/wait';
import { HostShortage } from '../../link/host-shortage';
import { CloseCode, FrameKind, PipeMode, type Frame } from '../../protocol/channel-frames';

checkFdLeaks(t);

const fixture = westonPairForFile(t);

t.test('HostShortage.from names EMFILE, ENFILE, ENOMEM and ENOSPC, and nothing else', async (t) => {
  const err = (code: string): Error => Object.assign(new Error(`memfd_create ${code}`), { code });
  t.match(HostShortage.from(err('EMFILE'), 'creating a pool')?.message, /^host out of fds \(EMFILE, the process limit\) while creating a pool: memfd_create EMFILE$/);
  t.match(HostShortage.from(err('ENFILE'), 'x')?.message, /^host out of fds \(ENFILE, the system limit\)/);
  t.match(HostShortage.from(err('ENOMEM'), 'x')?.message, /^host out of memory \(ENOMEM\)/);
  t.match(HostShortage.from(err('ENOSPC'), 'x')?.message, /^host out of space \(ENOSPC\)/);
  t.equal(HostShortage.from(err('EINVAL'), 'x'), null, 'EINVAL is not a shortage');
  t.equal(HostShortage.from('EMFILE', 'x'), null, 'a string is not an error');
});

/** Lowers this process's soft fd limit so that no fd number is left, runs `during`, then restores it. */
async function withoutFreeFds(during: () => Promise<void>): Promise<void> {
  const soft = execFileSync('prlimit', ['--pid', String(process.pid), '--nofile', '--output=SOFT', '--noheadings'], { encoding: 'utf8' }).trim();
  // restoring needs a process, and starting one needs fds: the restorer starts now and waits for a line
  const restorer = spawn('sh', ['-c', `read go; exec prlimit --pid ${process.pid} --nofile=${soft}:`], { stdio: ['pipe', 'ignore', 'inherit'] });
  const restored = once(restorer, 'close'); // exited, and its pipes here are closed
  const open = openFds(); // without the fd that listed them
  let limit = 0;
  while (open.has(limit)) limit++; // the lowest free number: with this limit nothing more can be opened
  execFileSync('prlimit', ['--pid', String(process.pid), `--nofile=${limit}:`]);
  try {
    await during();
  } finally {
    restorer.stdin.end('go\n');
    await restored;
  }
}

t.test('PIPE_OPEN, SHM_CREATE and FILE_CREATE while the host has no fd left: QUOTA_EXCEEDED, "host out of fds", not a guest violation', async (t) => {
  const g = await RawGuest.attach(join(fixture.pair.env.XDG_RUNTIME_DIR, 'channel'));
  t.teardown(() => g.destroy());
  for (const conn of [1, 2, 3]) await g.openWithRegistry(conn);
  const baseFds = fdCount();
  const asks: [number, Frame, RegExp][] = [
    [1, { kind: FrameKind.PipeOpen, conn: 1, resource: 1, mode: PipeMode.ReadEnd }, /^host out of fds \(EMFILE, the process limit\) while serving PipeOpen: pipe2 EMFILE/],
    [2, { kind: FrameKind.ShmCreate, conn: 2, resource: 1, size: 4096 }, /^host out of fds \(EMFILE, the process limit\) while creating a 4096-byte pool: memfd_create EMFILE/],
    [3, { kind: FrameKind.FileCreate, conn: 3, resource: 1, flags: 0, size: 4096 }, /^host out of fds \(EMFILE, the process limit\) while serving FileCreate: memfd_create EMFILE/],
  ];
  for (const [conn, frame, reason] of asks) {
    // one at a time: each ended client gives back its compositor connection's fd
    await withoutFreeFds(async () => {
      g.send(frame);
      await g.until(() => g.closeFrame(conn) !== undefined);
    });
    const close = g.closeFrame(conn);
    t.equal(close?.code, CloseCode.QuotaExceeded, `${FrameKind[frame.kind]}: QUOTA_EXCEEDED`);
    t.match(close?.reason, reason, String(close?.reason));
  }
  t.ok(fixture.pair.logs.some((l) => /client 2: warn: host short of resources, client ended \(not the guest's fault\): host out of fds \(EMFILE/.test(l)), 'the host logged a host-side condition');
  t.notOk(fixture.pair.logs.some((l) => /guest protocol violation.*EMFILE/.test(l)), 'and called none of it a guest violation');
  t.ok(await waitFor(() => fixture.pair.host.clientCount === 0), 'the three clients are gone');
  t.ok(await waitFor(() => fdCount() <= baseFds - 3), 'their fds too (three compositor connections)');
  t.ok((await waylandInfo(fixture.pair)).some((x) => x.interface === 'wl_compositor'), 'with fds again, the next client is served');
});
