// Mustache templates for generated scripts and configs. mustache HTML-escapes by default
// and renders missing keys as empty — both corrupt iPXE scripts — so: render with
// `escape: String`, and check every name a template uses against the view it will get.
import Mustache from 'mustache';

type Token = [string, string, number, number, Token[]?, ...unknown[]];

/** Names per template text: a few templates, asked on every render (bounded below). */
const namesOf = new Map<string, readonly string[]>();

/** Every variable/section name a template uses, dotted paths included (e.g. `metadata.rack`). */
export function templateNames(text: string): string[] {
  const known = namesOf.get(text);
  if (known) return [...known];
  const names = parseNames(text);
  if (namesOf.size >= 256) namesOf.clear();
  namesOf.set(text, names);
  return [...names];
}

function parseNames(text: string): string[] {
  const names = new Set<string>();
  const walk = (tokens: Token[]) => {
    for (const t of tokens) {
      if (t[0] === 'name' || t[0] === '&' || t[0] === '#' || t[0] === '^') names.add(t[1]);
      if (Array.isArray(t[4])) walk(t[4]);
    }
  };
  walk(Mustache.parse(text) as unknown as Token[]);
  return [...names];
}

/** Names the template uses that the view does not define (`.` is the current item in a section). */
export function missingNames(text: string, view: Record<string, unknown>): string[] {
  return templateNames(text).filter((name) => name !== '.' && lookup(view, name) === undefined);
}

function lookup(view: Record<string, unknown>, path: string): unknown {
  let node: unknown = view;
  for (const part of path.split('.')) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

export function render(text: string, view: Record<string, unknown>): string {
  return Mustache.render(text, view, {}, { escape: String });
}
