// Process entry point: `railyard <command>` (see cli/index.ts).
import { runCli } from './cli/index.ts';

const code = await runCli(process.argv.slice(2));
process.exitCode = code;
// Fail-stop: a failed command must end the process even if a handle (a watcher, a socket
// still closing) would keep it alive; the timer itself keeps nothing alive.
if (code !== 0) setTimeout(() => process.exit(code), 2000).unref();
