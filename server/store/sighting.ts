// What a request tells the store about a machine, applied the same way by every backend.
import type { Machine } from '../machines/state.ts';
import type { Sighting } from './state-store.ts';

/** The facts are replaced (per boot, never merged); profile and group kept unless given. */
export function withSighting(machine: Machine, seen: Sighting): Machine {
  return {
    ...machine,
    facts: seen.facts ?? machine.facts,
    profile: seen.profile ?? machine.profile,
    group: seen.group ?? machine.group,
  };
}
