// Flags shared by commands and the config overrides they map to.
import { parseArgs } from 'node:util';
import { type Config, loadConfig } from '../config.ts';
import { type OptionSpec, UsageError } from './command.ts';

export const CONFIG_OPTIONS = {
  config: { type: 'string', short: 'c' },
  'data-dir': { type: 'string' },
  'log-level': { type: 'string' },
  'log-format': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies OptionSpec;

export const CONFIG_HELP = `  -c, --config FILE     YAML or JSON config file (default: built-in defaults)
      --data-dir DIR    data directory (dataDir)
      --log-level L     fatal|error|warn|info|debug|trace|silent (log.level)
      --log-format F    json|pretty (log.format; default pretty on a TTY)
  -h, --help            show this help`;

const FLAG_TO_KEY: Record<string, string> = {
  'data-dir': 'dataDir',
  'log-level': 'log.level',
  'log-format': 'log.format',
  listen: 'http.listen',
  'public-url': 'publicUrl',
  'machines-dir': 'machinesDir',
  'tftp-listen': 'tftp.listen',
  'tftp-root': 'tftp.root',
  'allow-downgrade': 'mirror.allowDowngrade',
  'allow-duplicate-release': 'mirror.allowDuplicateRelease',
};

export function parseFlags<T extends OptionSpec>(argv: string[], options: T, allowPositionals = false) {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** Load config from --config plus env, with flag overrides for the keys flags may set. */
export function configFromFlags(values: Record<string, unknown>): Config {
  const overrides: Record<string, unknown> = {};
  for (const [flag, key] of Object.entries(FLAG_TO_KEY)) {
    if (values[flag] !== undefined) overrides[key] = values[flag];
  }
  return loadConfig({
    file: typeof values['config'] === 'string' ? values['config'] : undefined,
    env: process.env,
    overrides,
  });
}
