// Composition root: `buildServices` (services.ts) turns the config into the service graph;
// `startServer` opens the listeners (HTTP, TFTP) and starts the jobs under one Lifecycle.
// The only module that sees every layer.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { AdminCredential } from './auth/admin-credential.ts';
import type { SignInLinks } from './auth/sign-in-links.ts';
import { type Config, parseListen } from './config.ts';
import { errorMessage, StartupError } from './errors.ts';
import { type HttpListener, listenHttp } from './http/listener.ts';
import type { Lifecycle } from './lifecycle.ts';
import type { Logger } from './log.ts';
import { SignatureVerifier } from './mirror/verify.ts';
import { buildServices, type ServiceOverrides, type Services } from './services.ts';
import type { TftpServer } from './tftp/server.ts';
import { startTftp } from './tftp/start.ts';

export { buildServices, type ServiceOverrides, type Services };

export interface RunningServer {
  lifecycle: Lifecycle;
  httpUrl: string;
  http: HttpListener;
  tftp: TftpServer | undefined;
}

/**
 * Fail-stop: when any step fails (a port in use, TFTP, the state database, the mirror
 * job's keyring), everything already started is stopped again before the error goes up,
 * so the CLI can exit with one message instead of a half-started server. Once running, the
 * first fatal error of a listener or job stops everything (`lifecycle.stopped` has it).
 */
export async function startServer(
  config: Config,
  log: Logger,
  overrides: ServiceOverrides = {},
): Promise<RunningServer> {
  const services = await buildServices(config, log, overrides);
  try {
    return await listen(config, log, services);
  } catch (err) {
    await services.lifecycle.stop(`startup failed: ${errorMessage(err)}`, 0, true);
    throw err;
  }
}

async function listen(config: Config, log: Logger, services: Services): Promise<RunningServer> {
  const { lifecycle } = services;
  // Background mirror refresh (mirror.autoRefresh): its keyring and directory are checked
  // before anything listens, a job that can never succeed stops startup.
  if (config.mirror.autoRefresh) await checkMirrorJob(config.mirror, join(config.dataDir, 'mirror'));
  const httpLog = log.child({ sub: 'http' });
  const http = await listenHttp(services.app, parseListen(config.http.listen), config.http, httpLog, (err) =>
    lifecycle.fail('http', err),
  );
  lifecycle.add(http);
  const httpUrl = `http://${formatHost(http.address.address)}:${http.address.port}`;
  log.info(
    { listener: 'http', address: httpUrl, publicUrl: config.publicUrl, config: config.source },
    `HTTP listening on ${httpUrl}`,
  );
  // publicUrl derived from `http.listen: …:0` names port 0: the listener's address is the one to open.
  const dashboardBase = new URL(config.publicUrl).port === '0' ? httpUrl : config.publicUrl;
  if (services.admin.file) announceSignIn(log, dashboardBase, services.admin, services.access.links);
  let tftp: TftpServer | undefined;
  if (services.tftp) {
    const observer = {
      ...services.tftp.observer,
      listenerFailed: (err: Error) => lifecycle.fail('tftp', err),
    };
    tftp = await startTftp(config.tftp, services.tftp.source, log.child({ sub: 'tftp' }), observer);
    lifecycle.add(tftp);
  }
  for (const job of services.jobs) lifecycle.startJob(job);
  return { lifecycle, httpUrl, http, tftp };
}

const SIGN_IN_LINK_TTL_MS = 3_600_000;

/** No admin.token configured: log a one-time sign-in link (never the token itself). */
function announceSignIn(log: Logger, publicUrl: string, admin: AdminCredential, links: SignInLinks): void {
  const link = `${publicUrl}/ui/login?link=${links.create(SIGN_IN_LINK_TTL_MS)}`;
  log.info(
    { file: admin.file, generated: admin.created },
    `Dashboard sign-in: open ${link} once within 1 h (a one-time link; any name railyard is reached by works). ` +
      `No admin.token is configured: the admin token ${admin.created ? 'was generated into' : 'is in'} ${admin.file}.`,
  );
}

async function checkMirrorJob(mirror: Config['mirror'], mirrorDir: string): Promise<void> {
  await SignatureVerifier.load(mirror.keyring, mirror.fingerprint);
  try {
    mkdirSync(mirrorDir, { recursive: true });
  } catch (err) {
    throw new StartupError(`dataDir: cannot create the mirror directory ${mirrorDir}: ${errorMessage(err)}`, {
      key: 'dataDir',
      cause: err,
    });
  }
}

function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
