// How one occurrence looks in a list: indicator (gray: no conference, turquoise: linked conference, seed 4.1.1),
// title (opens the details), time range, recurrence mark, and the Join link for linked, not cancelled events.

import { h, safeUrl } from './dom.js';
import { formatTimeRange } from './dates.js';

/** A stable string for an occurrence key {uid, recurrenceId}. */
export const keyString = (key) => `${key.uid}\u0000${key.recurrenceId ?? ''}`;

/** The location to show: a link to the event's own conference reads "TrueConf conference", not its URL. */
export function shownLocation(occ) {
  const text = (occ.location ?? '').trim();
  if (!text) return '';
  if (occ.conference && (text === occ.conference.url || /^(https?|trueconf):\/\/\S+$/i.test(text))) {
    return 'TrueConf conference';
  }
  return text;
}

export function joinUrl(occ) {
  return occ.conference && !occ.cancelled ? safeUrl(occ.conference.url) : null;
}

export function joinLink(occ, extraClass = '') {
  const url = joinUrl(occ);
  if (!url) return null;
  return h('a', {
    class: `join ${extraClass}`.trim(), href: url, target: '_blank', rel: 'noopener noreferrer',
    'aria-label': `Join ${occ.displayTitle}`,
  }, 'Join');
}

export function recurrenceMark(occ) {
  if (!occ.recurrence) return null;
  const label = occ.recurrence.summary ? `Recurring: ${occ.recurrence.summary}` : 'Recurring event';
  return h('span', { class: 'recurring', title: label, role: 'img', 'aria-label': label }, '↻');
}

/**
 * One event row; onOpen(occ, button) when its title is activated. past: the event is over (time grids dim it and
 * offer no Join); the indicator still says whether it had a conference. tabStop: false in the month grid, which
 * is one tab stop (its selected day); there the event and its Join are still focusable, but only by script.
 */
export function eventItem(occ, onOpen, { compact = false, past = false, tabStop = true } = {}) {
  const linked = Boolean(joinUrl(occ));
  const classes = ['event', linked ? 'linked' : 'plain', occ.cancelled ? 'cancelled' : '', occ.allDay ? 'all-day' : '',
    compact ? 'compact' : '', past ? 'past' : ''].filter(Boolean).join(' ');
  const location = shownLocation(occ);
  const time = formatTimeRange(occ);
  const open = h('button', {
    type: 'button', class: 'event-open',
    'aria-label': `${occ.displayTitle}, ${time}${occ.recurrence ? ', recurring' : ''}${linked ? ', TrueConf conference' : ''}`,
    'aria-haspopup': 'dialog',
    onclick: (e) => onOpen(occ, e.currentTarget),
  },
  // In a narrow grid cell the recurrence mark leads the title, where it is never cut off.
  h('span', { class: 'event-title' }, compact ? recurrenceMark(occ) : null, occ.displayTitle),
  h('span', { class: 'event-meta' },
    h('span', { class: 'event-time' }, time),
    compact ? null : recurrenceMark(occ),
    !compact && location ? h('span', { class: 'event-location' }, location) : null));
  const join = past ? null : joinLink(occ);
  if (!tabStop) for (const node of [open, join]) node?.setAttribute('tabindex', '-1');
  return h('li', {
    class: classes,
    dataset: { key: keyString(occ.key), conference: linked ? 'yes' : 'no' },
  },
  h('span', { class: `indicator ${linked ? 'indicator-conference' : 'indicator-plain'}`, 'aria-hidden': 'true' }),
  open,
  join);
}

/** Sort for display: all-day first, then by start, then title. */
export function byStart(a, b) {
  if (a.allDay !== b.allDay) return a.allDay ? -1 : 1;
  return a.start < b.start ? -1 : a.start > b.start ? 1 : a.displayTitle.localeCompare(b.displayTitle);
}
