// The week and day views as time grids, as in Outlook and Google Calendar: a column per day with an hour scale,
// timed events placed by their start and length (overlapping ones side by side), all-day and multi-day events as
// bars across the days they cover, and a line at the current time. Past events are dimmed and have no Join.

import { h } from './dom.js';
import { addDays, localDayKey, localMidnight, longDayTitle, occurrenceDays, shortDayTitle, zoneName } from './dates.js';
import { byStart, eventItem } from './events.js';

export const HOUR_PX = 48;
/** A short event still gets room for its title: it is drawn (and laid out) at least this long. */
const MIN_MINUTES = 24;
const DAY_MS = 24 * 60 * 60 * 1000;

/** Whether an occurrence goes in the bar row: all-day events, and timed ones lasting a day or more. */
export function isBar(occ) {
  return occ.allDay || Date.parse(occ.end) - Date.parse(occ.start) >= DAY_MS;
}

/**
 * The pieces of the timed occurrences on one day, in minutes from its midnight, with their lane (column) and the
 * number of lanes of their overlapping group: a meeting crossing midnight is a piece on each of its days.
 */
export function dayPieces(day, occurrences) {
  const midnight = localMidnight(day).getTime();
  const next = localMidnight(addDays(day, 1)).getTime();
  const pieces = occurrences
    .filter((occ) => !isBar(occ))
    .map((occ) => {
      const start = Math.max(Date.parse(occ.start), midnight);
      const end = Math.min(Math.max(Date.parse(occ.end), Date.parse(occ.start)), next);
      const top = (start - midnight) / 60000;
      return { occ, top, minutes: Math.max((end - start) / 60000, MIN_MINUTES) };
    })
    .filter((piece) => piece.top < (next - midnight) / 60000)
    .sort((a, b) => a.top - b.top || b.minutes - a.minutes);
  let group = [];
  let lanes = [];  // end (minutes) of the last piece in each lane of the current group
  const closeGroup = () => { for (const piece of group) piece.lanes = lanes.length; group = []; lanes = []; };
  for (const piece of pieces) {
    if (group.length && lanes.every((end) => end <= piece.top)) closeGroup();
    let lane = lanes.findIndex((end) => end <= piece.top);
    if (lane < 0) { lane = lanes.length; lanes.push(0); }
    lanes[lane] = piece.top + piece.minutes;
    piece.lane = lane;
    group.push(piece);
  }
  closeGroup();
  return pieces;
}

/**
 * Bars over `days` (consecutive days): {occ, first, span, before, after} (column indexes; before/after: the
 * occurrence goes on past the first/last day, so the bar's edge says it continues), each in the first lane
 * (`row`) where it overlaps no other bar. isBarOcc picks the occurrences drawn as bars.
 */
