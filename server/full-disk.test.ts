// A really full disk under a running `railyard serve`: its data dir is a 4 MiB tmpfs in a
// private mount namespace (root only), filled to the last block with dd from inside that
// namespace. iPXE never gets a 500: the installed machine keeps its disk-boot script, new
// machines get the retry script, reports get 503; freeing space recovers without a restart.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeInstallerCpio } from './installer/fixtures/decode.ts';
import { writeAttemptMachines } from './testing/attempt-machines.ts';
import { publishRelease, tempDir } from './testing/fixtures.ts';
import { curl, spawnRailyard } from './testing/spawn-railyard.ts';

const NODE = '127.0.0.1';

function skipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root (needs a tmpfs in a private mount namespace)';
  try {
    execFileSync('sh', ['-c', 'command -v unshare && command -v nsenter && command -v dd'], {
      stdio: 'ignore',
    });
  } catch {
    return 'needs unshare, nsenter and dd (util-linux, coreutils)';
  }
  return undefined;
}

test('disk full under a running server: disk boot for the installed, retry for the rest, recovery after', async () => {
  const reason = skipReason();
  if (reason) {
    console.log(`    SKIPPED real full disk: ${reason}`);
    return;
  }
  const work = tempDir('railyard-full-disk-');
  const data = join(work.dir, 'data');
  const mirror = join(work.dir, 'mirror-src');
  mkdirSync(data);
  publishRelease(mirror);
  const mount = [
    'unshare',
    '--mount',
    '--propagation',
    'private',
    '--',
    'sh',
    '-c',
    'mount -t tmpfs -o size=4m tmpfs "$1" && cp -a "$2" "$1/mirror" && shift 2 && exec "$@"',
    'sh',
    data,
    mirror,
  ];
  const ry = await spawnRailyard(
    work.dir,
    { dataDir: data, machinesDir: writeAttemptMachines(work.dir) },
    mount,
  );
  const ipxe = (mac: string) =>
    curl(NODE, ['-A', 'iPXE/1.21.1', `${ry.url}/ipxe?mac=${mac}&platform=pcbios`]);
  const decision = (r: { headers: string }) => /X-Railyard-Decision: (\S+)/i.exec(r.headers)?.[1];
  try {
    // One machine installed (its reports through the real flow), one mid-install.
    const installed = '52-54-00-fd-00-01';
    const script = (await ipxe(installed)).text;
    const path = (/initrd --name railyard-installer\.cpio\.gz (\S+)/.exec(script)?.[1] ?? '').replace(
      ry.url,
      '',
    );
    const sh =
      decodeInstallerCpio((await curl(NODE, [`${ry.url}${path}`])).body).files.get('/opt/railyard/install.sh')
        ?.text ?? '';
    const token = /TOKEN='([^']+)'/.exec(sh)?.[1] ?? '';
    const reports = /REPORT_URL='[^']*(\/api\/v1\/[^']+)'/.exec(sh)?.[1] ?? '';
    const report = (body: string) =>
      curl(NODE, [
        '-X',
        'POST',
        '-H',
        `Authorization: Bearer ${token}`,
        '-H',
        'Content-Type: application/json',
        '--data-binary',
        body,
        `${ry.url}${reports}`,
      ]);
    assert.is((await report('{"type":"installed"}')).status, 201);
    await ipxe('52-54-00-fd-00-02');

    const pid = String(ry.child.pid);
    execFileSync('nsenter', [
      '-t',
      pid,
      '-m',
      '--',
      'sh',
      '-c',
      `dd if=/dev/zero of="${data}/fill" bs=4k 2>/dev/null; true`,
    ]);
    const df = execFileSync('nsenter', ['-t', pid, '-m', '--', 'df', '-k', data]).toString();
    assert.match(df, /\s100%\s/, df);

    // New machines until the state database runs out of room (the WAL may have some left).
    let retried = 0;
    for (let i = 0; i < 400 && retried < 3; i++) {
      const res = await ipxe(
        `52-54-00-fe-${(i >> 8).toString(16).padStart(2, '0')}-${(i & 255).toString(16).padStart(2, '0')}`,
      );
      assert.is(res.status, 200, `never an error status to iPXE (request ${i}): ${res.text}`);
      assert.ok(['install', 'retry'].includes(decision(res) ?? ''), decision(res));
      if (decision(res) === 'retry') {
        retried++;
        assert.match(
          res.text,
          /railyard cannot record this boot right now: state database: .*(full|disk|I\/O)/i,
        );
      }
    }
    assert.is(retried, 3, 'the full disk reached the state database');
    const disk = await ipxe(installed);
    assert.is(disk.status, 200);
    assert.is(decision(disk), 'local-boot');
    assert.match(disk.text, 'sanboot --no-describe --drive 0x80');
    const refused = await report('{"type":"handoff","method":"reboot","reason":"profile"}');
    assert.is(refused.status, 503, refused.text);
    assert.match(ry.output(), /"msg":"boot not recorded"/);
    assert.not.match(ry.output(), /"status":500/);

    execFileSync('nsenter', ['-t', pid, '-m', '--', 'rm', '-f', `${data}/fill`]);
    const back = await ipxe('52-54-00-fd-00-09');
    assert.is(decision(back), 'install', 'space again: decisions are recorded again, no restart');
    assert.is((await report('{"type":"handoff","method":"reboot","reason":"profile"}')).status, 201);
  } finally {
    await ry.stop();
    work.cleanup();
  }
});

test.run();
