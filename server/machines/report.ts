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
  }),
  z.strictObject({
    type: z.literal('first-boot'),
    ignitionSha256: z.union([z.literal(''), z.string().regex(/^[0-9a-f]{64}$/)]).default(''),
    /** /etc/machine-id of the installed system: its Omaha machineid (docs/updates.md). */
    machineId: z.union([z.literal(''), z.string().regex(/^[0-9a-f]{32}$/)]).optional(),
  }),
  z.strictObject({ type: z.literal('progress'), bytes: z.number().int().nonnegative() }),
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
  // Optional fields a report left out stay out of the event (older first-boot units send no machineId).
  const data = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as EventData;
  return { type, source: type === 'first-boot' ? 'node' : 'installer', data };
}
