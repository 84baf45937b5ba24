import { execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { gunzipSync } from 'node:zlib';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { InvalidRequestError } from '../errors.ts';
import { buildInstallerCpio, CONFIG_PATH, InstallerCache, type InstallerRequest } from './cache.ts';
import {
  ATTEMPT_ID,
  FIRST_BOOT_TOKEN,
  fixedView,
  KEXEC_PLAN,
  MAC,
  PUBLIC_URL,
  TOKEN,
} from './fixtures/views.ts';
import { buildInstallerIgnition } from './ignition.ts';
import { reportUrl } from './script.ts';

const request = (extra: Partial<InstallerRequest> = {}): InstallerRequest => ({
  profile: {
    revision: 'r1',
    installDisk: 'smallest',
    phoneHome: true,
    ignitionTemplate: {
      ignition: { version: '3.3.0' },
      storage: { files: [{ path: '/etc/hostname', contents: { source: 'data:,{{hostname}}' } }] },
    },
  },
  view: fixedView(),
  version: '4230.2.3',
  attemptId: ATTEMPT_ID,
  token: TOKEN,
  firstBootToken: FIRST_BOOT_TOKEN,
  reportUrl: reportUrl(PUBLIC_URL, MAC, ATTEMPT_ID),
  handoff: KEXEC_PLAN,
  ...extra,
});

test('the cpio holds exactly usr/share/oem/config.ign = the installer Ignition', async () => {
  const body = await buildInstallerCpio(request());
  const cpio = gunzipSync(body);
  assert.equal(execFileSync('cpio', ['-t', '--quiet'], { input: cpio }).toString().trim().split('\n'), [
    'usr',
    'usr/share',
    'usr/share/oem',
    CONFIG_PATH,
  ]);
  const text = execFileSync('cpio', ['-i', '--quiet', '--to-stdout', CONFIG_PATH], {
    input: cpio,
  }).toString();
  assert.equal(JSON.parse(text), buildInstallerIgnition(request()));
});

test('concurrent requests for one key share one build; a hit returns the same artifact', async () => {
  const cache = new InstallerCache({ maxEntries: 10 });
  const [a, b] = await Promise.all([cache.get(request()), cache.get(request())]);
  assert.ok(a === b);
  assert.ok((await cache.get(request())) === a);
  assert.match(a.etag, /^"[A-Za-z0-9_-]{32}"$/);
  assert.is(cache.size, 1);
});

test('any input change is a new entry with a new ETag; equal inputs give equal bytes', async () => {
  const cache = new InstallerCache({ maxEntries: 10 });
  const base = await cache.get(request());
  const variants = [
    request({ version: '4230.2.4' }),
    request({ keyring: 'KEY' }),
    request({ view: fixedView({ hostname: 'other' }) }),
    request({ profile: { ...request().profile, revision: 'r2', installDisk: '/dev/sda' } }),
  ];
  for (const v of variants) assert.is.not((await cache.get(v)).etag, base.etag);
  assert.is(cache.size, 5);
  const fresh = await new InstallerCache({ maxEntries: 1 }).get(request());
  assert.ok(fresh.body.equals(base.body));
  assert.is(fresh.etag, base.etag);
});

test('LRU: at most maxEntries are kept', async () => {
  const cache = new InstallerCache({ maxEntries: 2 });
  for (const version of ['1.0.0', '1.0.1', '1.0.2']) await cache.get(request({ version }));
  assert.is(cache.size, 2);
});

test('a failed build rejects and is not cached', async () => {
  const cache = new InstallerCache({ maxEntries: 2 });
  try {
    await cache.get(request({ version: 'current' }));
    assert.unreachable();
  } catch (err) {
    assert.instance(err, InvalidRequestError);
  }
  assert.is(cache.size, 0);
});

test('build time (logged, not asserted)', async () => {
  await buildInstallerCpio(request());
  const runs = 100;
  const t0 = performance.now();
  for (let i = 0; i < runs; i++) await buildInstallerCpio(request({ version: `1.0.${i}` }));
  const ms = (performance.now() - t0) / runs;
  console.log(
    `    installer cpio (Ignition + script + cpio + gzip): ${ms.toFixed(3)} ms per build (mean of ${runs})`,
  );
});

test.run();
