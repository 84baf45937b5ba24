// Installer reports: the only events a node may post (POST …/attempts/<id>/events). Parsed
// once at the edge into a validated event; anything else is an InvalidRequestError. What an
// attempt accepts, and when, is report-rules.ts.
import { z } from 'zod';
import { InvalidRequestError } from '../errors.ts';
import { HANDOFF_METHODS, HANDOFF_REASONS, reasonCode } from './handoff.ts';
import type { EventData, EventSource } from './state.ts';

const MAX_OUTPUT = 16 * 1024;
/** No control characters: these values end up in logs, the dashboard and console scripts. */
const printable = (max: number) =>
  z
    .string()
    .max(max)
    .regex(/^\P{Cc}*$/u, 'expected printable text');

// `progress` is open-ended on purpose (the installer may report phases, bytes, rates): a
// few flat fields with short keys and bounded values.
const PROGRESS_KEY = /^[a-z][A-Za-z0-9_]{0,31}$/;
const MAX_PROGRESS_FIELDS = 16;
const progressValue = z.union([z.number().finite(), printable(256), z.boolean(), z.null()]);

const reportSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('install-started') }),
  z.strictObject({ type: z.literal('installed') }),
  z.strictObject({
    type: z.literal('install-failed'),
    exitCode: z.number().int().min(0).max(255).optional(),
    output: z.string().max(MAX_OUTPUT).default(''),
    /** The installer's own one-line reason (write-image.sh), when it has one. */
    reason: printable(1024).optional(),
  }),
  z.strictObject({
    type: z.literal('first-boot'),
    ignitionSha256: z.union([z.literal(''), z.string().regex(/^[0-9a-f]{64}$/)]).default(''),
    /** /etc/machine-id of the installed system: its Omaha machineid (docs/updates.md). */
    machineId: z.union([z.literal(''), z.string().regex(/^[0-9a-f]{32}$/)]).optional(),
  }),
  // Image phases (write-image.sh) have typed fields: plan (image/writer/reason), write
  // progress (bytes of total), and per phase done: bytes, seconds, MB/s.
  z
    .object({
      type: z.literal('progress'),
      bytes: z.number().int().nonnegative().optional(),
      phase: z.enum(['plan', 'download', 'write', 'verify']).optional(),
      total: z.number().int().nonnegative().optional(),
      seconds: z.number().nonnegative().finite().optional(),
      mbps: z.number().nonnegative().finite().optional(),
      image: z.enum(['zstd', 'bz2']).optional(),
      writer: z.enum(['dense', 'sparse']).optional(),
      reason: printable(300).optional(),
    })
    .catchall(progressValue)
    .refine((o) => Object.keys(o).length <= MAX_PROGRESS_FIELDS + 1, {
      message: `at most ${MAX_PROGRESS_FIELDS} fields`,
    })
    .refine((o) => Object.keys(o).every((k) => k === 'type' || PROGRESS_KEY.test(k)), {
      message: `field names must match ${PROGRESS_KEY.source}`,
    }),
  z.strictObject({
    type: z.literal('pooled'),
    /** The release on the disk (the attempt's), the disk, the SHA-256 of the image stream written. */
    version: z.string().regex(/^\d+\.\d+\.\d+$/, 'expected X.Y.Z'),
    disk: z.string().regex(/^\/dev\/[A-Za-z0-9/_.:-]{1,120}$/, 'expected a device path such as /dev/sda'),
    imageSha256: z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lower-case hex digits'),
    /** false: the disk already held this release (the write was skipped). */
    rewritten: z.boolean().default(true),
  }),
  // handoff.sh: how the installer left the live system; a reboot says why (handoff.ts codes)
  z
    .strictObject({
      type: z.literal('handoff'),
      method: z.enum(HANDOFF_METHODS),
      reason: z
        .string()
        .refine((r) => reasonCode(r) !== undefined, {
          message: `expected "<code>" or "<code>: <printable detail>", code one of ${HANDOFF_REASONS.join(', ')}`,
        })
        .optional(),
    })
    .refine((o) => (o.method === 'reboot') === (o.reason !== undefined), {
      message: 'a reboot needs a reason, a kexec has none',
      path: ['reason'],
    }),
]);

export const REPORT_TYPES = [
  'install-started',
  'installed',
  'install-failed',
  'first-boot',
  'progress',
  'handoff',
  'pooled',
] as const;
export type ReportType = (typeof REPORT_TYPES)[number];

export function isReportType(type: unknown): type is ReportType {
  return typeof type === 'string' && (REPORT_TYPES as readonly string[]).includes(type);
}

export interface ParsedReport {
  type: ReportType;
  source: EventSource;
  data: EventData;
}

/** Validate a posted report body. `first-boot` comes from the installed node, the rest from the installer. */
export function parseReport(body: unknown): ParsedReport {
  const result = reportSchema.safeParse(body);
  if (!result.success) {
    const type =
      typeof body === 'object' && body !== null ? (body as Record<string, unknown>)['type'] : undefined;
    const detail = isReportType(type)
      ? result.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ')
      : `type must be one of ${REPORT_TYPES.join(', ')}`;
    throw new InvalidRequestError(`invalid installer report: ${detail}`);
  }
  const { type, ...fields } = result.data;
  // Optional fields a report left out stay out of the event (older first-boot units send no machineId).
  const data = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as EventData;
  return { type, source: type === 'first-boot' ? 'node' : 'installer', data };
}
