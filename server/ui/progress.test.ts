import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ImageProgress } from './progress.ts';

const IMAGE = '/stable/amd64-usr/9999.0.0/flatcar_production_image.bin.bz2';

const ATTEMPT = { id: 7, clientIp: '10.0.0.9' };

test("image bytes sent to the address of the attempt's latest authenticated request", () => {
  let now = 1000;
  const p = new ImageProgress(() => now);
  p.sawAttempt(7, '10.0.0.21');
  p.progress('10.0.0.21', IMAGE, 262_144, 1_000_000);
  now = 2000;
  p.progress('10.0.0.21', IMAGE, 524_288, 1_000_000);
  assert.equal(p.forAttempt(ATTEMPT), {
    path: IMAGE,
    sent: 524_288,
    total: 1_000_000,
    startedAt: 1000,
    updatedAt: 2000,
    done: false,
    complete: false,
  });
  p.delivered('10.0.0.21', IMAGE, 1_000_000, 1_000_000, true);
  assert.ok(p.forAttempt(ATTEMPT)?.complete);
  assert.is(p.forAttempt({ id: 8, clientIp: null }), undefined, 'another attempt');
  assert.is(p.forAttempt(undefined), undefined, 'no open attempt');
});

test('without an authenticated request: the address its install script went to', () => {
  const p = new ImageProgress(() => 5);
  p.progress('10.0.0.9', IMAGE, 10, 100);
  p.progress('10.0.0.66', IMAGE, 90, 100);
  assert.is(p.forAttempt(ATTEMPT)?.sent, 10);
  assert.is(p.forAttempt({ id: 9, clientIp: '10.0.0.1' }), undefined);
});

test('only the Flatcar image counts; a new download restarts the count', () => {
  const p = new ImageProgress(() => 5);
  p.sawAttempt(7, '10.0.0.21');
  p.progress('10.0.0.21', '/stable/amd64-usr/9999.0.0/flatcar_production_pxe.vmlinuz', 10, 10);
  assert.is(p.forAttempt(ATTEMPT), undefined);
  p.delivered('10.0.0.21', IMAGE, 100, 100, true);
  p.progress('10.0.0.21', IMAGE, 10, 100);
  assert.is(p.forAttempt(ATTEMPT)?.sent, 10);
  assert.is(p.forAttempt(ATTEMPT)?.done, false);
});

test.run();
