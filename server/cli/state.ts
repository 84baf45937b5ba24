// railyard state export|import: move a whole state store between backends (SQLite ↔
// PostgreSQL) for users who grow. `export` writes JSON Lines to stdout (store/transfer.ts);
// `import` reads them from stdin, checks every line first, refuses a non-empty target and
// loads everything in one transaction: a bad or truncated file changes nothing.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Config } from '../config.ts';
import { ConfigError } from '../errors.ts';
import { loadOrCreateSecret } from '../installer/tokens.ts';
import { openStateStore } from '../store/open.ts';
import type { StateRecord, StateStore, StateTransfer } from '../store/state-store.ts';
import { emptyCounts, endLine, headerLine, readExport, TransferFormatError } from '../store/transfer.ts';
import { openUpdateStore } from '../updates/open.ts';
import type { Command } from './command.ts';
import { UsageError } from './command.ts';
import { CONFIG_HELP, CONFIG_OPTIONS, configFromFlags, parseFlags } from './common.ts';

export const stateCommand: Command = {
  name: 'state',
  summary: 'export the state store to stdout, or import an export into an empty one',
  help: `Usage:
  railyard state export [options] > state.jsonl
  railyard state import [options] < state.jsonl

export   every machine, install attempt, event and dashboard session, the update
         service's clients, machine-ids and pauses, and the token secret, as JSON Lines (keep the file as private as the data dir: it holds the
         secret installers' and nodes' tokens derive from)
import   load an export into the configured store, which must be empty; ids, open
         attempts and their tokens keep working. All or nothing.

The store is the configured one (state.driver, state.path, state.url), so a pipe moves
SQLite into PostgreSQL:
  railyard state export -c sqlite.yaml | RAILYARD_STATE_DRIVER=postgres \\
    RAILYARD_STATE_URL=postgres://railyard:…@db/railyard railyard state import
Stop the servers writing to the source first: events recorded after the export are not in it.

Options:
${CONFIG_HELP}`,
  async run(argv) {
    const { values, positionals } = parseFlags(argv, CONFIG_OPTIONS, true);
    const [action, ...extra] = positionals;
    if (extra.length > 0) throw new UsageError(`unexpected arguments: ${extra.join(' ')}`);
    if (action !== 'export' && action !== 'import')
      throw new UsageError(`expected export or import, got ${JSON.stringify(action ?? '')}`);
    const config = configFromFlags(values);
    const store = await openStateStore(config.state);
    try {
      const transfer = store.transfer;
      if (!transfer) throw new ConfigError(`state.driver ${config.state.driver}: cannot export or import`);
      return action === 'export'
        ? await exportState(store, transfer, config)
        : await importState(store, transfer, config);
    } finally {
      await store.close();
    }
  },
};

async function write(line: string): Promise<void> {
  if (!process.stdout.write(`${line}\n`)) await new Promise((r) => process.stdout.once('drain', r));
}

async function exportState(store: StateStore, transfer: StateTransfer, config: Config): Promise<number> {
  const counts = emptyCounts();
  await write(headerLine(config.state.driver));
  for await (const record of transfer.rows()) {
    counts[record.kind]++;
    await write(JSON.stringify(record));
  }
  const secret = await secretOf(store, config);
  if (secret) {
    counts.secret++;
    await write(JSON.stringify({ kind: 'secret', name: 'token', value: secret } satisfies StateRecord));
  }
  await write(endLine(counts));
  process.stderr.write(`exported ${summary(counts)}\n`);
  return 0;
}

/** The token secret as hex: the database's (PostgreSQL), or <dataDir>/secret when it exists. */
async function secretOf(store: StateStore, config: Config): Promise<string | undefined> {
  if (store.tokenSecret) return (await store.tokenSecret()).toString('hex');
  const file = join(config.dataDir, 'secret');
  return existsSync(file) ? loadOrCreateSecret(file).toString('hex') : undefined;
}

async function importState(store: StateStore, transfer: StateTransfer, config: Config): Promise<number> {
  let records: StateRecord[];
  try {
    records = await readExport(createInterface({ input: process.stdin, crlfDelay: Infinity }), 'stdin');
  } catch (err) {
    if (err instanceof TransferFormatError)
      throw new ConfigError(`state import: ${err.message}; nothing imported`);
    throw err;
  }
  if (!(await transfer.isEmpty()))
    throw new ConfigError(
      `state import: the target store (${where(config)}) already holds machines or sessions; import needs an empty one; nothing imported`,
    );
  const secret = records.find((r) => r.kind === 'secret');
  if (secret && !store.tokenSecret) keepSecretFile(join(config.dataDir, 'secret'), secret.value);
  // The update service's tables are its store's: opening it once creates them.
  await (await openUpdateStore(config.state)).close();
  const counts = await transfer.load(
    (async function* () {
      yield* records;
    })(),
  );
  process.stderr.write(`imported ${summary(counts)} into ${where(config)}\n`);
  return 0;
}

/**
 * SQLite keeps the token secret in <dataDir>/secret: write the imported one there (0600)
 * unless a different one is already in place (its attempts' tokens would stop working).
 */
function keepSecretFile(file: string, hex: string): void {
  if (existsSync(file)) {
    const current = readFileSync(file, 'utf8').trim();
    if (current === hex) return;
    throw new ConfigError(
      `state import: ${file} holds a different token secret; move it away first (the imported attempts' tokens derive from the exported one); nothing imported`,
      { file },
    );
  }
  loadOrCreateSecret(file, hex);
}

function where(config: Config): string {
  return config.state.driver === 'postgres' ? 'state.url' : config.state.path;
}

function summary(c: ReturnType<typeof emptyCounts>): string {
  const updates = `${c['update-client']} update clients, ${c['update-machine-id']} machine-ids, ${c['update-pause']} paused rollouts`;
  return `${c.machine} machines, ${c.attempt} attempts, ${c.event} events, ${c.session} sessions, ${updates}, ${c['pool-member']} pool members, ${c.secret ? 'the token secret' : 'no token secret'}`;
}
