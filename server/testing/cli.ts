// Test-only: the `railyard` command as users run it, bin/railyard.js on the compiled build
// (dist/). Importing this builds dist/ first when a source changed since the last build, in
// this process: children that cannot write the checkout (testing/unprivileged.ts), and
// several children started at once, then all find it current.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../package-root.ts';

/** Path of the entry point users run (`railyard`, `npm start`). */
export const CLI = join(PACKAGE_ROOT, 'bin/railyard.js');

execFileSync(process.execPath, [join(PACKAGE_ROOT, 'scripts/build.js'), '--if-stale', '--quiet'], {
  stdio: ['ignore', 'inherit', 'inherit'],
});
