// handoff.sh, rendered by railyard and run for real on the host as root: against a loop
// device in Flatcar's GPT layout (fixtures/flatcar-disk.ts) with faked kernel interfaces and
// recording kexec/systemctl/efibootmgr (fixtures/handoff-run.ts), reporting to a receiver.
// The command line it gives kexec must be exactly the one Flatcar's GRUB builds; every refusal
// must reboot with its reason. Skipped (saying why) when not root.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseReport } from '../machines/report.ts';
import { type DiskOptions, type FlatcarDisk, makeFlatcarDisk, USR_A_GUID } from './fixtures/flatcar-disk.ts';
import { type Fakes, type HandoffRun, runHandoff } from './fixtures/handoff-run.ts';
import { startReceiver } from './fixtures/receiver.ts';
import { KEXEC_PLAN, MAC, TOKEN } from './fixtures/views.ts';
import type { HandoffPlan } from './handoff-plan.ts';
import { renderHandoffScript } from './handoff-script.ts';
import { renderAttemptEnv } from './script.ts';

const TOOLS = ['unshare', 'losetup', 'partx', 'sgdisk', 'mkfs.ext4', 'debugfs', 'blkid', 'curl', 'cpio'];
const LIVE = 'BOOT_IMAGE=x initrd=pxe.cpio.gz console=ttyS1,115200n8 flatcar.first_boot=1';

function skipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root (needs loop devices, mounts and a mount namespace)';
  const missing = TOOLS.filter((t) => {
    try {
      execFileSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' });
      return false;
    } catch {
      return true;
    }
  });
  return missing.length ? `missing tools: ${missing.join(', ')}` : undefined;
}

interface Case {
  disk?: DiskOptions;
  fakes?: Partial<Fakes>;
  plan?: Partial<HandoffPlan>;
  kernelArgs?: string[];
  args?: string[];
  /** The profile's installDisk (default: the test disk). */
  installDisk?: string;
  /** Run `prepare` first (as install.sh does). */
  prepare?: boolean;
}

interface Result {
  run: HandoffRun;
  disk: FlatcarDisk;
  reports: Array<Record<string, unknown>>;
}

const skip = skipReason();
if (skip) console.log(`    SKIPPED handoff.sh host runs: ${skip}`);

// Disks are reused across cases with the same options (building one takes ~1 s); a case that
// runs `prepare` changes its disk and gets its own.
const shared = skip ? '' : mkdtempSync(join(tmpdir(), 'railyard-handoff-disks-'));
const disks = new Map<string, FlatcarDisk>();
test.after(() => {
  for (const d of disks.values()) d.detach();
  if (shared) rmSync(shared, { recursive: true, force: true });
});

function diskFor(c: Case, work: string): { disk: FlatcarDisk; own: boolean } {
  if (c.prepare) return { disk: makeFlatcarDisk(work, c.disk), own: true };
  const key = JSON.stringify(c.disk ?? {});
  let disk = disks.get(key);
  if (!disk) {
    const dir = join(shared, String(disks.size));
    mkdirSync(dir);
    disk = makeFlatcarDisk(dir, c.disk);
    disks.set(key, disk);
  }
  return { disk, own: false };
}

async function handoff(c: Case, check: (r: Result) => void): Promise<void> {
  if (skip) return;
  const work = mkdtempSync(join(tmpdir(), 'railyard-handoff-'));
  const receiver = await startReceiver();
  const { disk, own } = diskFor(c, work);
  try {
    const script = renderHandoffScript({
      installDisk: c.installDisk ?? disk.device,
      plan: { ...KEXEC_PLAN, ...c.plan },
      kernelArgs: c.kernelArgs ?? [],
    });
    const fakes: Fakes = { cmdline: LIVE, ...c.fakes };
    const commands = [...(c.prepare ? [['prepare']] : []), c.args ?? ['run', '0']];
    const env = renderAttemptEnv({
      mac: MAC,
      attemptId: 1,
      reportUrl: `${receiver.url}/api/v1/machines/${MAC}/events`,
      token: TOKEN,
    });
    const run = await runHandoff(join(work, 'run'), script, env, commands, fakes);
    assert.is(run.leftMounts, '', 'handoff.sh unmounts everything it mounted');
    // what railyard accepts at its edge: a reboot always names a reason code
    for (const body of receiver.received.map((r) => r.body)) parseReport(body);
    check({ run, disk, reports: receiver.received.map((r) => r.body) });
  } finally {
    if (own) disk.detach();
    await receiver.close();
    rmSync(work, { recursive: true, force: true });
  }
}

