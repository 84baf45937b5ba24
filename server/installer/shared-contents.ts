// Ignition `contents` of the installer files that are the same for many machines
// (write-image.sh, handoff.sh: nothing of one attempt is in them, script.ts renderAttemptEnv):
// rendered, gzip'd (Ignition's `compression: gzip`) and base64-encoded once per template
// revision and view instead of once per machine: a boot storm of one profile encodes each of
// them once (BENCHMARKS.md).
import { gzipSync } from 'node:zlib';
import { LRUCache } from 'lru-cache';
import type { ScriptTemplate } from './script.ts';

export interface FileContents {
  source: string;
  compression?: 'gzip';
}

/** A few profiles × plans × kernel-argument sets; an entry is a few KiB. */
const encoded = new LRUCache<string, FileContents>({ max: 64 });

/**
 * The contents of a file rendered from `template` and `view`; `render` runs only on a miss.
 * The key is the template's revision and the view itself (what the text is made of), not the
 * text: hashing and comparing a long rendered string per machine cost more than rendering it.
 */
export function sharedContents(
  template: ScriptTemplate,
  view: Record<string, unknown>,
  render: () => string,
): FileContents {
  const key = `${template.revision} ${JSON.stringify(view)}`;
  let contents = encoded.get(key);
  if (!contents) {
    const gz = gzipSync(Buffer.from(render(), 'utf8'), { level: 9 });
    contents = { source: `data:;base64,${gz.toString('base64')}`, compression: 'gzip' };
    encoded.set(key, contents);
  }
  return contents;
}
