// Debian's real `ignition-validate` (package `ignition`, 2.14) on a generated config: the
// test fails when the validator rejects it, or when the validator is not installed (.ci/run
// installs it; `apt-get install ignition`).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as assert from 'uvu/assert';

export const IGNITION_VALIDATE = process.env['IGNITION_VALIDATE'] ?? 'ignition-validate';

/** Run ignition-validate on `config` (an object or its JSON text); `what` names it in failures. */
export function assertValidIgnition(config: unknown, what: string): void {
  const text = typeof config === 'string' ? config : JSON.stringify(config);
  const dir = mkdtempSync(join(tmpdir(), 'railyard-ignition-'));
  try {
    const file = join(dir, 'config.ign');
    writeFileSync(file, text);
    const result = spawnSync(IGNITION_VALIDATE, [file], { encoding: 'utf8' });
    if (result.error)
      assert.unreachable(
        `${IGNITION_VALIDATE} could not run (${result.error.message}): apt-get install ignition`,
      );
    assert.is(result.status, 0, `${what}: ignition-validate rejected it:\n${result.stdout}${result.stderr}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
