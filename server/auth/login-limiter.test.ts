import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { clientKey, LOGIN_LIMITS, LoginLimiter } from './login-limiter.ts';

test('five failures in the window block for a minute, doubling up to 15 min; success resets', () => {
  let now = 0;
  const l = new LoginLimiter(LOGIN_LIMITS, () => now);
  for (let i = 0; i < 4; i++) l.fail('10.0.0.9');
  assert.equal(l.check('10.0.0.9'), { allowed: true });
  l.fail('10.0.0.9');
  assert.equal(l.check('10.0.0.9'), { allowed: false, retryAfterSec: 60 });
  assert.equal(l.check('10.0.0.8'), { allowed: true }, 'other clients are not affected');
  now += 60_000;
  for (let i = 0; i < 5; i++) l.fail('10.0.0.9');
  assert.equal(l.check('10.0.0.9'), { allowed: false, retryAfterSec: 120 });
  for (let b = 0; b < 6; b++) {
    now += 16 * 60_000;
    for (let i = 0; i < 5; i++) l.fail('10.0.0.9');
  }
  assert.equal(l.check('10.0.0.9'), { allowed: false, retryAfterSec: 900 });
  l.succeed('10.0.0.9');
  assert.equal(l.check('10.0.0.9'), { allowed: true });
});

test('failures spread beyond the window do not block', () => {
  let now = 0;
  const l = new LoginLimiter(LOGIN_LIMITS, () => now);
  for (let i = 0; i < 20; i++) {
    l.fail('10.0.0.9');
    now += 76_000; // 5 failures span more than the 5-minute window
  }
  assert.equal(l.check('10.0.0.9'), { allowed: true });
});

test('clients are keyed by IPv4 address (mapped too) and IPv6 /64', () => {
  assert.is(clientKey('::ffff:10.0.0.5'), '10.0.0.5');
  assert.is(clientKey('10.0.0.5'), '10.0.0.5');
  assert.is(clientKey('fd00:1:2:3::5'), 'fd00:1:2:3::/64');
  assert.is(clientKey('fd00:0001:0002:0003:aaaa:bbbb:cccc:dddd'), 'fd00:1:2:3::/64');
  assert.is(clientKey('fd00::1'), 'fd00:0:0:0::/64');
  assert.is(clientKey(undefined), 'unknown');
  const l = new LoginLimiter(LOGIN_LIMITS, () => 0);
  for (let i = 0; i < 5; i++) l.fail(`fd00:1:2:3::${i + 1}`);
  assert.is(l.check('fd00:1:2:3::ffff').allowed, false, 'one /64 is one client');
  assert.is(l.check('fd00:1:2:4::1').allowed, true);
});

test.run();
