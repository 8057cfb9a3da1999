// Clean stops on SIGINT/SIGTERM/SIGQUIT, pidfiles, and the exit codes (0 clean, 1 failure, 2 usage).
import { unlinkSync, writeFileSync } from 'node:fs';

export function writePidfile(path: string): () => void {
  writeFileSync(path, `${process.pid}\n`);
  return () => {
    try {
      unlinkSync(path);
    } catch {
      // removed already
    }
  };
}

/** Runs `stop` once on the first stop signal, then exits with `code`. */
export function onStopSignals(stop: () => void | Promise<void>, code = 0): void {
  let stopping = false;
  const handler = (sig: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`wayvio: ${sig}, stopping\n`);
    Promise.resolve(stop()).then(() => process.exit(code), () => process.exit(1));
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGQUIT'] as const) process.on(sig, handler);
}

/**
 * A proxy whose event loop runs dry has nothing left to serve (e.g. its channel could not listen): that is a
 * runtime failure, not a clean stop, so exit 1 with a line saying so instead of Node's silent 0.
 */
export function failWhenIdle(role: string, cleanup: () => void = () => undefined): void {
  process.once('beforeExit', () => {
    cleanup();
    process.stderr.write(`wayvio ${role}: nothing left to serve (see the channel error above); exiting\n`);
    process.exit(1);
  });
}

/** A runtime failure after start (the channel cannot listen): clean up, then exit 1. */
export function exitFailed(cleanup: () => void): void {
  try {
    cleanup();
  } finally {
    process.exit(1);
  }
}
