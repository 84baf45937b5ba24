import { setFlagsFromString } from 'node:v8';
import { ConfigError, StartupError } from '../errors.ts';
import { createLogger } from '../log.ts';
import { startServer } from '../main.ts';
import type { Command } from './command.ts';
import { CONFIG_HELP, CONFIG_OPTIONS, configFromFlags, parseFlags } from './common.ts';

const OPTIONS = {
  ...CONFIG_OPTIONS,
  listen: { type: 'string', short: 'l' },
  'public-url': { type: 'string' },
  'machines-dir': { type: 'string' },
  'tftp-listen': { type: 'string' },
  'tftp-root': { type: 'string' },
} as const;

/** V8's default (node --v8-options). */
const V8_SEMI_SPACE_GROWTH_FACTOR = 2;

export const serveCommand: Command = {
  name: 'serve',
  summary: 'run the boot server (HTTP + TFTP)',
  help: `Usage: railyard serve [options]

Runs the HTTP boot server (and TFTP for iPXE binaries). Logs one line per listener.
Fail-stop: whatever keeps the server from starting (an invalid configuration value such
as publicUrl, a port in use, a startup step that fails) exits 1 with one message naming
the key; a command-line usage error exits 2.
SIGTERM/SIGINT stop accepting, let in-flight downloads finish for up to http.drainTimeout
(default 10s) and exit 0. A fatal error once running (an HTTP or TFTP listener failing, a
background job crashing) stops everything the same way and exits 1 with that error.
SIGHUP reloads machines (profiles and groups).

Options:
${CONFIG_HELP}
  -l, --listen ADDR     HTTP listen address host:port (http.listen, default 0.0.0.0:8080)
      --public-url URL  base URL nodes use to reach railyard (publicUrl)
      --machines-dir D  profiles/ and groups/ directory (machinesDir)
      --tftp-listen A   TFTP listen address (tftp.listen, default 0.0.0.0:69)
      --tftp-root DIR   directory of iPXE binaries served by TFTP (tftp.root)`,
  async run(argv) {
    const { values } = parseFlags(argv, OPTIONS);
    const { config, log, server } = await start(values).catch((err: unknown) => {
      throw failStop(err);
    });
    server.lifecycle.handleSignals(config.http.drainTimeout);
    // A signal: drained, exit 0. A fatal error of a listener or job (logged): exit 1 with it.
    const fatal = await server.lifecycle.stopped;
    log.flush();
    if (fatal) throw fatal;
    return 0;
  },
};

async function start(values: Parameters<typeof configFromFlags>[0]) {
  const config = configFromFlags(values);
  const log = createLogger(config.log);
  const server = await startServer(config, log);
  // bin/railyard.js kept V8's young generation small while loading; serving may grow it again.
  setFlagsFromString(`--semi-space-growth-factor=${V8_SEMI_SPACE_GROWTH_FACTOR}`);
  return { config, log, server };
}

/**
 * `serve` is fail-stop: an invalid configuration is one more reason it could not start, so
 * it exits 1 like a port in use (issue 11), not 2 as for the other commands; usage errors
 * (flags) stay 2.
 */
function failStop(err: unknown): unknown {
  if (!(err instanceof ConfigError)) return err;
  return new StartupError(err.message, { ...(err.key === undefined ? {} : { key: err.key }), cause: err });
}
