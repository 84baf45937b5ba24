// `railyard dhcp-config`: print a DHCP server config that chainloads PXE firmware into iPXE
// and hands iPXE the boot script. Reads the config (publicUrl, tftp.root) and the flags,
// checks the TFTP root for the binaries it names, and leaves the rendering to server/dhcp/.
import { FileRoot, segmentsFromTftpName } from '../assets/file-root.ts';
import { generateDhcpConfig, parseFlavor } from '../dhcp/generate.ts';
import { ARM64_BINARY, type DhcpParams, parseDhcpParams } from '../dhcp/params.ts';
import { errorMessage, InvalidRequestError } from '../errors.ts';
import { type Command, UsageError } from './command.ts';
import { CONFIG_HELP, CONFIG_OPTIONS, configFromFlags, parseFlags } from './common.ts';

const OPTIONS = {
  ...CONFIG_OPTIONS,
  flavor: { type: 'string', short: 'f' },
  interface: { type: 'string', short: 'i' },
  range: { type: 'string', short: 'r' },
  'server-ip': { type: 'string' },
  'public-url': { type: 'string' },
  'efi-binary': { type: 'string' },
  arm64: { type: 'string' },
  'tftp-root': { type: 'string' },
} as const;

const ARM64_MODES = ['auto', 'yes', 'no'] as const;

export const dhcpConfigCommand: Command = {
  name: 'dhcp-config',
  summary: "print a config for the site's DHCP server (dnsmasq, ISC dhcpd, Kea)",
  help: `Usage: railyard dhcp-config --flavor dnsmasq|dnsmasq-proxy|isc|kea --range START,END[,NETMASK] [options]

Prints a config for the site's DHCP server on stdout. PXE firmware gets an iPXE binary from
railyard's TFTP server (BIOS undionly.kpxe, UEFI x86-64 ipxe.efi or snponly.efi, UEFI arm64
${ARM64_BINARY} when present); iPXE (user-class "iPXE") gets <publicUrl>/boot.ipxe, so
it never loads itself again. dnsmasq-proxy is proxyDHCP beside an existing DHCP server: only
the network of --range is used.

Options:
  -f, --flavor F        dnsmasq | dnsmasq-proxy | isc | kea (required)
  -r, --range S,E[,M]   addresses to hand out and netmask (default 255.255.255.0 or /24)
  -i, --interface IF    interface the DHCP server listens on (default: all)
      --server-ip IP    IPv4 address of railyard's TFTP server (default: host of publicUrl)
      --public-url URL  base URL iPXE fetches boot.ipxe from (publicUrl)
      --efi-binary B    ipxe.efi (default) or snponly.efi for UEFI x86-64
      --arm64 MODE      auto (default: if ${ARM64_BINARY} exists in tftp.root) | yes | no
      --tftp-root DIR   railyard's TFTP root (tftp.root)
${CONFIG_HELP}

Example:
  railyard dhcp-config --flavor dnsmasq --interface eth0 --range 10.0.0.100,10.0.0.199 \\
    --public-url http://10.0.0.5:8080 > /etc/dnsmasq.d/railyard.conf`,
  async run(argv) {
    const { values } = parseFlags(argv, OPTIONS);
    const config = configFromFlags(values);
    const arm64 = parseArm64(values.arm64);
    const tftpRoot = new FileRoot(config.tftp.root);
    const arm64Binary =
      arm64 === 'yes' || (arm64 === 'auto' && (await unservable(tftpRoot, ARM64_BINARY)) === null);
    const flavor = asUsage(() => parseFlavor(values.flavor));
    const params = asUsage(() =>
      parseDhcpParams({
        interface: values.interface,
        range: values.range,
        serverIp: values['server-ip'],
        publicUrl: config.publicUrl,
        efiBinary: values['efi-binary'],
        arm64Binary: arm64Binary ? ARM64_BINARY : null,
      }),
    );
    await warnUnservable(tftpRoot, params);
    process.stdout.write(generateDhcpConfig(flavor, params));
    return 0;
  },
};

/** Bad flag values found by the generators are usage errors (exit 2). */
function asUsage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof InvalidRequestError) throw new UsageError(err.message);
    throw err;
  }
}

function parseArm64(value: string | undefined): (typeof ARM64_MODES)[number] {
  if (value === undefined) return 'auto';
  const found = ARM64_MODES.find((m) => m === value);
  if (!found)
    throw new UsageError(`--arm64 ${JSON.stringify(value)}: expected one of ${ARM64_MODES.join(', ')}`);
  return found;
}

/** Why railyard's TFTP server could not serve `file` from `root` (same resolver), or null. */
async function unservable(root: FileRoot, file: string): Promise<string | null> {
  try {
    await root.resolve(segmentsFromTftpName(file));
    return null;
  } catch (err) {
    return errorMessage(err);
  }
}

/** The config is still printed: the binaries may be installed after it. */
async function warnUnservable(root: FileRoot, params: DhcpParams): Promise<void> {
  const files = ['undionly.kpxe', params.efiBinary, ...(params.arm64Binary ? [params.arm64Binary] : [])];
  for (const file of files) {
    const why = await unservable(root, file);
    if (why !== null) {
      process.stderr.write(
        `railyard dhcp-config: warning: tftp.root ${root.root} cannot serve ${file}: ${why}\n`,
      );
    }
  }
}
