// Where railyard's own files are (package.json, assets/, examples/): the nearest directory
// above this module whose package.json is railyard's. The one home for that path: it holds
// from the sources (server/package-root.ts) and from the compiled build
// (dist/server/package-root.js) alike, wherever the checkout or the install lives.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface PackageJson {
  name: string;
  version: string;
}

function findPackageRoot(from: string): { root: string; pkg: PackageJson } {
  for (let dir = from; ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as PackageJson;
      if (pkg.name === 'railyard') return { root: dir, pkg };
    }
    if (dirname(dir) === dir) throw new Error(`railyard's package.json not found above ${from}`);
  }
}

const found = findPackageRoot(dirname(fileURLToPath(import.meta.url)));

/** Root of the railyard checkout or installed package. */
export const PACKAGE_ROOT: string = found.root;
/** railyard's package.json, as read at start-up. */
export const PACKAGE: Readonly<PackageJson> = Object.freeze(found.pkg);
