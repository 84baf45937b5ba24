// The HTTP hooks the dashboard and metrics need, built once for main.ts and the test app:
// bytes served by kind on delivery, image download progress per client, the address an
// install attempt's authenticated requests come from, and the MAC-carrying downloads on the
// machine's timeline.
import type { DownloadRecorder } from '../boot/downloads.ts';
import { normalizeIp } from '../boot/views.ts';
import { bytesKind, type RailyardMetrics } from '../metrics/metrics.ts';
import type { ImageProgress } from '../ui/progress.ts';
import type { HttpDeps } from './app.ts';
import { clientAddress } from './client.ts';

export interface OpsHookDeps {
  downloads: DownloadRecorder;
  metrics: RailyardMetrics;
  progress: ImageProgress;
}

export function opsHooks(
  deps: OpsHookDeps,
): Pick<HttpDeps, 'onDelivered' | 'onProgress' | 'onAttemptClient'> {
  return {
    onDelivered: (c, d) => {
      const ip = clientAddress(c);
      deps.downloads.record(c.get('mac'), d, ip);
      if (d.bytes > 0) deps.metrics.bytesServed.inc({ kind: bytesKind(d.path) }, d.bytes);
      const key = normalizeIp(ip);
      if (key) deps.progress.delivered(key, d.path, d.bytes, d.size, d.complete);
    },
    onProgress: (c, path, sent, length) => {
      const key = normalizeIp(clientAddress(c));
      if (key) deps.progress.progress(key, path, sent, length);
    },
    onAttemptClient: (attemptId, ip) => deps.progress.sawAttempt(attemptId, ip),
  };
}
