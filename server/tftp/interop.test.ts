// Real clients against the server on 127.0.0.1: tftp-hpa, atftp, curl and the npm `tftp`
// client, over every awkward size, with sha256 compared. One file is past block-number
// rollover at 512-byte blocks (more than 65535 blocks).
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { TftpServer } from './server.ts';
import { have, rootSource, run, sha256, startTestServer, tempDir, writeFixtures } from './testing.ts';

interface NpmTftpClient {
  get(remote: string, local: string, cb: (err?: Error) => void): void;
}
const npmTftp = createRequire(import.meta.url)('tftp') as {
  createClient(options: {
    host: string;
    port: number;
    blockSize?: number;
    windowSize?: number;
  }): NpmTftpClient;
};

const SIZES = [0, 1, 511, 512, 513, 70 * 1024, 1024 * 1024];
const ROLLOVER = 33 * 1024 * 1024 + 5; // 67585 blocks of 512 bytes

const dir = tempDir();
const out = tempDir();
const sums = writeFixtures(dir, [...SIZES, ROLLOVER]);
let server: TftpServer;
let port: number;

type Fetch = (name: string, local: string) => Promise<void>;

/** `negotiated`: what the client's output must show of our OACK. */
const cli =
  (cmd: string, args: (name: string, local: string) => string[], negotiated?: RegExp): Fetch =>
  async (name, local) => {
    const r = await run(cmd, args(name, local), { timeoutMs: 180_000 });
    if (r.code !== 0) throw new Error(`${cmd} exited ${r.code}: ${r.stderr.trim()}`);
    if (negotiated) assert.match(r.stdout + r.stderr, negotiated);
  };

const CLIENTS: Record<string, Fetch> = {
  'tftp-hpa': cli('tftp', (name, local) => [
    '-m',
    'binary',
    '127.0.0.1',
    String(port),
    '-c',
    'get',
    name,
    local,
  ]),
  'atftp blksize 512': cli('atftp', (name, local) => atftpArgs(name, local, ['blksize 512'])),
  'atftp blksize 1468': cli('atftp', (name, local) => atftpArgs(name, local, ['blksize 1468'])),
  // --trace shows our OACK: 65464 clamped to tftp.maxBlksize (1468), windowsize 8 granted.
  'atftp blksize 65464 windowsize 8': cli(
    'atftp',
    (name, local) => ['--trace', ...atftpArgs(name, local, ['blksize 65464', 'windowsize 8'])],
    /received OACK <(?=[^>]*blksize: 1468\b)(?=[^>]*windowsize: 8\b)/,
  ),
  curl: cli('curl', (name, local) => ['-sS', '-o', local, `tftp://127.0.0.1:${port}/${name}`]),
  'curl --tftp-blksize 1468': cli('curl', (name, local) => [
    '-sS',
    '--tftp-blksize',
    '1468',
    '-o',
    local,
    `tftp://127.0.0.1:${port}/${name}`,
  ]),
  'npm tftp': (name, local) =>
    new Promise((resolve, reject) =>
      npmTftp
        .createClient({ host: '127.0.0.1', port })
        .get(name, local, (err) => (err ? reject(err) : resolve())),
    ),
};

function atftpArgs(name: string, local: string, options: string[]): string[] {
  return [
    ...options.flatMap((o) => ['--option', o]),
    '-g',
    '-r',
    name,
    '-l',
    local,
    '127.0.0.1',
    String(port),
  ];
}

async function fetchAndCompare(client: string, name: string): Promise<void> {
  const local = join(out, `${client.replace(/\W+/g, '_')}-${name}`);
  writeFileSync(local, 'stale'); // a client that writes nothing must not pass
  await (CLIENTS[client] as Fetch)(name, local);
  assert.is(sha256(readFileSync(local)), sums.get(name), `${client} ${name}`);
  rmSync(local);
}

test.before(async () => {
  ({ server, port } = await startTestServer(rootSource(dir)));
});
test.after(async () => {
  await server.stop(Date.now());
  rmSync(dir, { recursive: true, force: true });
  rmSync(out, { recursive: true, force: true });
});

for (const client of Object.keys(CLIENTS)) {
  test(`${client}: sizes ${SIZES.join(', ')}`, async () => {
    const program = client.split(' ')[0] as string;
    if (program !== 'npm' && !(await have(program === 'tftp-hpa' ? 'tftp' : program))) {
      throw new Error(`${program} is not installed (apt-get install tftp-hpa atftp curl)`);
    }
    for (const size of SIZES) {
      // curl 7.88 fails any transfer that ends in its first packet (an empty file, an ERROR)
      // with "getpeername() failed with errno 107", against tftpd-hpa just the same.
      if (size === 0 && program === 'curl') continue;
      await fetchAndCompare(client, `f${size}`);
    }
  });
}

for (const client of ['tftp-hpa', 'atftp blksize 512', 'curl']) {
  test(`${client}: ${ROLLOVER} bytes, past block-number rollover`, async () => {
    await fetchAndCompare(client, `f${ROLLOVER}`);
  });
}

test('curl fetches the generated boot.ipxe', async () => {
  const r = await run('curl', ['-sS', `tftp://127.0.0.1:${port}/boot.ipxe`]);
  assert.is(r.stdout, '#!ipxe\nchain http://127.0.0.1:8080/boot.ipxe\n');
});

test('tftp-hpa sees "file not found" for a missing file', async () => {
  const local = join(out, 'missing.efi');
  const r = await run('tftp', ['127.0.0.1', String(port), '-c', 'get', 'missing.efi', local]);
  assert.match(r.stdout + r.stderr, /Error code 1: file not found/);
});

test.run();
