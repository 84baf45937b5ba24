// Process entry point: `railyard <command>` (see cli/index.ts).
import { runCli } from './cli/index.ts';

const code = await runCli(process.argv.slice(2));
process.exitCode = code;
