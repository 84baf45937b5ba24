// Reports against install attempts: the credential decides who may report, the attempt's
// rule table (machines/report-rules.ts) what is accepted when; refusals change nothing.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ConflictError, InvalidRequestError, NotFoundError, UnauthorizedError } from '../errors.ts';
import { canonicalMac } from '../machines/identity.ts';
import { memoryStore } from '../store/fakes.ts';
import { newAttempt } from '../store/fixtures/attempt.ts';
import { openStateStore } from '../store/open.ts';
import { machineDetail, requestReprovision } from '../store/queries.ts';
import type { StateStore } from '../store/state-store.ts';
import { AttemptCredentials } from './credentials.ts';
import { acceptReport } from './reports.ts';

const A = canonicalMac('52:54:00:00:00:01');
const B = canonicalMac('52:54:00:00:00:02');
const credentials = new AttemptCredentials(Buffer.alloc(32, 9));

async function open(store: StateStore, mac = A, creds = credentials) {
  const opened = await store.openAttempt(
    mac,
    newAttempt({ secrets: creds.issue(), facts: { mac } }),
    { type: 'install-script-served', source: 'http' },
    { facts: { mac } },
  );
  return { id: opened.attempt.id, ...creds.tokens(opened.attempt.secrets.nonce) };
}

const post = (store: StateStore, token: string | undefined, body: unknown, id?: number, mac = A) =>
  acceptReport({ store }, mac, id, token === undefined ? undefined : `Bearer ${token}`, async () => body);

async function rejects(p: Promise<unknown>, type: new (...args: never[]) => Error, message?: RegExp) {
  try {
    await p;
    assert.unreachable('expected a rejection');
  } catch (err) {
    assert.instance(err, type);
    if (message) assert.match(String(err), message);
  }
}

async function snapshot(store: StateStore, mac = A) {
  return JSON.stringify([await store.getMachine(mac), await store.attempts(mac), await store.events(mac)]);
}

test('the install token reports install steps of its attempt, the first-boot token the first boot', async () => {
  const store = memoryStore();
  const t = await open(store);
  const started = await post(
    store,
    t.install,
    { type: 'install-started' },
    t.id,
    canonicalMac('52-54-00-00-00-01'),
  );
  assert.equal(
    [started.machine.state, started.attempt?.state, started.event.attemptId],
    ['installing', 'installing', t.id],
  );
  for (let i = 0; i < 50; i++)
    await post(store, t.install, { type: 'progress', phase: 'write', bytes: i * 1000, mbps: 12.5 }, t.id);
  assert.is((await post(store, t.install, { type: 'installed' }, t.id)).attempt?.state, 'installed');
  const handoff = await post(
    store,
    t.install,
    { type: 'handoff', method: 'reboot', reason: 'no-kexec: no kexec binary' },
    t.id,
  );
  assert.equal(
    [handoff.machine.state, handoff.attempt?.state, handoff.event.data],
    ['installed', 'handed-off', { method: 'reboot', reason: 'no-kexec: no kexec binary' }],
  );
  const first = await post(store, t.firstBoot, { type: 'first-boot', ignitionSha256: '' }, t.id);
  assert.equal(
    [first.machine.state, first.attempt?.state, first.event.source],
    ['provisioned', 'provisioned', 'node'],
  );
  assert.ok(first.attempt?.closedAt);
});

test('the legacy URL (no attempt id) reports on the open attempt', async () => {
  const store = memoryStore();
  const t = await open(store);
  assert.is((await post(store, t.install, { type: 'install-started' })).attempt?.id, t.id);
});

test('wrong, missing, another machine’s or another attempt’s token: 401, checked before the body, nothing recorded', async () => {
  const store = memoryStore();
  const a = await open(store);
  const b = await open(store, B);
  const before = await snapshot(store);
  const unread = async () => {
    throw new Error('the body must not be read before the token check');
  };
  for (const token of [undefined, '', 'x', b.install, b.firstBoot, 'A'.repeat(43)]) {
    await rejects(
      acceptReport({ store }, A, a.id, token === undefined ? undefined : `Bearer ${token}`, unread),
      UnauthorizedError,
    );
  }
  await rejects(acceptReport({ store }, A, a.id, `Basic ${a.install}`, unread), UnauthorizedError);
  await rejects(post(store, a.install, { type: 'installed' }, b.id), UnauthorizedError, /attempt 2/);
  await rejects(post(store, a.install, { type: 'installed' }, 999), UnauthorizedError);
  assert.is(await snapshot(store), before);
});

test('credentials are scoped: the install token cannot report first-boot, nor the first-boot token install steps', async () => {
  const store = memoryStore();
  const t = await open(store);
  await post(store, t.install, { type: 'installed' }, t.id);
  const before = await snapshot(store);
  await rejects(post(store, t.install, { type: 'first-boot' }, t.id), UnauthorizedError, /first-boot token/);
  await rejects(post(store, t.firstBoot, { type: 'handoff', method: 'kexec' }, t.id), UnauthorizedError);
  await rejects(post(store, t.firstBoot, { type: 'install-failed', exitCode: 1 }, t.id), UnauthorizedError);
  assert.is(await snapshot(store), before);
});

