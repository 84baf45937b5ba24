import { PACKAGE } from './package-root.ts';

export const VERSION: string = PACKAGE.version;
