// docs/postgres.md's configuration example is a config railyard loads, and the CLI pipe it
// shows names commands and variables that exist.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { envName, loadConfig, PACKAGE_ROOT } from '../config.ts';
import { tempDir } from '../testing/fixtures.ts';

const DOC = readFileSync(join(PACKAGE_ROOT, 'docs/postgres.md'), 'utf8');
const tmp = tempDir('railyard-pg-docs-');

test('the state example loads: driver postgres, url, poolSize', () => {
  const yaml = /```yaml\n([\s\S]*?)```/.exec(DOC)?.[1] ?? '';
  const file = join(tmp.dir, 'railyard.yaml');
  writeFileSync(file, yaml);
  const c = loadConfig({ file, env: {} });
  assert.equal(
    [c.state.driver, c.state.url, c.state.poolSize],
    ['postgres', 'postgres://railyard:PASSWORD@db.example:5432/railyard', 10],
  );
});

test('the variables and commands the doc uses exist', () => {
  assert.is(envName('state.url'), 'RAILYARD_STATE_URL');
  assert.is(envName('state.driver'), 'RAILYARD_STATE_DRIVER');
  for (const s of [
    'railyard state export',
    'railyard state import',
    'RAILYARD_STATE_URL',
    'contrib/lab/postgres.yml',
  ])
    assert.match(DOC, s);
});

test.run();
