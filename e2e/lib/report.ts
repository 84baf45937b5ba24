// Printed per node: the serial console markers (seconds since QEMU start) and railyard's
// phase timeline (seconds per phase), so slowdowns show which phase grew.
import type { MachineDetail } from './api.ts';
import type { NodeRun } from './node-run.ts';

export function printNodeReport(node: NodeRun, detail?: MachineDetail): void {
  const marks = node.marks.map((m) => `${m.label} +${m.t.toFixed(1)}s`).join(' | ');
  console.log(`  ${node.spec.name} (${node.spec.firmware}, ${node.spec.mac}) console: ${marks}`);
  if (!detail) return;
  const phases = detail.timeline
    .map((p) => `${p.phase} ${p.seconds === null ? 'open' : `${p.seconds.toFixed(1)}s`}`)
    .join(' | ');
  const total = detail.timeline.reduce((s, p) => s + (p.seconds ?? 0), 0);
  console.log(`  ${node.spec.name} railyard timeline: ${phases} | total ${total.toFixed(1)}s`);
}
