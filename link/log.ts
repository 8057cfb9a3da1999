// One readable stderr line per notable event, with levels; WAYVIO_TRACE=1 adds every message both ways.
import { escapeLogText } from '../protocol/log-text';
import { LogLimit, suppressedLine, type Clock, type LogBudget } from './log-limit';

export type { LogBudget } from './log-limit';

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
const RANK: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

/** Longest physical line written; a longer one is cut with a note of how much. */
export const MAX_LINE_CHARS = 4096;
/** Most physical lines one message (a stack trace, say) may take. */
export const MAX_MESSAGE_LINES = 64;

export interface Logger {
  error(msg: string): void;
  warn(msg: string): void;
  info(msg: string): void;
  debug(msg: string): void;
  /** WAYLAND_DEBUG-style message trace; a no-op unless tracing is on. Not rate-limited: the user asked for every message. */
  trace(line: () => string): void;
  readonly tracing: boolean;
  child(prefix: string): Logger;
  /**
   * A child (same prefix when `prefix` is '') whose lines, and its children's, are written only within
   * `budget` and every budget above it; lines held back are counted and the count is logged before the
   * next line that goes, or by end().
   */
  limited(prefix: string, budget: LogBudget): LimitedLogger;
}

export interface LimitedLogger extends Logger {
  /**
   * Logs the count still held back, `when` appended (or, when even that line is over the budgets above,
   * adds the count to the budget above). Call once, when what this logger speaks for has ended.
   */
  end(when?: string): void;
}

export interface LoggerOptions {
  level?: LogLevel;
  trace?: boolean;
  write?: (line: string) => void;
  /** For rate limits; default performance.now. */
  clock?: Clock;
}

export function isLogLevel(s: string): s is LogLevel {
  return s in RANK;
}

interface Shared {
  level: number;
  write: (line: string) => void;
  tracing: boolean;
  clock: Clock;
}

/**
 * The physical lines of one message: every line of it gets the prefix (so no text inside a message can start a
 * line of its own), control and bidi characters are escaped, and long lines and long messages are cut.
 */
function physicalLines(head: string, msg: string): string[] {
  const parts = msg.split('\n');
  const out: string[] = [];
  for (let i = 0; i < parts.length && i < MAX_MESSAGE_LINES; i++) {
    let text = escapeLogText(parts[i]);
    if (text.length > MAX_LINE_CHARS) text = `${text.slice(0, MAX_LINE_CHARS)}…[${text.length - MAX_LINE_CHARS} more chars]`;
    out.push(i === 0 ? `${head}${text}` : `${head}  ${text}`);
  }
  if (parts.length > MAX_MESSAGE_LINES) out.push(`${head}  …[${parts.length - MAX_MESSAGE_LINES} more lines]`);
  return out;
}

function lineBytes(lines: readonly string[]): number {
  let n = 0;
  for (const l of lines) n += Buffer.byteLength(l) + 1;
  return n;
}

function make(prefix: string, s: Shared, limit: LogLimit | null): Logger | LimitedLogger {
  const emit = (l: LogLevel, msg: string): void => {
    if (RANK[l] > s.level) return;
    const lines = physicalLines(`${prefix}: ${l === 'info' ? '' : l + ': '}`, msg);
    if (limit === null) {
      for (const line of lines) s.write(line);
      return;
    }
    const owed = limit.chain().filter((b) => b.suppressed > 0);
    const reports = owed.map((b) => `${b.label}: warn: ${suppressedLine(b.suppressed, b.suppressedErrors)}`);
    if (!limit.take(reports.length + lines.length, lineBytes(reports) + lineBytes(lines))) {
      limit.hold(l === 'error');
      return;
    }
    for (const b of owed) b.suppressed = b.suppressedErrors = 0;
    for (const line of reports) s.write(line);
    for (const line of lines) s.write(line);
  };
  const join = (sub: string): string => (sub === '' ? prefix : `${prefix} ${sub}`);
  return {
    error: (m) => emit('error', m),
    warn: (m) => emit('warn', m),
    info: (m) => emit('info', m),
    debug: (m) => emit('debug', m),
    tracing: s.tracing,
    trace: (line) => {
      if (s.tracing) s.write(`[${(performance.now() / 1000).toFixed(6)}] ${prefix} ${escapeLogText(line())}`);
    },
    child: (sub) => make(join(sub), s, limit),
    limited: (sub, budget) => make(join(sub), s, new LogLimit(join(sub), budget, limit, s.clock)) as LimitedLogger,
    end: (when = '') => {
      if (limit === null || limit.suppressed === 0) return;
      const line = `${limit.label}: warn: ${suppressedLine(limit.suppressed, limit.suppressedErrors, when)}`;
      if (limit.parent !== null && !limit.parent.take(1, lineBytes([line]))) {
        limit.passUp();
        return;
      }
      limit.suppressed = limit.suppressedErrors = 0;
      s.write(line);
    },
  };
}

export function createLogger(prefix: string, options: LoggerOptions = {}): Logger {
  return make(prefix, {
    level: RANK[options.level ?? 'info'],
    write: options.write ?? ((line: string) => process.stderr.write(line + '\n')),
    tracing: options.trace ?? process.env.WAYVIO_TRACE === '1',
    clock: options.clock ?? (() => performance.now()),
  }, null);
}
