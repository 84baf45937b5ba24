import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError } from '../errors.ts';
import { tempDir } from '../testing/fixtures.ts';
import { loadMachines } from './load.ts';

function load(group: string) {
  const { dir } = tempDir('railyard-pool-group-');
  mkdirSync(join(dir, 'profiles'));
  mkdirSync(join(dir, 'groups'));
  writeFileSync(join(dir, 'profiles', 'base.yaml'), 'installDisk: /dev/vda\n');
  writeFileSync(join(dir, 'groups', 'rack.yaml'), group);
  return { dir, set: () => loadMachines(dir) };
}

const refused = (group: string, ...parts: string[]) => {
  const { dir, set } = load(group);
  try {
    set();
  } catch (err) {
    assert.instance(err, ConfigError);
    for (const part of [join(dir, 'groups', 'rack.yaml'), ...parts])
      assert.match((err as Error).message, part);
    return;
  }
  assert.unreachable(`accepted: ${group}`);
};

test('a pool group: its base profile is the profile its machines install', () => {
  const group = load('selector: {rack: r1}\npool: {profile: base, refresh: on-claim}\n').set().groups[0];
  assert.equal([group?.profile, group?.pool], ['base', { profile: 'base', refresh: 'on-claim' }]);
});

test('pool group errors name the file and the field', () => {
  refused('pool: {profile: nope}\n', 'pool.profile: no profile "nope"');
  refused('profile: base\npool: {profile: base}\n', 'profile', 'names its base profile in pool.profile only');
  refused('pool: {profile: base, refresh: sometimes}\n', 'pool.refresh', 'background');
  refused('pool: {profile: base, size: 3}\n', 'pool', 'size');
  refused('selector: {rack: r1}\n', 'profile', 'required (or pool.profile for a pool group)');
});

test.run();
