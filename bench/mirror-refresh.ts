// Part 6: `railyard mirror refresh` against a local fake upstream (the mirror tests' signed
// stand-in release server, in this process): one initial refresh, then timed no-op refreshes.
// Whole-process time, CPU and max RSS from /usr/bin/time; bytes = body bytes the upstream sent.
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI } from '../server/testing/cli.ts';
import { type Part, type PartReport, table } from './lib/context.ts';
import { runOk, tempDir } from './lib/procs.ts';
import { REPO } from './lib/servers.ts';
import { fmtSummary, summarize } from './lib/stats.ts';

interface RefreshRun {
  seconds: number;
  cpu: number;
  maxRssMiB: number;
  requests: number;
  bytes: number;
}

export const mirrorRefresh: Part = {
  id: 'mirror',
  title: '6. Mirror refresh (no-op, local fake upstream)',
  async run(ctx) {
    if (!existsSync(join(REPO, 'server/cli/mirror.ts'))) {
      return {
        title: mirrorRefresh.title,
        body: 'skipped: railyard has no mirror refresh in this tree',
        goals: [],
      };
    }
    const { FakeUpstream, buildRelease, setLink } = await import('../server/mirror/testing/fake-upstream.ts');
    const { generateTestKey } = await import('../server/mirror/testing/keys.ts');
    const dir = tempDir('mirror');
    const key = await generateTestKey();
    const artifactBytes = (ctx.quick ? 1 : 16) * 1024 * 1024;
    await buildRelease(join(dir, 'upstream'), key, '9999.0.0', { size: artifactBytes });
    setLink(join(dir, 'upstream'), '9999.0.0');
    const upstream = await new FakeUpstream(join(dir, 'upstream')).start();
    try {
      writeFileSync(join(dir, 'keyring.asc'), key.armoredPublic);
      const config = join(dir, 'railyard.json');
      writeFileSync(
        config,
        JSON.stringify({
          dataDir: join(dir, 'data'),
          log: { level: 'warn', format: 'json' },
          mirror: {
            upstream: upstream.template,
            keyring: join(dir, 'keyring.asc'),
            fingerprint: key.fingerprint,
            autoRefresh: false,
            releases: [{ channel: 'stable', board: 'amd64-usr', versions: ['current'], keep: 3 }],
          },
        }),
      );
      const once = async (): Promise<RefreshRun> => {
        const before = upstream.requests.length;
        const timeFile = join(dir, 'time.txt');
        const started = performance.now();
        await runOk(
          '/usr/bin/time',
          [
            '-f',
            '%U %S %M',
            '-o',
            timeFile,
            process.execPath,
            CLI,
            'mirror',
            'refresh',
            '--config',
            config,
            '--quiet',
          ],
          { cwd: REPO },
        );
        const seconds = (performance.now() - started) / 1000;
        const [u, s, kb] = readFileSync(timeFile, 'utf8').trim().split(/\s+/).map(Number);
        const reqs = upstream.requests.slice(before);
        const bytes = reqs
          .filter((r) => r.method === 'GET' && (r.status === 200 || r.status === 206))
          .reduce((sum, r) => sum + bodyBytes(join(dir, 'upstream'), r.path, r.range), 0);
        return {
          seconds,
          cpu: (u ?? 0) + (s ?? 0),
          maxRssMiB: (kb ?? 0) / 1024,
          requests: reqs.length,
          bytes,
        };
      };
      const initial = await once();
      const noop: RefreshRun[] = [];
      for (let i = 0; i <= ctx.runs; i++) {
        const r = await once();
        if (i > 0) noop.push(r);
        ctx.log(`mirror no-op refresh ${i}/${ctx.runs}`);
      }
      return report(initial, noop, artifactBytes);
    } finally {
      await upstream.close();
    }
  },
};

function bodyBytes(root: string, path: string, range: string | undefined): number {
  const size = statSync(join(root, path)).size;
  const start = Number(/^bytes=(\d+)-$/.exec(range ?? '')?.[1] ?? 0);
  return Math.max(0, size - start);
}

function report(initial: RefreshRun, noop: RefreshRun[], artifactBytes: number): PartReport {
  const row = (name: string, xs: RefreshRun[]) => [
    name,
    fmtSummary(summarize(xs.map((r) => r.seconds)), 2),
    fmtSummary(summarize(xs.map((r) => r.cpu)), 2),
    fmtSummary(summarize(xs.map((r) => r.maxRssMiB)), 0),
    fmtSummary(summarize(xs.map((r) => r.requests)), 0),
    fmtSummary(summarize(xs.map((r) => r.bytes)), 0),
  ];
  const body = [
    "Fake upstream: the mirror tests' signed stand-in release server (server/mirror/testing), one " +
      `release (version.txt + 3 artifacts of ${artifactBytes >> 20} MiB, each with .sig, .DIGESTS, .DIGESTS.asc), ` +
      '`current` → 9999.0.0. Command: `node bin/railyard.js mirror refresh --config <tmp> --quiet` under ' +
      '/usr/bin/time (so Node start-up is in the figure). No reference tool: the figure ' +
      'is what a cron job costs when nothing changed upstream. Bytes = response body bytes the upstream sent.',
    '',
    table(
      ['refresh', 'seconds', 'CPU s', 'max RSS MiB', 'upstream requests', 'upstream body bytes'],
      [row('initial (1 run)', [initial]), row('no-op', noop)],
    ),
  ].join('\n');
  return { title: mirrorRefresh.title, body, goals: [] };
}
