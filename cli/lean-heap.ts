// Restarts a proxy once with a small V8 young generation. Its default lets the semi-spaces grow to
// 16 MiB each under steady traffic; the host proxy's memory target (docs/benchmarks.md) has no room
// for that. V8 reads the size only when the heap is created, so the flag must be on node's command line.
import { execve } from '../native/index';

export const LEAN_HEAP_FLAG = '--max-semi-space-size=1';

/** Unless node already has a semi-space size (ours or the user's), execs itself with LEAN_HEAP_FLAG; same pid. */
export function restartWithLeanHeap(): void {
  const given = (flags: readonly string[]): boolean => flags.some((f) => f.startsWith('--max-semi-space-size'));
  if (given(process.execArgv) || given((process.env.NODE_OPTIONS ?? '').split(/\s+/))) return;
  try {
    execve(process.execPath, [process.execPath, LEAN_HEAP_FLAG, ...process.execArgv, ...process.argv.slice(1)], process.env);
  } catch (e) {
    process.stderr.write(`wayvio: cannot restart with ${LEAN_HEAP_FLAG} (${(e as Error).message}); running with V8's default heap\n`);
  }
}
