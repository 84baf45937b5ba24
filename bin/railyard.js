#!/usr/bin/env node
// Entry point for the installed `railyard` command: runs the TypeScript CLI through tsx.
import { register } from 'tsx/esm/api';

register();
await import('../server/cli.ts');
