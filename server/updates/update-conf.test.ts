import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { renderTarget } from '../installer/target.ts';
import { profileUpdatesSchema } from '../machines/updates.ts';
import { UPDATE_CONF, updateConf, withUpdateConf } from './update-conf.ts';

const URL = 'http://10.0.0.5:8080';
const conf = (u: object, channel = 'stable') => updateConf(profileUpdatesSchema.parse(u), channel, URL);

test('update.conf: railyard, public, none; GROUP from updates.channel or the profile channel', () => {
  assert.is(conf({}), 'SERVER=http://10.0.0.5:8080/v1/update/\nGROUP=stable\n');
  assert.is(conf({ channel: 'beta' }), 'SERVER=http://10.0.0.5:8080/v1/update/\nGROUP=beta\n');
  assert.is(conf({ server: 'public' }, 'lts'), 'GROUP=lts\n');
  assert.is(conf({ server: 'none' }), 'SERVER=disabled\n');
});

test('the rendered target Ignition gets the file; none without an updates key; a template conflict is refused', () => {
  const base = renderTarget(
    { storage: { files: [{ path: '/etc/hostname', contents: { source: 'data:,x' } }] } },
    {},
  );
  const out = withUpdateConf(base, profileUpdatesSchema.parse({}), 'stable', URL) as {
    storage: { files: Array<{ path: string; mode: number; contents: { source: string } }> };
  };
  const file = out.storage.files.find((f) => f.path === UPDATE_CONF);
  assert.ok(file);
  assert.is(file.mode, 0o644);
  const text = Buffer.from(file.contents.source.replace(/^data:;base64,/, ''), 'base64').toString();
  assert.is(text, 'SERVER=http://10.0.0.5:8080/v1/update/\nGROUP=stable\n');
  assert.equal(withUpdateConf(base, undefined, 'stable', URL), base);
  const own = renderTarget(
    { storage: { files: [{ path: UPDATE_CONF, contents: { source: 'data:,' } }] } },
    {},
  );
  assert.throws(() => withUpdateConf(own, profileUpdatesSchema.parse({}), 'stable', URL), /is railyard's/);
  const validate = spawnSync('ignition-validate', ['--version'], { encoding: 'utf8' });
  if (validate.error) return console.log('    skipped ignition-validate: not installed');
  const dir = mkdtempSync(join(tmpdir(), 'railyard-upd-'));
  try {
    writeFileSync(join(dir, 'target.ign'), JSON.stringify(out));
    const r = spawnSync('ignition-validate', [join(dir, 'target.ign')], { encoding: 'utf8' });
    assert.is(r.status, 0, `ignition-validate: ${r.stdout}${r.stderr}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
