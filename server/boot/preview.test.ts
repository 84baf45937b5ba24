// BootService.preview: the answer /ipxe would give a known machine now, with no event
// recorded and no state change (the dashboard calls it on every machine page view).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { canonicalMac } from '../machines/identity.ts';
import { testApp } from '../testing/fixtures.ts';

const MAC = canonicalMac('52:54:00:12:34:56');
const HYP = '52-54-00-12-34-56';
const IPXE = { 'user-agent': 'iPXE/1.0.0' };

test('preview matches what /ipxe then serves, and records nothing', async () => {
  const t = await testApp();
  assert.is(await t.boot.preview(MAC), undefined, 'never seen: no preview');
  await t.app.request(`/ipxe?mac=${HYP}&platform=efi`, { headers: IPXE });
  const before = await t.store.events(MAC);
  const preview = await t.boot.preview(MAC);
  assert.is(preview?.kind, 'install');
  assert.equal(await t.store.events(MAC), before);
  assert.is((await t.store.getMachine(MAC))?.state, 'installing');
  const served = await (await t.app.request(`/ipxe?mac=${HYP}&platform=efi`, { headers: IPXE })).text();
  assert.match(served, '.cpio.gz?attempt=2 ');
  assert.is(
    preview?.script,
    served.replace('?attempt=2', '?attempt=NEW'),
    'the same script, but no attempt opened',
  );
  t.cleanup();
});

test('an installed machine previews boot-from-disk without becoming provisioned', async () => {
  const t = await testApp();
  await t.store.recordEvent(MAC, { type: 'installed', source: 'installer' }, { facts: { platform: 'efi' } });
  const preview = await t.boot.preview(MAC);
  assert.is(preview?.kind, 'local-boot');
  assert.match(preview?.script ?? '', 'exit');
  assert.is((await t.store.getMachine(MAC))?.state, 'installed');
  assert.is((await t.store.events(MAC)).length, 1);
  t.cleanup();
});

test.run();