/** What Flatcar's GRUB builds for USR-A on a first boot (build_library/grub.cfg), by hand. */
function grubCmdline(hash: string, middle: string): string {
  return [
    'BOOT_IMAGE=/flatcar/vmlinuz-a mount.usr=/dev/mapper/usr',
    `verity.usr=PARTUUID=${USR_A_GUID} rootflags=rw mount.usrflags=ro consoleblank=0 root=LABEL=ROOT`,
    middle,
    `verity.usrhash=${hash}`,
  ]
    .filter((s) => s !== '')
    .join(' ');
}

/** The arguments of the first kexec call. */
function kexecArgs(run: HandoffRun): string[] {
  return (run.calls('kexec').split('\n--\n')[0] ?? '').split('\n');
}

function assertRebooted(r: Result, reason: RegExp): void {
  assert.is(r.reports.length, 1, r.run.stdout);
  assert.is(r.reports[0]?.['method'], 'reboot');
  assert.match(String(r.reports[0]?.['reason']), reason, String(r.reports[0]?.['reason']));
  assert.is(r.run.calls('systemctl'), 'reboot\n', r.run.stdout);
  assert.not.match(r.run.calls('kexec'), '-l', 'nothing was loaded');
}

test('kexec with the first-boot command line GRUB would build; empty cpio as initrd; systemctl kexec', async () => {
  await handoff({}, ({ run, disk, reports }) => {
    const args = kexecArgs(run);
    assert.is(args[0], '-l', run.stdout);
    assert.match(args[1] ?? '', /\/flatcar\/vmlinuz-a$/);
    assert.match(args[2] ?? '', /^--initrd=/);
    assert.is(
      args[3],
      `--command-line=${grubCmdline(disk.hash, 'console=ttyS1,115200n8 flatcar.first_boot=detected')}`,
    );
    const listing = execFileSync('cpio', ['-t', '--quiet'], { input: run.initrd() }).toString();
    assert.is(listing, '', 'the initrd is an empty newc archive');
    assert.equal(reports, [{ type: 'handoff', method: 'kexec' }]);
    assert.is(run.calls('systemctl'), 'kexec\n');
  });
});

test('kexecChecks: false adds -i; no first_boot flag, no flatcar.first_boot; GRUB console without live ones', async () => {
  await handoff(
    { plan: { kexecChecks: false }, disk: { firstBoot: false }, fakes: { cmdline: 'quiet' } },
    ({ run, disk }) => {
      const args = kexecArgs(run);
      assert.is(args[0], '-i');
      assert.is(
        args.at(-1),
        `--command-line=${grubCmdline(disk.hash, 'console=ttyS0,115200n8 console=tty0')}`,
      );
    },
  );
});

test('OEM grub.cfg set lines and the Ignition kernel arguments prepare wrote reach the command line', async () => {
  const oemGrubCfg =
    '# Flatcar GRUB settings\n\nset oem_id="standin"\nset linux_append="standin.oem_append=1"\n  set linux_console=\'console=ttyS2,9600\'\n';
  await handoff(
    { disk: { oemGrubCfg }, kernelArgs: ['a=1', 'flatcar.autologin'], prepare: true },
    ({ run, disk }) => {
      assert.is(
        disk.oemFile('grub.cfg'),
        `${oemGrubCfg}set linux_append="$linux_append a=1 flatcar.autologin"\n`,
        'prepare appended the kargs-helper line',
      );
      assert.is(
        kexecArgs(run).at(-1),
        `--command-line=${grubCmdline(disk.hash, 'console=ttyS2,9600 flatcar.first_boot=detected flatcar.oem.id=standin standin.oem_append=1 a=1 flatcar.autologin')}`,
      );
    },
  );
});

test('an OEM grub.cfg with more than simple set lines: reboot', async () => {
  const oemGrubCfg = 'set oem_id="azure"\nserial --unit=0 --speed=115200\nset linux_append="x"\n';
  await handoff({ disk: { oemGrubCfg } }, (r) =>
    assertRebooted(r, /^oem-grub-cfg: line 2 is not a simple set/),
  );
});

test('GRUB would boot USR-B, or would count a try down on USR-A: reboot', async () => {
  await handoff({ disk: { usrBAttrs: [49, 56] } }, (r) =>
    assertRebooted(r, /^gpt-slot: GRUB would boot USR-B/),
  );
  await handoff({ disk: { usrAAttrs: [48, 52] } }, (r) =>
    assertRebooted(r, /^gpt-slot: USR-A is not marked successful/),
  );
});

test('the installed disk or its partitions cannot be found: reboot', async () => {
  await handoff({ installDisk: '/dev/railyard-no-such-disk' }, (r) =>
    assertRebooted(r, /^disk: no EFI-SYSTEM partition on \/dev\/railyard-no-such-disk$/),
  );
});

test('no verity hash in the kernel: reboot', async () => {
  await handoff({ disk: { kernelHash: 'Z'.repeat(64) } }, (r) =>
    assertRebooted(r, /^kernel: no verity hash/),
  );
});

