import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BusyError, NotFoundError, StorageError } from '../errors.ts';
import { statusFor } from './errors.ts';

const errno = (code: string) => Object.assign(new Error(`${code}: open`), { code });

test('resource exhaustion while opening a file is a 503 (retry), like BusyError; other errors keep theirs', () => {
  for (const code of ['EMFILE', 'ENFILE', 'ENOMEM']) assert.is(statusFor(errno(code)), 503, code);
  assert.is(statusFor(new BusyError('busy')), 503);
  assert.is(statusFor(new StorageError('down')), 503);
  assert.is(statusFor(new NotFoundError('gone')), 404);
  assert.is(statusFor(errno('EIO')), 500);
  assert.is(statusFor(new Error('boom')), 500);
});

test.run();
