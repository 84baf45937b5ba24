import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { canonicalMac } from '../machines/identity.ts';
import { brokenStore, memoryStore } from './fakes.ts';
import { storeContract } from './fixtures/contract.ts';
import { fleetContract } from './fixtures/fleet-contract.ts';
import { poolContract } from './fixtures/pool-contract.ts';

storeContract(test, (limits) => memoryStore(undefined, limits));
fleetContract(test, () => memoryStore());
poolContract(test, () => memoryStore());

test('brokenStore rejects every call', async () => {
  const store = brokenStore();
  try {
    await store.getMachine(canonicalMac('52:54:00:00:00:01'));
    assert.unreachable();
  } catch (err) {
    assert.match(String(err), /broken/);
  }
});

test.run();