test('the kernel refuses kexec_load, lockdown, Secure Boot: reboot with the reason', async () => {
  await handoff({ fakes: { kexecLoadDisabled: '1' } }, (r) =>
    assertRebooted(r, /^kexec-load-disabled: \/proc\/sys\/kernel\/kexec_load_disabled is 1$/),
  );
  await handoff({ fakes: { lockdown: 'none [integrity] confidentiality' } }, (r) =>
    assertRebooted(r, /^lockdown: kernel lockdown: none \[integrity\] confidentiality$/),
  );
  const efi = { current: '0001', order: ['0001'], entries: { '0001': 'UEFI PXEv4' } };
  await handoff({ fakes: { efi: { ...efi, secureBoot: 1 } } }, (r) => assertRebooted(r, /^secure-boot: /));
  await handoff({ fakes: { kexecLoadDisabled: '0', efi: { ...efi, secureBoot: 0 } } }, ({ reports }) =>
    assert.equal(reports, [{ type: 'handoff', method: 'kexec' }]),
  );
});

test('kexec -l fails: reboot with its message', async () => {
  await handoff(
    { fakes: { kexecLoad: { exit: 1, stderr: 'kexec_load failed: Operation not permitted' } } },
    (r) => {
      assert.is(r.reports[0]?.['reason'], 'kexec-load-failed: kexec_load failed: Operation not permitted');
      assert.is(r.run.calls('systemctl'), 'reboot\n');
    },
  );
});

test('the profile or a kexecDeny entry decided reboot; SMBIOS entries are checked on the machine', async () => {
  await handoff({ plan: { method: 'reboot', reason: 'profile' } }, (r) => assertRebooted(r, /^profile$/));
  const dmiDeny = [{ index: 2, manufacturer: 'Acme Inc.', product: '' }];
  await handoff({ plan: { dmiDeny }, fakes: { dmi: { vendor: 'Acme Inc.', product: 'Hangs 9000' } } }, (r) =>
    assertRebooted(r, /^denied: installer.kexecDeny\[2\] matches manufacturer=Acme Inc. product=Hangs 9000$/),
  );
  await handoff(
    { plan: { dmiDeny }, fakes: { dmi: { vendor: 'Other', product: 'Hangs 9000' } } },
    ({ reports }) => assert.equal(reports, [{ type: 'handoff', method: 'kexec' }]),
  );
});

test('a failed install: a plain reboot, no hand-off report', async () => {
  await handoff({ args: ['run', '3'] }, ({ run, reports }) => {
    assert.equal(reports, []);
    assert.is(run.calls('systemctl'), 'reboot\n');
    assert.is(run.calls('kexec'), '');
  });
});

test('UEFI prepare: a boot entry for the disk right after BootCurrent, older railyard entries replaced', async () => {
  if (skip) return;
  const efi = {
    current: '0003',
    order: ['0001', '0003', '0002', '0005'],
    entries: {
      '0001': 'UEFI Misc Device',
      '0002': 'UEFI HTTPv4',
      '0003': 'UEFI PXEv4',
      '0005': 'Flatcar Container Linux (railyard)',
    },
  };
  const work = mkdtempSync(join(tmpdir(), 'railyard-handoff-'));
  const disk = makeFlatcarDisk(work);
  try {
    const script = renderHandoffScript({
      installDisk: disk.device,
      plan: KEXEC_PLAN,
      kernelArgs: [],
    });
    const env = renderAttemptEnv({
      mac: MAC,
      attemptId: 1,
      reportUrl: 'http://127.0.0.1:9/none',
      token: TOKEN,
    });
    const run = await runHandoff(join(work, 'p'), script, env, [['prepare']], { cmdline: LIVE, efi });
    assert.is(run.efiOrder(), '0003,0000,0001,0002', run.stdout);
    const calls = run.calls('efibootmgr');
    assert.match(calls, '-q -b 0005 -B');
    assert.match(
      calls,
      `-q -c -d ${disk.device} -p 1 -L Flatcar Container Linux (railyard) -l \\EFI\\boot\\bootx64.efi`,
    );
  } finally {
    disk.detach();
    rmSync(work, { recursive: true, force: true });
  }
});

test('the rendered script passes shellcheck', () => {
  const dir = mkdtempSync(join(tmpdir(), 'railyard-handoff-sc-'));
  try {
    const file = join(dir, 'handoff.sh');
    writeFileSync(
      file,
      renderHandoffScript({
        installDisk: 'smallest',
        plan: { ...KEXEC_PLAN, dmiDeny: [{ index: 0, manufacturer: 'A', product: 'B' }] },
        kernelArgs: ['a=1'],
      }),
    );
    execFileSync('shellcheck', ['--severity=style', file]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
