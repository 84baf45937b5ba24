import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { groupSchema, metadataProblems } from './model.ts';

test('metadata an iPXE script can take has no problems', () => {
  assert.equal(
    metadataProblems({
      hostname: 'web-1.lab',
      note: 'two words',
      bootUrl: 'http://x/a',
      n: 3,
      deep: [{ a: 'b' }],
    }),
    [],
  );
});

test('each problem names the path, the value and what was expected', () => {
  const problems = metadataProblems({
    hostname: 'web_1',
    motd: 'hi\n#!ipxe',
    deep: { list: ['ok', 'a${net0/mac}'] },
    nextUrl: 'http://x/a b',
    note: 'a b',
  });
  assert.equal(
    problems.map((p) => [p.path.join('.'), p.value]),
    [
      ['hostname', 'web_1'],
      ['motd', 'hi\n#!ipxe'],
      ['deep.list.1', 'a${net0/mac}'],
      ['nextUrl', 'http://x/a b'],
    ],
  );
  assert.match(problems[0]?.message ?? '', 'RFC 1123');
  assert.match(problems[3]?.message ?? '', 'URL without whitespace');
});

test('the group schema applies the metadata rules', () => {
  const r = groupSchema.safeParse({ id: 'g', profile: 'p', metadata: { motd: '${x}' } });
  assert.is(r.success, false);
  assert.equal(r.error?.issues[0]?.path, ['metadata', 'motd']);
});

test.run();
