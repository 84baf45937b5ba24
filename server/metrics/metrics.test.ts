// /metrics after real traffic through the test app: requests by matched route, bytes by
// kind, machines by state, provisioning histograms; the TFTP and mirror hooks; process metrics.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { canonicalMac } from '../machines/identity.ts';
import { testApp } from '../testing/fixtures.ts';
import { provisioningDuration } from './machine-metrics.ts';
import { bytesKind, recordMirrorRefresh } from './metrics.ts';

const MAC = canonicalMac('52:54:00:12:34:56');
const HYP = '52-54-00-12-34-56';
const RELEASE = '/mirror/stable/amd64-usr/9999.0.0';

async function scrape(t: Awaited<ReturnType<typeof testApp>>): Promise<string> {
  const res = await t.app.request('/metrics');
  assert.is(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', 'text/plain');
  return res.text();
}

function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

test('requests by route pattern and status, bytes by kind, machines by state', async () => {
  const t = await testApp();
  const report = async (type: string) =>
    t.app.request(`/api/v1/machines/${MAC}/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await t.installToken(MAC)}`, 'content-type': 'application/json' },
      body: JSON.stringify({ type }),
    });
  const script = await (await t.app.request(`/ipxe?mac=${HYP}`)).text();
  await (await t.app.request(`${RELEASE}/flatcar_production_pxe.vmlinuz?mac=${HYP}`)).arrayBuffer();
  await (await t.app.request(`${RELEASE}/flatcar_production_pxe_image.cpio.gz?mac=${HYP}`)).arrayBuffer();
  const installer = await (await t.app.request(`/installer/${HYP}.cpio.gz`)).arrayBuffer();
  await t.app.request(`${RELEASE}/nope.bin`);
  await t.app.request('/no/such/route');
  assert.is((await report('install-started')).status, 201);
  assert.is((await report('installed')).status, 201);
  await new Promise((r) => setTimeout(r, 20));

  const text = await scrape(t);
  const requests = (route: string, status: number) =>
    value(text, `railyard_http_requests_total{method="GET",route="${route}",status="${status}"}`);
  assert.is(requests('/ipxe', 200), 1);
  assert.is(requests('/mirror/*', 200), 2);
  assert.is(requests('/mirror/*', 404), 1);
  assert.is(requests('unmatched', 404), 1);
  assert.is(requests('/installer/:file{[^/]+\\\\.cpio\\\\.gz}', 200), 1);
  assert.is(
    value(
      text,
      'railyard_http_requests_total{method="POST",route="/api/v1/machines/:mac/events",status="201"}',
    ),
    2,
  );
  assert.not.match(text, HYP, 'raw paths never become labels');
  const bytes = (kind: string) => value(text, `railyard_http_bytes_served_total{kind="${kind}"}`);
  assert.is(bytes('kernel'), 4096);
  assert.is(bytes('initrd'), 8192);
  assert.is(bytes('installer'), installer.byteLength);
  assert.is(bytes('script'), Buffer.byteLength(script));
  assert.is(value(text, 'railyard_machines{state="installed"}'), 1);
  assert.is(value(text, 'railyard_machines{state="provisioned"}'), 0);
  assert.is(value(text, 'railyard_provisioning_duration_seconds_count{until="installed"}'), 1);
  t.cleanup();
});

test('provisioning durations come from the recorded events', async () => {
  const t = await testApp();
  const at = (s: number) => new Date(Date.UTC(2026, 0, 1) + s * 1000).toISOString();
  await t.store.recordEvent(MAC, { type: 'install-script-served', source: 'http', at: at(0) });
  await t.store.recordEvent(MAC, { type: 'installed', source: 'installer', at: at(200) });
  await t.store.recordEvent(MAC, { type: 'first-boot', source: 'node', at: at(400) });
  const text = await scrape(t);
  assert.is(value(text, 'railyard_provisioning_duration_seconds_sum{until="installed"}'), 200);
  assert.is(value(text, 'railyard_provisioning_duration_seconds_bucket{le="300",until="installed"}'), 1);
  assert.is(value(text, 'railyard_provisioning_duration_seconds_sum{until="first-boot"}'), 400);
  assert.is(value(text, 'railyard_provisioning_duration_seconds_bucket{le="300",until="first-boot"}'), 0);
  assert.is(value(text, 'railyard_machines{state="provisioned"}'), 1);
  t.cleanup();
});

