// The version step that makes the derived image files (derive.ts) — before a new release is
// published, and for a published one whose files are missing or corrupt (checked in full,
// SHA-256 included, at every refresh). A rebuild re-verifies the .bz2's signature first:
// nothing is ever derived from bytes that were not just verified.
import { join } from 'node:path';
import { deriveImage } from './derive.ts';
import { checkDerived, SOURCE_IMAGE } from './derived.ts';
import type { StepContext, StepResult, VersionStep } from './version-steps.ts';

const since = (t0: number) => Math.round((performance.now() - t0) / 10) / 100;

function context(ctx: StepContext) {
  const m = ctx.mirror;
  return {
    settings: { level: m.zstdLevel, long: m.zstdLong, threads: m.deriveThreads },
    log: ctx.log,
    trashDir: ctx.layout.trashDir,
    worker: { signal: ctx.signal },
  };
}

export const imageStep: VersionStep = {
  name: 'image',
  async staged(ctx, dir): Promise<StepResult> {
    const t0 = performance.now();
    if (!ctx.mirror.deriveImages) return { status: 'disabled', seconds: 0 };
    await deriveImage(context(ctx), dir);
    return { status: 'new', seconds: since(t0) };
  },
  async published(ctx, dir): Promise<StepResult> {
    const t0 = performance.now();
    if (!ctx.mirror.deriveImages) return { status: 'disabled', seconds: 0 };
    const check = await checkDerived(dir, true);
    if (check.ok) return { status: 'ok', seconds: since(t0) };
    const bz2 = join(dir, SOURCE_IMAGE);
    await ctx.verifier.verifyFile(bz2, `${bz2}.sig`);
    await deriveImage(context(ctx), dir);
    return { status: 'rebuilt', seconds: since(t0), reason: check.reason };
  },
};
