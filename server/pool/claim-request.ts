// POST /api/v1/pool/claim bodies (and `railyard pool claim`), parsed once at the edge.
import { z } from 'zod';
import { InvalidRequestError } from '../errors.ts';
import type { Mac } from '../machines/identity.ts';
import { canonicalMac } from '../machines/identity.ts';
import { metadataSchema } from '../machines/model.ts';

const ID = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'expected a profile or group id');
const SELECTOR_KEY = z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, 'expected a lower-case selector name');
/** Claims at most this many machines at once. */
export const MAX_CLAIM = 1000;

const claimSchema = z
  .strictObject({
    /** The profile the claimed machines run from now on. */
    profile: ID,
    /** Added to (and overriding) the pool group's metadata for the claimed machines; checked as a group's is. */
    metadata: z
      .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/), z.unknown())
      .pipe(metadataSchema)
      .default({}),
    count: z.number().int().min(1).max(MAX_CLAIM).optional(),
    mac: z.string().optional(),
    /** Only pooled machines whose facts (arch, platform, labels…) equal these. */
    selector: z.record(SELECTOR_KEY, z.union([z.string().min(1), z.number()]).transform(String)).default({}),
    /** Only this pool group (default: every pool group). */
    pool: ID.optional(),
  })
  .refine((b) => !(b.count !== undefined && b.mac !== undefined), {
    message: 'give count or mac, not both',
    path: ['count'],
  });

export interface ClaimRequest {
  profile: string;
  metadata: Record<string, unknown>;
  count: number;
  mac: Mac | undefined;
  selector: Record<string, string>;
  pool: string | undefined;
}

export function parseClaimRequest(body: unknown): ClaimRequest {
  const r = claimSchema.safeParse(body);
  if (!r.success)
    throw new InvalidRequestError(
      `invalid claim: ${r.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ')}`,
    );
  const { count, mac, pool, profile, metadata } = r.data;
  const selector = { ...r.data.selector };
  if (selector['mac']) selector['mac'] = canonicalMac(selector['mac']);
  return {
    profile,
    metadata,
    selector,
    pool,
    count: count ?? 1,
    mac: mac === undefined ? undefined : canonicalMac(mac),
  };
}
