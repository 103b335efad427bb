// The event details panel, "Task information" as in the admin guide 4.1: title, my response, start and end,
// description (long text collapsed behind "Show more"), location, the Join link, and the participants with
// their role and response.

import { h } from './dom.js';
import { formatDateTime } from './dates.js';
import { joinLink, recurrenceMark, shownLocation } from './events.js';

const RESPONSE_LABELS = {
  Accepted: 'Accepted', Declined: 'Declined', Tentative: 'Tentative', NoResponse: 'No response', Organizer: 'Organizer',
};
const LONG_DESCRIPTION_CHARS = 240;
const LONG_DESCRIPTION_LINES = 4;

export const responseLabel = (value) => RESPONSE_LABELS[value] ?? (value || '—');

/** Everyone in the meeting, organizer first (added from `organizer` when the attendee list lacks them). */
export function participants(occ) {
  const people = [...(occ.attendees ?? [])];
  const organizer = occ.organizer;
  if (organizer && !people.some((p) => p.email.toLowerCase() === organizer.email.toLowerCase())) {
    people.unshift({ ...organizer, role: 'Organizer', response: 'Organizer' });
  }
  return people.sort((a, b) => (a.role === 'Organizer' ? 0 : 1) - (b.role === 'Organizer' ? 0 : 1));
}

function participantItem(person) {
  const name = person.name || person.email;
  const status = person.role === 'Organizer' ? 'Organizer' : `${person.role}, ${responseLabel(person.response)}`;
  return h('li', { class: 'participant', dataset: { email: person.email } },
    h('span', { class: 'avatar', 'aria-hidden': 'true' }, name.trim().charAt(0).toUpperCase() || '?'),
    h('span', { class: 'participant-text' },
      h('span', { class: 'participant-name', title: person.email }, name),
      h('span', { class: 'participant-status' }, status)));
}

function description(text) {
  if (!text) return null;
  const long = text.length > LONG_DESCRIPTION_CHARS || text.split('\n').length > LONG_DESCRIPTION_LINES;
  const body = h('p', { class: `description${long ? ' collapsed' : ''}`, id: 'details-description' }, text);
  if (!long) return body;
  const toggle = h('button', {
    type: 'button', class: 'link show-more', 'aria-expanded': 'false', 'aria-controls': 'details-description',
    onclick: () => {
      const expanded = body.classList.toggle('collapsed') === false;
      toggle.setAttribute('aria-expanded', String(expanded));
      toggle.textContent = expanded ? 'Show less ▴' : 'Show more ▾';
    },
  }, 'Show more ▾');
  return h('div', { class: 'description-block' }, body, toggle);
}

function field(label, value, name) {
  return h('div', { class: 'field', dataset: { field: name } }, h('dt', {}, label), h('dd', {}, value));
}

/** The panel's content for occ; onClose() from the back button. */
export function renderDetails(occ, onClose) {
  const people = participants(occ);
  return [
    h('header', { class: 'details-head' },
      h('button', { type: 'button', class: 'back', 'aria-label': 'Close details', onclick: onClose }, '←'),
      h('h2', { id: 'details-heading', tabindex: '-1' }, 'Task information')),
    h('dl', { class: 'fields' },
      field('Title', h('span', { class: occ.cancelled ? 'cancelled-title' : '' }, occ.displayTitle), 'title'),
      field('My response', responseLabel(occ.myResponse), 'my-response'),
      field('Start time', formatDateTime(occ.start, occ.allDay), 'start'),
      field('End time', formatDateTime(occ.end, occ.allDay, true), 'end'),
      occ.allDay ? field('Duration', 'All day', 'all-day') : null,
      shownLocation(occ) ? field('Location', shownLocation(occ), 'location') : null,
      occ.recurrence ? field('Repeats', [recurrenceMark(occ), ' ', occ.recurrence.summary || 'Recurring event',
        occ.recurrence.isException ? ' (changed occurrence)' : ''], 'recurrence') : null),
    description(occ.description),
    joinLink(occ, 'join-large'),
    h('section', { class: 'participants', 'aria-labelledby': 'participants-heading' },
      h('h3', { id: 'participants-heading' }, `Participants (${people.length}):`),
      h('ul', {}, people.map(participantItem))),
  ];
}
