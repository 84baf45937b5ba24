import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { silentLogger } from '../log.ts';
import { tempDir } from '../testing/fixtures.ts';
import { MachineRegistry } from './registry.ts';

function setup() {
  const tmp = tempDir('railyard-registry-');
  mkdirSync(join(tmp.dir, 'profiles'));
  mkdirSync(join(tmp.dir, 'groups'));
  writeFileSync(join(tmp.dir, 'profiles', 'a.yaml'), 'channel: stable\n');
  writeFileSync(join(tmp.dir, 'profiles', 'b.yaml'), 'channel: beta\n');
  writeFileSync(join(tmp.dir, 'groups', 'default.yaml'), 'profile: a\n');
  return { tmp, registry: new MachineRegistry(tmp.dir, silentLogger()) };
}

test('reload picks up a changed group; an invalid file keeps the last good set', () => {
  const { tmp, registry } = setup();
  assert.is(registry.current.groups[0]?.profile, 'a');
  writeFileSync(join(tmp.dir, 'groups', 'default.yaml'), 'profile: b\n');
  assert.ok(registry.reload('test'));
  assert.is(registry.current.groups[0]?.profile, 'b');
  writeFileSync(join(tmp.dir, 'groups', 'default.yaml'), 'profile: nope\n');
  assert.not.ok(registry.reload('test'));
  assert.is(registry.current.groups[0]?.profile, 'b');
  tmp.cleanup();
});

test('a reload with group metadata an iPXE script cannot take keeps the last good set', () => {
  const { tmp, registry } = setup();
  writeFileSync(join(tmp.dir, 'groups', 'default.yaml'), 'profile: b\nmetadata: {motd: "${net0/ip}"}\n');
  assert.not.ok(registry.reload('test'));
  assert.equal([registry.current.groups[0]?.profile, registry.current.groups[0]?.metadata], ['a', {}]);
  writeFileSync(join(tmp.dir, 'groups', 'default.yaml'), 'profile: b\nmetadata: {motd: hello}\n');
  assert.ok(registry.reload('test'));
  assert.equal(registry.current.groups[0]?.metadata, { motd: 'hello' });
  tmp.cleanup();
});

test('file changes are picked up by the watcher', async () => {
  const { tmp, registry } = setup();
  registry.watch();
  writeFileSync(join(tmp.dir, 'groups', 'default.yaml'), 'profile: b\n');
  for (let i = 0; i < 50 && registry.current.groups[0]?.profile !== 'b'; i++)
    await new Promise((r) => setTimeout(r, 100));
  assert.is(registry.current.groups[0]?.profile, 'b');
  await registry.stop();
  tmp.cleanup();
});

test('SIGHUP reloads', async () => {
  const { tmp, registry } = setup();
  registry.watch();
  writeFileSync(join(tmp.dir, 'profiles', 'a.yaml'), 'channel: alpha\n');
  process.kill(process.pid, 'SIGHUP');
  for (let i = 0; i < 50 && registry.current.profiles.get('a')?.channel !== 'alpha'; i++)
    await new Promise((r) => setTimeout(r, 50));
  assert.is(registry.current.profiles.get('a')?.channel, 'alpha');
  await registry.stop();
  tmp.cleanup();
});

test.run();
