// Maintenance windows: offers are made only between `start` and `end` (HH:MM, 24 h) on the
// listed days (default every day), in `timezone` (an IANA name, default UTC). A window whose
// end is before its start runs past midnight; its day is the day it starts.
import { z } from 'zod';

export const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
const HHMM = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'expected HH:MM (24 h), e.g. 02:00');

export const windowSchema = z
  .strictObject({
    start: HHMM,
    end: HHMM,
    days: z.array(z.enum(DAYS)).min(1).optional(),
    timezone: z
      .string()
      .default('UTC')
      .refine(validZone, 'expected an IANA time zone such as UTC or Europe/Berlin'),
  })
  .refine((w) => w.start !== w.end, 'start and end must differ');

export type UpdateWindow = z.output<typeof windowSchema>;

// UTC (the default) is answered without Intl: the first Intl.DateTimeFormat loads ICU's
// time-zone and calendar data, about 8 MiB of resident memory (BENCHMARKS.md, issue 18), which
// a server whose windows are all in UTC never needs.
function validZone(zone: string): boolean {
  if (zone === 'UTC') return true;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** Day index (0 = Sunday) and minutes since midnight of `at` in `zone`. */
function localTime(at: Date, zone: string): { day: number; minutes: number } {
  if (zone === 'UTC') return { day: at.getUTCDay(), minutes: at.getUTCHours() * 60 + at.getUTCMinutes() };
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: zone,
    weekday: 'short',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(at);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  const day = DAYS.indexOf(get('weekday').toLowerCase().slice(0, 3) as (typeof DAYS)[number]);
  return { day, minutes: Number(get('hour')) * 60 + Number(get('minute')) };
}

const toMinutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

export function inWindow(w: UpdateWindow, at: Date): boolean {
  const { day, minutes } = localTime(at, w.timezone);
  const start = toMinutes(w.start);
  const end = toMinutes(w.end);
  const dayOk = (d: number) => !w.days || w.days.includes(DAYS[(d + 7) % 7] as (typeof DAYS)[number]);
  if (start < end) return minutes >= start && minutes < end && dayOk(day);
  // past midnight: the evening part belongs to today, the morning part to yesterday's window
  if (minutes >= start) return dayOk(day);
  return minutes < end && dayOk(day - 1);
}
