// Per-file E2E context: a temp work dir, the stand-in release (copied there, so a test may
// corrupt it), the fake upstream, and one cleanup stack that removes all of it.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cleanup } from './cleanup.ts';
import { buildRelease, type StandinRelease } from './release.ts';
import { startUpstream, type Upstream } from './upstream.ts';

export interface Lab {
  workDir: string;
  release: StandinRelease;
  upstream: Upstream;
  cleanup: Cleanup;
  t0: number;
}

export async function openLab(name: string): Promise<Lab> {
  const t0 = Date.now();
  const cleanup = new Cleanup();
  // Ctrl-C or a CI timeout: still stop QEMU, railyard, dnsmasq and remove the namespaces.
  const onSignal = () => void cleanup.run().finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  cleanup.add('remove signal handlers', () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  });
  const workDir = await mkdtemp(join(tmpdir(), `rye-e2e-${name}-`));
  if (!process.env['E2E_KEEP'])
    cleanup.add(`remove ${workDir}`, () => rm(workDir, { recursive: true, force: true }));
  else cleanup.add('keep work dir', () => console.log(`  kept ${workDir}`));
  try {
    const release = await buildRelease(join(workDir, 'release'));
    const upstream = await startUpstream(release.dir);
    cleanup.add('stop fake upstream', () => upstream.close());
    log(
      `release ${release.current} (${release.versions.join(' ')}), key ${release.fingerprint}, ${upstream.url}`,
    );
    return { workDir, release, upstream, cleanup, t0 };
  } catch (err) {
    await cleanup.run();
    throw err;
  }
}

export function log(msg: string): void {
  console.log(`  e2e: ${msg}`);
}
