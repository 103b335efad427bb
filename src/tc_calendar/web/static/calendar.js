// The calendar views: the month grid (weeks Monday to Sunday, other months' days dimmed, events over several
// days as bars) and the day lists used for a day, a week, and the whole month on a phone. Pure rendering: state
// and events come from app.js.

import { h } from './dom.js';
import {
  WEEKDAYS, addDays, formatTime, longDayTitle, monthGrid, monthTitle, occurrenceDays, parseDayKey, sameMonth,
  shortDayTitle, weekdayName,
} from './dates.js';
import { eventItem } from './events.js';
import { barItem, barRows } from './timegrid.js';

const MAX_IN_CELL = 4;  // lines of a day cell: bar lanes and single-day events; more become "+N more"

/** In the month an event is a bar when it covers several days in the shown zone (all-day or across midnight). */
export const spansDays = (occ) => occurrenceDays(occ).length > 1;

/**
 * The month of `anchor` as an ARIA grid, one tab stop: only the selected day is in the tab order (roving
 * tabindex), arrow keys move it (app.js), and the events, Join links and "+N more" inside are focusable only by
 * script. Events over several days are bars across the days they cover in each week row, split at the row's
 * edges, in lanes above the single-day events; a bar's elements sit in the cell where it starts and reach over
 * the next cells, so the grid keeps rows of cells only. byDay: Map(dayKey -> sorted occurrences).
 */
export function renderMonth({ anchor, today, byDay, onOpenEvent, onOpenDay }) {
  const weeks = monthGrid(anchor);
  const head = h('div', { role: 'row', class: 'month-head' },
    WEEKDAYS.map((name, i) => h('div', { role: 'columnheader', class: 'weekday', 'aria-label': weekdayName(weeks[0][i]) }, name)));
  const rows = weeks.map((week) => {
    const bars = barRows(week, week.flatMap((day) => byDay.get(day) ?? []), spansDays);
    const lanes = bars.reduce((most, bar) => Math.max(most, bar.row + 1), 0);
    return h('div', { role: 'row', class: 'week' }, week.map((day, column) => dayCell({
      day, anchor, today, events: byDay.get(day) ?? [], lanes, bars: bars.filter((bar) => bar.first === column),
      onOpenEvent, onOpenDay,
    })));
  });
  return h('div', { role: 'grid', class: 'month', 'aria-label': monthTitle(anchor), 'aria-readonly': 'true' }, head, rows);
}

function dayCell({ day, anchor, today, events, lanes, bars, onOpenEvent, onOpenDay }) {
  const singles = events.filter((occ) => !spansDays(occ));
  const room = Math.max(1, MAX_IN_CELL - lanes);
  const shown = singles.length > room ? singles.slice(0, room - 1) : singles;
  const hidden = singles.length - shown.length;
  const classes = ['day', sameMonth(day, anchor) ? '' : 'other-month', day === today ? 'today' : '',
    day === anchor ? 'selected' : ''].filter(Boolean).join(' ');
  const count = events.length === 1 ? '1 event' : `${events.length || 'no'} events`;
  return h('div', {
    role: 'gridcell', class: classes, tabindex: day === anchor ? '0' : '-1',
    'aria-selected': day === anchor ? 'true' : 'false',
    'aria-current': day === today ? 'date' : null,
    'aria-label': `${longDayTitle(day)}, ${count}`,
    dataset: { day },
  },
  h('button', {
    type: 'button', class: 'day-number', tabindex: '-1', 'aria-label': `Open ${longDayTitle(day)}`,
    onclick: () => onOpenDay(day),
  }, String(parseDayKey(day).day)),
  // The same height in every cell of the row, so that a bar's lane lines up across the days it covers.
  lanes ? h(bars.length ? 'ul' : 'div', { class: 'day-bars', style: { '--lanes': String(lanes) } }, bars.map((bar) => {
    const item = barItem(bar, onOpenEvent, { tabStop: false });
    // A timed bar shows where it starts, as a calendar's bars do; its whole range is in its label and details.
    const time = item.querySelector('.event-time');
    if (time && !bar.occ.allDay) time.textContent = bar.before ? '' : formatTime(bar.occ.start);
    item.style.setProperty('--lane', String(bar.row));
    item.style.setProperty('--span', String(bar.span));
    return item;
  })) : null,
  shown.length ? h('ul', { class: 'day-events' }, shown.map((occ) => eventItem(occ, onOpenEvent, { compact: true, tabStop: false }))) : null,
  hidden > 0 ? h('button', { type: 'button', class: 'more', tabindex: '-1', onclick: () => onOpenDay(day) }, `+${hidden} more`) : null);
}

/**
 * Days as lists of events (day view, week view, and the month on a narrow screen). onlyBusy: leave out days
 * without events (but keep today), for the phone's month list.
 */
export function renderDays({ days, today, byDay, onOpenEvent, onOpenDay, label, onlyBusy = false }) {
  const sections = days
    .filter((day) => !onlyBusy || day === today || (byDay.get(day) ?? []).length)
    .map((day) => {
      const events = byDay.get(day) ?? [];
      const heading = h('h3', { class: 'agenda-date' },
        onOpenDay ? h('button', { type: 'button', class: 'link', onclick: () => onOpenDay(day) }, shortDayTitle(day))
          : shortDayTitle(day),
        day === today ? h('span', { class: 'today-badge' }, 'Today') : null);
      return h('section', { class: `agenda-day${day === today ? ' today' : ''}`, dataset: { day }, 'aria-label': longDayTitle(day) },
        heading,
        events.length ? h('ul', { class: 'agenda-events' }, events.map((occ) => eventItem(occ, onOpenEvent)))
          : h('p', { class: 'empty' }, 'No events'));
    });
  return h('div', { class: 'agenda', role: 'region', 'aria-label': label, tabindex: '-1' },
    sections.length ? sections : h('p', { class: 'empty' }, 'No events this month'));
}

export function weekDays(startMonday) {
  return Array.from({ length: 7 }, (_, i) => addDays(startMonday, i));
}
