// Golden request/response pairs for the Omaha endpoint's parser and response builder.
// Requests: fixtures/omaha/*.request.xml, shaped as update_engine builds them (see the README
// there: omaha_request_action.cc). Responses are checked the way update_engine parses them
// (omaha_request_action.cc ParseResponse) and against the shape of flatcar/init's
// bin/flatcar-update static response.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PACKAGE_ROOT } from '../config.ts';
import { InvalidRequestError } from '../errors.ts';
import { assertGolden } from '../testing/golden.ts';
import { FLATCAR_APP_ID, parseOmahaRequest } from './omaha-request.ts';
import { type Offer, omahaResponse } from './omaha-response.ts';
import { parseXml, type XmlElement } from './omaha-xml.ts';

const fixture = (name: string) => readFileSync(join(PACKAGE_ROOT, 'fixtures/omaha', `${name}.request.xml`));

export const SAMPLE_OFFER: Offer = {
  version: '4230.2.3',
  codebase: 'http://10.0.0.5:8080/mirror/update/amd64-usr/4230.2.3/',
  payload: {
    name: 'flatcar_production_update.gz',
    size: 382137917,
    sha1: 'I6DGNAOrJRUxPbCuLw+AITfiVMo=',
    sha256: 'stLG3U/o4Ar8TMHFwT/RWB0iNkaWOO6QtLrq6+AHBbA=',
    sha256Hex: 'b2d2c6dd4fe8e00afc4cc1c5c13fd1581d22364696383ae90b4baeabe0070170',
  },
  extensions: [
    {
      name: 'oem-qemu.gz',
      size: 2282,
      sha1: '+06iWWI6gaSlcIHV7pjIEJrE9CA=',
      sha256: 'irYw7kB57NX49RLAW0T+xeT42rhE25FsfI1UpXXP5QY=',
      sha256Hex: '8ab630ee4079ecd5f8f512c05b44fec5e4f8db844db916c67c8d54a575cfe506',
    },
  ],
};

test('update check as update_engine sends it', () => {
  const req = parseOmahaRequest(fixture('updatecheck'));
  assert.is(req.updater, 'update_engine-0.4.10');
  assert.is(req.installSource, 'scheduler');
  assert.equal(req.os, { platform: 'CoreOS', version: 'Chateau', sp: '4230.2.2_x86_64', arch: '' });
  const [app] = req.apps;
  assert.ok(app);
  assert.is(app.appId, FLATCAR_APP_ID);
  assert.is(app.version, '4230.2.2');
  assert.is(app.track, 'stable');
  assert.is(app.board, 'amd64-usr');
  assert.is(app.machineId, '5e1fd4b2c8a14f0d9a3b7c6d2e1f0a9b');
  assert.ok(app.ping && app.updateCheck);
  assert.equal(app.events, [{ type: 3, result: 2, errorCode: undefined, previousVersion: '0.0.0.0' }]);
});

test('events: download, install, reboot, errors with flags, rollback', () => {
  const ev = (name: string) => parseOmahaRequest(fixture(name)).apps[0]?.events;
  assert.equal(ev('download-started'), [
    { type: 13, result: 1, errorCode: undefined, previousVersion: undefined },
  ]);
  assert.equal(ev('download-finished')?.[0]?.type, 14);
  assert.equal(ev('installed')?.[0], {
    type: 3,
    result: 1,
    errorCode: undefined,
    previousVersion: undefined,
  });
  assert.equal(ev('rebooted')?.[0]?.previousVersion, '4230.2.2');
  assert.equal(ev('error')?.[0], { type: 3, result: 0, errorCode: 1073741833, previousVersion: undefined });
  const rollback = parseOmahaRequest(fixture('rollback'));
  assert.is(rollback.installSource, 'ondemandupdate');
  assert.equal(rollback.apps[0]?.events[0]?.errorCode, 44);
});

