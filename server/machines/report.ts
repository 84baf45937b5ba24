// Installer reports: the only events a node may post (POST /api/v1/machines/<mac>/events).
// Parsed once at the edge into a validated event; anything else is an InvalidRequestError.
import { z } from 'zod';
import { InvalidRequestError } from '../errors.ts';
import type { EventData, EventSource, EventType } from './state.ts';

const MAX_OUTPUT = 16 * 1024;

const reportSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('install-started') }),
  z.strictObject({ type: z.literal('installed') }),
  z.strictObject({
    type: z.literal('install-failed'),
    exitCode: z.number().int().min(0).max(255),
    output: z.string().max(MAX_OUTPUT).default(''),
    /** The installer's own one-line reason (write-image.sh), when it has one. */
    reason: z.string().max(500).optional(),
  }),
  z.strictObject({
    type: z.literal('first-boot'),
    ignitionSha256: z.union([z.literal(''), z.string().regex(/^[0-9a-f]{64}$/)]).default(''),
  }),
  // Image phases (write-image.sh): plan (image/writer/reason), write progress (bytes of total),
  // and per phase done: bytes, seconds, MB/s.
  z.strictObject({
    type: z.literal('progress'),
    phase: z.enum(['plan', 'download', 'write', 'verify']).optional(),
    bytes: z.number().int().nonnegative().optional(),
    total: z.number().int().nonnegative().optional(),
    seconds: z.number().nonnegative().optional(),
    mbps: z.number().nonnegative().optional(),
    image: z.enum(['zstd', 'bz2']).optional(),
    writer: z.enum(['dense', 'sparse']).optional(),
    reason: z.string().max(300).optional(),
  }),
]);

export const REPORT_TYPES = [
  'install-started',
  'installed',
  'install-failed',
  'first-boot',
  'progress',
] as const;

export interface ParsedReport {
  type: EventType;
  source: EventSource;
  data: EventData;
}

/** Validate a posted report body. `first-boot` comes from the installed node, the rest from the installer. */
export function parseReport(body: unknown): ParsedReport {
  const result = reportSchema.safeParse(body);
  if (!result.success) {
    const type =
      typeof body === 'object' && body !== null ? (body as Record<string, unknown>)['type'] : undefined;
    const known = typeof type === 'string' && (REPORT_TYPES as readonly string[]).includes(type);
    const detail = known
      ? result.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ')
      : `type must be one of ${REPORT_TYPES.join(', ')}`;
    throw new InvalidRequestError(`invalid installer report: ${detail}`);
  }
  const { type, ...fields } = result.data;
  // Optional fields that were not sent are absent (EventData has no undefined values).
  const data = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as EventData;
  return { type, source: type === 'first-boot' ? 'node' : 'installer', data };
}
