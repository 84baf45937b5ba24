import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ConflictError } from '../errors.ts';
import { canonicalMac, type Mac } from '../machines/identity.ts';
import { poolHarness } from './fixtures/harness.ts';
import type { PollAnswer } from './long-poll.ts';

const A = canonicalMac('52:54:00:00:16:01');
const B = canonicalMac('52:54:00:00:16:02');
const C = canonicalMac('52:54:00:00:16:03');
const claimOf = (mac: Mac, profile = 'web') => ({
  profile,
  metadata: { role: 'r' },
  count: 1,
  mac,
  selector: {},
  pool: undefined,
});
const action = (a: PollAnswer) => (a.status === 200 ? a.body.action : 204);

test('a pooled machine that stops long-polling vanishes: event, machine new, its attempt cancelled', async () => {
  const h = poolHarness({ vanishAfter: 60_000 });
  const tokenA = await h.pooled(A);
  const token = await h.pooled(B);
  h.advance(40_000);
  assert.is(action(await h.poller.poll(B, token, '1.0.0', 0)), 204);
  h.advance(30_000);
  const gone = await h.pool.sweep();
  assert.equal(
    gone.map((m) => m.mac),
    [A],
    'B polled 30 s ago',
  );
  assert.is((await h.store.getMachine(A))?.state, 'new');
  assert.is((await h.store.openAttemptOf(A))?.state, undefined, 'its attempt closed');
  assert.is((await h.store.events(A)).at(-1)?.type, 'pool-vanished');
  try {
    await h.poller.poll(A, tokenA, '1.0.0', 0);
    assert.unreachable();
  } catch (err) {
    assert.instance(err, ConflictError, 'its attempt is over: it boots again and re-enters the pool');
  }
  h.cleanup();
});

test('background refresh: when current moves, at most refreshConcurrency pooled machines are told at a time', async () => {
  const h = poolHarness({ refreshConcurrency: 2 });
  const tokens = [await h.pooled(A), await h.pooled(B), await h.pooled(C)];
  assert.is(action(await h.poller.poll(A, tokens[0] as string, '1.0.0', 0)), 204, 'nothing moved yet');
  h.publish('1.1.0');
  const answers = [];
  for (const [i, mac] of [A, B, C].entries())
    answers.push(await h.poller.poll(mac, tokens[i] as string, '1.0.0', 0));
  assert.equal(answers.map(action), ['refresh', 'refresh', 204]);
  assert.equal(answers[0], { status: 200, body: { action: 'refresh', version: '1.1.0' } });
  h.cleanup();
});

test('on-claim refresh: nothing is refreshed; a claim of a machine holding an older release reinstalls', async () => {
  const h = poolHarness({}, 'on-claim');
  const token = await h.pooled(A);
  h.publish('1.1.0');
  assert.is(action(await h.poller.poll(A, token, '1.0.0', 0)), 204);
  const [claimed] = await h.pool.claim(claimOf(A));
  assert.equal([claimed?.version, claimed?.prewritten], ['1.1.0', false]);
  const answer = await h.poller.poll(A, token, '1.0.0', 0);
  assert.equal(answer, { status: 200, body: { action: 'reinstall', profile: 'web', version: '1.1.0' } });
  h.cleanup();
});

test('release before delivery: pooled again, its attempt pooled, the long-poll keeps waiting', async () => {
  const h = poolHarness();
  const token = await h.pooled(A);
  await h.pool.claim(claimOf(A));
  assert.is((await h.store.getMachine(A))?.state, 'claimed');
  assert.is(await h.pool.release(A), 'pooled');
  assert.equal(
    [(await h.store.getMachine(A))?.state, (await h.store.openAttemptOf(A))?.state],
    ['pooled', 'pooled'],
  );
  assert.is(action(await h.poller.poll(A, token, '1.0.0', 0)), 204);
  try {
    await h.pool.release(A);
    assert.unreachable();
  } catch (err) {
    assert.instance(err, ConflictError);
  }
  h.cleanup();
});

test('a claim made elsewhere (not in this process) is seen by a waiting long-poll on its next read', async () => {
  const h = poolHarness();
  const token = await h.pooled(A);
  const waiting = h.poller.poll(A, token, '1.0.0', 5);
  await new Promise((r) => setTimeout(r, 20));
  // Straight to the store: no notify, as another railyard sharing the database would.
  await h.store.pool.claim({
    groups: ['pool'],
    count: 1,
    matches: () => true,
    claim: { profile: 'web', metadata: { role: 'x' }, at: new Date().toISOString() },
  });
  const t0 = Date.now();
  const answer = await waiting;
  assert.is(action(answer), 'claim');
  assert.ok(Date.now() - t0 < 1000, 'within the recheck interval');
  h.cleanup();
});

test('stopping the pool answers waiting long-polls at once (a restart drains them)', async () => {
  const h = poolHarness();
  const token = await h.pooled(A);
  const waiting = h.poller.poll(A, token, '1.0.0', 30);
  await new Promise((r) => setTimeout(r, 20));
  const t0 = Date.now();
  await h.pool.stop();
  assert.is(action(await waiting), 204);
  assert.ok(Date.now() - t0 < 500);
  h.cleanup();
});

test('the lifecycle signal given to start() stops the sweep and answers waiting long-polls at once', async () => {
  const h = poolHarness();
  const token = await h.pooled(A);
  const lifecycle = new AbortController();
  h.pool.start(lifecycle.signal);
  const waiting = h.poller.poll(A, token, '1.0.0', 30);
  await new Promise((r) => setTimeout(r, 20));
  const t0 = Date.now();
  lifecycle.abort(new Error('server stopping'));
  assert.is(action(await waiting), 204);
  assert.ok(Date.now() - t0 < 500);
  assert.ok(h.pool.waiters.stopped);
  h.cleanup();
});

test.run();
