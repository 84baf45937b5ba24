// Test-only: an update service wired with real modules (machines loaded from files, the
// mirror catalog and payload manifests on disk, the SQLite update store, the in-memory
// machine store with the first-boot listener) and update_engine-shaped requests.
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { loadMachines } from '../catalog/load.ts';
import { silentLogger } from '../log.ts';
import type { Mac } from '../machines/identity.ts';
import type { MachineSet } from '../machines/model.ts';
import { PAYLOAD, PAYLOAD_MANIFEST, type PayloadManifest } from '../mirror/update-payloads.ts';
import { memoryStore } from '../store/fakes.ts';
import { observeStore } from '../store/observed.ts';
import type { StateStore } from '../store/state-store.ts';
import { publishRelease, tempDir } from '../testing/fixtures.ts';
import { bindMachineIds } from './bind.ts';
import type { UpdateStore } from './client.ts';
import type { FleetDeps } from './fleet.ts';
import { FLATCAR_APP_ID } from './omaha-request.ts';
import { mirrorPayloads } from './payload-source.ts';
import { UpdateService, type UpdateServiceDeps } from './service.ts';
import { openSqliteUpdateStore } from './sqlite-store.ts';

export const PUBLIC_URL = 'http://192.0.2.10:8080';
export const HOUR = 3_600_000;

export interface UpdateLab {
  dir: string;
  service: UpdateService;
  store: StateStore;
  updates: UpdateStore;
  fleet: FleetDeps;
  clock: { now: Date };
  machines: () => MachineSet;
  /** A machine railyard installed: its first-boot report binds `machineId`. */
  installed(mac: Mac, machineId: string, facts?: Record<string, string>): Promise<void>;
  /** POST one request; returns the response XML. */
  ask(xml: string, ip?: string): Promise<string>;
  close(): Promise<void>;
}

export interface LabOptions {
  profiles: Record<string, object>;
  groups: Record<string, object>;
  /** Mirrored releases (stable/amd64-usr), each with an update payload unless listed in noPayload. */
  versions?: string[];
  current?: string;
  noPayload?: string[];
  maxUnknown?: number;
  dbFile?: string;
  extra?: Partial<UpdateServiceDeps>;
}

export function updateLab(o: LabOptions): UpdateLab {
  const { dir, cleanup } = tempDir('railyard-updates-');
  const mdir = join(dir, 'machines');
  for (const kind of ['profiles', 'groups'] as const) {
    mkdirSync(join(mdir, kind), { recursive: true });
    for (const [id, body] of Object.entries(o[kind]))
      writeFileSync(join(mdir, kind, `${id}.yaml`), YAML.stringify({ id, ...body }));
  }
  const mirrorDir = join(dir, 'mirror');
  const versions = o.versions ?? ['4230.2.2', '4230.2.3'];
  for (const v of versions) {
    publishRelease(mirrorDir, 'stable', 'amd64-usr', v);
    if (!o.noPayload?.includes(v)) publishPayload(mirrorDir, 'amd64-usr', v);
  }
  publishRelease(mirrorDir, 'stable', 'amd64-usr', o.current ?? (versions.at(-1) as string));
  const set = loadMachines(mdir);
  const machines = () => set;
  const updates = openSqliteUpdateStore(o.dbFile ?? ':memory:');
  const clock = { now: new Date('2026-03-04T03:00:00Z') };
  const store = observeStore(
    memoryStore(() => clock.now),
    silentLogger(),
    [bindMachineIds(updates, silentLogger())],
  );
  const payloads = mirrorPayloads(mirrorDir);
  const service = new UpdateService({
    machines,
    store,
    updates,
    payloads,
    publicUrl: PUBLIC_URL,
    slotTimeoutMs: HOUR,
    maxUnknown: o.maxUnknown ?? 100,
    log: silentLogger(),
    now: () => clock.now,
    ...o.extra,
  });
  return {
    dir,
    service,
    store,
    updates,
    clock,
    machines,
    fleet: { updates, machines, payloads, slotTimeoutMs: HOUR, now: () => clock.now },
    async installed(mac, machineId, facts = {}) {
      await store.recordEvent(
        mac,
        { type: 'install-script-served', source: 'http' },
        { facts: { mac, ...facts } },
      );
      await store.recordEvent(mac, {
        type: 'first-boot',
        source: 'node',
        data: { ignitionSha256: '', machineId },
      });
    },
    ask: (xml, ip = '192.0.2.50') => service.handle(Buffer.from(xml), ip),
    async close() {
      await updates.close();
      cleanup();
    },
  };
}

/** A payload directory with its manifest, as a refresh publishes it. */
export function publishPayload(mirrorDir: string, board: string, version: string): PayloadManifest {
  const dir = join(mirrorDir, 'update', board, version);
  mkdirSync(dir, { recursive: true });
  const data = Buffer.from(`CrAU stand-in payload ${version}`);
  writeFileSync(join(dir, PAYLOAD), data);
  const h = (alg: string, enc: 'base64' | 'hex') => createHash(alg).update(data).digest(enc);
  const manifest: PayloadManifest = {
    version,
    board,
    source: 'test',
    verifiedAt: '2026-03-01T00:00:00.000Z',
    files: [
      {
        name: PAYLOAD,
        size: data.length,
        sha1: h('sha1', 'base64'),
        sha256: h('sha256', 'base64'),
        sha256Hex: h('sha256', 'hex'),
        checked: [],
      },
    ],
    missing: [],
  };
  writeFileSync(join(dir, PAYLOAD_MANIFEST), JSON.stringify(manifest));
  return manifest;
}

export interface AskOptions {
  version?: string;
  track?: string;
  check?: boolean;
  /** `<event>` elements as update_engine writes them, e.g. `eventtype="13" eventresult="1"`. */
  events?: string[];
  board?: string;
}

/** A request laid out as update_engine's GetRequestXml builds it (omaha_request_action.cc). */
export function omahaXml(machineId: string, o: AskOptions = {}): string {
  const version = o.version ?? '4230.2.2';
  const body = [
    ...(o.check === false
      ? []
      : ['        <ping active="1"></ping>\n', '        <updatecheck></updatecheck>\n']),
    ...(
      o.events ?? (o.check === false ? [] : ['eventtype="3" eventresult="2" previousversion="0.0.0.0"'])
    ).map((e) => `        <event ${e}></event>\n`),
  ].join('');
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    '<request protocol="3.0" version="update_engine-0.4.10" updaterversion="update_engine-0.4.10" installsource="scheduler" ismachine="1">\n' +
    `    <os version="Chateau" platform="CoreOS" sp="${version}_x86_64"></os>\n` +
    `    <app appid="${FLATCAR_APP_ID}" version="${version}" track="${o.track ?? 'stable'}" bootid="{00000000-0000-4000-8000-000000000001}" oem="" oemversion="" alephversion="${version}" machineid="${machineId}" machinealias="" lang="en-US" board="${o.board ?? 'amd64-usr'}" hardware_class="" delta_okay="false" >\n` +
    body +
    '    </app>\n</request>\n'
  );
}

/** `ok` or `noupdate` from a response (and the offered version). */
export function verdict(xml: string): { status: string; version?: string } {
  const status = /<updatecheck status="([^"]+)"/.exec(xml)?.[1] ?? 'none';
  const version = /<manifest version="([^"]+)"/.exec(xml)?.[1];
  return version ? { status, version } : { status };
}

export const machineIdFor = (n: number) => n.toString(16).padStart(32, '0');
