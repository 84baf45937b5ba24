import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { InvalidRequestError } from '../errors.ts';
import { canonicalMac, factsFromQuery, isMac, macOrUndefined } from './identity.ts';

test('canonicalMac accepts colon, hyphen, Cisco-dot and bare forms', () => {
  for (const form of [
    '52:54:00:AB:cd:01',
    '52-54-00-ab-cd-01',
    '5254.00ab.cd01',
    '525400ABCD01',
    ' 52:54:00:ab:cd:01 ',
  ]) {
    assert.is(canonicalMac(form), '52:54:00:ab:cd:01', form);
  }
});

test('canonicalMac refuses malformed input', () => {
  for (const bad of [
    '',
    '52:54:00:ab:cd',
    '52:54:00:ab:cd:01:02',
    'zz:54:00:ab:cd:01',
    '52:54:00:ab:cd:0g',
    '52::5400abcd01',
    '5:2:5:4:0:0:a:b:c:d:0:1',
  ]) {
    assert.throws(
      () => canonicalMac(bad),
      (e: unknown) => e instanceof InvalidRequestError,
      bad,
    );
  }
});

test('macOrUndefined: the canonical MAC, or undefined for absent or malformed input (never throws)', () => {
  assert.is(macOrUndefined('52-54-00-AB-CD-01'), '52:54:00:ab:cd:01');
  assert.is(macOrUndefined('5254.00ab.cd01'), '52:54:00:ab:cd:01');
  for (const bad of [undefined, '', 'not-a-mac', '52:54:00:ab:cd', '52:54:00:ab:cd:01x']) {
    assert.is(macOrUndefined(bad), undefined, String(bad));
    if (bad !== undefined) assert.is(isMac(bad), false, bad);
  }
  assert.ok(isMac('525400abcd01'));
});

test('factsFromQuery canonicalizes the MAC and drops empty values', () => {
  const facts = factsFromQuery({
    mac: '52-54-00-12-34-56',
    uuid: 'ABCD-1',
    serial: '',
    arch: 'x86_64',
    rack: 'r12',
  });
  assert.equal(facts, { mac: '52:54:00:12:34:56', uuid: 'abcd-1', arch: 'x86_64', rack: 'r12' });
});

test('factsFromQuery refuses values that could inject iPXE syntax', () => {
  for (const value of ['a b', 'x\nchain http://evil', '${net0/mac}', 'a;b', "a'b"]) {
    assert.throws(
      () => factsFromQuery({ hostname: value }),
      (e: unknown) => e instanceof InvalidRequestError,
      value,
    );
  }
  assert.throws(() => factsFromQuery({ 'Bad Label': 'x' }), /invalid label name/);
});

test('factsFromQuery bounds: 32 labels, label names, value length, RFC 1123 hostnames, one value each', () => {
  const labels = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`l${i}`, 'x']));
  assert.is(
    Object.keys(factsFromQuery({ mac: '52:54:00:00:00:01', arch: 'x86_64', ...labels(32) })).length,
    34,
  );
  assert.throws(() => factsFromQuery(labels(33)), /too many labels: at most 32/);
  assert.throws(
    () => factsFromQuery({ ['a'.repeat(33)]: 'x' }),
    /invalid label name .*\[a-z\]\[a-z0-9_-\]\{0,31\}/,
  );
  assert.throws(() => factsFromQuery({ Role: 'db' }), /invalid label name "Role"/);
  assert.is(factsFromQuery({ role: 'x'.repeat(128) })['role']?.length, 128);
  assert.throws(
    () => factsFromQuery({ role: 'x'.repeat(129) }),
    /invalid value for role: .*1-128 characters/,
  );
  for (const ok of ['node1', 'node-1.rack2.example.com', 'A1', `${'a'.repeat(63)}.b`])
    assert.is(factsFromQuery({ hostname: ok })['hostname'], ok);
  for (const bad of [
    '-node',
    'node-',
    'a..b',
    'node_1',
    `${'a'.repeat(64)}.b`,
    `${'a.'.repeat(127)}a`,
    'node.',
  ])
    assert.throws(() => factsFromQuery({ hostname: bad }), /invalid value for hostname: .*RFC 1123/, bad);
  assert.throws(
    () => factsFromQuery({ mac: ['52:54:00:00:00:01', '52:54:00:00:00:02'] }),
    /parameter "mac" given 2 times/,
  );
  assert.throws(() => factsFromQuery({ role: ['db', 'web'] }), /parameter "role" given 2 times/);
  assert.equal(factsFromQuery({ role: ['db'], uuid: [''] }), { role: 'db' });
});

test.run();
