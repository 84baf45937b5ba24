// The warm pool across instances (a region's database, two racks): a machine enters the pool
// through A and long-polls B; a claim made on A wakes B's long-poll within a second (through
// PostgreSQL's LISTEN/NOTIFY, not B's periodic re-check), with the claim's rendered config;
// B's dashboard pool page shows the claim A recorded.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeInstallerCpio } from '../installer/fixtures/decode.ts';
import { tempDir } from '../testing/fixtures.ts';
import { installerUrl, ipxe, LAB_ADMIN_TOKEN, report, startInstances } from '../testing/instances.ts';
import { type PgCluster, startPostgres } from '../testing/postgres.ts';
import type { Railyard } from '../testing/spawn-railyard.ts';
import { writePoolMachines } from './fixtures/machines.ts';

const VERSION = '9999.0.0';
const work = tempDir('railyard-pool-instances-');
let cluster: PgCluster;
let a: Railyard;
let b: Railyard;

test.before(async () => {
  cluster = await startPostgres();
  [a, b] = (await startInstances(work.dir, cluster.url(), 2, writePoolMachines(work.dir))) as [
    Railyard,
    Railyard,
  ];
});
test.after(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await cluster?.stop();
  work.cleanup();
});

const admin = { Authorization: `Bearer ${LAB_ADMIN_TOKEN}` };

/** PXE-boot `m` through `via` into the pool: its pool.sh's token and report path. */
async function enterPool(via: Railyard, m: string): Promise<{ token: string; reportPath: string }> {
  const served = await ipxe(via.url, m);
  assert.is(served.decision, 'install', served.text);
  const res = await fetch(installerUrl(served.text));
  assert.is(res.status, 200);
  const sh = decodeInstallerCpio(Buffer.from(await res.arrayBuffer())).files.get(
    '/opt/railyard/pool.sh',
  )?.text;
  const token = /^TOKEN='([^']+)'/m.exec(sh ?? '')?.[1];
  const reportPath = /^REPORT_URL='[^']*(\/api\/v1\/[^']+)'/m.exec(sh ?? '')?.[1];
  if (!token || !reportPath) throw new Error(`${m}: no pool.sh with TOKEN and REPORT_URL`);
  return { token, reportPath };
}

test('a claim on A wakes the machine long-polling B within a second; B shows the claim', async () => {
  const m = '52-54-00-aa-15-01';
  const node = await enterPool(a, m);
  const pooled = { type: 'pooled', version: VERSION, disk: '/dev/vda', imageSha256: 'c'.repeat(64) };
  assert.is(await report(a.url, node.reportPath, node.token, pooled), 201);
  // the node's long-poll, held by B (the rack it reaches now)
  const waiting = fetch(`${b.url}/api/v1/machines/${m}/claim?have=${VERSION}&wait=30`, {
    headers: { Authorization: `Bearer ${node.token}` },
  });
  // 0.5 s in: B's own re-check of the store (every 2 s from the poll's start) would answer
  // 1.5 s after the claim, so a wake within 1 s is the change feed's
  await new Promise((r) => setTimeout(r, 500));
  const t0 = Date.now();
  const res = await fetch(`${a.url}/api/v1/pool/claim`, {
    method: 'POST',
    headers: { ...admin, 'Content-Type': 'application/json' },
    body: JSON.stringify({ profile: 'web', mac: m, metadata: { role: 'edge' } }),
  });
  assert.is(res.status, 201, await res.clone().text());
  const answer = await waiting;
  const ms = Date.now() - t0;
  console.log(`    claim on A → B's long-poll answered: ${ms} ms`);
  assert.ok(ms < 1000, `B's long-poll woke after ${ms} ms`);
  assert.is(answer.status, 200);
  const body = (await answer.json()) as { action: string; config: string; kernelArgs: string[] };
  assert.equal([body.action, body.kernelArgs], ['claim', ['flatcar.autologin']]);
  assert.match(body.config, 'data:,edge-flatcar-525400aa1501', "B renders A's claim metadata");
  const page = await (await fetch(`${b.url}/ui/pool`, { headers: admin })).text();
  assert.match(page, '52:54:00:aa:15:01');
  assert.match(page, 'web', "B's pool page names the claim profile");
});

test.run();
