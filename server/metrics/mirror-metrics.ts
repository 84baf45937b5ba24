// Mirror refresh gauges, read from the mirror's status record (`<dataDir>/mirror/.status.json`)
// on each scrape, so a refresh by the server's job and one by `railyard mirror refresh`
// (cron, systemd timer) are both seen. All four are 0 until the first refresh.
import { Gauge } from 'prom-client';
import type { RailyardMetrics } from './metrics.ts';

export interface LastRefresh {
  ok: boolean;
  /** ISO time the refresh finished. */
  finishedAt: string;
  bytes: number;
  seconds: number;
}

export type MirrorStatusSource = () => Promise<{ lastRefresh?: LastRefresh }>;

export function registerMirrorGauges(metrics: RailyardMetrics, status: MirrorStatusSource): void {
  let last: Promise<LastRefresh | undefined> | undefined;
  // One status read per scrape, shared by the four gauges.
  const read = () => {
    last ??= status()
      .then((s) => s.lastRefresh)
      .finally(() => setTimeout(() => (last = undefined), 0));
    return last;
  };
  const gauge = (name: string, help: string, value: (r: LastRefresh) => number) =>
    new Gauge({
      name,
      help,
      registers: [metrics.registry],
      async collect() {
        const r = await read().catch(() => undefined);
        this.set(r ? value(r) : 0);
      },
    });
  gauge('railyard_mirror_last_refresh_success', '1 if the last mirror refresh succeeded', (r) =>
    r.ok ? 1 : 0,
  );
  gauge(
    'railyard_mirror_last_refresh_timestamp_seconds',
    'When the last mirror refresh finished (Unix time)',
    (r) => Date.parse(r.finishedAt) / 1000 || 0,
  );
  gauge('railyard_mirror_last_refresh_bytes', 'Bytes downloaded by the last mirror refresh', (r) => r.bytes);
  gauge(
    'railyard_mirror_last_refresh_duration_seconds',
    'How long the last mirror refresh took',
    (r) => r.seconds,
  );
}
