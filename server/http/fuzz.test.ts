// A bounded randomized test of what the boot LAN can send: /ipxe queries, installer
// fetches and report bodies, mixed valid and hostile, from a fixed seed (failures
// reproduce). Properties, checked after every request:
// - no 5xx, ever;
// - a rejected request (4xx) changes nothing in the store;
// - at most one open attempt per machine;
// - a provisioned machine stays provisioned (nothing but an admin makes it reinstall).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { canonicalMac } from '../machines/identity.ts';
import { memoryStore } from '../store/fakes.ts';
import type { StateStore } from '../store/state-store.ts';
import { writeAttemptMachines } from '../testing/attempt-machines.ts';
import { tempDir, testApp } from '../testing/fixtures.ts';

const SEED = 0x5eed_0011;
const CASES = 3000;
const MACS = ['52:54:00:00:aa:01', '52:54:00:00:aa:02', '52:54:00:00:aa:03', '52:54:00:00:aa:04'].map(
  canonicalMac,
);
const IPS = ['10.0.0.1', '10.0.0.2', '10.0.0.3'];

/** mulberry32: small, fast, good enough to explore inputs reproducibly. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)] as T;
  return { next, int, pick, chance: (p: number) => next() < p };
}
type Rng = ReturnType<typeof rng>;

const NASTY = [
  '',
  ' ',
  'a b',
  'x\nchain http://evil/',
  '${net0/mac}',
  '`reboot`',
  "a'b",
  'a"b',
  '../../etc/passwd',
  '%00',
  '\u0000',
  '\u202e',
  'é',
  '-x',
  'x'.repeat(129),
  'x'.repeat(5000),
  'db',
  'kiosk',
  'node-1.example.com',
  '1',
];

function macForm(r: Rng): string {
  const mac = r.pick(MACS);
  return r.pick([
    mac,
    mac.replaceAll(':', '-'),
    mac.toUpperCase(),
    mac.replaceAll(':', ''),
    'zz:zz',
    '',
    `${mac}:00`,
  ]);
}

function ipxeQuery(r: Rng): string {
  if (r.chance(0.4)) return `mac=${r.pick(MACS)}${r.chance(0.3) ? `&role=${r.pick(['db', 'kiosk'])}` : ''}`;
  const params: Array<[string, string]> = [];
  if (r.chance(0.95)) params.push(['mac', macForm(r)]);
  const keys = [
    'uuid',
    'hostname',
    'serial',
    'arch',
    'platform',
    'role',
    'rack',
    'Role',
    'a'.repeat(33),
    '1x',
    'x y',
    '',
  ];
  for (let i = r.int(4); i > 0; i--) params.push([r.pick(keys), r.pick(NASTY)]);
  if (r.chance(0.5)) params.push(['role', r.pick(['db', 'kiosk', 'web'])]);
  if (r.chance(0.05)) for (let i = 0; i < 33; i++) params.push([`l${i}`, 'x']);
  if (r.chance(0.05)) params.push(['mac', macForm(r)]);
  if (r.chance(0.1)) params.push(['platform', r.pick(['efi', 'pcbios'])]);
  return params.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
}

function reportBody(r: Rng): string {
  const valid = [
    { type: 'install-started' },
    { type: 'progress', bytes: r.int(1e9), phase: r.pick(['download', 'write']), mbps: r.next() * 1000 },
    { type: 'installed' },
    { type: 'install-failed', exitCode: r.int(256), output: r.pick(NASTY) },
    { type: 'handoff', method: r.pick(['kexec', 'reboot']) },
    { type: 'first-boot', ignitionSha256: r.pick(['', 'a'.repeat(64)]) },
  ];
  const hostile: unknown[] = [
    { type: 'reprovision-requested' },
    { type: 'install-script-served' },
    { type: 'installed', state: 'provisioned' },
    { type: 'progress', nested: { a: 1 } },
    { type: 'progress', bytes: -1 },
    { type: 'install-failed', exitCode: 999 },
    { type: 'handoff', method: 'x' },
    { type: 'first-boot', ignitionSha256: 'zz' },
    [],
    null,
    42,
    'installed',
    { type: r.pick(NASTY) },
  ];
  if (r.chance(0.03)) return `{"type":"install-failed","exitCode":1,"output":"${'x'.repeat(70 * 1024)}"}`;
  if (r.chance(0.05)) return r.pick(['{nope', '', '{"type":', '\u0000']);
  return JSON.stringify(r.chance(0.6) ? r.pick(valid) : r.pick(hostile));
}

/** Machines and attempts whole; events (append-only, pruned only by appends) by count and newest id. */
async function snapshot(store: StateStore): Promise<string> {
  const parts: unknown[] = [];
  for (const m of await store.listMachines()) {
    const events = await store.events(m.mac);
    parts.push(m, await store.attempts(m.mac), events.length, events.at(-1)?.id);
  }
  return JSON.stringify(parts);
}

