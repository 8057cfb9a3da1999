// A weston behind a fixed path (a symlink) that is started again when it dies: hostile input that passes the
// proxies must not crash it, and the fuzzers fail on any crash; restarting lets a run go on and report every one.
import { mkdtempSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startWeston, type Compositor } from '../../harness/compositors';
import { waylandAnswers } from '../../harness/processes';

export class RestartingWeston {
  crashes = 0;
  /** weston's last stderr lines before each crash. */
  readonly crashLogs: string[] = [];
  private timer: NodeJS.Timeout | null = null;
  private checking = false;
  private stopped = false;

  private constructor(private current: Compositor, private readonly dir: string) {}

  static async start(): Promise<RestartingWeston> {
    const dir = mkdtempSync(join(tmpdir(), 'wayvio-fuzz-compositor-'));
    const w = new RestartingWeston(await startWeston(), dir);
    symlinkSync(w.current.socketPath, w.path);
    w.timer = setInterval(() => void w.check(), 250);
    return w;
  }

  /** What the host proxy connects to: always the live weston. */
  get path(): string {
    return join(this.dir, 'compositor');
  }

  log(): string {
    return this.current.log();
  }

  /** Resolves once weston is up (again, if it had died). */
  async check(): Promise<void> {
    if (this.checking || this.stopped) return;
    this.checking = true;
    try {
      if ((await waylandAnswers(this.current.socketPath, 3000)) || (await waylandAnswers(this.current.socketPath, 3000)) || this.stopped) return;
      this.crashes++;
      this.crashLogs.push(this.current.log().split('\n').filter((l) => !/error in client communication/.test(l)).slice(-6).join(' | '));
      await this.current.stop();
      this.current = await startWeston();
      symlinkSync(this.current.socketPath, `${this.path}.new`);
      renameSync(`${this.path}.new`, this.path);
    } finally {
      this.checking = false;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearInterval(this.timer);
    while (this.checking) await new Promise((r) => setTimeout(r, 10));
    await this.current.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
