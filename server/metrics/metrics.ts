// Prometheus metrics: one registry per server (created in the composition root, never the
// global default, so tests stay isolated) and the counters, gauges and histograms the
// transports and jobs update. Label values are bounded: routes are matched patterns, kinds
// and results are fixed sets.
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

export const BYTES_KINDS = ['kernel', 'initrd', 'image', 'installer', 'script', 'other'] as const;
export type BytesKind = (typeof BYTES_KINDS)[number];

/** Provisioning durations are measured from `install-script-served` until these events. */
export type ProvisionedUntil = 'installed' | 'first-boot';

export interface RailyardMetrics {
  readonly registry: Registry;
  /** railyard_http_requests_total{method, route, status}: route is the matched pattern. */
  readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  /** railyard_http_bytes_served_total{kind}: body bytes actually sent. */
  readonly bytesServed: Counter<'kind'>;
  /** railyard_tftp_transfers_total{result}: complete, client-error, timeout, aborted, failed. */
  readonly tftpTransfers: Counter<'result'>;
  /** railyard_tftp_errors_total{code}: TFTP ERROR packets sent, by TFTP error code (0–8). */
  readonly tftpErrors: Counter<'code'>;
  /** railyard_tftp_bytes_served_total: bytes acknowledged by TFTP clients. */
  readonly tftpBytes: Counter;
  /** railyard_provisioning_duration_seconds{until}: install script served → installed / first boot. */
  readonly provisioningSeconds: Histogram<'until'>;
  /** railyard_mirror_refreshes_total{result}: ok, failed. */
  readonly mirrorRefreshes: Counter<'result'>;
  /** railyard_handoffs_total{method, reason}: kexec / reboot; reason a fixed code, `none` for kexec. */
  readonly handoffs: Counter<'method' | 'reason'>;
}

export interface MetricsOptions {
  /** Node process metrics (CPU, memory, event loop lag, GC); on by default. */
  processMetrics?: boolean;
}

export function createMetrics(options: MetricsOptions = {}): RailyardMetrics {
  const registry = new Registry();
  if (options.processMetrics !== false) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
    new Counter<L>({ name, help, labelNames, registers });
  return {
    registry,
    httpRequests: counter('railyard_http_requests_total', 'HTTP requests by matched route and status', [
      'method',
      'route',
      'status',
    ]),
    bytesServed: counter('railyard_http_bytes_served_total', 'HTTP body bytes sent, by kind of file', [
      'kind',
    ]),
    tftpTransfers: counter('railyard_tftp_transfers_total', 'TFTP transfers by result', ['result']),
    tftpErrors: counter('railyard_tftp_errors_total', 'TFTP ERROR packets sent, by TFTP error code', [
      'code',
    ]),
    tftpBytes: new Counter({
      name: 'railyard_tftp_bytes_served_total',
      help: 'Bytes acknowledged by TFTP clients',
      registers,
    }),
    provisioningSeconds: new Histogram({
      name: 'railyard_provisioning_duration_seconds',
      help: 'Time from the install script being served until the machine reported installed / first boot',
      labelNames: ['until'],
      buckets: [30, 60, 120, 180, 300, 450, 600, 900, 1200, 1800, 3600, 7200],
      registers,
    }),
    mirrorRefreshes: counter('railyard_mirror_refreshes_total', 'Mirror refresh runs by result', ['result']),
    handoffs: counter(
      'railyard_handoffs_total',
      'Installer hand-offs to the installed system, by method (kexec, reboot) and reboot reason',
      ['method', 'reason'],
    ),
  };
}

export interface MirrorRefreshOutcome {
  ok: boolean;
}

/**
 * What the in-process mirror job calls after each run (a RefreshRecord fits). The
 * last-refresh gauges need no call: they are read from the status record on each scrape
 * (mirror-metrics.ts), so refreshes run by cron count too.
 */
export function recordMirrorRefresh(metrics: RailyardMetrics, outcome: MirrorRefreshOutcome): void {
  metrics.mirrorRefreshes.inc({ result: outcome.ok ? 'ok' : 'failed' });
}

/** Which kind of file a served path is, for railyard_http_bytes_served_total. */
export function bytesKind(path: string): BytesKind {
  if (path === '/ipxe' || path.endsWith('.ipxe')) return 'script';
  if (path.includes('/installer/')) return 'installer';
  if (path.endsWith('.vmlinuz')) return 'kernel';
  if (path.endsWith('.cpio.gz')) return 'initrd';
  if (path.endsWith('_image.bin.bz2')) return 'image';
  return 'other';
}
