// `railyard mirror refresh|status`: the operator (and cron/systemd) entry point to the
// release mirror. Exit codes: 0 success (changed or not), 1 a failure (network,
// verification, disk, lock held), 2 usage or config error.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger } from '../log.ts';
import { CHANNELS, VERSION_SPEC } from '../machines/release.ts';
import { MirrorCatalog } from '../mirror/catalog.ts';
import { LockBusyError } from '../mirror/lock.ts';
import { logProgress, noProgress, type ProgressSink, ttyProgress } from '../mirror/progress.ts';
import { describe, refreshMirror } from '../mirror/refresh.ts';
import { formatRecord, formatStatus } from '../mirror/report.ts';
import { openStateStore } from '../store/open.ts';
import { versionsInstalling } from '../store/queries.ts';
import { openUpdateStore } from '../updates/open.ts';
import { keepUpdateTargets } from '../updates/wire.ts';
import { type Command, UsageError } from './command.ts';
import { CONFIG_HELP, CONFIG_OPTIONS, configFromFlags, parseFlags } from './common.ts';

const REFRESH_OPTIONS = {
  ...CONFIG_OPTIONS,
  channel: { type: 'string', multiple: true },
  board: { type: 'string', multiple: true },
  version: { type: 'string', multiple: true },
  'dry-run': { type: 'boolean' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  wait: { type: 'boolean' },
  'allow-downgrade': { type: 'boolean' },
  'allow-duplicate-release': { type: 'boolean' },
} as const;

const STATUS_OPTIONS = { ...CONFIG_OPTIONS, json: { type: 'boolean' } } as const;

export const mirrorCommand: Command = {
  name: 'mirror',
  summary: 'refresh or inspect the local Flatcar release mirror',
  help: `Usage: railyard mirror refresh [options] [--channel C]... [--board B]... [--version V]...
       railyard mirror status [--json] [options]

refresh  Fetch the releases configured under mirror.releases from mirror.upstream, verify
         every file (OpenPGP signature against the pinned key, SHA-512 from .DIGESTS) and
         publish each version atomically under <dataDir>/mirror/. Safe to run from cron.
status   Show what is mirrored, sizes, when verified, what current points to, last refresh.

Options:
${CONFIG_HELP}
      --channel C       only releases of channel C (repeatable)
      --board B         only releases of board B (repeatable)
      --version V       fetch V (current, current-YYYY or X.Y.Z) instead of the configured
                        versions of the selected releases (repeatable)
      --dry-run         resolve versions and report what would be fetched; change nothing
      --json            print a machine-readable summary on stdout
  -q, --quiet           print nothing but errors
      --wait            wait for a running refresh to finish instead of exiting 1
      --allow-downgrade let current/current-YYYY move to a lower version this run
                        (mirror.allowDowngrade)
      --allow-duplicate-release
                        publish a version whose signed files are byte-identical to an
                        earlier version's (mirror.allowDuplicateRelease)

Exit codes: 0 success (whether or not anything changed), 1 a failure (network,
verification, disk, another refresh running), 2 usage or config error.

Example crontab line:
  17 */6 * * *  railyard mirror refresh --config /etc/railyard/railyard.yaml --quiet`,
  async run(argv) {
    const [sub, ...rest] = argv;
    if (sub === 'refresh') return runRefresh(rest);
    if (sub === 'status') return runStatus(rest);
    throw new UsageError(
      sub ? `unknown subcommand '${sub}' (expected refresh or status)` : 'expected refresh or status',
    );
  },
};

async function runRefresh(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, REFRESH_OPTIONS);
  checkFilters(values);
  const config = configFromFlags(values);
  const quiet = values.quiet === true;
  const level = quiet && values['log-level'] === undefined ? 'warn' : config.log.level;
  const log = createLogger({ ...config.log, level }).child({ sub: 'mirror' });
  const progress: ProgressSink = quiet
    ? noProgress
    : process.stderr.isTTY
      ? ttyProgress(process.stderr)
      : logProgress(log);
  // Versions machines are installing right now are kept by retention (cron runs see the
  // server's state database in the same data dir; none is created here).
  const store =
    config.state.driver === 'postgres' || existsSync(config.state.path)
      ? await openStateStore(config.state)
      : undefined;
  const updates = store && config.mirror.updates ? await openUpdateStore(config.state) : undefined;
  const installing = store ? versionsInstalling(store) : undefined;
  const inUse =
    updates && installing ? keepUpdateTargets(updates, config.updates.slotTimeout, installing) : installing;
  try {
    const record = await refreshMirror({
      dataDir: config.dataDir,
      mirror: config.mirror,
      log,
      progress,
      dryRun: values['dry-run'],
      waitForLock: values.wait,
      filter: { channels: values.channel, boards: values.board, versions: values.version },
      inUse,
    });
    if (values.json) process.stdout.write(`${JSON.stringify(record, null, 2)}\n`);
    else if (!quiet) process.stdout.write(formatRecord(record));
    for (const v of record.versions.filter((x) => x.status === 'failed')) {
      process.stderr.write(
        `railyard mirror: ${v.channel}/${v.board} ${v.version ?? v.specs.join(',')}: ${v.reason}\n`,
      );
    }
    return record.ok ? 0 : 1;
  } catch (err) {
    if (err instanceof LockBusyError) {
      process.stderr.write(`railyard mirror: ${err.message}\n  (use --wait to wait for it)\n`);
      return 1;
    }
    if (!(err as NodeJS.ErrnoException).code) throw err;
    process.stderr.write(`railyard mirror: ${describe(err)}\n`);
    return 1;
  } finally {
    await updates?.close();
    await store?.close();
    log.flush();
  }
}

function checkFilters(values: { channel?: string[]; board?: string[]; version?: string[] }): void {
  for (const c of values.channel ?? []) {
    if (!(CHANNELS as readonly string[]).includes(c))
      throw new UsageError(`--channel ${c}: expected one of ${CHANNELS.join(', ')}`);
  }
  for (const b of values.board ?? []) {
    if (!/^[a-z0-9][a-z0-9-]*$/.test(b))
      throw new UsageError(`--board ${b}: expected a board name such as amd64-usr`);
  }
  for (const v of values.version ?? []) {
    if (!VERSION_SPEC.test(v))
      throw new UsageError(`--version ${v}: expected current, current-YYYY or X.Y.Z`);
  }
}

async function runStatus(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, STATUS_OPTIONS);
  const config = configFromFlags(values);
  const listing = await new MirrorCatalog(join(config.dataDir, 'mirror')).list();
  if (values.json) process.stdout.write(`${JSON.stringify(listing, null, 2)}\n`);
  else process.stdout.write(formatStatus(listing, config.mirror.staleAfter));
  return 0;
}
