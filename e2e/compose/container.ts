// Standalone railyard containers for the image checks, on a test network whose bridge
// (rycmp-img0) the host reaches directly: the container's IP, no published ports, no NAT.
import { readFileSync } from 'node:fs';
import { run } from '../lib/proc.ts';
import type { Engine } from './engine.ts';
import { waitFor } from './host.ts';

export const IMG_NET = 'rycmp-img';
const IMG_BRIDGE = 'rycmp-img0';
export const IMAGE = 'railyard';

export async function createImageNetwork(engine: Engine): Promise<void> {
  const exists = await engine.docker(['network', 'inspect', IMG_NET]).then(
    () => true,
    () => false,
  );
  if (!exists)
    await engine.docker([
      'network',
      'create',
      '--opt',
      `com.docker.network.bridge.name=${IMG_BRIDGE}`,
      IMG_NET,
    ]);
  await engine.noteBridges();
}

export interface RunOptions {
  name: string;
  env?: Record<string, string>;
  volumes?: string[];
  /** extra `docker run` flags (capabilities, sysctls, health interval). */
  flags?: string[];
  args?: string[];
}

/** `docker run -d` of the railyard image (its own entrypoint and user); returns the ID. */
export async function runRailyard(engine: Engine, o: RunOptions): Promise<string> {
  const env = Object.entries(o.env ?? {}).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
  const vols = (o.volumes ?? []).flatMap((v) => ['-v', v]);
  const id = await engine.docker([
    'run',
    '-d',
    '--name',
    o.name,
    '--network',
    IMG_NET,
    ...env,
    ...vols,
    ...(o.flags ?? []),
    IMAGE,
    ...(o.args ?? []),
  ]);
  return id.trim();
}

export async function inspect(engine: Engine, id: string, format: string): Promise<string> {
  return (await engine.docker(['inspect', '--format', format, id])).trim();
}

export async function containerIp(engine: Engine, id: string): Promise<string> {
  const ip = await inspect(engine, id, `{{(index .NetworkSettings.Networks "${IMG_NET}").IPAddress}}`);
  if (!/^\d+\.\d+\.\d+\.\d+$/.test(ip)) throw new Error(`container ${id}: no address on ${IMG_NET} (${ip})`);
  return ip;
}

/** Wait until GET http://ip:8080/healthz answers; returns its JSON. */
export async function waitHealthz(ip: string, seconds = 90): Promise<Record<string, unknown>> {
  let body: Record<string, unknown> = {};
  await waitFor(`railyard at ${ip}:8080 to answer /healthz`, seconds, async () => {
    const res = await fetch(`http://${ip}:8080/healthz`, { signal: AbortSignal.timeout(3000) }).catch(
      () => null,
    );
    if (!res?.ok) return false;
    body = (await res.json()) as Record<string, unknown>;
    return true;
  });
  return body;
}

/** Uid and effective capabilities of the container's main process, read on the host. */
export async function mainProcess(engine: Engine, id: string): Promise<{ uid: number; capEff: bigint }> {
  const pid = await inspect(engine, id, '{{.State.Pid}}');
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]);
  const capEff = BigInt(`0x${/^CapEff:\s+([0-9a-f]+)/m.exec(status)?.[1] ?? '0'}`);
  return { uid, capEff };
}

export const CAP_NET_BIND_SERVICE = 10n;

/** A TFTP download with a real client (curl's TFTP), from the host. */
export async function tftpGet(ip: string, file: string, out: string): Promise<void> {
  await run('curl', ['-sS', '--max-time', '30', '-o', out, `tftp://${ip}/${file}`]);
}

export async function waitExit(engine: Engine, id: string, seconds: number): Promise<number> {
  await waitFor(`container ${id.slice(0, 12)} to exit`, seconds, async () => {
    return (await inspect(engine, id, '{{.State.Running}}')) === 'false';
  });
  return Number(await inspect(engine, id, '{{.State.ExitCode}}'));
}
