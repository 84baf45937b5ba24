// Test-only: a pino logger whose JSON lines are parsed into an array, for assertions on what
// was logged.
import { Writable } from 'node:stream';
import { type Logger, pino } from 'pino';

export function captureLog<Line = Record<string, unknown>>(level = 'info'): { log: Logger; lines: Line[] } {
  const lines: Line[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Line);
      done();
    },
  });
  return { log: pino({ level }, sink), lines };
}
