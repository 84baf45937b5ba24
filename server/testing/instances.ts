// Test-only: several `railyard serve` processes sharing one PostgreSQL database (a region's
// database and its racks), each with its own data dir and mirror copy, the same machines
// and admin token; and an iPXE-like HTTP client for them (fetch from 127.0.0.1).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { decodeInstallerCpio } from '../installer/fixtures/decode.ts';
import { writeAttemptMachines } from './attempt-machines.ts';
import { publishRelease } from './fixtures.ts';
import { type Railyard, spawnRailyard } from './spawn-railyard.ts';

export const LAB_ADMIN_TOKEN = 'lab-admin-token-5d1e7f0a9c3b';

/** `n` instances on the database at `url`; machines from `machinesDir` (default: writeAttemptMachines). */
export async function startInstances(
  dir: string,
  url: string,
  n: number,
  machinesDir = writeAttemptMachines(dir),
): Promise<Railyard[]> {
  return Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const home = join(dir, `rack-${i}`);
      mkdirSync(home, { recursive: true });
      publishRelease(join(home, 'data', 'mirror'));
      return spawnRailyard(home, {
        dataDir: join(home, 'data'),
        machinesDir,
        state: { driver: 'postgres', url, poolSize: 8 },
        admin: { token: LAB_ADMIN_TOKEN },
        ui: { public: true },
        log: { format: 'json', level: 'info' },
      });
    }),
  );
}

export interface BootAnswer {
  status: number;
  decision: string | undefined;
  text: string;
}

export async function ipxe(base: string, mac: string): Promise<BootAnswer> {
  const res = await fetch(`${base}/ipxe?mac=${mac}&platform=pcbios`, {
    headers: { 'User-Agent': 'iPXE/1.21.1' },
  });
  return {
    status: res.status,
    decision: res.headers.get('x-railyard-decision') ?? undefined,
    text: await res.text(),
  };
}

/** From an install script: the installer URL (on the instance that served it). */
export function installerUrl(script: string): string {
  const url = /initrd --name railyard-installer\.cpio\.gz (\S+)/.exec(script)?.[1];
  if (!url) throw new Error(`not an install script:\n${script}`);
  return url;
}

/** Fetch the installer initrd and read the attempt's report path and install token from it. */
export async function installerCredentials(url: string): Promise<{ token: string; reportPath: string }> {
  const res = await fetch(url);
  if (res.status !== 200) throw new Error(`installer ${url}: ${res.status} ${await res.text()}`);
  const sh =
    decodeInstallerCpio(Buffer.from(await res.arrayBuffer())).files.get('/opt/railyard/install.sh')?.text ??
    '';
  const token = /TOKEN='([^']+)'/.exec(sh)?.[1];
  const reportPath = /REPORT_URL='[^']*(\/api\/v1\/[^']+)'/.exec(sh)?.[1];
  if (!token || !reportPath) throw new Error('no TOKEN or REPORT_URL in install.sh');
  return { token, reportPath };
}

export async function report(base: string, path: string, token: string, body: object): Promise<number> {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  await res.arrayBuffer();
  return res.status;
}
