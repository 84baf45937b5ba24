// Debian's docker-compose 1.29 against the private engine: the repository's real
// docker-compose.yml plus contrib/lab/standin.yml (the stand-in release), one project.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import YAML from 'yaml';
import type { Cleanup } from '../lib/cleanup.ts';
import { REPO_ROOT } from '../lib/paths.ts';
import type { Engine } from './engine.ts';
import type { ImageBuild } from './images.ts';

/** COMPOSE_ACCEL=kvm: the nodes on KVM (contrib/lab/kvm.yml, LAB_ACCEL=kvm); default TCG. */
export const ACCEL = process.env['COMPOSE_ACCEL'] === 'kvm' ? 'kvm' : 'tcg';
export const COMPOSE_FILES = [
  join(REPO_ROOT, 'docker-compose.yml'),
  join(REPO_ROOT, 'contrib/lab/standin.yml'),
  ...(ACCEL === 'kvm' ? [join(REPO_ROOT, 'contrib/lab/kvm.yml')] : []),
];

interface ResolvedService {
  image?: string;
  build?: { context: string; dockerfile?: string };
}

export class ComposeLab {
  constructor(
    readonly engine: Engine,
    readonly project: string,
    readonly env: Record<string, string>,
  ) {}

  /** Run docker-compose; killed (and failing) after `timeoutSec`. */
  compose(args: readonly string[], timeoutSec = 300): Promise<string> {
    const files = COMPOSE_FILES.flatMap((f) => ['-f', f]);
    const argv = ['--ansi', 'never', '-p', this.project, ...files, ...args];
    const env = { ...process.env, DOCKER_HOST: this.engine.host, LAB_ACCEL: ACCEL, ...this.env };
    return new Promise((resolve, reject) => {
      execFile(
        'docker-compose',
        argv,
        { env, timeout: timeoutSec * 1000, maxBuffer: 64 * 1024 * 1024 },
        (err, stdout, stderr) => {
          if (!err) return resolve(stdout);
          const why = err.killed ? `killed after ${timeoutSec} s` : `exit ${err.code}`;
          reject(new Error(`docker-compose ${args.join(' ')}: ${why}: ${stderr.trim().slice(-3000)}`));
        },
      );
    });
  }

  /** What to build: each image the resolved file names with a build section, once. */
  async builds(): Promise<ImageBuild[]> {
    const cfg = YAML.parse(await this.compose(['config'])) as { services: Record<string, ResolvedService> };
    const out = new Map<string, ImageBuild>();
    for (const [name, s] of Object.entries(cfg.services)) {
      if (!s.build) continue;
      if (!s.image) throw new Error(`service ${name} builds an image but names none`);
      out.set(s.image, {
        image: s.image,
        context: s.build.context,
        dockerfile: join(s.build.context, s.build.dockerfile ?? 'Dockerfile'),
      });
    }
    return [...out.values()];
  }

  async containerId(service: string): Promise<string> {
    const id = (await this.compose(['ps', '-q', service])).trim();
    if (!id) throw new Error(`no container for service ${service}`);
    return id;
  }

  async inspect(service: string, format: string): Promise<string> {
    return (
      await this.engine.docker(['inspect', '--format', format, await this.containerId(service)])
    ).trim();
  }

  /** `docker logs -f` of a service's container, from its start; killed at cleanup. */
  async follow(cleanup: Cleanup, service: string): Promise<ChildProcess> {
    const id = await this.containerId(service);
    const child = spawn('env', [`DOCKER_HOST=${this.engine.host}`, '/usr/bin/docker', 'logs', '-f', id], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    cleanup.add(`stop docker logs ${service}`, () => child.kill());
    return child;
  }

  async logs(service: string): Promise<string> {
    return this.compose(['logs', '--no-color', service]);
  }

  async volumePath(volume: string): Promise<string> {
    const name = `${this.project}_${volume}`;
    return (await this.engine.docker(['volume', 'inspect', '--format', '{{.Mountpoint}}', name])).trim();
  }
}
