// A compositor (weston or sway) behind a fixed path (a symlink) that is started again when it crashes or hangs: the
// fuzzers fail on either; restarting lets a long run go on and report every one, each with the compositor's log.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSway, startWeston, type Compositor } from '../../harness/compositors';
import { waylandAnswers } from '../../harness/processes';

export type CompositorKind = 'weston' | 'sway';

/** How long a wl_display.sync may go unanswered before the compositor counts as hung. */
export const HANG_MS = 4000;

export interface CompositorFailure {
  how: 'crash' | 'hang';
  kind: CompositorKind;
  /** When it was seen (Date.now()). */
  at: number;
  /** The exit status (crash) or 'no answer to wl_display.sync within HANG_MS' (hang). */
  status: string;
  /** The compositor's last stderr lines (a backtrace, when it printed one). */
  log: string;
}

export class RestartingCompositor {
  readonly failures: CompositorFailure[] = [];
  /** Called on each crash or hang, before the restart. */
  onFailure: (f: CompositorFailure) => void = () => {};
  private timer: NodeJS.Timeout | null = null;
  private checking: Promise<void> | null = null;
  private stopped = false;

  /** WAYVIO_FUZZ_GDB=1: gdb attached to each compositor, its backtrace added to a crash's log. */
  private gdb: { proc: ChildProcess; out: string; done: Promise<void> } | null = null;

  private constructor(readonly kind: CompositorKind, private current: Compositor, private readonly dir: string) {
    this.attachGdb();
  }

  private attachGdb(): void {
    if (process.env.WAYVIO_FUZZ_GDB === undefined) return;
    const proc = spawn('gdb', ['-p', String(this.current.pid), '-batch', '-ex', 'handle SIGPIPE SIGUSR1 SIGUSR2 SIGCHLD SIGTERM nostop noprint pass',
      '-ex', 'continue', '-ex', 'bt 30'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const g = { proc, out: '', done: new Promise<void>((resolve) => proc.once('exit', () => resolve())) };
    proc.stdout?.on('data', (d: Buffer) => (g.out += d.toString()));
    proc.stderr?.on('data', () => {});
    this.gdb = g;
  }

  /** The attached gdb's backtrace, once it printed one (waits up to 3 s). */
  private async backtrace(): Promise<string> {
    const g = this.gdb;
    if (g === null) return '';
    await Promise.race([g.done, new Promise((resolve) => setTimeout(resolve, 3000))]);
    g.proc.kill('SIGKILL');
    const lines = g.out.split('\n').filter((l) => /^#\d|received signal/.test(l));
    return lines.length === 0 ? '' : `\ngdb:\n${lines.join('\n')}`;
  }

  static async start(kind: CompositorKind = 'weston'): Promise<RestartingCompositor> {
    const dir = mkdtempSync(join(tmpdir(), 'wayvio-fuzz-compositor-'));
    const c = new RestartingCompositor(kind, await RestartingCompositor.launch(kind), dir);
    symlinkSync(c.current.socketPath, c.path);
    c.timer = setInterval(() => void c.check(), 250);
    return c;
  }

  private static launch(kind: CompositorKind): Promise<Compositor> {
    return kind === 'weston' ? startWeston({ width: 800, height: 600 }) : startSway({ width: 800, height: 600 });
  }

  /** What the host proxy connects to: always the live compositor. */
  get path(): string {
    return join(this.dir, 'compositor');
  }

  /** The running compositor itself (its socket, pid, log). */
  get compositor(): Compositor {
    return this.current;
  }

  get crashes(): number {
    return this.failures.filter((f) => f.how === 'crash').length;
  }

  get hangs(): number {
    return this.failures.filter((f) => f.how === 'hang').length;
  }

  /** Resolves once the compositor answered a probe, or was found dead or hung and started again. */
  check(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.checking ??= this.probe().finally(() => (this.checking = null));
    return this.checking;
  }

  private async probe(): Promise<void> {
    const c = this.current;
    let status = c.exitStatus();
    if (status === undefined && (await waylandAnswers(c.socketPath, HANG_MS))) return;
    if (this.stopped) return;
    const bt = await this.backtrace();
    // a refused connection may come before the exit is reaped: a crash, not a hang, if it exits within a second
    for (let i = 0; i < 20 && status === undefined; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      status = c.exitStatus();
    }
    const f: CompositorFailure = {
      how: status === undefined ? 'hang' : 'crash',
      kind: this.kind,
      at: Date.now(),
      status: status === undefined ? `no answer to wl_display.sync within ${HANG_MS} ms` : `exited (${status})`,
      log: c.log().split('\n').filter((l) => !/error in client communication|libwayland: /.test(l)).slice(-40).join('\n') + bt,
    };
    this.failures.push(f);
    this.onFailure(f);
    if (status === undefined) {
      try {
        process.kill(c.pid, 'SIGCONT'); // a stopped process (the detector's own test) takes SIGTERM only after this
      } catch { /* gone */ }
    }
    await c.stop();
    this.current = await RestartingCompositor.launch(this.kind);
    symlinkSync(this.current.socketPath, `${this.path}.new`);
    renameSync(`${this.path}.new`, this.path);
    this.attachGdb();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearInterval(this.timer);
    await this.checking;
    this.gdb?.proc.kill('SIGKILL');
    await this.current.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
