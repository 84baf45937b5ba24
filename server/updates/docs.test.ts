// docs/updates.md's examples must stay valid: the railyard.yaml block loads, the profile and
// group blocks load with the machine loader and give the policy the text describes.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadMachines } from '../catalog/load.ts';
import { loadConfig, PACKAGE_ROOT } from '../config.ts';
import { tempDir } from '../testing/fixtures.ts';
import { policies } from './fleet.ts';

const blocks = [
  ...readFileSync(join(PACKAGE_ROOT, 'docs/updates.md'), 'utf8').matchAll(/```yaml\n([\s\S]*?)```/g),
].map((m) => m[1] as string);

test('the configuration example loads', () => {
  const { dir, cleanup } = tempDir();
  try {
    writeFileSync(join(dir, 'railyard.yaml'), blocks[0] as string);
    const c = loadConfig({ file: join(dir, 'railyard.yaml'), env: {} });
    assert.is(c.mirror.updates, true);
    assert.is(c.mirror.updateUpstream, 'https://update.release.flatcar-linux.net/{board}');
    assert.is(c.updates.slotTimeout, 3_600_000);
    assert.is(c.updates.maxUnknown, 1000);
  } finally {
    cleanup();
  }
});

test('the profile and group examples load and mean what the text says', () => {
  const { dir, cleanup } = tempDir();
  try {
    const [profile, group] = (blocks[1] as string).split(/^# machines\/groups\/rack1\.yaml.*\n/m);
    mkdirSync(join(dir, 'profiles'));
    mkdirSync(join(dir, 'groups'));
    writeFileSync(join(dir, 'profiles', 'workers.yaml'), profile as string);
    writeFileSync(join(dir, 'groups', 'rack1.yaml'), group as string);
    const [p] = policies(loadMachines(dir));
    assert.equal(
      [p?.group, p?.server, p?.channel, p?.version, p?.maxConcurrent, p?.window?.timezone],
      ['rack1', 'railyard', 'stable', '4230.2.4', 5, 'Europe/Berlin'],
    );
  } finally {
    cleanup();
  }
});

test.run();
