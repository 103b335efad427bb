// Calendar arithmetic on local dates ("day keys", YYYY-MM-DD) and formatting in the browser's time zone.
// Day keys are computed with UTC arithmetic so that daylight-saving days never have 23 or 25 hours here.

export const WEEKDAYS = ['MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT', 'SUN'];
const WEEKDAY_NAMES = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
const MAX_SPAN_DAYS = 62;

const pad = (n) => String(n).padStart(2, '0');

export function dayKey(year, month, day) {
  const d = new Date(Date.UTC(year, month - 1, day));
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
}

export function parseDayKey(key) {
  const [y, m, d] = key.split('-').map(Number);
  return { year: y, month: m, day: d };
}

export function isDayKey(text) {
  return typeof text === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(text) && !Number.isNaN(Date.parse(`${text}T00:00:00Z`));
}

export function addDays(key, n) {
  const { year, month, day } = parseDayKey(key);
  return dayKey(year, month, day + n);
}

/** 0 for Monday ... 6 for Sunday (weeks start on Monday, as in TrueConf's calendar). */
export function weekdayIndex(key) {
  const { year, month, day } = parseDayKey(key);
  return (new Date(Date.UTC(year, month - 1, day)).getUTCDay() + 6) % 7;
}

export function startOfWeek(key) {
  return addDays(key, -weekdayIndex(key));
}

export function addMonths(key, n) {
  const { year, month, day } = parseDayKey(key);
  const lastDay = new Date(Date.UTC(year, month - 1 + n + 1, 0)).getUTCDate();
  return dayKey(year, month + n, Math.min(day, lastDay));
}

/** Six weeks of seven day keys, Monday first, covering the month of key. */
export function monthGrid(key) {
  const { year, month } = parseDayKey(key);
  const first = startOfWeek(dayKey(year, month, 1));
  return Array.from({ length: 6 }, (_, w) => Array.from({ length: 7 }, (_, d) => addDays(first, w * 7 + d)));
}

export function sameMonth(a, b) {
  return a.slice(0, 7) === b.slice(0, 7);
}

/** The local date of a Date (or ISO string) in the browser's time zone. */
export function localDayKey(value) {
  const d = new Date(value);
  return dayKey(d.getFullYear(), d.getMonth() + 1, d.getDate());
}

export function todayKey() {
  return localDayKey(Date.now());
}

/** Local midnight of a day key as a Date. */
export function localMidnight(key) {
  const { year, month, day } = parseDayKey(key);
  return new Date(year, month - 1, day);
}

/**
 * The local days an occurrence appears on. All-day events carry midnight UTC of their own dates (protocol), so
 * their days are read in UTC, never shifted by the viewer's zone; the end is exclusive.
 */
export function occurrenceDays(occ) {
  const start = new Date(occ.start);
  const end = new Date(occ.end);
  const lastInstant = new Date(Math.max(start.getTime(), end.getTime() - 1));
  const first = occ.allDay ? start.toISOString().slice(0, 10) : localDayKey(start);
  const last = occ.allDay ? lastInstant.toISOString().slice(0, 10) : localDayKey(lastInstant);
  const days = [first];
  while (days.length < MAX_SPAN_DAYS && days[days.length - 1] < last) days.push(addDays(days[days.length - 1], 1));
  return days;
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
const dateTimeFormat = new Intl.DateTimeFormat(undefined, {
  day: '2-digit', month: '2-digit', year: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
});
const dateFormatUtc = new Intl.DateTimeFormat(undefined, {
  day: '2-digit', month: '2-digit', year: 'numeric', timeZone: 'UTC',
});
const shortDateFormat = new Intl.DateTimeFormat(undefined, { day: '2-digit', month: '2-digit' });
const monthFormat = new Intl.DateTimeFormat('en-GB', { month: 'long', year: 'numeric', timeZone: 'UTC' });
const longDayFormat = new Intl.DateTimeFormat('en-GB', {
  weekday: 'long', day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC',
});
const shortDayFormat = new Intl.DateTimeFormat('en-GB', { weekday: 'short', day: 'numeric', month: 'long', timeZone: 'UTC' });

const utcDate = (key) => new Date(`${key}T00:00:00Z`);

export const formatTime = (iso) => timeFormat.format(new Date(iso));

/** "08:00 – 08:30"; "All day" for all-day events; dates added when the event spans several local days. */
export function formatTimeRange(occ) {
  if (occ.allDay) return 'All day';
  const start = new Date(occ.start);
  const end = new Date(occ.end);
  if (localDayKey(start) === localDayKey(new Date(Math.max(start.getTime(), end.getTime() - 1)))) {
    return `${timeFormat.format(start)} – ${timeFormat.format(end)}`;
  }
  return `${shortDateFormat.format(start)} ${timeFormat.format(start)} – ${shortDateFormat.format(end)} ${timeFormat.format(end)}`;
}

/** "28.06.2025, 08:00" (in the browser's locale and zone); all-day bounds as plain dates. */
export function formatDateTime(iso, allDay = false, isEnd = false) {
  if (allDay) {
    const d = new Date(iso);
    return dateFormatUtc.format(isEnd ? new Date(d.getTime() - 1) : d);
  }
  return dateTimeFormat.format(new Date(iso));
}

const zoneOffsetFormat = new Intl.DateTimeFormat('en-GB', { timeZoneName: 'shortOffset' });

/** The browser's time zone, e.g. "Europe/Berlin". */
export const zoneId = () => Intl.DateTimeFormat().resolvedOptions().timeZone;

/** The zone's offset at `when`, e.g. "GMT+2", for the time grid's corner. */
export function zoneName(when = Date.now()) {
  return zoneOffsetFormat.formatToParts(new Date(when)).find((part) => part.type === 'timeZoneName')?.value ?? zoneId();
}

export const monthTitle = (key) => monthFormat.format(utcDate(key));
export const longDayTitle = (key) => longDayFormat.format(utcDate(key));
export const shortDayTitle = (key) => shortDayFormat.format(utcDate(key));
export const weekdayName = (key) => WEEKDAY_NAMES[weekdayIndex(key)];
