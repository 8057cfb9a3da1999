// `wayvio run -- CMD`: a guest proxy on a private socket for one command; exits with the command's status.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { GuestProxy } from '../guest-proxy/guest-proxy';
import { COMMON_OPTIONS, SOFTWARE, UsageError, channelOption, loggerFor, parse, policyFor, registryFor } from './usage';

export function runCommand(argv: string[]): void {
  const dash = argv.indexOf('--');
  if (dash < 0 || dash === argv.length - 1) throw new UsageError('wayvio run needs a command after --, e.g. wayvio run --channel unix:/run/wayvio.sock -- foot');
  const { values } = parse(argv.slice(0, dash), { ...COMMON_OPTIONS, shm: { type: 'string' } });
  const command = argv.slice(dash + 1);
  const channel = channelOption(values);
  const log = loggerFor('run', values);
  const dir = mkdtempSync(join(process.env.XDG_RUNTIME_DIR || tmpdir(), 'wayvio-run-'));
  const socketPath = join(dir, 'wayland-0');
  const proxy = new GuestProxy({ socketPath, channel, registry: registryFor(values), policy: policyFor(values, 'guest'), log, software: SOFTWARE, shm: values.shm as string | undefined,
    // listen failures arrive asynchronously, after `child` below exists
    onChannelError: () => {
      child.kill('SIGTERM');
      cleanup();
      process.exit(1);
    },
  });
  try {
    proxy.start();
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const child = spawn(command[0], command.slice(1), { stdio: 'inherit', env: { ...process.env, WAYLAND_DISPLAY: socketPath } });
  const cleanup = (): void => {
    proxy.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGQUIT'] as const) process.on(sig, () => child.kill(sig));
  child.on('error', (e) => {
    log.error(`cannot run ${command[0]}: ${e.message}`);
    cleanup();
    process.exit(1);
  });
  child.on('exit', (code, signal) => {
    cleanup();
    // like a shell: a command killed by a signal exits 128 + the signal's number
    process.exit(code ?? (signal !== null ? 128 + (constants.signals[signal] ?? 0) : 1));
  });
}
