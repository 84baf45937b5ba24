// Download progress: a redrawn bar per file on a TTY (bytes, rate, ETA), one plain log
// line per file otherwise (cron, systemd), or nothing (--quiet, background job).
import type { Logger } from '../log.ts';

export interface FileProgress {
  /** `received`: bytes fetched over the network so far (excludes resumed bytes). */
  update(done: number, total: number | undefined, received: number): void;
  end(outcome: { received: number; size: number; resumedFrom: number } | undefined): void;
}

export interface ProgressSink {
  start(label: string): FileProgress;
}

export const noProgress: ProgressSink = { start: () => ({ update: () => undefined, end: () => undefined }) };

export function logProgress(log: Logger): ProgressSink {
  return {
    start(label) {
      const t0 = performance.now();
      return {
        update: () => undefined,
        end(outcome) {
          if (!outcome) return;
          const seconds = round((performance.now() - t0) / 1000);
          log.info(
            { file: label, ...outcome, seconds },
            `fetched ${label} (${formatBytes(outcome.received)})`,
          );
        },
      };
    },
  };
}

export function ttyProgress(out: NodeJS.WriteStream): ProgressSink {
  return {
    start(label) {
      const t0 = performance.now();
      let last = 0;
      const draw = (done: number, total: number | undefined, received: number) => {
        const secs = (performance.now() - t0) / 1000;
        const rate = secs > 0 ? received / secs : 0;
        out.write(`\r\x1b[K${renderBar(label, done, total, rate, out.columns ?? 80)}`);
      };
      return {
        update(done, total, received) {
          const now = performance.now();
          if (now - last < 100) return;
          last = now;
          draw(done, total, received);
        },
        end(outcome) {
          if (outcome) draw(outcome.size, outcome.size, outcome.received);
          out.write('\n');
        },
      };
    },
  };
}

/** One progress line: `name [####----] 45% 12.0 MB/27.0 MB 5.1 MB/s ETA 3s`. */
export function renderBar(
  label: string,
  done: number,
  total: number | undefined,
  rate: number,
  width: number,
): string {
  const pct = total ? Math.min(1, done / total) : undefined;
  const eta = total && rate > 0 ? `ETA ${Math.ceil((total - done) / rate)}s` : '';
  const sizes = `${formatBytes(done)}${total ? `/${formatBytes(total)}` : ''} ${formatBytes(rate)}/s ${eta}`;
  const name = label.length > 40 ? `…${label.slice(-39)}` : label;
  const room = Math.max(10, Math.min(30, width - name.length - sizes.length - 10));
  const filled = pct === undefined ? 0 : Math.round(pct * room);
  const bar = `[${'#'.repeat(filled)}${'-'.repeat(room - filled)}]`;
  const percent = pct === undefined ? '  ?%' : `${Math.round(pct * 100)}%`.padStart(4);
  return `${name} ${bar} ${percent} ${sizes}`.trimEnd();
}

export function formatBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
