// Steps that run on each mirrored version after it is verified: a small ordered list that
// `refresh` runs (a) on the verified staging directory, before the one rename that publishes
// the version (what they make is published atomically with it), and (b) on an already
// published version at every refresh, to make or repair what is missing or corrupt. A step
// that fails never fails the version: the result is recorded and the next refresh retries.
// Add a step by appending it to VERSION_STEPS.
import { errorMessage } from '../errors.ts';
import type { Logger } from '../log.ts';
import { imageStep } from './image-step.ts';
import type { MirrorLayout } from './layout.ts';
import type { MirrorConfig } from './refresh.ts';
import type { SignatureVerifier } from './verify.ts';

export interface StepContext {
  channel: string;
  board: string;
  version: string;
  mirror: MirrorConfig;
  layout: MirrorLayout;
  verifier: SignatureVerifier;
  log: Logger;
  signal?: AbortSignal | undefined;
}

/** new: made before publishing; ok: present and intact; rebuilt: was missing or corrupt. */
export type StepStatus = 'new' | 'ok' | 'rebuilt' | 'failed' | 'disabled';

export interface StepResult {
  status: StepStatus;
  seconds: number;
  reason?: string;
}

export interface VersionStep {
  name: string;
  staged(ctx: StepContext, dir: string): Promise<StepResult>;
  published(ctx: StepContext, dir: string): Promise<StepResult>;
}

export const VERSION_STEPS: readonly VersionStep[] = [imageStep];

export async function runSteps(
  phase: 'staged' | 'published',
  ctx: StepContext,
  dir: string,
  steps: readonly VersionStep[] = VERSION_STEPS,
): Promise<Record<string, StepResult> | undefined> {
  const out: Record<string, StepResult> = {};
  for (const step of steps) {
    const t0 = performance.now();
    try {
      out[step.name] = await step[phase](ctx, dir);
    } catch (err) {
      if (ctx.signal?.aborted) throw err;
      out[step.name] = { status: 'failed', seconds: since(t0), reason: errorMessage(err) };
    }
    const r = out[step.name]!;
    if (r.status === 'disabled') delete out[step.name];
    const what = `${ctx.channel}/${ctx.board} ${ctx.version} ${step.name}`;
    if (r.status === 'failed')
      ctx.log.error({ step: step.name, ...r }, `mirror ${what}: failed: ${r.reason}`);
    else if (r.status !== 'ok' && r.status !== 'disabled')
      ctx.log.info({ step: step.name, ...r }, `mirror ${what}: ${r.status}`);
  }
  return Object.keys(out).length > 0 ? out : undefined; // disabled steps leave no trace
}

function since(t0: number): number {
  return Math.round((performance.now() - t0) / 10) / 100;
}
