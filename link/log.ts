// One readable stderr line per notable event, with levels; WAYVIO_TRACE=1 adds every message both ways.

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
const RANK: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

export interface Logger {
  error(msg: string): void;
  warn(msg: string): void;
  info(msg: string): void;
  debug(msg: string): void;
  /** WAYLAND_DEBUG-style message trace; a no-op unless tracing is on. */
  trace(line: () => string): void;
  readonly tracing: boolean;
  child(prefix: string): Logger;
}

export interface LoggerOptions {
  level?: LogLevel;
  trace?: boolean;
  write?: (line: string) => void;
}

export function isLogLevel(s: string): s is LogLevel {
  return s in RANK;
}

export function createLogger(prefix: string, options: LoggerOptions = {}): Logger {
  const level = RANK[options.level ?? 'info'];
  const write = options.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const tracing = options.trace ?? process.env.WAYVIO_TRACE === '1';
  const at = (l: LogLevel) => (msg: string) => {
    if (RANK[l] <= level) write(`${prefix}: ${l === 'info' ? '' : l + ': '}${msg}`);
  };
  return {
    error: at('error'),
    warn: at('warn'),
    info: at('info'),
    debug: at('debug'),
    tracing,
    trace: (line) => {
      if (tracing) write(`[${(performance.now() / 1000).toFixed(6)}] ${prefix} ${line()}`);
    },
    child: (sub) => createLogger(`${prefix} ${sub}`, { level: options.level, trace: tracing, write }),
  };
}
