// The `railyard state export` format (JSON Lines) and its checked reader. Line 1 is a
// header, then one record per line (machines, attempts, events, sessions, the update
// service's machine-ids, clients and pauses, warm pool members with their claims, the token
// secret), then an `end` line with the counts: a truncated file is refused, never half
// imported. Every line is validated before anything is written; an error names the line
// and the field.
import { z } from 'zod';
import { EVENT_SOURCES, EVENT_TYPES, MACHINE_STATES } from '../machines/state.ts';
import { POOL_STATES } from './pool-store.ts';
import type { StateRecord, TransferCounts } from './state-store.ts';

export const FORMAT = 'railyard-state';
export const FORMAT_VERSION = 1;

/** The row tables both backends copy, with their columns in insert order. */
export const ROW_TABLES = {
  machine: {
    table: 'machines',
    columns: [
      'mac',
      'state',
      'failures',
      'failure_reason',
      'facts',
      'profile',
      'grp',
      'first_seen',
      'last_seen',
      'event_count',
    ],
  },
  attempt: {
    table: 'attempts',
    columns: [
      'id',
      'mac',
      'state',
      'grp',
      'profile',
      'profile_revision',
      'group_revision',
      'channel',
      'board',
      'version',
      'install_disk',
      'phone_home',
      'facts',
      'client_ip',
      'opened_at',
      'closed_at',
      'nonce',
      'install_token_hash',
      'first_boot_token_hash',
    ],
  },
  event: { table: 'events', columns: ['id', 'mac', 'type', 'source', 'at', 'data', 'state', 'attempt_id'] },
  // The update service's tables (server/updates/*-store.ts), in the same database.
  'update-machine-id': { table: 'update_machine_ids', columns: ['machine_id', 'mac', 'bound_at'] },
  'update-client': {
    table: 'update_clients',
    columns: [
      'machine_id',
      'mac',
      'grp',
      'track',
      'board',
      'oem',
      'version',
      'target',
      'state',
      'slot_since',
      'last_check',
      'last_result',
      'error_code',
      'ip',
      'first_seen',
      'last_seen',
    ],
  },
  'update-pause': { table: 'update_pauses', columns: ['grp', 'at', 'by'] },
  // The warm pool (store/pool-store.ts): claims are per-machine truth and move with the state.
  'pool-member': {
    table: 'pool_members',
    columns: [
      'mac',
      'grp',
      'state',
      'attempt_id',
      'version',
      'disk',
      'image_sha256',
      'entered_at',
      'pooled_at',
      'last_poll_at',
      'refresh_since',
      'claim_profile',
      'claim_metadata',
      'claimed_at',
      'delivered_at',
      'first_boot_at',
    ],
  },
} as const;

/** The update service's kinds: their tables exist once the update store has opened. */
export const UPDATE_KINDS = ['update-machine-id', 'update-client', 'update-pause'] as const;

export function emptyCounts(): TransferCounts {
  return {
    machine: 0,
    attempt: 0,
    event: 0,
    session: 0,
    secret: 0,
    'update-machine-id': 0,
    'update-client': 0,
    'update-pause': 0,
    'pool-member': 0,
  };
}

const text = z.string();
const nullableText = z.string().nullable();
const json = z.string().refine((v) => {
  try {
    return typeof JSON.parse(v) === 'object';
  } catch {
    return false;
  }
}, 'expected a JSON object as text');
const id = z.number().int().positive();
const iso = z
  .string()
  .regex(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/, 'expected an ISO-8601 UTC timestamp');
const mac = z
  .string()
  .regex(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/, 'expected a canonical MAC (aa:bb:cc:dd:ee:ff)');
const hex = z.string().regex(/^[0-9a-f]+$/, 'expected hex digits');

const recordSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('machine'),
    row: z.strictObject({
      mac,
      state: z.enum(MACHINE_STATES),
      failures: z.number().int().nonnegative(),
      failure_reason: nullableText,
      facts: json,
      profile: nullableText,
      grp: nullableText,
      first_seen: iso,
      last_seen: iso,
      event_count: z.number().int().nonnegative(),
    }),
  }),
  z.strictObject({
    kind: z.literal('attempt'),
    row: z.strictObject({
      id,
      mac,
      state: z.enum([
        'served',
        'installing',
        'installed',
        'provisioned',
        'failed',
        'superseded',
        'cancelled',
      ]),
      grp: text,
      profile: text,
      profile_revision: text,
      group_revision: text,
      channel: text,
      board: text,
      version: text,
      install_disk: text,
      phone_home: z.union([z.literal(0), z.literal(1)]),
      facts: json,
      client_ip: nullableText,
      opened_at: iso,
      closed_at: iso.nullable(),
      nonce: text,
      install_token_hash: hex,
      first_boot_token_hash: hex,
    }),
  }),
  z.strictObject({
    kind: z.literal('event'),
    row: z.strictObject({
      id,
      mac,
      type: z.enum(EVENT_TYPES),
      source: z.enum(EVENT_SOURCES),
      at: iso,
      data: json,
      state: z.enum(MACHINE_STATES),
      attempt_id: id.nullable(),
    }),
  }),
  z.strictObject({
    kind: z.literal('session'),
    row: z.strictObject({ id: hex, binding: hex, createdAt: z.number().int(), expiresAt: z.number().int() }),
  }),
  z.strictObject({ kind: z.literal('secret'), name: z.literal('token'), value: hex.min(64) }),
  z.strictObject({
    kind: z.literal('update-machine-id'),
    row: z.strictObject({ machine_id: text, mac, bound_at: text }),
  }),
  z.strictObject({
    kind: z.literal('update-client'),
    row: z.strictObject({
      machine_id: text,
      mac: mac.nullable(),
      grp: nullableText,
      track: text,
      board: text,
      oem: text,
      version: text,
      target: nullableText,
      state: text,
      slot_since: nullableText,
      last_check: nullableText,
      last_result: nullableText,
      error_code: z.number().int().nullable(),
      ip: text,
      first_seen: text,
      last_seen: text,
    }),
  }),
  z.strictObject({ kind: z.literal('update-pause'), row: z.strictObject({ grp: text, at: text, by: text }) }),
  z.strictObject({
    kind: z.literal('pool-member'),
    row: z.strictObject({
      mac,
      grp: text,
      state: z.enum(POOL_STATES),
      attempt_id: id.nullable(),
      version: nullableText,
      disk: nullableText,
      image_sha256: hex.nullable(),
      entered_at: iso,
      pooled_at: iso.nullable(),
      last_poll_at: iso.nullable(),
      refresh_since: iso.nullable(),
      claim_profile: nullableText,
      claim_metadata: json.nullable(),
      claimed_at: iso.nullable(),
      delivered_at: iso.nullable(),
      first_boot_at: iso.nullable(),
    }),
  }),
]);

const headerSchema = z.strictObject({
  format: z.literal(FORMAT),
  version: z.literal(FORMAT_VERSION),
  exportedAt: iso,
  from: z.enum(['sqlite', 'postgres']),
});

const endSchema = z.strictObject({
  kind: z.literal('end'),
  counts: z.strictObject(
    // exports from before the warm pool have no pool-member count: none
    Object.fromEntries(
      Object.keys(emptyCounts()).map((k) => [
        k,
        k === 'pool-member' ? z.number().int().default(0) : z.number().int(),
      ]),
    ) as Record<keyof TransferCounts, z.ZodNumber>,
  ),
});

export class TransferFormatError extends Error {}

export function headerLine(from: 'sqlite' | 'postgres', now = new Date()): string {
  return JSON.stringify({ format: FORMAT, version: FORMAT_VERSION, exportedAt: now.toISOString(), from });
}

export function endLine(counts: TransferCounts): string {
  return JSON.stringify({ kind: 'end', counts });
}

function parseLine<T>(schema: z.ZodType<T>, line: string, n: number, where: string): T {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new TransferFormatError(`${where}: line ${n}: not JSON`);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.join('.') || '(line)';
    throw new TransferFormatError(`${where}: line ${n}: ${field}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

/**
 * Validate a whole export (`lines`: without trailing newlines) into records: the header
 * first, the end line last with matching counts, nothing after it.
 */
export async function readExport(lines: AsyncIterable<string>, where: string): Promise<StateRecord[]> {
  const out: StateRecord[] = [];
  const counts = emptyCounts();
  let n = 0;
  let ended = false;
  for await (const line of lines) {
    n++;
    if (line.trim() === '') continue;
    if (ended) throw new TransferFormatError(`${where}: line ${n}: data after the end line`);
    if (n === 1) {
      parseLine(headerSchema, line, n, where);
      continue;
    }
    if (line.startsWith('{"kind":"end"')) {
      const end = parseLine(endSchema, line, n, where);
      for (const k of Object.keys(counts) as (keyof TransferCounts)[])
        if (end.counts[k] !== counts[k])
          throw new TransferFormatError(
            `${where}: line ${n}: the export says ${end.counts[k]} ${k} records, the file has ${counts[k]}`,
          );
      ended = true;
      continue;
    }
    const record = parseLine(recordSchema, line, n, where) as StateRecord;
    counts[record.kind]++;
    out.push(record);
  }
  if (n === 0) throw new TransferFormatError(`${where}: empty input (expected a railyard state export)`);
  if (!ended) throw new TransferFormatError(`${where}: no end line: the export is truncated`);
  return out;
}
