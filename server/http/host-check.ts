// DNS-rebinding defence for /ui and /api: a browser that reached railyard through a name an
// attacker controls (evil.example resolving to railyard's address) sends that name as Host.
// Only names railyard is reached by are accepted: publicUrl's host, a named listen address,
// `http.allowedHosts` (a leading "." allows a domain and its subdomains) and localhost. IP
// literals are always accepted: an origin spelled as an IP cannot be rebound, and iPXE and
// installers often reach railyard by address.
import { isIP } from 'node:net';
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from './app.ts';

export class HostAllowList {
  readonly #exact = new Set<string>(['localhost']);
  readonly #suffixes: string[] = [];

  constructor(names: readonly string[]) {
    for (const raw of names) {
      const name = normalize(raw);
      if (!name) continue;
      if (name.startsWith('.')) this.#suffixes.push(name);
      else this.#exact.add(name);
    }
  }

  /** Names from publicUrl, the listen host and http.allowedHosts. */
  static fromConfig(publicUrl: string, listenHost: string, allowed: readonly string[]): HostAllowList {
    return new HostAllowList([new URL(publicUrl).hostname, listenHost, ...allowed]);
  }

  allows(hostname: string): boolean {
    const name = normalize(hostname);
    if (isIP(name.replace(/^\[(.*)\]$/, '$1')) !== 0) return true;
    if (this.#exact.has(name)) return true;
    return this.#suffixes.some((s) => name.endsWith(s) || name === s.slice(1));
  }

  describe(): string {
    return [...this.#exact, ...this.#suffixes.map((s) => `*${s}`)].join(', ');
  }
}

function normalize(name: string): string {
  return name.trim().toLowerCase().replace(/\.$/, '');
}

/** 421 for a Host that is not one of railyard's names (the reply names the key to set). */
export function checkHost(hosts: HostAllowList): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const hostname = new URL(c.req.url).hostname;
    if (hosts.allows(hostname)) return next();
    return c.json(
      {
        error:
          `Host "${hostname}" is not a name railyard is reached by (${hosts.describe()}); ` +
          'add it to http.allowedHosts if it is',
      },
      421,
    );
  };
}
