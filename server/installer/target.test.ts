import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseReport } from '../machines/report.ts';
import { systemdUnquote } from './fixtures/decode.ts';
import { startReceiver } from './fixtures/receiver.ts';
import { MAC, TOKEN } from './fixtures/views.ts';
import { FIRST_BOOT_UNIT, firstBootUnit, renderTarget } from './target.ts';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'railyard-target-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const execStart = (unit: string) => {
  const line = unit.split('\n').find((l) => l.startsWith('ExecStart=/bin/sh -c ')) ?? '';
  return systemdUnquote(line.slice('ExecStart=/bin/sh -c '.length));
};

test('renders every string, keeps other values, adds the first-boot unit', () => {
  const out = renderTarget(
    {
      ignition: { version: '3.4.0' },
      a: ['{{mac}}', 3, true, null],
      b: { '{{mac}}': '{{metadata.role}}' },
      systemd: { units: [{ name: 'x.service' }] },
    },
    { mac: MAC, metadata: { role: 'r' } },
    { reportUrl: 'http://127.0.0.1:1/e', token: TOKEN },
  );
  assert.equal(out['ignition'], { version: '3.4.0' });
  assert.equal(out['a'], [MAC, 3, true, null]);
  assert.equal(out['b'], { '{{mac}}': 'r' }, 'keys are not templates');
  const units = (out['systemd'] as { units: Array<{ name: string }> }).units;
  assert.equal(
    units.map((u) => u.name),
    ['x.service', FIRST_BOOT_UNIT],
  );
});

test('a template that already has the railyard unit is refused', () => {
  assert.throws(
    () =>
      renderTarget(
        { systemd: { units: [{ name: FIRST_BOOT_UNIT }] } },
        {},
        { reportUrl: 'http://x/e', token: TOKEN },
      ),
    /phoneHome: false/,
  );
});

test('systemd-analyze accepts the first-boot unit without escape warnings', () => {
  const unit = firstBootUnit('http://127.0.0.1:1/api/v1/machines/52:54:00:00:00:01/events', TOKEN);
  const file = join(dir, FIRST_BOOT_UNIT);
  writeFileSync(file, unit);
  const result = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8' });
  if (result.error) {
    console.log('    skipped the systemd-analyze check: systemd-analyze is not installed');
    return;
  }
  assert.not.match(`${result.stdout}${result.stderr}`, /escape|unbalanced|invalid/i);
});

const CONFIG = join(dir, 'config.ign');
writeFileSync(CONFIG, '{"ignition":{"version":"3.3.0"}}\n');
const CONFIG_SHA = createHash('sha256').update(readFileSync(CONFIG)).digest('hex');
/** A test /etc/machine-id (with its newline, as systemd writes it). */
const MACHINE_ID_FILE = join(dir, 'machine-id');
const MACHINE_ID = '5e1fd4b2c8a14f0d9a3b7c6d2e1f0a9b';
writeFileSync(MACHINE_ID_FILE, `${MACHINE_ID}\n`);
/** Point the command at test paths: its stamp dir, and our config.ign in place of /oem's. */
const local = (cmd: string, state: string) =>
  cmd
    .replaceAll('/var/lib/railyard', state)
    .replaceAll('/oem/config.ign', CONFIG)
    .replaceAll('/etc/machine-id', MACHINE_ID_FILE);

// systemd: unquote the word, exec /bin/sh -c WORD. The stand-in image's standin-units:
// `$$`→`$`, `%%`→`%`, then `bash -c` of the whole command line.
const interpretations: Array<[string, (unit: string, state: string) => [string, string[]]]> = [
  ['systemd', (unit, state) => ['/bin/sh', ['-c', local(execStart(unit), state)]]],
  [
    'standin-units',
    (unit, state) => {
      const line = (unit.split('\n').find((l) => l.startsWith('ExecStart=')) ?? '').slice(
        'ExecStart='.length,
      );
      return ['bash', ['-c', local(line.replaceAll('$$', '$').replaceAll('%%', '%'), state)]];
    },
  ],
];

for (const [name, interpret] of interpretations) {
  test(`its ExecStart, as ${name} runs it, posts first-boot with the token once`, async () => {
    const receiver = await startReceiver();
    try {
      const url = `${receiver.url}/api/v1/machines/${MAC}/events`;
      const [cmd, args] = interpret(firstBootUnit(url, TOKEN), join(dir, name));
      await run(cmd, args);
      assert.equal(receiver.received, [
        {
          path: `/api/v1/machines/${MAC}/events`,
          authorization: `Bearer ${TOKEN}`,
          contentType: 'application/json',
          body: { type: 'first-boot', ignitionSha256: CONFIG_SHA, machineId: MACHINE_ID },
        },
      ]);
      assert.ok(existsSync(join(dir, name, 'first-boot-reported')), 'stamp written');
      assert.is(parseReport(receiver.received[0]?.body).data['machineId'], MACHINE_ID, 'railyard accepts it');
    } finally {
      await receiver.close();
    }
  });
}

test.run();
