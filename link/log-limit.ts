// Token buckets for log lines and bytes, nested (a channel's inside the whole guest's), counting what they hold back.

/**
 * A bucket's size and refill: `lines` and `bytes` at once, refilled at the given rates per second. It must hold
 * the longest message plus the lines that report counts, or such a message never goes.
 */
export interface LogBudget {
  lines: number;
  linesPerSecond: number;
  bytes: number;
  bytesPerSecond: number;
}

/** Milliseconds from any fixed origin. */
export type Clock = () => number;

/**
 * One bucket. A line is written only when this bucket and every one above it hold a token and the
 * line's bytes; then all of them pay. Written lines over any span of T seconds are therefore at most
 * `lines + linesPerSecond × T` of the outermost bucket (bytes alike), count lines included.
 */
export class LogLimit {
  private lineTokens: number;
  private byteTokens: number;
  private last: number;
  /** Lines held back and not yet reported; errors among them. */
  suppressed = 0;
  suppressedErrors = 0;

  /** `label`: the prefix of the logger whose count this is, for the line that reports it. */
  constructor(readonly label: string, readonly budget: LogBudget, readonly parent: LogLimit | null = null, private readonly clock: Clock = () => performance.now()) {
    this.lineTokens = budget.lines;
    this.byteTokens = budget.bytes;
    this.last = clock();
  }

  private refill(): void {
    const now = this.clock();
    const seconds = Math.max(0, now - this.last) / 1000;
    this.last = now;
    const b = this.budget;
    this.lineTokens = Math.min(b.lines, this.lineTokens + seconds * b.linesPerSecond);
    this.byteTokens = Math.min(b.bytes, this.byteTokens + seconds * b.bytesPerSecond);
  }

  /** Takes `lines` lines of `bytes` bytes from this bucket and all above it, or from none: whether it could. */
  take(lines: number, bytes: number): boolean {
    for (let l: LogLimit | null = this; l !== null; l = l.parent) {
      l.refill();
      if (l.lineTokens < lines || l.byteTokens < bytes) return false;
    }
    for (let l: LogLimit | null = this; l !== null; l = l.parent) {
      l.lineTokens -= lines;
      l.byteTokens -= bytes;
    }
    return true;
  }

  /** Notes a line held back. */
  hold(isError: boolean): void {
    this.suppressed++;
    if (isError) this.suppressedErrors++;
  }

  /** The limits from the outermost down to this one. */
  chain(): LogLimit[] {
    const out: LogLimit[] = [];
    for (let l: LogLimit | null = this; l !== null; l = l.parent) out.unshift(l);
    return out;
  }

  /** Hands the unreported count up to the parent (when this bucket's logger ends and its own line cannot go). */
  passUp(): void {
    if (this.parent === null || this.suppressed === 0) return;
    this.parent.suppressed += this.suppressed;
    this.parent.suppressedErrors += this.suppressedErrors;
    this.suppressed = 0;
    this.suppressedErrors = 0;
  }
}

/** The line that reports a count: "N lines suppressed (rate limit)", naming the errors among them. */
export function suppressedLine(lines: number, errors: number, when = ''): string {
  return `${lines} log line${lines === 1 ? '' : 's'} suppressed (rate limit)${errors > 0 ? `, ${errors} of them error${errors === 1 ? '' : 's'}` : ''}${when}`;
}
