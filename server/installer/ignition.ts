// The installer's Ignition config (embedded in the per-machine cpio as
// usr/share/oem/config.ign): files under /opt/railyard (install script, the installed
// system's Ignition, the mirror keyring when it is not the stock Flatcar key) and a oneshot
// unit that runs the script once the network is online.
import type { Profile } from '../machines/model.ts';
import type { MachineView } from '../render/views.ts';
import { withUpdateConf } from '../updates/update-conf.ts';
import type { ImagePlan } from './image-plan.ts';
import { renderInstallScript, renderWriteImage, type ScriptTemplate, type ScriptValues } from './script.ts';
import { renderTarget } from './target.ts';

export const INSTALLER_DIR = '/opt/railyard';
export const INSTALL_UNIT = 'railyard-install.service';

export interface InstallerInput {
  profile: Pick<Profile, 'installDisk' | 'phoneHome' | 'ignitionTemplate'> &
    Partial<Pick<Profile, 'updates'>>;
  view: MachineView;
  /** The resolved release version (X.Y.Z); also what `{{version}}` renders to in the target template. */
  version: string;
  /** The install attempt (its id names it in the script; its tokens are below). */
  attemptId: number;
  /** The attempt's install token (credentials.ts): the installer's reports. */
  token: string;
  /** The attempt's first-boot token: the installed system's one `first-boot` report. */
  firstBootToken: string;
  /** `<publicUrl>/api/v1/machines/<mac>/attempts/<id>/events` (script.ts reportUrl). */
  reportUrl: string;
  /** Armored public key text, when the mirror's keyring is not the stock Flatcar key. */
  keyring?: string | undefined;
  /** Defaults to assets/templates/install.sh.mustache. */
  scriptTemplate?: ScriptTemplate;
  /** This attempt's image path with the digests it pins (image-plan.ts); default: the .bz2 path. */
  image?: ImagePlan | undefined;
}

interface IgnitionFile {
  path: string;
  mode: number;
  overwrite: boolean;
  contents: { source: string };
}

/** An Ignition 3.3.0 config object. It embeds the attempt's tokens: never log it. */
export function buildInstallerIgnition(input: InstallerInput): Record<string, unknown> {
  const { profile, view, version, token, reportUrl, keyring } = input;
  const values: ScriptValues = {
    mac: view.mac,
    attemptId: input.attemptId,
    reportUrl,
    token,
    installDisk: profile.installDisk,
    mirrorBase: view.mirrorBase,
    version,
    keyring: keyring !== undefined,
    image: input.image,
  };
  const files: IgnitionFile[] = [
    file(`${INSTALLER_DIR}/install.sh`, 0o755, renderInstallScript(values, input.scriptTemplate)),
    file(`${INSTALLER_DIR}/write-image.sh`, 0o755, renderWriteImage(values)),
    file(`${INSTALLER_DIR}/target.ign`, 0o600, targetIgnition(input)),
  ];
  if (keyring !== undefined) files.push(file(`${INSTALLER_DIR}/keyring.asc`, 0o644, keyring));
  return {
    ignition: { version: '3.3.0' },
    storage: { files },
    systemd: { units: [{ name: INSTALL_UNIT, enabled: true, contents: installUnit() }] },
  };
}

/**
 * The installed system's Ignition (`/opt/railyard/target.ign`, which flatcar-install puts
 * on the OEM partition), byte for byte. It carries the first-boot token when phoneHome,
 * and /etc/flatcar/update.conf when the profile has `updates` (updates/update-conf.ts).
 */
export function targetIgnition(
  input: Pick<InstallerInput, 'profile' | 'view' | 'version' | 'reportUrl' | 'firstBootToken'>,
): string {
  const { profile, view, version, reportUrl } = input;
  const target = withUpdateConf(
    renderTarget(
      profile.ignitionTemplate,
      { ...view, version },
      profile.phoneHome ? { reportUrl, token: input.firstBootToken } : undefined,
    ),
    profile.updates,
    view.channel,
    view.publicUrl,
  );
  return `${JSON.stringify(target)}\n`;
}

function file(path: string, mode: number, text: string): IgnitionFile {
  return { path, mode, overwrite: true, contents: { source: dataUrl(text) } };
}

export function dataUrl(text: string): string {
  return `data:;base64,${Buffer.from(text, 'utf8').toString('base64')}`;
}

function installUnit(): string {
  return [
    '[Unit]',
    'Description=Install Flatcar to disk (railyard)',
    'Wants=network-online.target',
    'After=network-online.target',
    '',
    '[Service]',
    'Type=oneshot',
    'RemainAfterExit=yes',
    `ExecStart=${INSTALLER_DIR}/install.sh`,
    'StandardOutput=journal+console',
    'StandardError=journal+console',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}
