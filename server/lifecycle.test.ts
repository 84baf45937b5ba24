// The Lifecycle alone: the first fatal error wins and stops every service once, later
// errors (consequences of stopping) change nothing; final resources stop after the rest.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Lifecycle } from './lifecycle.ts';
import { silentLogger } from './log.ts';

function recorder(order: string[], name: string) {
  return {
    name,
    stop: async () => {
      order.push(name);
    },
  };
}

test('the first fatal error stops everything once, the store last; stopped resolves with it', async () => {
  const lifecycle = new Lifecycle(silentLogger());
  const order: string[] = [];
  lifecycle.addFinal(recorder(order, 'state'));
  lifecycle.add(recorder(order, 'http'));
  lifecycle.add(recorder(order, 'tftp'));
  const first = new Error('first');
  lifecycle.fail('tftp', first);
  lifecycle.fail('http', new Error('second'));
  assert.ok(lifecycle.signal.aborted, 'aborted at once');
  assert.is(await lifecycle.stopped, first);
  assert.equal(order, ['tftp', 'http', 'state']);
  await lifecycle.stop('again', 0);
  assert.equal(order.length, 3, 'stopped once');
});

test('startJob: the job gets the signal; its crash is fatal; what it returns is stopped', async () => {
  const lifecycle = new Lifecycle(silentLogger());
  const order: string[] = [];
  let crash: (err: unknown) => void = () => undefined;
  lifecycle.startJob({
    name: 'job',
    start: (signal, onCrash) => {
      assert.is(signal, lifecycle.signal);
      crash = onCrash;
      return recorder(order, 'job');
    },
  });
  crash('not an Error');
  const fatal = await lifecycle.stopped;
  assert.match(fatal?.message ?? '', 'job: not an Error');
  assert.equal(order, ['job']);
});

test('a plain stop: stopped resolves with undefined', async () => {
  const lifecycle = new Lifecycle(silentLogger());
  await lifecycle.stop('done', 0, true);
  assert.is(await lifecycle.stopped, undefined);
  assert.ok(lifecycle.signal.aborted);
});

test('stopping already: a service added late is stopped at once, a job is not started', async () => {
  const lifecycle = new Lifecycle(silentLogger());
  const order: string[] = [];
  lifecycle.fail('tftp', new Error('gone'));
  lifecycle.add(recorder(order, 'late'));
  let started = false;
  lifecycle.startJob({
    name: 'job',
    start: () => {
      started = true;
      return undefined;
    },
  });
  await lifecycle.stopped;
  assert.equal(order, ['late']);
  assert.not.ok(started);
});

test.run();
