// The layering rules in biome.json bite: a probe file dropped into a layer that imports what
// the layer must not (from the domain: a transport, anything but errors.ts/log.ts, file I/O;
// the configuration from a service or a transport) fails `biome lint` with the rule's
// message, and the same probe with an allowed import passes (so a rule that matched nothing,
// or a lint that checked nothing, fails here).
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PACKAGE_ROOT } from './package-root.ts';

const BIOME = join(PACKAGE_ROOT, 'node_modules/.bin/biome');

function lint(dir: string, source: string): { status: number | null; output: string } {
  const file = join(PACKAGE_ROOT, 'server', dir, `zz-layering-probe-${process.pid}.ts`);
  writeFileSync(file, source);
  try {
    const r = spawnSync(BIOME, ['lint', '--max-diagnostics=5', file], {
      cwd: PACKAGE_ROOT,
      encoding: 'utf8',
    });
    return { status: r.status, output: `${r.stdout}${r.stderr}` };
  } finally {
    rmSync(file, { force: true });
  }
}

const probe = (from: string, name: string) =>
  `import { ${name} } from '${from}';\nexport const probe = ${name};\n`;

const CASES = [
  { dir: 'machines', bad: probe('../http/app.ts', 'createApp'), rule: 'never import a transport' },
  {
    dir: 'machines',
    bad: probe('../render/template.ts', 'render'),
    rule: 'the domain (machines/) imports only errors.ts, log.ts and its own files',
  },
  {
    dir: 'machines',
    bad: probe('../updates/policy.ts', 'eligibility'),
    rule: 'the domain (machines/) imports only errors.ts, log.ts and its own files',
  },
  { dir: 'machines', bad: probe('node:fs', 'readFileSync'), rule: 'the domain (machines/) is pure' },
  { dir: 'catalog', bad: probe('../http/app.ts', 'createApp'), rule: 'never import a transport' },
  { dir: 'store', bad: probe('../main.ts', 'startServer'), rule: 'composition root' },
  {
    dir: 'mirror',
    bad: probe('../config.ts', 'loadConfig'),
    rule: 'only main.ts and cli/ read the configuration',
  },
  {
    dir: 'pool',
    bad: probe('../config.ts', 'loadConfig'),
    rule: 'only main.ts and cli/ read the configuration',
  },
  {
    dir: 'tftp',
    bad: probe('../config.ts', 'loadConfig'),
    rule: 'transports take their options from main.ts',
  },
  { dir: 'http', bad: probe('../tftp/server.ts', 'TftpServer'), rule: 'never imports another transport' },
];

for (const c of CASES)
  test(`server/${c.dir}/: ${c.rule} (${c.bad.split("'")[1]})`, () => {
    const bad = lint(c.dir, c.bad);
    assert.is.not(bad.status, 0, bad.output);
    assert.match(bad.output, 'noRestrictedImports');
    assert.match(bad.output, c.rule);
    const ok = lint(c.dir, probe('../errors.ts', 'ConfigError'));
    assert.is(ok.status, 0, `an allowed import fails lint:\n${ok.output}`);
  });

test('the domain may import errors.ts, log.ts, its own files and packages', () => {
  const r = lint(
    'machines',
    `import { z } from 'zod';\nimport { silentLogger } from '../log.ts';\nimport { canonicalMac } from './identity.ts';\nexport const probe = [z, silentLogger, canonicalMac];\n`,
  );
  assert.is(r.status, 0, r.output);
});

test('main.ts and cli/ may read the configuration', () => {
  const r = lint('cli', probe('../config.ts', 'loadConfig'));
  assert.is(r.status, 0, r.output);
});

test.run();
