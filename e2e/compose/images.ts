// Images for the compose lab test. No registry is reachable, so the official bases are
// stood in for by local ones (scripts/compose-lab/base-image.sh: debootstrap + the host's
// Node), imported once per cache key; every Dockerfile the compose file names is then built
// with its BASE build argument pointing at the local stand-in of its default base.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../lib/paths.ts';
import { run } from '../lib/proc.ts';
import type { Engine } from './engine.ts';

/** Official base (a Dockerfile's `ARG BASE=` default) → which local base stands in for it. */
const STAND_INS: Record<string, 'debian' | 'node'> = {
  'debian:bookworm-slim': 'debian',
  'node:20-bookworm-slim': 'node',
};

export interface LocalBases {
  key: string;
  debian: string;
  node: string;
}

export async function importBases(engine: Engine): Promise<LocalBases> {
  const out = await run(join(REPO_ROOT, 'scripts/compose-lab/base-image.sh'), []);
  const v = Object.fromEntries(
    [...out.matchAll(/^(COMPOSE_BASE_[A-Z]+)=(.*)$/gm)].map((m) => [
      m[1]!,
      m[2]!.replace(/\\(.)/g, '$1').replace(/^'(.*)'$/, '$1'),
    ]),
  );
  const key = v['COMPOSE_BASE_KEY'];
  if (!key) throw new Error(`base-image.sh printed no COMPOSE_BASE_KEY:\n${out}`);
  const bases = { key, debian: `railyard-test/debian:${key}`, node: `railyard-test/node:${key}` };
  const env = (v['COMPOSE_BASE_ENV'] ?? '').split(' ').filter(Boolean);
  for (const [tag, tar, cmd] of [
    [bases.debian, v['COMPOSE_BASE_DEBIAN'], '["bash"]'],
    [bases.node, v['COMPOSE_BASE_NODE'], '["node"]'],
  ] as const) {
    if (
      await engine.docker(['image', 'inspect', tag]).then(
        () => true,
        () => false,
      )
    )
      continue;
    const changes = [`CMD ${cmd}`, ...env.map((e) => `ENV ${e}`)].flatMap((c) => ['--change', c]);
    await engine.docker(['import', ...changes, tar!, tag]);
  }
  // bases of other cache keys (an older Node, an older debootstrap) only take space
  const stale = (
    await engine.docker(['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}', 'railyard-test/*'])
  )
    .split('\n')
    .filter((t) => t && !t.endsWith(`:${key}`));
  if (stale.length > 0) await engine.docker(['image', 'rm', ...stale]).catch(() => undefined);
  return bases;
}

export interface ImageBuild {
  image: string;
  context: string;
  dockerfile: string;
}

/** `ARG BASE=<default>` of a Dockerfile: the base it is built on. */
export function defaultBase(dockerfile: string): string {
  const m = /^ARG BASE=(\S+)\s*$/m.exec(readFileSync(dockerfile, 'utf8'));
  if (!m) throw new Error(`${dockerfile}: no "ARG BASE=<image>" line (its base must be a build argument)`);
  return m[1]!;
}

/** docker build from the real Dockerfile; host networking, as the engine has no NAT. */
export async function buildImage(engine: Engine, bases: LocalBases, b: ImageBuild): Promise<number> {
  const official = defaultBase(b.dockerfile);
  const local = STAND_INS[official];
  if (!local) throw new Error(`${b.dockerfile}: no local stand-in for base ${official}`);
  const t0 = Date.now();
  await engine
    .docker([
      'build',
      '--network',
      'host',
      '--build-arg',
      `BASE=${bases[local]}`,
      '-f',
      b.dockerfile,
      '-t',
      b.image,
      b.context,
    ])
    .catch((err: Error) => {
      throw new Error(`building ${b.image} from ${b.dockerfile}: ${err.message.slice(-4000)}`);
    });
  return (Date.now() - t0) / 1000;
}
