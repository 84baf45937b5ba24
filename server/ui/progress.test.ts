import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ImageProgress } from './progress.ts';

const IMAGE = '/stable/amd64-usr/9999.0.0/flatcar_production_image.bin.bz2';

test('image bytes sent to the address a machine was last seen at', () => {
  let now = 1000;
  const p = new ImageProgress(() => now);
  p.sawMachine('52:54:00:00:00:01', '10.0.0.21');
  p.progress('10.0.0.21', IMAGE, 262_144, 1_000_000);
  now = 2000;
  p.progress('10.0.0.21', IMAGE, 524_288, 1_000_000);
  assert.equal(p.forMachine('52:54:00:00:00:01'), {
    path: IMAGE,
    sent: 524_288,
    total: 1_000_000,
    startedAt: 1000,
    updatedAt: 2000,
    done: false,
    complete: false,
  });
  p.delivered('10.0.0.21', IMAGE, 1_000_000, 1_000_000, true);
  assert.ok(p.forMachine('52:54:00:00:00:01')?.complete);
  assert.is(p.forMachine('52:54:00:00:00:02'), undefined);
});

test('only the Flatcar image counts; a new download restarts the count', () => {
  const p = new ImageProgress(() => 5);
  p.sawMachine('52:54:00:00:00:01', '10.0.0.21');
  p.progress('10.0.0.21', '/stable/amd64-usr/9999.0.0/flatcar_production_pxe.vmlinuz', 10, 10);
  assert.is(p.forMachine('52:54:00:00:00:01'), undefined);
  p.delivered('10.0.0.21', IMAGE, 100, 100, true);
  p.progress('10.0.0.21', IMAGE, 10, 100);
  assert.is(p.forMachine('52:54:00:00:00:01')?.sent, 10);
  assert.is(p.forMachine('52:54:00:00:00:01')?.done, false);
});

test.run();
