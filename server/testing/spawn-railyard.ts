// Test-only: `railyard serve` in a child process with a config file, on a free loopback
// port, and curl as a client from a chosen loopback source address (127.0.0.2 is another
// host on the boot LAN as far as railyard can tell).
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { CLI } from './cli.ts';

export interface Railyard {
  url: string;
  child: ChildProcess;
  output: () => string;
  stop: () => Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Start railyard with `config` (merged over loopback HTTP, no TFTP, no mirror refresh).
 * `wrap` goes before `node <cli> serve --config <file>` (e.g. a shell that mounts first).
 */
export async function spawnRailyard(
  dir: string,
  config: Record<string, unknown>,
  wrap: readonly string[] = [],
): Promise<Railyard> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const file = join(dir, 'railyard.yaml');
  writeFileSync(
    file,
    stringify({
      http: { listen: `127.0.0.1:${port}` },
      publicUrl: url,
      tftp: { enabled: false },
      mirror: { autoRefresh: false },
      log: { format: 'json', level: 'info' },
      ...config,
    }),
  );
  const argv = [...wrap, process.execPath, CLI, 'serve', '--config', file];
  const child = spawn(argv[0] as string, argv.slice(1), {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  const deadline = Date.now() + 60_000;
  while (!/HTTP listening on/.test(output)) {
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error(`railyard did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  return { url, child, output: () => output, stop };
}

export interface CurlResult {
  status: number;
  body: Buffer;
  text: string;
  headers: string;
}

/** curl from `source` (a loopback address); never fails on an HTTP error status. */
export function curl(source: string, args: readonly string[]): Promise<CurlResult> {
  // Headers and body both on stdout (-D -): curl 7.88 crashes writing -D to a piped stderr.
  const argv = ['-sS', '--interface', source, '-H', 'Expect:', '-D', '-', '--max-time', '30', ...args];
  return new Promise((resolve, reject) => {
    execFile('curl', argv, { encoding: 'buffer', maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') return reject(new Error(`${err.message}\n${stderr}`));
      let rest = stdout;
      for (;;) {
        const end = rest.indexOf('\r\n\r\n');
        if (end < 0) return reject(new Error(`curl ${args.join(' ')}: no response\n${stderr}`));
        const headers = rest.subarray(0, end).toString('latin1');
        const status = Number(/^HTTP\/[\d.]+ (\d{3})/.exec(headers)?.[1]);
        rest = rest.subarray(end + 4);
        if (status >= 200 || !status)
          return resolve({ status, body: rest, text: rest.toString('utf8'), headers });
      }
    });
  });
}