test('machine ids: /etc/machine-id form and a braced GUID both map to 32 hex; junk to none', () => {
  const withId = (id: string) =>
    parseOmahaRequest(
      Buffer.from(`<request protocol="3.0"><app appid="${FLATCAR_APP_ID}" machineid="${id}"/></request>`),
    ).apps[0]?.machineId;
  assert.is(withId('{8BDE4C4D-9083-4D61-B41C-3253212C0C37}'), '8bde4c4d90834d61b41c3253212c0c37');
  assert.is(withId(''), undefined);
  assert.is(withId('1234'), undefined);
});

/** What update_engine's ParseResponse needs, checked on our own tree of the response. */
function checkAsUpdateEngine(xml: string): { status: string; url?: string; size?: number; sha256?: string } {
  const root = parseXml(Buffer.from(xml));
  assert.is(root.name, 'response');
  assert.is(root.attrs['protocol'], '3.0');
  const app = child(root, 'app');
  const check = child(app, 'updatecheck');
  const status = check.attrs['status'] ?? '';
  if (status !== 'ok') return { status };
  const codebase = child(child(check, 'urls'), 'url').attrs['codebase'] ?? '';
  assert.ok(codebase !== '', 'codebase non-empty');
  const manifest = child(check, 'manifest');
  const first = child(child(manifest, 'packages'), 'package');
  assert.is(first.attrs['name'], 'flatcar_production_update.gz', 'the first package is the payload');
  const size = Number(first.attrs['size']);
  assert.ok(size > 0, 'size > 0');
  const post = child(manifest, 'actions').children.find((a) => a.attrs['event'] === 'postinstall');
  assert.ok(post, 'a postinstall action');
  const sha256 = post.attrs['sha256'] ?? '';
  assert.ok(sha256 !== '', 'sha256 non-empty');
  const url = codebase.endsWith('/') ? codebase : `${codebase}/`;
  return { status, url: url + first.attrs['name'], size, sha256 };
}

function child(e: XmlElement, name: string): XmlElement {
  const c = e.children.find((x) => x.name === name);
  if (!c) throw new Error(`<${e.name}> has no <${name}>`);
  return c;
}

/** path@attribute pairs of an element tree, e.g. response/app/updatecheck@status. */
function shape(e: XmlElement, path = e.name, out = new Set<string>()): Set<string> {
  for (const a of Object.keys(e.attrs)) out.add(`${path}@${a}`);
  for (const c of e.children) shape(c, `${path}/${c.name}`, out);
  return out;
}

test('offer: golden, parsed as update_engine does, same shape as flatcar-update serves', () => {
  const xml = omahaResponse([
    { appId: FLATCAR_APP_ID, status: 'ok', ping: true, check: SAMPLE_OFFER, events: 1 },
  ]);
  assertGolden('omaha/offer.response.xml', xml);
  assert.equal(checkAsUpdateEngine(xml), {
    status: 'ok',
    url: 'http://10.0.0.5:8080/mirror/update/amd64-usr/4230.2.3/flatcar_production_update.gz',
    size: 382137917,
    sha256: 'stLG3U/o4Ar8TMHFwT/RWB0iNkaWOO6QtLrq6+AHBbA=',
  });
  // flatcar/init bin/flatcar-update's response, element by element and attribute by attribute.
  const p = 'response/app/updatecheck';
  const flatcarUpdate = [
    'response@protocol',
    'response@server',
    'response/daystart@elapsed_seconds',
    'response/app@appid',
    'response/app@status',
    'response/app/ping@status',
    `${p}@status`,
    `${p}/urls/url@codebase`,
    `${p}/manifest@version`,
    ...['name', 'hash', 'hash_sha256', 'size', 'required'].map((a) => `${p}/manifest/packages/package@${a}`),
    ...['event', 'sha256', 'DisablePayloadBackoff'].map((a) => `${p}/manifest/actions/action@${a}`),
    'response/app/event@status',
  ];
  assert.equal([...shape(parseXml(Buffer.from(xml)))].sort(), flatcarUpdate.sort());
});

