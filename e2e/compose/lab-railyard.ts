// railyard as it runs in the compose lab, seen through the E2E harness's Railyard interface
// (e2e/lib/railyard.ts), so the suite's own assertions (e2e/lib/flow.ts, api.ts) run
// unchanged against it: the API through the port the compose file publishes on the host's
// loopback, the CLI through `docker-compose exec`, the data dir in its volume.
import { ADMIN_TOKEN, type Railyard } from '../lib/railyard.ts';
import type { StandinRelease } from '../lib/release.ts';
import type { ComposeLab } from './compose.ts';

/** The admin token the test gives railyard (RAILYARD_ADMIN_TOKEN): the E2E suite's. */
export const LAB_ADMIN_TOKEN = ADMIN_TOKEN;

export async function labRailyard(
  lab: ComposeLab,
  o: { port: number; workDir: string; release: StandinRelease },
): Promise<Railyard> {
  const dataDir = await lab.volumePath('railyard-data');
  return {
    configFile: '/etc/railyard/railyard.yaml',
    dataDir,
    opts: {
      workDir: o.workDir,
      release: o.release,
      upstreamUrl: 'http://standin-upstream:8000',
      listen: `127.0.0.1:${o.port}`,
      publicUrl: 'http://10.77.0.2:8080',
      machines: { profiles: {}, groups: {} }, // the lab's own: contrib/lab/machines
    },
    cli: (args) =>
      lab.compose(['exec', '-T', 'railyard', 'railyard', ...args, '--config', '/etc/railyard/railyard.yaml']),
    stop: async () => {
      await lab.compose(['stop', 'railyard']);
    },
  };
}

/** GET a JSON API path with the admin token. */
export async function apiGet<T>(ry: Railyard, path: string): Promise<T> {
  const res = await fetch(`http://${ry.opts.listen}${path}`, {
    headers: { authorization: `Bearer ${LAB_ADMIN_TOKEN}` },
    signal: AbortSignal.timeout(10_000),
  });
  if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** POST an admin API path with a given token; returns the HTTP status. */
export async function apiPost(ry: Railyard, path: string, token: string): Promise<number> {
  const res = await fetch(`http://${ry.opts.listen}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(10_000),
  });
  await res.arrayBuffer();
  return res.status;
}