test('reports that do not fit the attempt: 409 with the reason, nothing changes', async () => {
  const store = memoryStore();
  const t = await open(store);
  await post(store, t.install, { type: 'install-started' }, t.id);
  let before = await snapshot(store);
  await rejects(
    post(store, t.install, { type: 'install-started' }, t.id),
    ConflictError,
    /install-started does not fit attempt 1: it is installing/,
  );
  assert.is(await snapshot(store), before);
  await rejects(
    post(store, t.firstBoot, { type: 'first-boot' }, t.id),
    ConflictError,
    /accepted only while installed or handed-off/,
  );
  await post(store, t.install, { type: 'installed' }, t.id);
  before = await snapshot(store);
  await rejects(post(store, t.install, { type: 'installed' }, t.id), ConflictError, /installed does not fit/);
  await rejects(post(store, t.install, { type: 'install-failed', exitCode: 1 }, t.id), ConflictError);
  await rejects(post(store, t.install, { type: 'progress', bytes: 1 }, t.id), ConflictError);
  await rejects(post(store, t.install, { type: 'install-started' }, t.id), ConflictError);
  assert.is(await snapshot(store), before);
  await post(store, t.install, { type: 'handoff', method: 'kexec' }, t.id);
  await rejects(
    post(store, t.install, { type: 'handoff', method: 'kexec' }, t.id),
    ConflictError,
    /handoff does not fit/,
  );
  await post(store, t.firstBoot, { type: 'first-boot' }, t.id);
  before = await snapshot(store);
  // Provisioned: the attempt is closed; neither token does anything any more.
  for (const [token, body] of [
    [t.install, { type: 'install-started' }],
    [t.install, { type: 'install-failed', exitCode: 1 }],
    [t.firstBoot, { type: 'first-boot' }],
  ] as const) {
    await rejects(post(store, token, body, t.id), ConflictError, /attempt 1 is closed \(provisioned\)/);
  }
  assert.is(await snapshot(store), before);
  assert.is((await store.getMachine(A))?.state, 'provisioned');
});

test('a superseded attempt accepts nothing; the new one does', async () => {
  const store = memoryStore();
  const old = await open(store);
  const next = await open(store);
  assert.is((await store.getAttempt(old.id))?.state, 'superseded');
  await rejects(
    post(store, old.install, { type: 'installed' }, old.id),
    ConflictError,
    /closed \(superseded\)/,
  );
  await rejects(post(store, old.install, { type: 'installed' }), UnauthorizedError, /open install attempt/);
  assert.is((await post(store, next.install, { type: 'installed' }, next.id)).machine.state, 'installed');
});

test('a failure closes the attempt: five forged install-failed with its token fail the machine once', async () => {
  const store = memoryStore();
  const t = await open(store);
  await post(store, t.install, { type: 'install-failed', exitCode: 3, output: 'disk gone' }, t.id);
  for (let i = 0; i < 4; i++)
    await rejects(post(store, t.install, { type: 'install-failed', exitCode: 1 }, t.id), ConflictError);
  const m = await store.getMachine(A);
  assert.equal([m?.state, m?.failures], ['failed', 1]);
});

test('a bad body or MAC is an InvalidRequestError, after the token check', async () => {
  const store = memoryStore();
  const t = await open(store);
  await rejects(post(store, t.install, { type: 'reprovision-requested' }, t.id), InvalidRequestError);
  await rejects(post(store, t.install, { type: 'progress', 'Bad Key': 1 }, t.id), InvalidRequestError);
  await rejects(
    post(store, t.install, { type: 'progress', note: 'x'.repeat(300) }, t.id),
    InvalidRequestError,
  );
  await rejects(post(store, t.install, { type: 'handoff', method: 'teleport' }, t.id), InvalidRequestError);
  await rejects(
    (async () =>
      acceptReport({ store }, canonicalMac('nope'), t.id, `Bearer ${t.install}`, async () => ({})))(),
    InvalidRequestError,
  );
});

test('machineDetail groups events by attempt; reprovision cancels the open attempt', async () => {
  const store = memoryStore();
  await rejects(machineDetail(store, A), NotFoundError);
  await rejects(requestReprovision(store, A), NotFoundError);
  const first = await open(store);
  await post(store, first.install, { type: 'install-failed', exitCode: 1 }, first.id);
  const second = await open(store);
  await post(store, second.install, { type: 'install-started' }, second.id);
  const detail = await machineDetail(store, A);
  assert.equal(
    detail.attempts.map((a) => [a.id, a.state, a.events.map((e) => e.type)]),
    [
      [second.id, 'installing', ['install-script-served', 'install-started']],
      [first.id, 'failed', ['install-script-served', 'install-failed']],
    ],
  );
  assert.not.ok('secrets' in (detail.attempts[0] ?? {}), 'no credential material in the API');
  assert.equal(
    detail.timeline.map((p) => p.phase),
    ['script', 'install'],
  );
  const { machine, attempt } = await requestReprovision(store, canonicalMac('52:54:00:00:00:01'));
  assert.equal([machine.state, machine.failures, attempt?.state], ['reprovision-requested', 0, 'cancelled']);
  await rejects(post(store, second.install, { type: 'installed' }, second.id), ConflictError, /cancelled/);
});

test('a restart mid-install loses nothing: same secret, same database, the report still lands', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'railyard-restart-'));
  try {
    const state = { driver: 'sqlite' as const, path: join(dataDir, 'state.db') };
    let store = await openStateStore(state);
    const t = await open(store, A, AttemptCredentials.open(dataDir));
    await post(store, t.install, { type: 'install-started' }, t.id);
    await store.close();
    store = await openStateStore(state);
    const again = AttemptCredentials.open(dataDir).tokens(
      (await store.getAttempt(t.id))?.secrets.nonce ?? '',
    );
    assert.is(again.install, t.install, 'the installer renders the same token after a restart');
    const { machine } = await post(store, t.install, { type: 'installed' }, t.id);
    assert.is(machine.state, 'installed');
    assert.equal(
      (await store.events(A)).map((e) => e.type),
      ['install-script-served', 'install-started', 'installed'],
    );
    await store.close();
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test.run();
