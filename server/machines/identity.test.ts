import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { InvalidRequestError } from '../errors.ts';
import { canonicalMac, factsFromQuery } from './identity.ts';

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

test.run();
