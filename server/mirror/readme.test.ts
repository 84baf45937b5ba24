// The configuration example in the mirror README must stay a valid config.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import { DEFAULT_KEYRING, loadConfig, PACKAGE_ROOT } from '../config.ts';

function mirrorExample(): string | undefined {
  for (const name of ['docs/mirror.md', 'README.md']) {
    const path = join(PACKAGE_ROOT, name);
    if (!existsSync(path)) continue;
    const blocks = [...readFileSync(path, 'utf8').matchAll(/```yaml\n([\s\S]*?)```/g)].map(
      (m) => m[1] as string,
    );
    const example = blocks.find((b) => /^mirror:/m.test(b) && /releases:/.test(b) && /autoRefresh/.test(b));
    if (example) return example;
  }
  return undefined;
}

test('the README mirror configuration example loads and means what it says', () => {
  const example = mirrorExample();
  assert.ok(example, 'README has a mirror config example');
  const dir = mkdtempSync(join(tmpdir(), 'railyard-readme-'));
  try {
    writeFileSync(join(dir, 'railyard.yaml'), example);
    const config = loadConfig({ file: join(dir, 'railyard.yaml'), env: {} });
    assert.equal(config.mirror.upstream, 'https://{channel}.release.flatcar-linux.net/{board}');
    assert.equal(config.mirror.keyring, DEFAULT_KEYRING);
    assert.equal(config.mirror.interval, 6 * 3_600_000);
    assert.equal(config.mirror.releases[0]?.keep, 3);
    assert.deepEqual(config.mirror.releases[1]?.versions, ['current', 'current-2024', '4081.3.6']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
