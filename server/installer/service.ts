// The installer of an install attempt, as a service: the attempt (boot/attempts.ts: open,
// not yet installed, served to the client that got its script) → the planned image path and
// hand-off, the attempt's tokens and report URL, the keyring → the cached cpio artifact.
// The transport only parses the request and writes the reply (http/installer-routes.ts).
import type { AttemptInputs, InstallerRequest } from '../boot/attempts.ts';
import type { Mac } from '../machines/identity.ts';
import type { InstallerArtifact, InstallerCache } from './cache.ts';
import type { AttemptTokens } from './credentials.ts';
import { type KexecDenyEntry, planHandoff } from './handoff-plan.ts';
import { type DerivedImage, planImage } from './image-plan.ts';
import { claimUrl, reportUrl } from './script.ts';

/** Derives an attempt's tokens from its stored nonce (installer/credentials.ts). */
export interface TokenSource {
  tokens(nonce: string): AttemptTokens;
}

/** Where the attempt's inputs come from (boot/attempts.ts). */
export interface AttemptInputSource {
  installer(mac: Mac, request: InstallerRequest): Promise<AttemptInputs>;
}

export interface InstallerServiceDeps {
  attempts: AttemptInputSource;
  cache: InstallerCache;
  credentials: TokenSource;
  publicUrl: string;
  /** Armored keyring text when the mirror's keyring is not the stock Flatcar key. */
  keyring: string | undefined;
  /** installer.kexecDeny: hardware that reboots instead of kexec'ing. */
  kexecDeny: readonly KexecDenyEntry[];
  /** The mirror's derived fast-install files of a release, when ready (else installs use the .bz2). */
  derivedImage?:
    | ((channel: string, board: string, version: string) => Promise<DerivedImage | undefined>)
    | undefined;
}

export interface ServedInstaller {
  attemptId: number;
  artifact: InstallerArtifact;
}

export class InstallerService {
  readonly #deps: InstallerServiceDeps;

  constructor(deps: InstallerServiceDeps) {
    this.#deps = deps;
  }

  /** The installer of `mac`'s attempt (NotFoundError, ForbiddenError, ConflictError from the attempt). */
  async installer(mac: Mac, request: InstallerRequest): Promise<ServedInstaller> {
    const deps = this.#deps;
    const { attempt, view, profile, pool } = await deps.attempts.installer(mac, request);
    const tokens = deps.credentials.tokens(attempt.secrets.nonce);
    // The image path is planned from the attempt's release: its derived files, when ready.
    const derived = await deps.derivedImage?.(profile.channel, profile.board, attempt.version);
    const artifact = await deps.cache.get({
      view,
      profile,
      // decided from the attempt's pinned profile and facts, like everything else it serves
      handoff: planHandoff(profile, { ...attempt.facts, mac }, deps.kexecDeny),
      image: planImage(profile, derived, `${view.mirrorBase}/${attempt.version}`),
      version: attempt.version,
      attemptId: attempt.id,
      token: tokens.install,
      firstBootToken: tokens.firstBoot,
      reportUrl: reportUrl(deps.publicUrl, mac, attempt.id),
      keyring: deps.keyring,
      pool: pool ? { claimUrl: claimUrl(deps.publicUrl, mac) } : undefined,
    });
    return { attemptId: attempt.id, artifact };
  }
}