test('hand-offs by method and reason code', async () => {
  const t = await testApp();
  const other = canonicalMac('52:54:00:12:34:57');
  await t.store.recordEvent(MAC, { type: 'handoff', source: 'installer', data: { method: 'kexec' } });
  await t.store.recordEvent(other, {
    type: 'handoff',
    source: 'installer',
    data: { method: 'reboot', reason: 'kexec-load-disabled: /proc/sys/kernel/kexec_load_disabled is 1' },
  });
  const text = await scrape(t);
  assert.is(value(text, 'railyard_handoffs_total{method="kexec",reason="none"}'), 1);
  assert.is(value(text, 'railyard_handoffs_total{method="reboot",reason="kexec-load-disabled"}'), 1);
  assert.not.match(text, '/proc/sys', 'the detail never becomes a label');
  t.cleanup();
});

test('TFTP and mirror hooks; process metrics when enabled', async () => {
  const t = await testApp({ processMetrics: true });
  t.metrics.tftpTransfers.inc({ result: 'complete' });
  t.metrics.tftpTransfers.inc({ result: 'timeout' });
  t.metrics.tftpErrors.inc({ code: '1' });
  t.metrics.tftpBytes.inc(1024);
  recordMirrorRefresh(t.metrics, { ok: false });
  const finishedAt = '2026-01-01T00:00:10Z';
  const lastRefresh = { startedAt: '2026-01-01T00:00:00Z', finishedAt, ok: true, bytes: 5000, seconds: 10 };
  writeFileSync(join(t.dataDir, 'mirror/.status.json'), JSON.stringify({ lastRefresh }));
  const text = await scrape(t);
  assert.is(value(text, 'railyard_tftp_transfers_total{result="complete"}'), 1);
  assert.is(value(text, 'railyard_tftp_transfers_total{result="timeout"}'), 1);
  assert.is(value(text, 'railyard_tftp_errors_total{code="1"}'), 1);
  assert.is(value(text, 'railyard_tftp_bytes_served_total'), 1024);
  assert.is(value(text, 'railyard_mirror_refreshes_total{result="failed"}'), 1);
  assert.is(value(text, 'railyard_mirror_last_refresh_success'), 1);
  assert.is(value(text, 'railyard_mirror_last_refresh_duration_seconds'), 10);
  assert.is(
    value(text, 'railyard_mirror_last_refresh_timestamp_seconds'),
    Date.UTC(2026, 0, 1, 0, 0, 10) / 1000,
  );
  assert.is(value(text, 'railyard_mirror_last_refresh_bytes'), 5000);
  assert.match(text, /^process_cpu_user_seconds_total \d/m);
  assert.match(text, /^nodejs_heap_size_used_bytes \d/m);
  t.cleanup();
});

test('mirror gauges are 0 before any refresh', async () => {
  const t = await testApp();
  const text = await scrape(t);
  assert.is(value(text, 'railyard_mirror_last_refresh_timestamp_seconds'), 0);
  assert.is(value(text, 'railyard_mirror_last_refresh_success'), 0);
  t.cleanup();
});

test('two servers do not share series (no global registry)', async () => {
  const a = await testApp();
  const b = await testApp();
  a.metrics.tftpTransfers.inc({ result: 'complete' });
  assert.is(value(await scrape(b), 'railyard_tftp_transfers_total{result="complete"}'), undefined);
  a.cleanup();
  b.cleanup();
});

test('bytes kinds and provisioningDuration edge cases', () => {
  assert.is(bytesKind('/stable/amd64-usr/1.2.3/flatcar_production_image.bin.bz2'), 'image');
  assert.is(bytesKind('/boot.ipxe'), 'script');
  assert.is(bytesKind('/stable/amd64-usr/1.2.3/version.txt'), 'other');
  const ev = (type: 'installed' | 'install-script-served', at: string) => ({
    type,
    source: 'http' as const,
    at,
    data: {},
  });
  assert.is(provisioningDuration([], ev('installed', '2026-01-01T00:00:00Z')), undefined);
  assert.is(
    provisioningDuration(
      [ev('install-script-served', '2026-01-01T00:00:00Z')],
      ev('install-script-served', '2026-01-01T00:01:00Z'),
    ),
    undefined,
  );
});

test.run();
