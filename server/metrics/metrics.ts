// Prometheus metrics: one registry per server (created in the composition root, never the
// global default, so tests stay isolated) and the counters, gauges and histograms the
// transports and jobs update. Label values are bounded: routes are matched patterns, kinds
// and results are fixed sets.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

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
  readonly mirrorLastSuccess: Gauge;
  readonly mirrorLastTimestamp: Gauge;
  readonly mirrorLastBytes: Gauge;
  readonly mirrorLastDuration: Gauge;
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
  const gauge = (name: string, help: string) => new Gauge({ name, help, registers });
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
    mirrorLastSuccess: gauge(
      'railyard_mirror_last_refresh_success',
      '1 if the last mirror refresh succeeded',
    ),
    mirrorLastTimestamp: gauge(
      'railyard_mirror_last_refresh_timestamp_seconds',
      'When the last mirror refresh finished (Unix time)',
    ),
    mirrorLastBytes: gauge(
      'railyard_mirror_last_refresh_bytes',
      'Bytes downloaded by the last mirror refresh',
    ),
    mirrorLastDuration: gauge(
      'railyard_mirror_last_refresh_duration_seconds',
      'How long the last mirror refresh took',
    ),
  };
}

export interface MirrorRefreshOutcome {
  ok: boolean;
  /** ISO time or Date the refresh finished. */
  finishedAt: string | Date;
  bytes: number;
  seconds: number;
}

/** What the mirror job calls after each refresh (a RefreshRecord fits this shape). */
export function recordMirrorRefresh(metrics: RailyardMetrics, outcome: MirrorRefreshOutcome): void {
  metrics.mirrorRefreshes.inc({ result: outcome.ok ? 'ok' : 'failed' });
  metrics.mirrorLastSuccess.set(outcome.ok ? 1 : 0);
  metrics.mirrorLastTimestamp.set(new Date(outcome.finishedAt).getTime() / 1000);
  metrics.mirrorLastBytes.set(outcome.bytes);
  metrics.mirrorLastDuration.set(outcome.seconds);
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