export function barRows(days, occurrences, isBarOcc = isBar) {
  const bars = [];
  const seen = new Set();
  for (const occ of occurrences.filter(isBarOcc)) {
    const key = `${occ.key.uid}\u0000${occ.key.recurrenceId ?? ''}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const own = occurrenceDays(occ);
    const covered = own.map((day) => days.indexOf(day)).filter((i) => i >= 0);
    if (!covered.length) continue;
    bars.push({
      occ, first: Math.min(...covered), span: covered.length, before: own[0] < days[0], after: own[own.length - 1] > days[days.length - 1],
    });
  }
  bars.sort((a, b) => a.first - b.first || b.span - a.span || byStart(a.occ, b.occ));
  const rows = [];  // per row: the first free column
  for (const bar of bars) {
    let row = rows.findIndex((free) => free <= bar.first);
    if (row < 0) { row = rows.length; rows.push(0); }
    rows[row] = bar.first + bar.span;
    bar.row = row;
  }
  return bars;
}

/** A bar's event row, with the marks of the edges where it continues past the shown days. */
export function barItem(bar, onOpenEvent, options = {}) {
  const item = eventItem(bar.occ, onOpenEvent, { compact: true, ...options });
  item.classList.add('bar');
  if (bar.before) item.classList.add('continues-before');
  if (bar.after) item.classList.add('continues-after');
  return item;
}

const hourLabel = (hour) => `${String(hour).padStart(2, '0')}:00`;

/**
 * The time grid of `days` (seven for a week, one for a day). byDay: Map(dayKey -> occurrences); now: ms since
 * the epoch; onOpenDay(day): a day's heading opens it (null in the day view).
 */
export function renderTimeGrid({ days, today, byDay, now, onOpenEvent, onOpenDay, label }) {
  const all = days.flatMap((day) => byDay.get(day) ?? []);
  const bars = barRows(days, all);
  const past = (occ) => Date.parse(occ.end) <= now;
  const columns = { style: { '--days': String(days.length) } };

  const head = h('div', { class: 'tg-head', ...columns },
    h('div', { class: 'tg-zone', title: 'Time zone' }, zoneName(now)),
    days.map((day) => h('div', {
      class: `tg-dayhead${day === today ? ' today' : ''}`, dataset: { day },
      'aria-current': day === today ? 'date' : null,
    },
    onOpenDay
      ? h('button', { type: 'button', class: 'link', 'aria-label': `Open ${longDayTitle(day)}`, onclick: () => onOpenDay(day) },
        shortDayTitle(day))
      : h('span', {}, shortDayTitle(day)))));

  const barList = h('ul', { class: 'tg-bars', ...columns, 'aria-label': 'All-day and multi-day events' },
    bars.map((bar) => {
      const item = barItem(bar, onOpenEvent, { past: past(bar.occ) });
      item.style.gridColumn = `${bar.first + 1} / span ${bar.span}`;
      item.style.gridRow = String(bar.row + 1);
      return item;
    }));

  const nowDay = localDayKey(now);
  const body = h('div', { class: 'tg-body', ...columns },
    h('div', { class: 'tg-hours', 'aria-hidden': 'true' },
      Array.from({ length: 24 }, (_, hour) => h('span', { class: 'tg-hour', style: { top: `${hour * HOUR_PX}px` } },
        hour ? hourLabel(hour) : ''))),
    days.map((day) => {
      const pieces = dayPieces(day, byDay.get(day) ?? []);
      return h('section', {
        class: `day-column${day === today ? ' today' : ''}`, dataset: { day }, 'aria-label': longDayTitle(day),
      },
      pieces.length ? h('ul', { class: 'tg-events' }, pieces.map((piece) => {
        const item = eventItem(piece.occ, onOpenEvent, { compact: true, past: past(piece.occ) });
        item.classList.add('timed');
        const width = 100 / piece.lanes;
        item.style.cssText = `top: ${(piece.top / 60) * HOUR_PX}px; height: ${(piece.minutes / 60) * HOUR_PX - 2}px; `
          + `left: ${piece.lane * width}%; width: calc(${width}% - 2px)`;
        if (piece.minutes < 45) item.classList.add('short');
        return item;
      })) : null,
      day === nowDay ? h('div', {
        class: 'now-line', style: { top: `${((now - localMidnight(day).getTime()) / 3600000) * HOUR_PX}px` },
        role: 'img', 'aria-label': 'Current time',
      }) : null);
    }));

  return h('div', { class: 'timegrid', role: 'region', 'aria-label': `Time grid, ${label}`, tabindex: '-1' },
    head,
    h('div', { class: 'tg-allday', ...columns }, h('div', { class: 'tg-gutter' }, 'All day'), barList),
    // Focusable, so the hours can be scrolled with the keyboard also on a day without events.
    h('div', { class: 'tg-scroll', tabindex: '0', role: 'group', 'aria-label': 'Hours' }, body));
}

/** Where to scroll a fresh grid: to 07:00, the working day; on today's grid to an hour before now when now is
 * before 07:00 or late enough to be out of sight from there. */
export function initialScroll(days, now) {
  const hours = (now - localMidnight(localDayKey(now)).getTime()) / 3600000;
  const start = days.includes(localDayKey(now)) && (hours < 7 || hours > 16) ? Math.max(0, hours - 1) : 7;
  return Math.min(start, 16) * HOUR_PX;
}
