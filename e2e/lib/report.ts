// Printed per node: the serial console markers (seconds since QEMU start) and railyard's
// phase timeline (seconds per phase), so slowdowns show which phase grew; then the image
// path and its install phases as the installer reported them (write-image.sh progress).
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
  console.log(
    `  ${node.spec.name} railyard timeline: ${phases} | total ${total.toFixed(1)}s | ${imageFields(detail)}`,
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
