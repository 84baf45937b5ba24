// Command dispatcher: `railyard <command> [args]`. Each command lives in its own module.
import { ConfigError, errorMessage } from '../errors.ts';
import type { Command } from './command.ts';
import { UsageError } from './command.ts';
import { dhcpConfigCommand } from './dhcp-config.ts';
import { machinesCommand } from './machines.ts';
import { mirrorCommand } from './mirror.ts';
import { serveCommand } from './serve.ts';
import { stateCommand } from './state.ts';

const COMMANDS: Command[] = [serveCommand, mirrorCommand, machinesCommand, dhcpConfigCommand, stateCommand];

function topHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return `railyard — network boot server that provisions Flatcar Container Linux

Usage: railyard <command> [options]

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

Run 'railyard <command> --help' for a command's options.
Every config key can also be set by an environment variable RAILYARD_<SECTION>_<KEY>
(e.g. RAILYARD_HTTP_LISTEN, RAILYARD_PUBLIC_URL, RAILYARD_MIRROR_AUTO_REFRESH).`;
}

export async function runCli(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${topHelp()}\n`);
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-V') {
    process.stdout.write(`${(await import('../version.ts')).VERSION}\n`);
    return 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    process.stderr.write(`railyard: unknown command '${name}'\n\n${topHelp()}\n`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${command.help}\n`);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`railyard ${name}: ${err.message}\nRun 'railyard ${name} --help' for usage.\n`);
      return 2;
    }
    if (err instanceof ConfigError) {
      process.stderr.write(`railyard ${name}: ${err.message}\n`);
      return 2;
    }
    process.stderr.write(`railyard ${name}: ${errorMessage(err)}\n`);
    return 1;
  }
}