test('noupdate and event acknowledgements: golden', () => {
  const noupdate = omahaResponse([
    { appId: FLATCAR_APP_ID, status: 'ok', ping: true, check: 'noupdate', events: 1 },
  ]);
  assertGolden('omaha/noupdate.response.xml', noupdate);
  assert.equal(checkAsUpdateEngine(noupdate), { status: 'noupdate' });
  const ack = omahaResponse([{ appId: FLATCAR_APP_ID, status: 'ok', ping: false, check: 'none', events: 1 }]);
  assertGolden('omaha/event.response.xml', ack);
  const unknown = omahaResponse([
    { appId: '{00000000-0000-0000-0000-000000000000}', status: 'error-unknownApplication' },
  ]);
  assert.match(
    unknown,
    /<app appid="\{00000000-0000-0000-0000-000000000000\}" status="error-unknownApplication"\/>/,
  );
});

const HOSTILE: Record<string, string> = {
  'billion laughs': `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><request protocol="3.0"><app appid="&lol2;"/></request>`,
  'external entity': `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><request protocol="3.0"><app appid="&xxe;"/></request>`,
  'undeclared entity': `<request protocol="3.0"><app appid="&xxe;"/></request>`,
  'processing instruction': `<?xml version="1.0"?><?xml-stylesheet href="x"?><request protocol="3.0"><app appid="{x}"/></request>`,
  'wrong protocol': `<request protocol="2.0"><app appid="${FLATCAR_APP_ID}"/></request>`,
  'no protocol': `<request><app appid="${FLATCAR_APP_ID}"/></request>`,
  'wrong root': `<response protocol="3.0"><app appid="${FLATCAR_APP_ID}"/></response>`,
  'no app': '<request protocol="3.0"><os platform="CoreOS"/></request>',
  'not well-formed': `<request protocol="3.0"><app appid="${FLATCAR_APP_ID}"></request>`,
  'two roots': '<request protocol="3.0"/><request protocol="3.0"/>',
  'not XML': '{"protocol":"3.0"}',
  empty: '',
  'UTF-16 declared': `<?xml version="1.0" encoding="UTF-16"?><request protocol="3.0"><app appid="x"/></request>`,
  'deep nesting': `<request protocol="3.0">${'<a>'.repeat(50)}${'</a>'.repeat(50)}</request>`,
  'many elements': `<request protocol="3.0">${'<app appid="x"/>'.repeat(300)}</request>`,
  'huge attribute': `<request protocol="3.0"><app appid="${'x'.repeat(600)}"/></request>`,
  'markup in a value': `<request protocol="3.0"><app appid="${FLATCAR_APP_ID}" version="1.2.3&lt;script&gt;"/></request>`,
  'bad event type': `<request protocol="3.0"><app appid="${FLATCAR_APP_ID}"><event eventtype="x" eventresult="1"/></app></request>`,
  CDATA: `<request protocol="3.0"><app appid="${FLATCAR_APP_ID}"><![CDATA[x]]></app></request>`,
};

for (const [name, xml] of Object.entries(HOSTILE)) {
  test(`hostile XML refused: ${name}`, () => {
    assert.throws(
      () => parseOmahaRequest(Buffer.from(xml)),
      (err: unknown) => err instanceof InvalidRequestError && /invalid Omaha request/.test(err.message),
    );
  });
}

test('hostile XML refused: body over 64 KiB, invalid UTF-8', () => {
  const big = Buffer.from(`<request protocol="3.0"><app appid="x"/>${' '.repeat(70_000)}</request>`);
  assert.throws(() => parseOmahaRequest(big), /larger than 65536 bytes/);
  const latin1 = Buffer.concat([
    Buffer.from('<request protocol="3.0"><app appid="'),
    Buffer.from([0xe9]),
    Buffer.from('"/></request>'),
  ]);
  assert.throws(() => parseOmahaRequest(latin1), /not UTF-8/);
});

test.run();
