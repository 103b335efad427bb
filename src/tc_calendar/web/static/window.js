// What the page holds of one user's calendar: the occurrences of one time range, as the last calendar.list
// answered, kept current by change notifications. Changes that arrive while a load is in flight wait for its
// answer and are replayed on top of it, so neither the answer nor the change is lost (an upsert carries the
// occurrence as it is now, protocol §3, so replaying it is always right).

import { occurrenceDays } from './dates.js';
import { byStart, keyString } from './events.js';

/** Compared as instants: the API writes milliseconds only when non-zero, so the strings do not sort alike. */
const overlaps = (occ, range) => Date.parse(occ.start) < Date.parse(range.end) && Date.parse(occ.end) > Date.parse(range.start);

export class CalendarWindow {
  constructor() {
    this.ticket = 0;
    this.clear();
  }

  clear() {
    this.range = null;       // {user, start, end} (ISO) of what `items` holds
    this.items = new Map();  // keyString -> occurrence
    this.status = null;      // calendar.list status: 'synced' | 'queued'
    this.pending = null;     // changes received while a load is in flight
    this.stale = false;      // the last load failed: load again
  }

  /** Whether `range` is what the window holds, and fresh. */
  holds(range) {
    const held = this.range;
    return !this.stale && held !== null && held.user === range.user && held.start === range.start
      && held.end === range.end;
  }

  /** A load starts; returns its ticket. Only the latest load's answer is taken. */
  beginLoad() {
    this.pending = [];
    return ++this.ticket;
  }

  /** The answer of calendar.list for `range`; false if a newer load started meanwhile. */
  finishLoad(ticket, range, result) {
    if (ticket !== this.ticket) return false;
    const pending = this.pending ?? [];
    this.range = range;
    this.status = result.status;
    this.items = new Map(result.occurrences.map((occ) => [keyString(occ.key), occ]));
    this.pending = null;
    this.stale = false;
    this.#apply(pending);
    return true;
  }

  /** The load failed (e.g. the connection dropped); true if it was the latest one. */
  failLoad(ticket) {
    if (ticket !== this.ticket) return false;
    this.pending = null;
    this.stale = true;
    return true;
  }

  /** Change notifications; false while they wait for a load in flight. */
  receive(changes) {
    if (this.pending) {
      this.pending.push(...changes);
      return false;
    }
    this.#apply(changes);
    return true;
  }

  get(key) {
    return this.items.get(key);
  }

  /** Map(dayKey -> occurrences sorted for display), each occurrence on every day it covers. */
  byDay() {
    const days = new Map();
    for (const occ of this.items.values()) {
      for (const day of occurrenceDays(occ)) {
        if (!days.has(day)) days.set(day, []);
        days.get(day).push(occ);
      }
    }
    for (const list of days.values()) list.sort(byStart);
    return days;
  }

  #apply(changes) {
    if (!this.range) return;
    for (const change of changes) {
      if (change.user !== this.range.user || !change.key) continue;
      const key = keyString(change.key);
      if (change.kind === 'upsert' && change.occurrence && overlaps(change.occurrence, this.range)) {
        this.items.set(key, change.occurrence);
      } else if (change.kind === 'upsert' || change.kind === 'delete') {
        this.items.delete(key); // deleted, or moved out of the range
      }
    }
  }
}
