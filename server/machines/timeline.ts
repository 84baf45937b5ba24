// Provisioning timeline: phase durations derived from a machine's events (pure). Only the
// latest attempt counts: phases start at the last `install-script-served` (or, when the
// script was never served by us, at the first event of the latest install).
import type { EventType, MachineEvent } from './state.ts';

export const PHASES = [
  'script',
  'download',
  'installer',
  'install',
  'handoff',
  'reboot',
  'disk-boot',
] as const;
export type Phase = (typeof PHASES)[number];

export interface PhaseSpan {
  phase: Phase;
  start: string;
  /** null while the phase is still running (or its end was never reported). */
  end: string | null;
  seconds: number | null;
}

/**
 * Phases and the events that bound them:
 * - script: install script served → kernel download starts (kernel-fetched minus its durationMs)
 * - download: kernel download starts → last of kernel/initrd/installer fetched
 * - installer: downloads done → install-started (Flatcar PXE boot, Ignition, unit start)
 * - install: install-started → installed / install-failed (flatcar-install)
 * - handoff: installed → handoff (OEM grub.cfg, boot entry, kexec load; newer installers only)
 * - reboot: handoff (or installed) → disk-boot-script-served (reboot, firmware, PXE, iPXE);
 *   absent after a kexec hand-off, which skips the firmware
 * - disk-boot: disk-boot-script-served (after a kexec: handoff) → first-boot (the installed
 *   system's boot, Ignition, phone home)
 */
export function timeline(events: readonly MachineEvent[]): PhaseSpan[] {
  const attempt = latestAttempt(events);
  const first = (...types: EventType[]) => attempt.find((e) => types.includes(e.type));
  const fetched = attempt.filter(
    (e) => e.type === 'kernel-fetched' || e.type === 'initrd-fetched' || e.type === 'installer-fetched',
  );
  const kernel = first('kernel-fetched');
  const points: Array<[Phase, string | undefined, string | undefined]> = [];
  const scriptAt = first('install-script-served')?.at;
  const downloadStart = kernel ? minus(kernel.at, kernel.data['durationMs']) : fetched[0]?.at;
  const downloadEnd = fetched.at(-1)?.at;
  const started = first('install-started')?.at;
  const ended = first('installed', 'install-failed')?.at;
  const disk = first('disk-boot-script-served')?.at;
  const installed = first('installed')?.at;
  const handoff = first('handoff');
  const kexecAt = handoff?.data['method'] === 'kexec' ? handoff.at : undefined;
  points.push(['script', scriptAt, downloadStart]);
  points.push(['download', downloadStart, downloadEnd]);
  points.push(['installer', downloadEnd, started]);
  points.push(['install', started, ended]);
  if (handoff) points.push(['handoff', installed, handoff.at]);
  if (kexecAt === undefined) points.push(['reboot', handoff?.at ?? installed, disk]);
  points.push(['disk-boot', kexecAt ?? disk, first('first-boot')?.at]);
  return points
    .filter((p): p is [Phase, string, string | undefined] => p[1] !== undefined)
    .map(([phase, start, end]) => span(phase, start, end));
}

function latestAttempt(events: readonly MachineEvent[]): readonly MachineEvent[] {
  const sorted = [...events].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  let from = 0;
  sorted.forEach((e, i) => {
    if (e.type === 'install-script-served' || e.type === 'reprovision-requested') from = i;
  });
  return sorted.slice(from);
}

function minus(at: string, durationMs: unknown): string {
  return typeof durationMs === 'number' ? new Date(Date.parse(at) - durationMs).toISOString() : at;
}

function span(phase: Phase, start: string, end: string | undefined): PhaseSpan {
  if (end === undefined || end < start) return { phase, start, end: null, seconds: null };
  return { phase, start, end, seconds: (Date.parse(end) - Date.parse(start)) / 1000 };
}
