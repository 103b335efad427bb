// The calendar views: the month grid (weeks Monday to Sunday, other months' days dimmed) and the day lists
// used for a day, a week, and the whole month on a phone. Pure rendering: state and events come from app.js.

import { h } from './dom.js';
import {
  WEEKDAYS, addDays, longDayTitle, monthGrid, monthTitle, parseDayKey, sameMonth, shortDayTitle, weekdayName,
} from './dates.js';
import { eventItem } from './events.js';

const MAX_IN_CELL = 4;

/**
 * The month of `anchor` as an ARIA grid. Only the selected day is in the tab order (roving tabindex); arrow
 * keys move it (handled in app.js). byDay: Map(dayKey -> sorted occurrences).
 */
export function renderMonth({ anchor, today, byDay, onOpenEvent, onOpenDay }) {
  const weeks = monthGrid(anchor);
  const head = h('div', { role: 'row', class: 'month-head' },
    WEEKDAYS.map((name, i) => h('div', { role: 'columnheader', class: 'weekday', 'aria-label': weekdayName(weeks[0][i]) }, name)));
  const rows = weeks.map((week) => h('div', { role: 'row', class: 'week' }, week.map((day) => {
    const events = byDay.get(day) ?? [];
    const shown = events.length > MAX_IN_CELL ? events.slice(0, MAX_IN_CELL - 1) : events;
    const hidden = events.length - shown.length;
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
    events.length ? h('ul', { class: 'day-events' }, shown.map((occ) => eventItem(occ, onOpenEvent, { compact: true }))) : null,
    hidden > 0 ? h('button', { type: 'button', class: 'more', onclick: () => onOpenDay(day) }, `+${hidden} more`) : null);
  })));
  return h('div', { role: 'grid', class: 'month', 'aria-label': monthTitle(anchor), 'aria-readonly': 'true' }, head, rows);
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
