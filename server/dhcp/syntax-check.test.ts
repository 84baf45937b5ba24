// The golden files (byte-identical to the generators' output, see generate.test.ts) checked
// by the real DHCP servers' own config checkers. A checker that is not installed is skipped
// with a note; .ci/run installs all three.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const TESTDATA = fileURLToPath(new URL('./testdata/', import.meta.url));

interface Checker {
  binary: string;
  files: RegExp;
  args: (file: string) => string[];
}

const CHECKERS: Checker[] = [
  { binary: 'dnsmasq', files: /^dnsmasq(-proxy)?\..*\.conf$/, args: (f) => ['--test', `--conf-file=${f}`] },
  { binary: 'dhcpd', files: /^isc\..*\.conf$/, args: (f) => ['-t', '-cf', f] },
  { binary: 'kea-dhcp4', files: /^kea\..*\.json$/, args: (f) => ['-t', f] },
];

function findBinary(name: string): string | null {
  for (const dir of ['/usr/sbin', '/usr/bin', '/sbin', '/bin']) {
    const path = `${dir}/${name}`;
    if (spawnSync('test', ['-x', path]).status === 0) return path;
  }
  return null;
}

const goldens = readdirSync(TESTDATA).filter((f) => f.includes('.golden.'));

for (const checker of CHECKERS) {
  const binary = findBinary(checker.binary);
  const files = goldens.filter((f) => checker.files.test(f));
  if (binary === null)
    console.log(`  skipped: ${checker.binary} not installed, ${files.length} configs unchecked`);
  for (const file of files) {
    (binary === null ? test.skip : test)(`${checker.binary} accepts ${file}`, () => {
      const run = spawnSync(binary as string, checker.args(TESTDATA + file), {
        encoding: 'utf8',
        timeout: 20_000,
      });
      assert.is(run.status, 0, `${checker.binary} exit ${run.status}:\n${run.stdout}${run.stderr}`);
    });
  }
}

test('every checker has golden files to check', () => {
  for (const checker of CHECKERS) {
    assert.ok(goldens.filter((f) => checker.files.test(f)).length >= 2, checker.binary);
  }
});

test.run();
