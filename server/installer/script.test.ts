// Runs the generated install.sh (non-root) with a stub flatcar-install, shims for
// systemctl/udevadm and a local report receiver: the report protocol end to end.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeInstaller } from './fixtures/decode.ts';
import { type Receiver, startReceiver } from './fixtures/receiver.ts';
import { writeShims } from './fixtures/shims.ts';
import { ATTEMPT_ID, FIRST_BOOT_TOKEN, fixedView, KEXEC_PLAN, MAC, TOKEN } from './fixtures/views.ts';
import { buildInstallerIgnition } from './ignition.ts';
import { reportUrl } from './script.ts';

const run = promisify(execFile);
const root = mkdtempSync(join(tmpdir(), 'railyard-script-'));
let receiver: Receiver;
test.before(async () => {
  receiver = await startReceiver();
});
test.after(async () => {
  await receiver.close();
  rmSync(root, { recursive: true, force: true });
});

const STUB = `#!/bin/bash
echo "$*" > "$STUB_ARGS"
printf '%b' "$STUB_OUTPUT"
exit "$STUB_EXIT"
`;

/** Write the installer's files into a fresh dir and run install.sh; returns that dir. */
async function install(
  name: string,
  stub: { exit: number; output: string },
  keyring?: string,
): Promise<string> {
  const dir = join(root, name);
  const opt = join(dir, 'opt', 'railyard');
  mkdirSync(opt, { recursive: true });
  const config = buildInstallerIgnition({
    profile: {
      installDisk: '/dev/vdb',
      phoneHome: true,
      ignitionTemplate: { ignition: { version: '3.3.0' } },
    },
    view: fixedView({ mirrorBase: 'http://127.0.0.1:9/mirror/stable/amd64-usr' }),
    version: '4230.2.3',
    attemptId: ATTEMPT_ID,
    token: TOKEN,
    firstBootToken: FIRST_BOOT_TOKEN,
    reportUrl: reportUrl(receiver.url, MAC, ATTEMPT_ID),
    keyring,
    handoff: KEXEC_PLAN,
  });
  for (const [path, file] of decodeInstaller(config).files)
    writeFileSync(join(opt, path.split('/').at(-1) as string), file.text, { mode: file.mode });
  const shims = writeShims(dir, STUB);
  await run('bash', [join(opt, 'install.sh')], {
    env: {
      ...process.env,
      PATH: `${shims.bin}:${process.env['PATH']}`,
      STUB_ARGS: join(dir, 'args'),
      STUB_OUTPUT: stub.output,
      STUB_EXIT: String(stub.exit),
    },
  });
  return dir;
}

test('success: install-started, flatcar-install args, installed, the hand-off (reboot here), settle, reboot', async () => {
  receiver.received.length = 0;
  const dir = await install('ok', { exit: 0, output: 'done\\n' }, 'KEY');
  const opt = join(dir, 'opt', 'railyard');
  assert.is(
    readFileSync(join(dir, 'args'), 'utf8').trim(),
    `-d /dev/vdb -b http://127.0.0.1:9/mirror/stable/amd64-usr -V 4230.2.3 -i ${opt}/target.ign -k ${opt}/keyring.asc`,
  );
  const bodies = receiver.received.map((r) => r.body);
  assert.equal(
    bodies.filter((b) => b['type'] !== 'progress'),
    [
      { type: 'install-started' },
      { type: 'installed' },
      // no /dev/vdb on this host: handoff.sh refuses kexec and says why
      { type: 'handoff', method: 'reboot', reason: 'disk: no EFI-SYSTEM partition on /dev/vdb' },
    ],
  );
  assert.equal(bodies[1], {
    type: 'progress',
    phase: 'plan',
    image: 'bz2',
    writer: 'dense',
    reason: 'no derived image offered',
  });
  assert.ok(
    receiver.received.every(
      (r) =>
        r.authorization === `Bearer ${TOKEN}` &&
        r.path === `/api/v1/machines/${MAC}/attempts/${ATTEMPT_ID}/events`,
    ),
  );
  assert.is(readFileSync(join(dir, 'calls', 'udevadm.log'), 'utf8'), 'settle\n');
  assert.is(readFileSync(join(dir, 'calls', 'systemctl.log'), 'utf8'), 'reboot\n');
  assert.match(
    readFileSync(join(opt, 'install.log'), 'utf8'),
    /railyard: flatcar-install -d \/dev\/vdb .*\ndone\n/,
  );
});

