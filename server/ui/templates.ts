// Dashboard templates (assets/ui/*.mustache): read and parsed once at startup, rendered
// with mustache's default HTML escaping. Templates must not use unescaped output ({{{ }}}
// or {{& }}): every value may come from a machine. Static files (assets/ui/static/) are
// kept in memory with an ETag.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Mustache from 'mustache';
import { ConfigError } from '../errors.ts';
import { PACKAGE_ROOT } from '../package-root.ts';

export const UI_DIR = join(PACKAGE_ROOT, 'assets/ui');
const UNESCAPED = /\{\{\{|\{\{\s*&/;
const STATIC_TYPES: Record<string, string> = {
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
};

export interface StaticFile {
  body: string;
  type: string;
  etag: string;
}

export class UiTemplates {
  readonly #templates = new Map<string, string>();
  readonly #static = new Map<string, StaticFile>();

  constructor(dir: string = UI_DIR) {
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.mustache'))) {
      const text = readFileSync(join(dir, file), 'utf8');
      if (UNESCAPED.test(text))
        throw new ConfigError(`${file}: unescaped output is not allowed in UI templates`);
      Mustache.parse(text); // syntax errors stop startup; the parse is cached
      this.#templates.set(file.replace(/\.mustache$/, ''), text);
    }
    const staticDir = join(dir, 'static');
    for (const file of readdirSync(staticDir)) {
      const type = STATIC_TYPES[file.slice(file.lastIndexOf('.'))];
      if (!type) continue;
      const body = readFileSync(join(staticDir, file), 'utf8');
      const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 16)}"`;
      this.#static.set(file, { body, type, etag });
    }
  }

  /** Render a page or fragment; the other templates are available as partials. */
  render(name: string, view: object): string {
    const text = this.#templates.get(name);
    if (text === undefined) throw new Error(`no UI template ${name}`);
    return Mustache.render(text, view, Object.fromEntries(this.#templates));
  }

  staticFile(name: string): StaticFile | undefined {
    return this.#static.get(name);
  }
}
