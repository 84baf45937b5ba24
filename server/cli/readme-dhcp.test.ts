// The README's dhcp-config examples are run: each block marked <!-- dhcp-example: NAME -->
// starts with a `$ railyard dhcp-config ...` line whose output must equal the golden file
// NAME, and every further line of the block must appear in that output, in order.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CLI } from '../testing/cli.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TESTDATA = `${ROOT}server/dhcp/testdata/`;
const ENV = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('RAILYARD_')));
const EXAMPLE = /<!-- dhcp-example: ([\w.-]+) -->\n```[a-z]*\n([\s\S]*?)```/g;

interface Example {
  readme: string;
  name: string;
  command: string;
  excerpt: string[];
}

function examples(): Example[] {
  const found: Example[] = [];
  for (const readme of ['docs/dhcp.md', 'README.md'].filter((f) => existsSync(ROOT + f))) {
    for (const m of readFileSync(ROOT + readme, 'utf8').matchAll(EXAMPLE)) {
      const [command = '', ...rest] = (m[2] as string).split('\n');
      found.push({
        readme,
        name: m[1] as string,
        command,
        excerpt: rest.map((l) => l.trim()).filter((l) => l !== ''),
      });
    }
  }
  return found;
}

const all = examples();

test('the README shows a dhcp-config example for every flavour', () => {
  assert.equal([...new Set(all.map((e) => e.name.split('.')[0]))].sort(), [
    'dnsmasq',
    'dnsmasq-proxy',
    'isc',
    'kea',
  ]);
});

for (const example of all) {
  test(`${example.readme}: ${example.name} example runs and matches its golden file`, () => {
    assert.ok(example.command.startsWith('$ railyard dhcp-config '), example.command);
    const args = example.command.split(' ').slice(2);
    const run = spawnSync(process.execPath, [CLI, ...args], {
      cwd: ROOT,
      env: ENV,
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.is(run.status, 0, run.stderr);
    const golden = readdirSync(TESTDATA).find((f) => f.startsWith(`${example.name}.golden.`));
    assert.ok(golden, `no golden file for ${example.name}`);
    assert.fixture(run.stdout, readFileSync(TESTDATA + golden, 'utf8'));
    const lines = run.stdout.split('\n').map((l) => l.trim());
    let at = 0;
    for (const line of example.excerpt) {
      const next = lines.indexOf(line, at);
      assert.ok(next >= 0, `${example.readme} ${example.name}: not in the output (in this order): ${line}`);
      at = next + 1;
    }
  });
}

test.run();
