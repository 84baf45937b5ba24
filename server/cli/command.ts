// The shape of a CLI command. Commands parse their own flags with node:util parseArgs and
// return an exit code: 0 success, 1 failure, 2 usage or config error (`serve` is fail-stop:
// a config error keeps it from starting, exit 1; see serve.ts).
import type { ParseArgsConfig } from 'node:util';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

export interface Command {
  name: string;
  summary: string;
  /** Full --help text (usage line, options, examples). */
  help: string;
  run(argv: string[]): Promise<number>;
}

export class UsageError extends Error {}
