import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { InvalidRequestError, NotFoundError, UnauthorizedError } from '../errors.ts';
import { memoryStore } from '../store/fakes.ts';
import { openStateStore } from '../store/open.ts';
import { machineDetail, requestReprovision } from '../store/queries.ts';
import { acceptReport } from './reports.ts';
import { MachineTokens } from './tokens.ts';

const A = '52:54:00:00:00:01';
const B = '52:54:00:00:00:02';
const tokens = new MachineTokens(Buffer.alloc(32, 9));
const rejects = async (p: Promise<unknown>, type: new (...args: never[]) => Error) => {
  try {
    await p;
    assert.unreachable('expected a rejection');
  } catch (err) {
    assert.instance(err, type);
  }
};

test('a report with the machine token is recorded (any MAC spelling)', async () => {
  const deps = { store: memoryStore(), tokens };
  const { machine, event } = await acceptReport(deps, '52-54-00-00-00-01', `Bearer ${tokens.tokenFor(A)}`, {
    type: 'install-started',
  });
  assert.equal([machine.mac, machine.state, event.source], [A, 'installing', 'installer']);
  const first = await acceptReport(deps, A, `Bearer ${tokens.tokenFor(A)}`, {
    type: 'first-boot',
    ignitionSha256: '',
  });
  assert.equal([first.machine.state, first.event.source], ['provisioned', 'node']);
});

test('wrong, missing or another machine’s token: UnauthorizedError, nothing recorded', async () => {
  const store = memoryStore();
  const deps = { store, tokens };
  for (const auth of [
    undefined,
    '',
    'Bearer x',
    `Bearer ${tokens.tokenFor(B)}`,
    `Basic ${tokens.tokenFor(A)}`,
  ]) {
    await rejects(acceptReport(deps, A, auth, { type: 'installed' }), UnauthorizedError);
  }
  assert.is(await store.getMachine(A), undefined);
});

test('a bad body or MAC is an InvalidRequestError', async () => {
  const deps = { store: memoryStore(), tokens };
  await rejects(
    acceptReport(deps, A, `Bearer ${tokens.tokenFor(A)}`, { type: 'reprovision-requested' }),
    InvalidRequestError,
  );
  await rejects(
    acceptReport(deps, 'nope', `Bearer ${tokens.tokenFor(A)}`, { type: 'installed' }),
    InvalidRequestError,
  );
});

test('machineDetail and requestReprovision', async () => {
  const store = memoryStore();
  await rejects(machineDetail(store, A), NotFoundError);
  await rejects(requestReprovision(store, A), NotFoundError);
  await store.recordEvent(A, {
    type: 'install-script-served',
    source: 'http',
    at: '2026-01-01T00:00:00.000Z',
  });
  await store.recordEvent(A, {
    type: 'install-failed',
    source: 'installer',
    at: '2026-01-01T00:01:00.000Z',
    data: { exitCode: 1 },
  });
  const detail = await machineDetail(store, A);
  assert.is(detail.machine.state, 'failed');
  assert.is(detail.events.length, 2);
  assert.equal(
    detail.timeline.map((p) => p.phase),
    ['script'],
  );
  const { machine } = await requestReprovision(store, '52:54:00:00:00:01');
  assert.equal([machine.state, machine.failures], ['reprovision-requested', 0]);
});

test('a restart mid-install loses nothing: same secret, same database, the report still lands', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'railyard-restart-'));
  try {
    const state = { driver: 'sqlite' as const, path: join(dataDir, 'state.db') };
    let deps = { store: openStateStore(state), tokens: MachineTokens.open(dataDir) };
    const token = deps.tokens.tokenFor(A);
    await deps.store.recordEvent(A, { type: 'install-script-served', source: 'http' });
    await acceptReport(deps, A, `Bearer ${token}`, { type: 'install-started' });
    await deps.store.close();
    deps = { store: openStateStore(state), tokens: MachineTokens.open(dataDir) };
    const { machine } = await acceptReport(deps, A, `Bearer ${token}`, { type: 'installed' });
    assert.is(machine.state, 'installed');
    assert.equal(
      (await deps.store.events(A)).map((e) => e.type),
      ['install-script-served', 'install-started', 'installed'],
    );
    await deps.store.close();
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test.run();
