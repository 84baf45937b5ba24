import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError } from '../errors.ts';
import { EXAMPLES_DIR, tempDir } from '../testing/fixtures.ts';
import { loadMachines } from './load.ts';

test('the shipped examples load', () => {
  const set = loadMachines(EXAMPLES_DIR);
  assert.equal([...set.profiles.keys()].sort(), ['flatcar-debug', 'flatcar-stable', 'flatcar-updates']);
  assert.equal(
    set.groups.map((g) => g.id),
    ['node1', 'default'],
  );
  const stable = set.profiles.get('flatcar-stable');
  assert.is(stable?.installDisk, 'smallest');
  assert.is((stable?.ignitionTemplate['ignition'] as { version: string } | undefined)?.version, '3.3.0');
});

function machinesDir(files: Record<string, string>): string {
  const { dir } = tempDir('railyard-machines-');
  mkdirSync(join(dir, 'profiles'));
  mkdirSync(join(dir, 'groups'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

const expectError = (files: Record<string, string>, ...parts: string[]) => {
  const dir = machinesDir(files);
  try {
    loadMachines(dir);
  } catch (err) {
    assert.instance(err, ConfigError);
    for (const part of parts) assert.match((err as Error).message, part);
    return;
  }
  throw new Error(`expected a ConfigError for ${JSON.stringify(files)}`);
};

test('revision changes when a template changes', () => {
  const files = {
    'profiles/p.yaml': 'ignition: ign/t.yaml\n',
    'ign/t.yaml': 'ignition: {version: 3.3.0}\n',
    'groups/d.yaml': 'profile: p\n',
  };
  const dir = machinesDir(files);
  const a = loadMachines(dir);
  writeFileSync(join(dir, 'ign/t.yaml'), 'ignition: {version: 3.4.0}\n');
  const b = loadMachines(dir);
  assert.is.not(a.profiles.get('p')?.revision, b.profiles.get('p')?.revision);
});

test('errors name the file, the field and what was expected', () => {
  expectError({ 'profiles/p.yaml': 'channel: nightly\n' }, 'p.yaml', 'channel', '"nightly"');
  expectError({ 'profiles/p.yaml': 'installDisk: sda\n' }, 'installDisk', '/dev/sda');
  expectError(
    { 'profiles/p.yaml': 'kernelArgs: ["console=ttyS0 evil"]\n' },
    'kernelArgs.0',
    'without spaces',
  );
  expectError({ 'profiles/p.yaml': 'id: other\n' }, 'p.yaml', 'does not match the file name');
  expectError({ 'profiles/p.yaml': 'colour: red\n' }, 'colour');
  expectError({ 'profiles/p.yaml': 'version: [\n' }, 'p.yaml', 'not valid YAML');
  expectError({ 'groups/g.yaml': 'profile: nope\n' }, 'g.yaml', 'no profile "nope"');
  expectError(
    { 'profiles/p.yaml': '{}\n', 'groups/g.yaml': 'profile: p\nselector: {mac: "nope"}\n' },
    'g.yaml',
    'selector.mac',
  );
  expectError({ 'profiles/p.yaml': 'ignition: ../../etc/passwd\n' }, 'ignition', 'outside');
  expectError({ 'profiles/p.yaml': 'ignition: missing.yaml\n' }, 'missing.yaml', 'cannot read');
  expectError(
    { 'profiles/p.yaml': 'ipxeTemplate: t.ipxe\n', 't.ipxe': 'kernel x\n', 'groups/g.yaml': 'profile: p\n' },
    't.ipxe',
    '#!ipxe',
  );
});

test('an ipxeTemplate is read as text: iPXE syntax that is not valid YAML loads', () => {
  const template =
    '#!ipxe\niseq ${net0/chip} undionly || chain tftp://{{metadata.tftp}}/undionly.kpxe\n:retry\nboot || goto retry\n';
  const dir = machinesDir({
    'profiles/p.yaml': 'ipxeTemplate: t.ipxe\n',
    't.ipxe': template,
    'groups/g.yaml': 'profile: p\nmetadata: {tftp: 10.0.0.1}\n',
  });
  assert.is(loadMachines(dir).profiles.get('p')?.ipxeTemplateText, template);
});

test('two groups with identical selector sets are a load error', () => {
  expectError(
    {
      'profiles/p.yaml': '{}\n',
      'groups/a.yaml': 'profile: p\nselector: {mac: "52:54:00:00:00:01"}\n',
      'groups/b.yaml': 'profile: p\nselector: {mac: "52-54-00-00-00-01"}\n',
    },
    'identical selectors',
    '"a"',
    '"b"',
  );
});

test('a template naming a variable the machine will not have fails at load time', () => {
  expectError(
    {
      'profiles/p.yaml':
        'ignition:\n  ignition: {version: 3.3.0}\n  storage: {files: [{path: /etc/rack, contents: {source: "data:,{{metadata.rack}}"}}]}\n',
      'groups/g.yaml': 'profile: p\nmetadata: {row: 3}\n',
    },
    'p.yaml: ignition: ',
    'undefined variables',
    'metadata.rack',
    'g.yaml',
    'metadata: row',
  );
  expectError(
    {
      'profiles/p.yaml': 'ipxeTemplate: t.ipxe\n',
      't.ipxe': '#!ipxe\nchain {{metadata.next}}\n',
      'groups/g.yaml': 'profile: p\n',
    },
    't.ipxe: ipxeTemplate: ',
    'metadata.next',
  );
});

test('a template that does not parse fails at load, naming the file and the field', () => {
  expectError(
    {
      'profiles/p.yaml': 'ignition: ign/t.yaml\n',
      'ign/t.yaml': 'storage: {files: [{path: /etc/x, contents: {source: "data:,{{#rack}}"}}]}\n',
    },
    'ign/t.yaml: ignition: not a valid mustache template',
    'Unclosed section "rack"',
  );
});

test('group metadata that would change an iPXE script is refused at load, naming file and field', () => {
  const group = (metadata: string) => ({
    'profiles/p.yaml': '{}\n',
    'groups/g.yaml': `profile: p\n${metadata}`,
  });
  expectError(group('metadata: {motd: "hi\\n#!ipxe"}\n'), 'g.yaml: metadata.motd = ', 'without line breaks');
  expectError(group('metadata: {rack: {name: "${net0/mac}"}}\n'), 'g.yaml: metadata.rack.name', '"${"');
  expectError(group('metadata: {list: [ok, "a${b}"]}\n'), 'g.yaml: metadata.list.1', '"${"');
  expectError(
    group('metadata: {bootUrl: "http://x/a b"}\n'),
    'g.yaml: metadata.bootUrl',
    'URL without whitespace',
  );
  expectError(group('metadata: {hostname: "web 1"}\n'), 'g.yaml: metadata.hostname', 'RFC 1123 host name');
  expectError(group('metadata: {hostname: 42}\n'), 'g.yaml: metadata.hostname', 'RFC 1123 host name');
  const ok = loadMachines(
    machinesDir(group('metadata: {hostname: web-1.lab, note: "two words", bootUrl: "http://x/a", n: 3}\n')),
  );
  assert.equal(ok.groups[0]?.metadata, {
    hostname: 'web-1.lab',
    note: 'two words',
    bootUrl: 'http://x/a',
    n: 3,
  });
});

test.run();
