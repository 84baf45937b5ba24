// pino-pretty is loaded only on a TTY (or with log.format: pretty): `railyard serve` with
// stderr on a pipe (systemd, Docker, cron) logs JSON and never loads it; on a real terminal
// (a pty from util-linux `script`) it logs pretty lines through it. NODE_DEBUG=module makes
// Node's CommonJS loader name every module it resolves, in pino's transport worker too.
import { spawn } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CLI } from './testing/cli.ts';
import { tempDir } from './testing/fixtures.ts';

const tmp = tempDir('railyard-log-');
const ENV = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('RAILYARD_')));

const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g'); // pino-pretty's colours
test.after(() => tmp.cleanup());

const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;

/** Start `railyard serve` (default log format) until it listens; everything it wrote to stderr. */
async function serveOutput(name: string, tty: boolean): Promise<string> {
  const argv = [process.execPath, CLI, 'serve', '-l', '127.0.0.1:0'];
  const [cmd, ...args] = tty
    ? ['script', '-qefc', `exec ${argv.map(quote).join(' ')}`, '/dev/null']
    : (argv as [string, ...string[]]);
  const child = spawn(cmd as string, args, {
    cwd: tmp.dir,
    detached: true,
    env: {
      ...ENV,
      NODE_DEBUG: 'module',
      RAILYARD_DATA_DIR: `${tmp.dir}/${name}`,
      RAILYARD_TFTP_ENABLED: 'false',
      RAILYARD_MIRROR_AUTO_REFRESH: 'false',
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (d: Buffer) => {
    output += d.toString();
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  try {
    const deadline = Date.now() + 60_000;
    while (!/HTTP listening on http/.test(output)) {
      if (child.exitCode !== null || Date.now() > deadline)
        throw new Error(`serve did not start:\n${output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    process.kill(-(child.pid as number), 'SIGTERM');
    await exited;
  }
  return output;
}

const prettyLoads = (output: string) =>
  output.split('\n').filter((l) => l.startsWith('MODULE') && l.includes('node_modules/pino-pretty/'));

test('stderr on a pipe: JSON lines, pino-pretty never loaded', async () => {
  const output = await serveOutput('pipe', false);
  const listening = output.split('\n').find((l) => l.includes('HTTP listening on'));
  assert.ok(listening);
  assert.is((JSON.parse(listening) as { level: number }).level, 30);
  assert.ok(
    output.split('\n').some((l) => l.startsWith('MODULE')),
    'NODE_DEBUG=module reports module loads',
  );
  assert.equal(prettyLoads(output), []);
});

test('stderr on a terminal: pretty lines through pino-pretty', async () => {
  const output = (await serveOutput('tty', true)).replace(ANSI, '');
  assert.match(output, /INFO[^\n]*: HTTP listening on http:\/\/127\.0\.0\.1:\d+/);
  assert.not.match(output, /\{"level":30/);
  assert.ok(prettyLoads(output).length > 0, 'pino-pretty loaded');
});

test.run();
