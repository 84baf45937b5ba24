// Printed per node (one QEMU run): a summary line, then the serial console markers (seconds
// since QEMU start) and railyard's phase timeline (seconds per phase), so slowdowns show which
// phase grew, with the image path and its install phases as the installer reported them
// (write-image.sh progress). The summary line is a contract (issue 13), e.g.
//   n1 posts=1 handoff=kexec power-on→first-boot 31.2s
// Its fields come from NODE_FIELDS, in order: to add one, push a function that returns the
// field's text (or undefined to leave it out), e.g. `download 1.2s write 3.4s`.
import type { MachineDetail } from './api.ts';
import type { NodeRun } from './node-run.ts';

export type NodeField = (node: NodeRun, detail: MachineDetail | undefined) => string | undefined;

/**
 * A firmware POST on the serial console: SeaBIOS's banner, or OVMF's console reset (ESC [ = 3 h,
 * set 80x25 mode), which it prints on one line once per POST, before its boot manager's first
 * line (on the same line when that entry fails at once, alone when it is the network).
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: OVMF's reset is an escape sequence
export const POST_BANNER = /SeaBIOS \(version |\x1b\[=3h/;

export function postCount(node: NodeRun): number {
  return node.lines.filter((l) => POST_BANNER.test(l.text)).length;
}

export const NODE_FIELDS: NodeField[] = [
  (node) => `posts=${postCount(node)}`,
  (_node, detail) => {
    const handoff = detail?.events.filter((e) => e.type === 'handoff').at(-1);
    return handoff ? `handoff=${String(handoff.data['method'])}` : undefined;
  },
  (node) => {
    const t = node.marks.find((m) => m.label === 'first boot')?.t;
    return t === undefined ? undefined : `power-on→first-boot ${t.toFixed(1)}s`;
  },
  (node) => {
    const exit = node.marks.find((m) => m.label === 'exit to firmware')?.t;
    const done = node.marks.find((m) => m.label === 'boot done')?.t;
    return exit === undefined || done === undefined ? undefined : `disk-boot ${(done - exit).toFixed(1)}s`;
  },
];

export function nodeSummary(node: NodeRun, detail?: MachineDetail): string {
  const fields = NODE_FIELDS.map((f) => f(node, detail)).filter((f): f is string => f !== undefined);
  return `${node.spec.name} ${fields.join(' ')}`;
}

export function printNodeReport(node: NodeRun, detail?: MachineDetail): void {
  console.log(`  ${nodeSummary(node, detail)}`);
  const marks = node.marks.map((m) => `${m.label} +${m.t.toFixed(1)}s`).join(' | ');
  console.log(`  ${node.spec.name} (${node.spec.firmware}, ${node.spec.mac}) console: ${marks}`);
  if (!detail) return;
  const phases = detail.timeline
    .map((p) => `${p.phase} ${p.seconds === null ? 'open' : `${p.seconds.toFixed(1)}s`}`)
    .join(' | ');
  const total = detail.timeline.reduce((s, p) => s + (p.seconds ?? 0), 0);
  const handoff = detail.events.filter((e) => e.type === 'handoff').at(-1);
  const reason =
    typeof handoff?.data['reason'] === 'string' ? ` | handoff reason: ${handoff.data['reason']}` : '';
  console.log(
    `  ${node.spec.name} railyard timeline: ${phases} | total ${total.toFixed(1)}s | ${imageFields(detail)}${reason}`,
  );
}

/**
 * The latest attempt's image path and phases, e.g. `image=zstd/dense download 1.1s 28.3MB/s
 * write 2.0s 17.4MB/s verify 0.4s 51.0MB/s` (`image=?` before any report).
 */
export function imageFields(detail: MachineDetail): string {
  const start = detail.events.findLastIndex((e) => e.type === 'install-started');
  const progress = detail.events.slice(start + 1).filter((e) => e.type === 'progress');
  const plan = progress.findLast((e) => e.data['phase'] === 'plan');
  const parts = [`image=${plan ? `${plan.data['image']}/${plan.data['writer']}` : '?'}`];
  for (const phase of ['download', 'write', 'verify']) {
    const done = progress.findLast((e) => e.data['phase'] === phase && typeof e.data['seconds'] === 'number');
    if (done)
      parts.push(
        `${phase} ${Number(done.data['seconds']).toFixed(1)}s ${Number(done.data['mbps']).toFixed(1)}MB/s`,
      );
  }
  return parts.join(' ');
}
