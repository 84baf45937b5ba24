import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError } from '../errors.ts';
import { moveKernelArguments } from './kernel-args.ts';

test('shouldExist is moved out, in order, each once; the rest of the config is kept', () => {
  const config = {
    ignition: { version: '3.3.0' },
    kernelArguments: { shouldExist: ['a=1', 'b', 'a=1'], shouldNotExist: ['quiet'] },
    storage: { files: [] },
  };
  assert.equal(moveKernelArguments(config), {
    config: { ignition: { version: '3.3.0' }, storage: { files: [] } },
    append: ['a=1', 'b'],
  });
  const none = { ignition: { version: '3.3.0' } };
  assert.equal(moveKernelArguments(none), { config: none, append: [] });
});

test('refused: unsafe words, contradictions, removing what GRUB always passes, wrong shapes', () => {
  for (const kernelArguments of [
    { shouldExist: ['a b'] },
    { shouldExist: ['sshkey="x"'] },
    { shouldExist: ['$linux_append'] },
    { shouldExist: ['x'], shouldNotExist: ['x'] },
    { shouldNotExist: ['console=ttyS0'] },
    { shouldNotExist: ['root'] },
    { shouldExist: 'a' },
    { shouldExist: [1] },
    ['a'],
  ]) {
    assert.throws(
      () => moveKernelArguments({ kernelArguments }),
      (e: unknown) => e instanceof ConfigError && /kernelArguments/.test(String(e)),
      JSON.stringify(kernelArguments),
    );
  }
});

test.run();