test('failure: install-failed with exit code and the last 50 lines, JSON-escaped; still reboots', async () => {
  receiver.received.length = 0;
  const lines = Array.from({ length: 60 }, (_, i) => `line ${i}`);
  const tricky = 'quote " backslash \\\\ tab \\t cr \\r bell \\a esc \\033[0m uni é';
  const dir = await install('fail', { exit: 3, output: `${lines.join('\\n')}\\n${tricky}\\n` });
  const [started, failed] = receiver.received.map((r) => r.body).filter((b) => b['type'] !== 'progress');
  assert.equal(started, { type: 'install-started' });
  assert.is(failed?.['type'], 'install-failed');
  assert.is(failed?.['exitCode'], 3);
  const output = String(failed?.['output']).split('\n');
  assert.is(output.length, 50);
  assert.is(output[0], 'line 11', JSON.stringify(output.slice(-3)));
  assert.is(output[49], 'quote " backslash \\ tab \t cr \r bell  esc [0m uni é');
  assert.is(readFileSync(join(dir, 'calls', 'systemctl.log'), 'utf8'), 'reboot\n');
});

test('railyard refusing reports does not stop the install or the reboot', async () => {
  receiver.received.length = 0;
  receiver.status = 400;
  try {
    const dir = await install('refused', { exit: 0, output: '' });
    assert.is(receiver.received.filter((r) => r.body['type'] !== 'progress').length, 3);
    assert.is(readFileSync(join(dir, 'calls', 'systemctl.log'), 'utf8'), 'reboot\n');
  } finally {
    receiver.status = 204;
  }
});

test('write progress backs off: every 15 reports the interval doubles', async () => {
  const config = buildInstallerIgnition({
    profile: {
      installDisk: '/dev/vdb',
      phoneHome: true,
      ignitionTemplate: { ignition: { version: '3.3.0' } },
    },
    view: fixedView(),
    version: '4230.2.3',
    attemptId: ATTEMPT_ID,
    token: TOKEN,
    firstBootToken: FIRST_BOOT_TOKEN,
    reportUrl: reportUrl(receiver.url, MAC, ATTEMPT_ID),
    handoff: KEXEC_PLAN,
  });
  const writer = decodeInstaller(config).files.get('/opt/railyard/write-image.sh')?.text ?? '';
  const fn = /\nstart_progress\(\) \{\n[\s\S]*?\n\}\n/.exec(writer)?.[0];
  assert.ok(fn, 'write-image.sh defines start_progress');
  const out = join(root, 'cadence.txt');
  const harness = [
    `report() { echo "$EPOCHREALTIME" >> '${out}'; }`,
    'written() { echo 0; }',
    'PROGRESS_EVERY=0.02 FORMAT=zstd WRITER=dense',
    fn,
    'start_progress 0 100',
    `for _ in $(seq 400); do (($(wc -l < '${out}' 2> /dev/null || echo 0) >= 46)) && break; sleep 0.05; done`,
    'kill "$PROGRESS_PID"; wait "$PROGRESS_PID"',
  ].join('\n');
  await run('bash', ['-c', harness], { timeout: 60_000 });
  const at = readFileSync(out, 'utf8').trim().split('\n').map(Number);
  assert.ok(at.length >= 46, `${at.length} reports`);
  const gaps = at.slice(1).map((t, i) => t - (at[i] as number));
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  const first = median(gaps.slice(0, 13)); // 0.02 s apart
  const third = median(gaps.slice(31, 44)); // 0.08 s apart
  assert.ok(third >= 1.5 * first, `gaps ${first.toFixed(3)} s, then ${third.toFixed(3)} s`);
});

test.run();
