// The installer's Ignition config (embedded in the per-machine cpio as
// usr/share/oem/config.ign): files under /opt/railyard (install script, the attempt's report
// URL and token in attempt.env, image writer and hand-off script, the installed system's
// Ignition, the mirror keyring when it is not the stock Flatcar key) and a oneshot unit that
// runs the install script once the network is online.

import { type MovedKernelArguments, moveKernelArguments } from '../machines/kernel-args.ts';
import type { Profile } from '../machines/model.ts';
import type { MachineView } from '../render/views.ts';
import { withUpdateConf } from '../updates/update-conf.ts';
import type { HandoffPlan } from './handoff-plan.ts';
import { handoffScriptTemplate, handoffView, renderHandoffScript } from './handoff-script.ts';
import type { ImagePlan } from './image-plan.ts';
import {
  renderAttemptEnv,
  renderInstallScript,
  renderPoolScript,
  renderWriteImage,
  type ScriptTemplate,
  type ScriptValues,
  writeImageTemplate,
  writeImageView,
} from './script.ts';
import { type FileContents, sharedContents } from './shared-contents.ts';
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
  /** How handoff.sh passes control to the installed system (handoff-plan.ts). */
  handoff: HandoffPlan;
  /** Defaults to assets/templates/install.sh.mustache. */
  scriptTemplate?: ScriptTemplate;
  /** Defaults to assets/templates/handoff.sh.mustache. */
  handoffTemplate?: ScriptTemplate;
  /** This attempt's image path with the digests it pins (image-plan.ts); default: the .bz2 path. */
  image?: ImagePlan | undefined;
  /**
   * A pool attempt (docs/pool.md): pool.sh instead of install.sh, long-polling `claimUrl`; no
   * target.ign (the claim brings the installed system's config).
   */
  pool?: { claimUrl: string } | undefined;
}

interface IgnitionFile {
  path: string;
  mode: number;
  overwrite: boolean;
  contents: FileContents;
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
  // the scripts first: their checks name the bad value (InvalidRequestError)
  const pool = input.pool;
  const attemptEnv = renderAttemptEnv(values);
  const writeImage = sharedContents(writeImageTemplate(), writeImageView(values), () =>
    renderWriteImage(values),
  );
  // a pool attempt's installed-system config (and its kernel arguments) comes with the claim:
  // pool.sh writes them to $DIR/target.ign and $DIR/kernel-args, which handoff.sh reads
  const target = pool ? undefined : targetConfig(input);
  const script = pool
    ? renderPoolScript(values, pool.claimUrl)
    : renderInstallScript(values, input.scriptTemplate);
  const handoffValues = {
    installDisk: profile.installDisk,
    plan: input.handoff,
    kernelArgs: target?.append ?? [],
  };
  const handoffTemplate = input.handoffTemplate ?? handoffScriptTemplate();
  const handoff = sharedContents(handoffTemplate, handoffView(handoffValues), () =>
    renderHandoffScript(handoffValues, handoffTemplate),
  );
  const files: IgnitionFile[] = [
    file(`${INSTALLER_DIR}/${pool ? 'pool.sh' : 'install.sh'}`, 0o755, script),
    file(`${INSTALLER_DIR}/attempt.env`, 0o600, attemptEnv),
    shared(`${INSTALLER_DIR}/write-image.sh`, 0o755, writeImage),
    shared(`${INSTALLER_DIR}/handoff.sh`, 0o755, handoff),
  ];
  if (target) files.push(file(`${INSTALLER_DIR}/target.ign`, 0o600, `${JSON.stringify(target.config)}\n`));
  if (keyring !== undefined) files.push(file(`${INSTALLER_DIR}/keyring.asc`, 0o644, keyring));
  return {
    ignition: { version: '3.3.0' },
    storage: { files },
    systemd: {
      units: [{ name: INSTALL_UNIT, enabled: true, contents: installUnit(pool ? 'pool.sh' : 'install.sh') }],
    },
  };
}

type TargetInput = Pick<InstallerInput, 'profile' | 'view' | 'version' | 'reportUrl' | 'firstBootToken'>;

/**
 * The installed system's Ignition (`/opt/railyard/target.ign`, which flatcar-install puts
 * on the OEM partition), byte for byte. It carries the first-boot token when phoneHome,
 * /etc/flatcar/update.conf when the profile has `updates` (updates/update-conf.ts); its
 * `kernelArguments` are not in it (handoff.sh writes them into the OEM grub.cfg).
 */
export function targetIgnition(input: TargetInput): string {
  return `${JSON.stringify(targetConfig(input).config)}\n`;
}

/** The rendered target config with its kernelArguments moved out (kernel-args.ts). */
export function targetConfig(input: TargetInput): MovedKernelArguments {
  const { profile, view, version, reportUrl } = input;
  const rendered = withUpdateConf(
    renderTarget(
      profile.ignitionTemplate,
      { ...view, version },
      profile.phoneHome ? { reportUrl, token: input.firstBootToken } : undefined,
    ),
    profile.updates,
    view.channel,
    view.publicUrl,
  );
  return moveKernelArguments(rendered);
}

function file(path: string, mode: number, text: string): IgnitionFile {
  return { path, mode, overwrite: true, contents: { source: dataUrl(text) } };
}

/** A file many machines get byte for byte: gzip'd and encoded once (shared-contents.ts). */
function shared(path: string, mode: number, contents: FileContents): IgnitionFile {
  return { path, mode, overwrite: true, contents };
}

export function dataUrl(text: string): string {
  return `data:;base64,${Buffer.from(text, 'utf8').toString('base64')}`;
}

function installUnit(script: string): string {
  return [
    '[Unit]',
    'Description=Install Flatcar to disk (railyard)',
    'Wants=network-online.target',
    'After=network-online.target',
    '',
    '[Service]',
    'Type=oneshot',
    'RemainAfterExit=yes',
    `ExecStart=${INSTALLER_DIR}/${script}`,
    'StandardOutput=journal+console',
    'StandardError=journal+console',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}
