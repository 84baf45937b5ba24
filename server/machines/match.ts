// Pure, deterministic machine matching (matchbox Group.Matches + ByReqs, improved):
// all selectors must equal the machine's facts; more selectors win; ties are broken by
// the sorted `key=value` string; a group with no selectors is the default.

import type { Facts } from './identity.ts';
import { canonicalMac } from './identity.ts';
import type { Group } from './model.ts';

/** Canonical selector form, so `52-54-00-…` in a group matches `52:54:00:…` from iPXE. */
export function canonicalSelector(selector: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(selector))
    out[k] = k === 'mac' ? canonicalMac(v) : k === 'uuid' ? v.toLowerCase() : v;
  return out;
}

export function selectorKey(selector: Record<string, string>): string {
  return Object.entries(selector)
    .map(([k, v]) => `${k}=${v}`)
    .sort()
    .join(',');
}

/** Order groups most specific first; deterministic whatever order they were loaded in. */
export function sortGroups(groups: readonly Group[]): Group[] {
  return [...groups].sort((a, b) => {
    const diff = Object.keys(b.selector).length - Object.keys(a.selector).length;
    if (diff !== 0) return diff;
    const ka = selectorKey(a.selector);
    const kb = selectorKey(b.selector);
    return ka < kb ? -1 : ka > kb ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  });
}

export function matches(group: Group, facts: Facts): boolean {
  return Object.entries(group.selector).every(([k, v]) => facts[k] === v);
}

/** First match in sorted order; undefined when nothing matches (not even a default group). */
export function selectGroup(sorted: readonly Group[], facts: Facts): Group | undefined {
  return sorted.find((g) => matches(g, facts));
}
