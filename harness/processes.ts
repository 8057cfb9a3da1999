// Child processes for the demo, the benchmark and the tests: spawned in their own process group, stderr tail kept, always reaped.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { connect } from 'node:net';
import { endianness } from 'node:os';

/** A spawned process whose whole group (it and its children) `stop()` ends. */
export interface Managed {
  readonly proc: ChildProcess;
  readonly pid: number;
  /** The last ~64 KiB the process wrote to stderr. */
  stderrTail(): string;
  /** Everything (up to 1 MiB) the process wrote to stdout so far. */
  stdout(): string;
  /** Resolves with the exit code (or the signal name) once the process is gone. */
  readonly exited: Promise<number | string>;
  /** Resolves once the process has exited and its stdout/stderr are closed (all output read). */
  readonly closed: Promise<void>;
  /** SIGTERM to the group, SIGKILL after `graceMs`; resolves when the process is gone and our pipes are closed. */
  stop(graceMs?: number): Promise<void>;
}

const TAIL_BYTES = 64 * 1024;
const STDOUT_BYTES = 1024 * 1024;
const live = new Set<number>();

// Last resort when a test file (or the bench) dies without running its teardowns: no compositor outlives it.
process.on('exit', () => {
  for (const pgid of live) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // the group is already gone
  }
}

/**
 * Spawns `command` detached (its own process group), stdin closed (or a pipe with `stdin: 'pipe'`), stdout
 * collected, stderr tail kept.
 */
export function spawnManaged(command: string, args: readonly string[], options: SpawnOptions & { stdin?: 'pipe' } = {}): Managed {
  const { stdin, ...rest } = options;
  const proc = spawn(command, args, { ...rest, detached: true, stdio: [stdin ?? 'ignore', 'pipe', 'pipe'] });
  proc.stdin?.on('error', () => undefined); // EPIPE when the process is gone: its exit says what happened
  const pid = proc.pid ?? -1;
  if (pid > 0) live.add(pid);
  let tail = '';
  let out = '';
  proc.stdout?.setEncoding('utf8');
  proc.stdout?.on('data', (chunk: string) => {
    if (out.length < STDOUT_BYTES) out += chunk;
  });
  proc.stderr?.setEncoding('utf8');
  proc.stderr?.on('data', (chunk: string) => {
    tail = (tail + chunk).slice(-TAIL_BYTES);
  });
  const exited = new Promise<number | string>((resolve) => {
    proc.once('error', (err) => {
      tail += `\n[spawn ${command} failed: ${err.message}]`;
      resolve(`error: ${err.message}`);
    });
    proc.once('exit', (code, signal) => {
      resolve(code ?? signal ?? 'unknown');
    });
  });
  const closed = new Promise<void>((resolve) => {
    proc.once('close', () => resolve());
    proc.once('error', () => resolve());
  });
  let stopping: Promise<void> | undefined;
  const stop = (graceMs = 3000): Promise<void> => {
    stopping ??= (async () => {
      if (pid > 0 && proc.exitCode === null && proc.signalCode === null) {
        killGroup(pid, 'SIGTERM');
        const timer = setTimeout(() => killGroup(pid, 'SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      } else {
        await exited;
      }
      // helpers the process started may still hold its pipes: end the group, then close our ends regardless
      if (pid > 0) killGroup(pid, 'SIGKILL');
      live.delete(pid);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([closed, new Promise((resolve) => (timer = setTimeout(resolve, 1000)))]);
      clearTimeout(timer);
      proc.stdin?.destroy();
      proc.stdout?.destroy();
      proc.stderr?.destroy();
      await new Promise<void>((resolve) => setImmediate(resolve));
    })();
    return stopping;
  };
  return { proc, pid, stderrTail: () => tail, stdout: () => out, exited, closed, stop };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * True when the Wayland server at `path` answers a wl_display.sync: its event loop is running (a compositor
 * signalled before that may lose the signal, since wl_display_run() resets the flag wl_display_terminate() set).
 */
export function waylandAnswers(path: string, timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect(path);
    let got = 0;
    const finish = (ok: boolean): void => {
      clearTimeout(timer);
      sock.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    sock.once('connect', () => {
      // wl_display#1.sync(new_id wl_callback#2): object id, (size << 16 | opcode), new id; host byte order
      const msg = Buffer.alloc(12);
      const le = endianness() === 'LE';
      const put = (v: number, at: number): number => (le ? msg.writeUInt32LE(v, at) : msg.writeUInt32BE(v, at));
      put(1, 0);
      put((12 << 16) | 0, 4);
      put(2, 8);
      sock.write(msg);
    });
    // the reply is wl_callback#2.done(serial) (12 bytes), then wl_display#1.delete_id(2)
    sock.on('data', (chunk: Buffer) => {
      got += chunk.length;
      if (got >= 12) finish(true);
    });
    sock.once('error', () => finish(false));
    sock.once('close', () => finish(false));
  });
}

/** Resolves with the first stdout line equal to `line`; rejects when the process exits first or after timeoutMs. */
export async function waitForLine(m: Managed, line: string, timeoutMs: number): Promise<void> {
  await waitForOutputLine(m, (l) => l === line, timeoutMs, `'${line}'`);
}

/**
 * Resolves with the first complete stdout line (so far or to come) that passes `test`; rejects when the process
 * exits first or after timeoutMs. `what` names the line in error messages.
 */
export function waitForOutputLine(m: Managed, test: (line: string) => boolean, timeoutMs: number, what = 'the line'): Promise<string> {
  const stdout = m.proc.stdout;
  if (!stdout) return Promise.reject(new Error('waitForOutputLine: stdout is not piped'));
  return new Promise((resolve, reject) => {
    let buf = m.stdout();
    const find = (): string | undefined => buf.split('\n').slice(0, -1).find(test);
    const done = (err: Error | null, found?: string): void => {
      clearTimeout(timer);
      stdout.off('data', onData);
      m.proc.off('close', onExit);
      if (err) reject(err);
      else resolve(found ?? '');
    };
    const onData = (chunk: string): void => {
      buf += chunk;
      const found = find();
      if (found !== undefined) done(null, found);
    };
    const onExit = (code: number | null, signal: string | null): void =>
      done(new Error(`exited (${code ?? signal}) before printing ${what}; stderr:\n${m.stderrTail()}`));
    const timer = setTimeout(() => done(new Error(`no ${what} within ${timeoutMs} ms; stderr:\n${m.stderrTail()}`)), timeoutMs);
    stdout.on('data', onData);
    m.proc.once('close', onExit);
    const found = find();
    if (found !== undefined) done(null, found);
    else if (stdout.destroyed || stdout.readableEnded) onExit(m.proc.exitCode, m.proc.signalCode);
  });
}
