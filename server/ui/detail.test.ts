// The machine page groups its events by install attempt and lists the attempts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { testApp } from '../testing/fixtures.ts';

const MAC = '52:54:00:12:34:56';
const HYP = '52-54-00-12-34-56';
const IPXE = { 'user-agent': 'iPXE/1.21.1' };

test('machine page: attempts table and events grouped by attempt, newest first', async () => {
  const t = await testApp();
  try {
    await t.app.request(`/ipxe?mac=${HYP}`, { headers: IPXE });
    await t.app.request(`/ipxe?mac=${HYP}`, { headers: IPXE });
    await t.app.request(`/api/v1/machines/${MAC}/attempts/2/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await t.installToken(MAC)}`, 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'installed' }),
    });
    await t.app.request(`/ipxe?mac=${HYP}`, { headers: IPXE });
    await t.app.request(`/api/v1/machines/${MAC}/attempts/2/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await t.firstBootToken(MAC)}`, 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'first-boot' }),
    });
    await t.app.request(`/ipxe?mac=${HYP}`, { headers: IPXE });
    const html = await (
      await t.app.request(`/ui/machines/${HYP}`, { headers: await t.sessionHeaders() })
    ).text();
    assert.match(html, /<tr data-attempt="2"><th scope="row">2<\/th><td>provisioned<\/td>/);
    assert.match(html, /<tr data-attempt="1"><th scope="row">1<\/th><td>superseded<\/td>/);
    const headings = [...html.matchAll(/<h3>([^<]+)<\/h3>/g)].map((m) => m[1]);
    assert.equal(headings, [
      'Outside any install attempt',
      'Install attempt 2 (provisioned, profile flatcar-stable, 9999.0.0)',
      'Install attempt 1 (superseded, profile flatcar-stable, 9999.0.0)',
    ]);
    const groups = html.split('<h3>').slice(1);
    assert.match(groups[1] ?? '', '<td>first-boot</td>');
    assert.match(groups[1] ?? '', '<td>disk-boot-script-served</td>');
    assert.not.match(groups[2] ?? '', '<td>installed</td>');
  } finally {
    t.cleanup();
  }
});

test.run();