test(`${CASES} random /ipxe, installer and report requests: no 5xx, no change from a refusal, invariants hold`, async () => {
  const work = tempDir();
  // Small retention limits: pruning runs during the exploration too (and snapshots stay cheap).
  const store = memoryStore(undefined, { eventsPerMachine: 150, attemptsPerMachine: 8 });
  const t = await testApp({ machinesDir: writeAttemptMachines(work.dir), store });
  const r = rng(SEED);
  const tokens: string[] = ['A'.repeat(43), 'not-a-token'];
  const provisioned = new Set<string>();
  let targets: Array<{ mac: string; id: number; tokens: string[] }> = [];
  const known = new Map<number, string[]>();
  const statuses = new Map<number, number>();
  try {
    for (let i = 0; i < CASES; i++) {
      const before = await snapshot(store);
      const ip = r.pick(IPS);
      const env = { incoming: { socket: { remoteAddress: ip } } };
      const kind = r.pick(['ipxe', 'ipxe', 'report', 'report', 'report', 'installer'] as const);
      let res: Response;
      let what: string;
      if (kind === 'ipxe') {
        what = `/ipxe?${ipxeQuery(r)}`;
        res = await t.app.request(
          what,
          { headers: { 'user-agent': r.pick(['iPXE/1.21.1', 'curl/8']) } },
          env,
        );
      } else if (kind === 'installer') {
        const id = r.pick([
          '',
          `?attempt=${1 + r.int(40)}`,
          '?attempt=0',
          '?attempt=x',
          '?attempt=99999999999999999',
        ]);
        what = `/installer/${macForm(r)}.cpio.gz${id}`;
        res = await t.app.request(what, {}, env);
      } else if (r.chance(0.5) && targets.length > 0) {
        // Aimed: a real attempt, its machine, its id (or the legacy URL) and one of its tokens.
        const a = r.pick(targets);
        const mac = r.pick([a.mac, a.mac.replaceAll(':', '-')]);
        what = `/api/v1/machines/${mac}${r.chance(0.8) ? `/attempts/${a.id}` : ''}/events`;
        const headers = { 'content-type': 'application/json', authorization: `Bearer ${r.pick(a.tokens)}` };
        res = await t.app.request(what, { method: 'POST', headers, body: reportBody(r) }, env);
      } else {
        const id = r.chance(0.7) ? `/attempts/${r.pick([String(1 + r.int(40)), '0', '-1', 'x'])}` : '';
        what = `/api/v1/machines/${macForm(r)}${id}/events`;
        const token = r.chance(0.9) ? r.pick(tokens) : undefined;
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (token) headers['authorization'] = `${r.pick(['Bearer', 'Bearer', 'Basic'])} ${token}`;
        res = await t.app.request(what, { method: 'POST', headers, body: reportBody(r) }, env);
      }
      await res.arrayBuffer();
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      const context = `case ${i} (seed ${SEED}): ${kind} ${what.slice(0, 200)} → ${res.status}`;
      assert.ok(res.status < 500, context);
      if (res.status >= 400)
        assert.is(await snapshot(store), before, `${context}: a refused request changed state`);
      targets = [];
      for (const mac of MACS) {
        const attempts = await store.attempts(mac);
        assert.ok(attempts.filter((a) => a.closedAt === null).length <= 1, `${context}: two open attempts`);
        for (const a of attempts) {
          let pair = known.get(a.id);
          if (!pair) {
            const ts = t.credentials.tokens(a.secrets.nonce);
            pair = [ts.install, ts.firstBoot];
            known.set(a.id, pair);
            tokens.push(...pair);
          }
          targets.push({ mac, id: a.id, tokens: pair });
        }
        const state = (await store.getMachine(mac))?.state;
        if (provisioned.has(mac)) assert.is(state, 'provisioned', `${context}: a provisioned machine moved`);
        if (state === 'provisioned') provisioned.add(mac);
      }
    }
    console.log(
      `    statuses: ${JSON.stringify(Object.fromEntries(statuses))}; provisioned: ${provisioned.size}`,
    );
    // The exploration reached the interesting states, not only the refusals.
    for (const status of [200, 201, 400, 401, 403, 404, 409])
      assert.ok(statuses.has(status), `saw ${status}`);
    assert.ok(provisioned.size >= 1, 'some machine was provisioned along the way');
  } finally {
    t.cleanup();
    work.cleanup();
  }
});

test.run();
