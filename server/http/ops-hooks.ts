// The HTTP hooks the dashboard and metrics need, built once for main.ts and the test app:
// bytes served by kind on delivery, image download progress per client, the address a
// machine's requests come from, and the MAC-carrying downloads on the machine's timeline.
import type { DownloadRecorder } from '../boot/downloads.ts';
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
): Pick<HttpDeps, 'onDelivered' | 'onProgress' | 'onMachineClient'> {
  return {
    onDelivered: (c, d) => {
      const ip = clientAddress(c);
      deps.downloads.record(c.get('mac'), d, ip);
      if (d.bytes > 0) deps.metrics.bytesServed.inc({ kind: bytesKind(d.path) }, d.bytes);
      if (ip) deps.progress.delivered(ip, d.path, d.bytes, d.size, d.complete);
    },
    onProgress: (c, path, sent, length) => {
      const ip = clientAddress(c);
      if (ip) deps.progress.progress(ip, path, sent, length);
    },
    onMachineClient: (mac, ip) => deps.progress.sawMachine(mac, ip),
  };
}
