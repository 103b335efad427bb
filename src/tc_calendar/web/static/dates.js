// Calendar arithmetic on local dates ("day keys", YYYY-MM-DD) and formatting in the shown time zone: the
// browser's, or one chosen with setZone. Day keys are computed with UTC arithmetic so that daylight-saving days
// never have 23 or 25 hours here.

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

let shownZone = null;  // null: the browser's zone
let formats = null;    // the zone's formatters, made when first needed

/** Show times in `zone` (an IANA name such as "America/New_York"); null or '' for the browser's own. */
export function setZone(zone) {
  shownZone = zone || null;
  formats = null;
}

export const browserZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone;
/** The shown time zone, e.g. "Europe/Berlin". */
export const zoneId = () => shownZone ?? browserZone();

function zoned() {
  if (formats) return formats;
  const timeZone = zoneId();
  formats = {
    parts: new Intl.DateTimeFormat('en-US', {
      timeZone, year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric',
      second: 'numeric', hourCycle: 'h23',
    }),
    time: new Intl.DateTimeFormat(undefined, { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }),
    dateTime: new Intl.DateTimeFormat(undefined, {
      timeZone, day: '2-digit', month: '2-digit', year: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
    }),
    shortDate: new Intl.DateTimeFormat(undefined, { timeZone, day: '2-digit', month: '2-digit' }),
    offset: new Intl.DateTimeFormat('en-GB', { timeZone, timeZoneName: 'shortOffset' }),
  };
  return formats;
}

/** The wall-clock fields of an instant in the shown zone. */
function wallClock(ms) {
  const fields = {};
  for (const part of zoned().parts.formatToParts(new Date(ms))) fields[part.type] = Number(part.value);
  return fields;
}

/** How far the shown zone's wall clock is ahead of UTC at an instant, in ms. */
function offsetAt(ms) {
  const f = wallClock(ms);
  return Date.UTC(f.year, f.month - 1, f.day, f.hour, f.minute, f.second) - Math.floor(ms / 1000) * 1000;
}

/** The local date of a Date (or ISO string) in the shown time zone. */
export function localDayKey(value) {
  const f = wallClock(new Date(value).getTime());
  return dayKey(f.year, f.month, f.day);
}

export function todayKey() {
  return localDayKey(Date.now());
}

/** Midnight of a day key in the shown zone as a Date (the first instant of that day there). */
export function localMidnight(key) {
  const { year, month, day } = parseDayKey(key);
  const wall = Date.UTC(year, month - 1, day);
  let instant = wall - offsetAt(wall);
  instant = wall - offsetAt(instant);  // again with the offset in force then (a change of offset that night)
  return new Date(instant);
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

const dateFormatUtc = new Intl.DateTimeFormat(undefined, {
  day: '2-digit', month: '2-digit', year: 'numeric', timeZone: 'UTC',
});
const shortDateUtc = new Intl.DateTimeFormat(undefined, { day: '2-digit', month: '2-digit', timeZone: 'UTC' });
const monthFormat = new Intl.DateTimeFormat('en-GB', { month: 'long', year: 'numeric', timeZone: 'UTC' });
const longDayFormat = new Intl.DateTimeFormat('en-GB', {
  weekday: 'long', day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC',
});
const shortDayFormat = new Intl.DateTimeFormat('en-GB', { weekday: 'short', day: 'numeric', month: 'long', timeZone: 'UTC' });

const utcDate = (key) => new Date(`${key}T00:00:00Z`);

export const formatTime = (iso) => zoned().time.format(new Date(iso));

/**
 * "08:00 – 08:30"; "All day" for all-day events ("All day, 25.06. – 27.06." over several days); dates added when a
 * timed event spans several local days.
 */
export function formatTimeRange(occ) {
  if (occ.allDay) {
    const days = occurrenceDays(occ);
    if (days.length < 2) return 'All day';
    return `All day, ${shortDateUtc.format(utcDate(days[0]))} – ${shortDateUtc.format(utcDate(days[days.length - 1]))}`;
  }
  const start = new Date(occ.start);
  const end = new Date(occ.end);
  if (localDayKey(start) === localDayKey(new Date(Math.max(start.getTime(), end.getTime() - 1)))) {
    return `${zoned().time.format(start)} – ${zoned().time.format(end)}`;
  }
  return `${zoned().shortDate.format(start)} ${zoned().time.format(start)} – ${zoned().shortDate.format(end)} ${zoned().time.format(end)}`;
}

/** "28.06.2025, 08:00" (in the browser's locale and zone); all-day bounds as plain dates. */
export function formatDateTime(iso, allDay = false, isEnd = false) {
  if (allDay) {
    const d = new Date(iso);
    return dateFormatUtc.format(isEnd ? new Date(d.getTime() - 1) : d);
  }
  return zoned().dateTime.format(new Date(iso));
}

/** The zone's offset at `when`, e.g. "GMT+2", for the time grid's corner. */
export function zoneName(when = Date.now()) {
  return zoned().offset.formatToParts(new Date(when)).find((part) => part.type === 'timeZoneName')?.value ?? zoneId();
}

export const monthTitle = (key) => monthFormat.format(utcDate(key));
export const longDayTitle = (key) => longDayFormat.format(utcDate(key));
export const shortDayTitle = (key) => shortDayFormat.format(utcDate(key));
export const weekdayName = (key) => WEEKDAY_NAMES[weekdayIndex(key)];
