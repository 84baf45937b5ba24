// Installer reports: the only events a node may post (POST /api/v1/machines/<mac>/events).
// Parsed once at the edge into a validated event; anything else is an InvalidRequestError.
import { z } from 'zod';
import { InvalidRequestError } from '../errors.ts';
import { HANDOFF_METHODS, HANDOFF_REASONS, reasonCode } from './handoff.ts';
import type { EventData, EventSource, EventType } from './state.ts';

const MAX_OUTPUT = 16 * 1024;

const reportSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('install-started') }),
  z.strictObject({ type: z.literal('installed') }),
  z.strictObject({
    type: z.literal('install-failed'),
    exitCode: z.number().int().min(0).max(255),
    output: z.string().max(MAX_OUTPUT).default(''),
  }),
  z.strictObject({
    type: z.literal('first-boot'),
    ignitionSha256: z.union([z.literal(''), z.string().regex(/^[0-9a-f]{64}$/)]).default(''),
  }),
  z.strictObject({ type: z.literal('progress'), bytes: z.number().int().nonnegative() }),
  z.strictObject({
    type: z.literal('handoff'),
    method: z.enum(HANDOFF_METHODS),
    reason: z
      .string()
      .refine((r) => reasonCode(r) !== undefined, {
        message: `expected "<code>" or "<code>: <printable detail>", code one of ${HANDOFF_REASONS.join(', ')}`,
      })
      .optional(),
  }),
]);

export const REPORT_TYPES = [
  'install-started',
  'installed',
  'install-failed',
  'first-boot',
  'progress',
  'handoff',
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
  const data: EventData = {};
  for (const [k, v] of Object.entries(fields)) if (v !== undefined) data[k] = v;
  return { type, source: type === 'first-boot' ? 'node' : 'installer', data };
}
