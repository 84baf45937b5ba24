// The node's install pipeline, as the commands the installer runs (write-image.sh; the bz2
// paths as flatcar-install runs them, without its concurrent gpg check), against two targets:
// a file on tmpfs (the CPU-bound pipeline alone) and a loop device backed by a file on this
// VM's disk (a block device, BLKZEROOUT, real writeback). The compressed input is read from a
// file: the network is out of the figure, the same for every path.
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runOk } from './procs.ts';

export const PATHS = ['bzip2 + dd', 'lbzip2 + dd', 'zstd dense', 'zstd + map'] as const;
export type PathName = (typeof PATHS)[number];

export interface Inputs {
  bz2: string;
  zst: string;
  /** The spans' bytes only (.mapped.zst), for the map writer. */
  mapped: string;
  spans: string;
  zstSha256: string;
  mappedSha256: string;
  spansSha256: string;
  rawSize: number;
}

export interface Target {
  kind: 'tmpfs file' | 'loop device';
  path: string;
  /** Called before each run. */
  prepare(): void;
  /** Bytes the run wrote as data (not counting a BLKZEROOUT the device does itself). */
  written(zeroed: number): number;
  cleanup(): void;
}

export interface RunResult {
  seconds: number;
  cpu: number;
  written: number;
  zeroed: number;
}

const DD = 'dd bs=1M conv=notrunc status=none';

/** Read the spans back (O_DIRECT on a block device, as the installer does) and hash them. */
function verify(target: Target, inputs: Inputs, out: string): string {
  const direct = target.kind === 'loop device' ? ',direct' : '';
  return (
    `while read -r off len; do dd if="${target.path}" bs=1M skip=$off count=$len ` +
    `iflag=skip_bytes,count_bytes${direct} status=none || exit 1; done < "${inputs.spans}" | ` +
    `openssl dgst -sha256 -r > "${out}"`
  );
}

/** Each span's bytes from the stream on stdin, written at the span's offset (write-image.sh's map writer). */
function spanWriter(t: Target, i: Inputs): string {
  return (
    `{ while read -r off len <&3; do dd of="${t.path}" bs=1M seek=$off count=$len iflag=fullblock,count_bytes ` +
    `oflag=seek_bytes conv=notrunc status=none || exit 1; done 3< "${i.spans}"; }`
  );
}

function script(path: PathName, t: Target, i: Inputs, dir: string): { sh: string; zeroed: number } {
  const sync = `sync "${t.path}"`;
  const hash = (file: string) => `tee -p >(openssl dgst -sha256 -r > "${dir}/zst.sha256") < "${file}"`;
  const check = `${verify(t, i, `${dir}/spans.sha256`)}`;
  switch (path) {
    case 'bzip2 + dd':
      return { sh: `bzip2 -dc < "${i.bz2}" | ${DD} of="${t.path}" && ${sync}`, zeroed: 0 };
    case 'lbzip2 + dd':
      return { sh: `lbzip2 -dc -n 2 < "${i.bz2}" | ${DD} of="${t.path}" && ${sync}`, zeroed: 0 };
    case 'zstd dense':
      return {
        sh: `${hash(i.zst)} | zstd -dc -q | ${DD} of="${t.path}" && ${sync} && wait && ${check}`,
        zeroed: 0,
      };
    case 'zstd + map': {
      const span = Math.ceil(i.rawSize / 512) * 512;
      const zero = t.kind === 'loop device' ? `blkdiscard -z -o 0 -l ${span} "${t.path}" && ` : '';
      const sh = `${zero}${hash(i.mapped)} | zstd -dc -q | ${spanWriter(t, i)} && ${sync} && wait && ${check}`;
      return { sh, zeroed: t.kind === 'loop device' ? span : 0 };
    }
  }
}

/** One timed run; checks the stream's and the read-back digests of the zstd paths. */
export async function runPath(
  path: PathName,
  target: Target,
  inputs: Inputs,
  dir: string,
): Promise<RunResult> {
  target.prepare();
  rmSync(join(dir, 'zst.sha256'), { force: true });
  rmSync(join(dir, 'spans.sha256'), { force: true });
  const { sh, zeroed } = script(path, target, inputs, dir);
  writeFileSync(join(dir, 'run.sh'), `set -eo pipefail\n${sh}\n`);
  const started = performance.now();
  await runOk('/usr/bin/time', ['-f', '%U %S', '-o', join(dir, 'time.txt'), 'bash', join(dir, 'run.sh')]);
  const seconds = (performance.now() - started) / 1000;
  const [u, s] = readFileSync(join(dir, 'time.txt'), 'utf8').trim().split(/\s+/).map(Number);
  if (path.startsWith('zstd')) {
    const digest = (f: string) => readFileSync(join(dir, f), 'utf8').split(' ')[0];
    const pinned = path === 'zstd + map' ? inputs.mappedSha256 : inputs.zstSha256;
    if (digest('zst.sha256') !== pinned) throw new Error(`${path}: stream digest mismatch`);
    if (digest('spans.sha256') !== inputs.spansSha256)
      throw new Error(`${path} on ${target.kind}: read-back mismatch`);
  }
  return { seconds, cpu: (u ?? 0) + (s ?? 0), written: target.written(zeroed), zeroed };
}

export function tmpfsTarget(dir: string, size: number): Target {
  const path = join(dir, 'disk.img');
  return {
    kind: 'tmpfs file',
    path,
    prepare: () => {
      rmSync(path, { force: true });
      execFileSync('truncate', ['-s', String(size), path]); // a fresh sparse file: reads as zeros, like a zeroed disk
    },
    written: () => statSync(path).blocks * 512,
    cleanup: () => rmSync(path, { force: true }),
  };
}

/** A loop device over a file in `dir` (this VM's disk), sized for the image. */
export function loopTarget(dir: string, size: number): Target {
  const backing = join(dir, 'loop-backing.img');
  execFileSync('truncate', ['-s', String(size + 16 * 1024 * 1024), backing]);
  const device = execFileSync('losetup', ['-f', '--show', backing], { encoding: 'utf8' }).trim();
  const stat = `/sys/class/block/${device.slice('/dev/'.length)}/stat`;
  const sectors = () => Number(readFileSync(stat, 'utf8').trim().split(/\s+/)[6]);
  let before = 0;
  return {
    kind: 'loop device',
    path: device,
    prepare: () => {
      before = sectors();
    },
    written: (zeroed) => (sectors() - before) * 512 - zeroed,
    cleanup: () => {
      execFileSync('losetup', ['-d', device]);
      rmSync(backing, { force: true });
    },
  };
}

/** Fill the target with 0xFF so a writer that skipped zeros without zeroing first would show. */
export async function dirty(target: Target, size: number): Promise<void> {
  await runOk('bash', [
    '-c',
    `set -o pipefail; head -c ${size} /dev/zero | tr '\\0' '\\377' | ${DD} of="${target.path}" && sync "${target.path}"`,
  ]);
}
