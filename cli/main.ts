// The `wayvio` command: dispatches to host, guest, run and demo; maps failures to exit codes.
import { USAGE, UsageError, VERSION } from './usage';

type Command = (argv: string[]) => void | Promise<void>;

/** Loaded on demand: a guest proxy in a slow VM should not load the benchmark, the demo or prom-client. */
const COMMANDS: Record<string, () => Command> = {
  host: () => (require('./host-command') as typeof import('./host-command')).hostCommand,
  guest: () => (require('./guest-command') as typeof import('./guest-command')).guestCommand,
  run: () => (require('./run-command') as typeof import('./run-command')).runCommand,
  demo: () => (require('./demo-command') as typeof import('./demo-command')).demoCommand,
  bench: () => (require('./bench-command') as typeof import('./bench-command')).benchCommand,
};

export async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (name === '--version') {
    process.stdout.write(`wayvio ${VERSION}\n`);
    return;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(USAGE + '\n');
    return;
  }
  if (name === undefined) {
    process.stderr.write(`wayvio: a command is required: host, guest, run or demo\n${USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name]() : undefined;
  try {
    if (command === undefined) throw new UsageError(`unknown command '${name}'; use host, guest, run or demo (wayvio --help)`);
    await command(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`wayvio: ${e.message}\n${USAGE}\n`);
      process.exit(2);
    }
    process.stderr.write(`wayvio ${name}: ${(e as Error).message}\n`);
    process.exit(1);
  }
}
