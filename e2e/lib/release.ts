// The stand-in Flatcar release (scripts/standin/build-release.sh): built or taken from the
// cache once per run and copied into the run's work dir. The fingerprint changes whenever the
// cache is rebuilt, so it is always read from the script's output.
import { join } from 'node:path';
import { REPO_ROOT } from './paths.ts';
import { run } from './proc.ts';

export interface StandinRelease {
  dir: string;
  basePath: string;
  versions: string[];
  current: string;
  key: string;
  fingerprint: string;
}

export async function buildRelease(outDir: string): Promise<StandinRelease> {
  const out = await run(join(REPO_ROOT, 'scripts/standin/build-release.sh'), [outDir]);
  const vars = new Map<string, string>();
  for (const line of out.split('\n')) {
    const m = /^(STANDIN_[A-Z_]+)=(.*)$/.exec(line);
    if (m) vars.set(m[1]!, m[2]!.replace(/\\(.)/g, '$1').replace(/^'(.*)'$/, '$1'));
  }
  const need = (k: string): string => {
    const v = vars.get(k);
    if (!v) throw new Error(`build-release.sh printed no ${k}:\n${out}`);
    return v;
  };
  return {
    dir: need('STANDIN_RELEASE_DIR'),
    basePath: need('STANDIN_BASE_PATH'),
    versions: need('STANDIN_VERSIONS').split(/\s+/),
    current: need('STANDIN_CURRENT'),
    key: need('STANDIN_KEY'),
    fingerprint: need('STANDIN_FINGERPRINT'),
  };
}
