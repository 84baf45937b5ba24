// Ignition `kernelArguments` of the installed system. Left in its config, they make
// Flatcar's first boot edit the OEM grub.cfg and reboot once more (Ignition's kargs stage);
// railyard instead writes `shouldExist` into the OEM grub.cfg at install time (handoff.sh
// prepare), where GRUB and the kexec command line both pick them up, and removes the section
// from the rendered config.
import { ConfigError } from '../errors.ts';

/**
 * Arguments Flatcar's GRUB always passes (build_library/grub.cfg): a `shouldNotExist` naming
 * one of them cannot be honoured by an OEM grub.cfg.
 */
const GRUB_ARGUMENTS = [
  'BOOT_IMAGE',
  'mount.usr',
  'verity.usr',
  'verity.usrhash',
  'rootflags',
  'mount.usrflags',
  'consoleblank',
  'root',
  'console',
  'flatcar.first_boot',
  'flatcar.oem.id',
];
/** One argument GRUB keeps as one word inside `set linux_append="…"`: no space, quote, $, \ or `. */
const SAFE_ARGUMENT = /^[^\s"'$\\`]{1,256}$/;

export interface MovedKernelArguments {
  /** The config without `kernelArguments`. */
  config: Record<string, unknown>;
  /** `shouldExist`, in order, each once. */
  append: string[];
}

export function moveKernelArguments(config: Record<string, unknown>): MovedKernelArguments {
  const { kernelArguments, ...rest } = config;
  if (kernelArguments === undefined || kernelArguments === null) return { config, append: [] };
  if (typeof kernelArguments !== 'object' || Array.isArray(kernelArguments))
    throw invalid('kernelArguments', 'expected an object with shouldExist / shouldNotExist lists');
  const section = kernelArguments as Record<string, unknown>;
  const shouldExist = list(section, 'shouldExist');
  const shouldNotExist = list(section, 'shouldNotExist');
  for (const arg of [...shouldExist, ...shouldNotExist]) {
    if (!SAFE_ARGUMENT.test(arg))
      throw invalid(
        'kernelArguments',
        `${JSON.stringify(arg)}: expected one word without quotes, $, \\ or \``,
      );
  }
  for (const arg of shouldNotExist) {
    if (shouldExist.includes(arg))
      throw invalid('kernelArguments', `${JSON.stringify(arg)} is in both shouldExist and shouldNotExist`);
    if (GRUB_ARGUMENTS.includes(arg.split('=')[0] ?? arg))
      throw invalid(
        'kernelArguments.shouldNotExist',
        `${JSON.stringify(arg)}: Flatcar's GRUB always passes ${arg.split('=')[0]}; an OEM grub.cfg cannot remove it`,
      );
  }
  return { config: rest, append: [...new Set(shouldExist)] };
}

function list(section: Record<string, unknown>, key: string): string[] {
  const value = section[key];
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string'))
    throw invalid(`kernelArguments.${key}`, 'expected a list of strings');
  return value;
}

function invalid(key: string, message: string): ConfigError {
  return new ConfigError(`ignition template ${key}: ${message}`, { key: 'ignition' });
}
