// Logger factory. One root logger from config; subsystems take a child (`http`, `tftp`,
// `mirror`, `installer`, ...). Tests use `silentLogger()`.
import { type Logger, pino } from 'pino';

export type { Logger };

export type LogFormat = 'json' | 'pretty';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface LogOptions {
  level: LogLevel;
  format: LogFormat;
}

export function createLogger(options: LogOptions): Logger {
  const base = { level: options.level, base: { name: 'railyard' } };
  if (options.format === 'pretty') {
    return pino({
      ...base,
      transport: {
        target: 'pino-pretty',
        options: { colorize: process.stderr.isTTY, destination: 2, ignore: 'pid,hostname,name' },
      },
    });
  }
  return pino(base, pino.destination({ dest: 2, sync: false }));
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/** Default format: pretty on a TTY, JSON otherwise (cron, systemd, containers). */
export function defaultLogFormat(): LogFormat {
  return process.stderr.isTTY ? 'pretty' : 'json';
}
