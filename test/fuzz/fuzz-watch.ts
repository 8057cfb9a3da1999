// What makes a fuzz run fail: the compositor crashed or hung (RestartingCompositor), a probe through the proxy pair got
// no wl_display.sync answer, or a bystander (a real client through the pair, a raw client direct) died.
import { startPatternClient, type PatternClient, type TestClients } from '../../harness/test-clients';
import { RawClient } from '../helpers/raw-client';
import type { ProxyPair } from '../helpers/proxy-pair';
import { HANG_MS, type RestartingCompositor } from './restarting-compositor';

interface Watched {
  what: string;
  /** The process id of a bystander that is a process. */
  pid?: number;
  /** The compositor's failure count when it started: a death after a compositor failure is that failure's. */
  failuresAtStart: number;
  dead(): boolean;
  stop(): Promise<void> | void;
}

export class FuzzWatch {
  /** Bystander deaths and hangs through the pair that no compositor failure explains. */
  readonly problems: string[] = [];
  pairHangs = 0;
  bystanderDeaths = 0;
  private readonly watched: Watched[] = [];
  private probe: RawClient | null = null;
  private probeFailuresAtStart = 0;
  private timer: NodeJS.Timeout | null = null;
  private busy: Promise<void> | null = null;
  private stopped = false;

  private constructor(readonly compositor: RestartingCompositor, readonly pair: ProxyPair, private readonly clients: TestClients) {}

  static async start(compositor: RestartingCompositor, pair: ProxyPair, clients: TestClients): Promise<FuzzWatch> {
    const w = new FuzzWatch(compositor, pair, clients);
    await w.startBystanders();
    w.timer = setInterval(() => void w.check(), 500);
    return w;
  }

  /** Every failure so far, one line each (empty: the run passed). */
  failures(): string[] {
    return [...this.compositor.failures.map((f) => `${f.kind} ${f.how}: ${f.status}; its log:\n${f.log}`), ...this.problems];
  }

  /** The pattern client through the pair, and a raw client with a toplevel directly on the compositor. */
  private async startBystanders(): Promise<void> {
    const failuresAtStart = this.compositor.failures.length;
    const started: Watched[] = [];
    try {
      const pattern: PatternClient = await startPatternClient(this.clients, this.pair, { width: 48, height: 48, timeoutMs: 20000 });
      started.push({ what: 'the pattern client (through the pair)', pid: pattern.process.pid, failuresAtStart, dead: () => pattern.process.proc.exitCode !== null || pattern.process.proc.signalCode !== null, stop: () => pattern.stop() });
      const direct = new RawClient(this.compositor.compositor.socketPath);
      started.push({ what: 'a raw client with a toplevel (direct)', failuresAtStart, dead: () => direct.closed || direct.error() !== undefined, stop: () => direct.close() });
      await direct.toplevel();
      if (this.compositor.failures.length !== failuresAtStart) throw new Error('the compositor failed while they started');
    } catch (e) {
      for (const w of started) await w.stop();
      throw e;
    }
    this.watched.push(...started);
    this.newProbe();
  }

  /** After a compositor restart a client may meet the one before it going away: a few tries. */
  private async restartBystanders(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.compositor.check();
        return await this.startBystanders();
      } catch (e) {
        for (const w of this.watched.splice(0)) await w.stop();
        if (attempt === 3) {
          this.problems.push(`bystanders could not start again: ${(e as Error).message}`);
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
  }

  private newProbe(): void {
    this.probe?.close();
    this.probeFailuresAtStart = this.compositor.failures.length;
    this.probe = this.stopped ? null : new RawClient(this.pair.socketPath);
  }

  /** The bystanders that are processes (for a test of this watch: kill one, see it counted). */
  bystanderPids(): number[] {
    return this.watched.flatMap((w) => (w.pid === undefined ? [] : [w.pid]));
  }

  /** Resolves after one round of checks (joins one under way). */
  check(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.busy ??= this.checkOnce().finally(() => (this.busy = null));
    return this.busy;
  }

  private async checkOnce(): Promise<void> {
    const probe = this.probe;
    if (probe !== null) {
      const cb = probe.closed ? 0 : probe.send(1, 'sync', [0]);
      const answered = cb !== 0 && (await probe.until(() => probe.events.some((e) => e.objectId === cb && e.name === 'done'), HANG_MS));
      if (cb !== 0) probe.events.length = 0;
      if (!answered) {
        await this.compositor.check();
        if (this.compositor.failures.length === this.probeFailuresAtStart && !this.stopped) {
          const why = probe.closed ? 'closed' : `no answer to wl_display.sync within ${HANG_MS} ms while the compositor answered`;
          this.problems.push(`the probe client through the pair: ${why}`);
          if (probe.closed) this.bystanderDeaths++;
          else this.pairHangs++;
        }
        this.newProbe();
      }
    }
    const dead = this.watched.filter((w) => w.dead());
    if (dead.length === 0 || this.stopped) return;
    await this.compositor.check();
    for (const w of dead) {
      if (this.compositor.failures.length === w.failuresAtStart) {
        this.bystanderDeaths++;
        this.problems.push(`bystander died while the compositor lived: ${w.what}`);
      }
    }
    for (const w of this.watched.splice(0)) await w.stop();
    if (!this.stopped) {
      await this.restartBystanders();
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearInterval(this.timer);
    await this.busy;
    this.probe?.close();
    for (const w of this.watched.splice(0)) await w.stop();
  }
}
