// state.driver postgres: state.url from the file or RAILYARD_STATE_URL, required, checked,
// and its password never shown in an error.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadConfig } from './config.ts';
import { ConfigError } from './errors.ts';
import { tempDir } from './testing/fixtures.ts';

const tmp = tempDir('railyard-config-state-');
const URL_WITH_PASSWORD = 'postgres://railyard:s3cr3t-pw@db.example:5432/railyard';

const failure = (fn: () => unknown): ConfigError => {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
};

test('driver postgres with state.url from the file; RAILYARD_STATE_URL overrides it verbatim', () => {
  const file = join(tmp.dir, 'pg.yaml');
  writeFileSync(file, `state:\n  driver: postgres\n  url: ${URL_WITH_PASSWORD}\n  poolSize: 4\n`);
  const c = loadConfig({ file, env: {} });
  assert.equal([c.state.driver, c.state.url, c.state.poolSize], ['postgres', URL_WITH_PASSWORD, 4]);
  const fromEnv = loadConfig({
    file,
    env: { RAILYARD_STATE_URL: 'postgresql://u:0x12@h/db?sslmode=require' },
  });
  assert.is(fromEnv.state.url, 'postgresql://u:0x12@h/db?sslmode=require');
  const d = loadConfig({
    env: { RAILYARD_STATE_DRIVER: 'postgres', RAILYARD_STATE_URL: URL_WITH_PASSWORD },
    cwd: tmp.dir,
  });
  assert.is(d.state.driver, 'postgres');
  assert.is(loadConfig({ env: {}, cwd: tmp.dir }).state.driver, 'sqlite', 'SQLite stays the default');
});

test('driver postgres without a URL names state.url and how to set it', () => {
  const err = failure(() => loadConfig({ env: { RAILYARD_STATE_DRIVER: 'postgres' }, cwd: tmp.dir }));
  assert.is(err.key, 'state.url');
  assert.match(err.message, 'RAILYARD_STATE_URL');
});

test('a bad state.url or driver is named; the password in it is masked', () => {
  const bad = failure(() =>
    loadConfig({ env: { RAILYARD_STATE_URL: 'mysql://railyard:s3cr3t-pw@db/railyard' }, cwd: tmp.dir }),
  );
  assert.match(bad.message, 'environment variable RAILYARD_STATE_URL: state.url');
  assert.match(bad.message, 'expected a postgres:// URL');
  assert.not.match(bad.message, 's3cr3t-pw');
  const query = failure(() =>
    loadConfig({ env: { RAILYARD_STATE_URL: 'http://h/db?password=s3cr3t-pw&x=1' }, cwd: tmp.dir }),
  );
  assert.not.match(query.message, 's3cr3t-pw');
  const driver = failure(() => loadConfig({ env: { RAILYARD_STATE_DRIVER: 'mysql' }, cwd: tmp.dir }));
  assert.match(driver.message, /state\.driver = "mysql": .*sqlite.*postgres/);
});

test.run();
