// What names a Flatcar release in profiles, groups, the config and the CLI: the channels
// and the version spec (`current`, `current-YYYY` for the newest of a major, or X.Y.Z).
export const CHANNELS = ['stable', 'beta', 'alpha', 'lts'] as const;
export type Channel = (typeof CHANNELS)[number];

export const VERSION_SPEC = /^(current|current-\d{4}|\d+\.\d+\.\d+)$/;
export const VERSION_SPEC_EXPECTED = 'expected current, current-YYYY or X.Y.Z';
