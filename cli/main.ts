// The `wayvio` command: dispatches to host, guest, run and demo; maps failures to exit codes.
import { benchCommand } from './bench-command';
import { demoCommand } from './demo-command';
import { guestCommand } from './guest-command';
import { hostCommand } from './host-command';
import { runCommand } from './run-command';
import { USAGE, UsageError, VERSION } from './usage';

const COMMANDS: Record<string, (argv: string[]) => void | Promise<void>> = {
  host: hostCommand,
  guest: guestCommand,
  run: runCommand,
  demo: demoCommand,
  bench: benchCommand,
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
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
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
