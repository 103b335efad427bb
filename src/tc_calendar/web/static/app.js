// The web calendar page: sign-in, user picker, month/week/day views, details panel and live updates.
// It reads only through the WebSocket API (docs/protocol.md), like TrueConf Server; nothing is shown before
// the API has accepted a login or a stored session token.

import { apiUrl, Disconnected, ERRORS, RpcError } from './rpc.js';
import { LiveSession } from './session.js';
import {
  addDays, addMonths, browserZone, formatDateTime, isDayKey, setZone, localMidnight, longDayTitle, monthGrid, monthTitle, parseDayKey,
  sameMonth, shortDayTitle, startOfWeek, todayKey, weekdayIndex,
} from './dates.js';
import { renderDays, renderMonth, weekDays } from './calendar.js';
import { initialScroll, renderTimeGrid } from './timegrid.js';
import { renderDetails } from './details.js';
import { keyString } from './events.js';
import { CalendarWindow } from './window.js';
import { h, replaceChildren } from './dom.js';

const $ = (id) => document.getElementById(id);
const VIEWS = ['month', 'week', 'day'];
const narrowScreen = window.matchMedia('(max-width: 640px)');
const HIDE_CANCELLED_KEY = 'tc-calendar.hide-cancelled';
const ZONE_KEY = 'tc-calendar.zone';

const state = {
  users: [],
  user: null,
  view: 'month',
  anchor: todayKey(),      // the selected day; the shown month/week/day contains it
  openKey: null,           // the occurrence whose details are shown ...
  openOccurrence: null,    // ... as last heard of (null: deleted); kept when paging away from its month
  opener: null,            // keyString of the event the details were opened from (focus returns there) ...
  openerDay: null,         // ... and its day: a bar over several weeks is in several cells
  window: null,            // server.info's sync window {start, end, singlesEnd}: months outside it say so
  hideCancelled: window.localStorage.getItem(HIDE_CANCELLED_KEY) === 'yes',  // as the TrueConf client's HIDE
};

const shownOccurrence = (occ) => !(state.hideCancelled && occ.cancelled);

/** The loaded occurrences by day, without the cancelled ones when they are hidden. */
function visibleByDay() {
  const byDay = calendar.byDay();
  if (state.hideCancelled) for (const [day, list] of byDay) byDay.set(day, list.filter(shownOccurrence));
  return byDay;
}

const session = new LiveSession(apiUrl(window.location));
const calendar = new CalendarWindow();

// ---- URL: #user=...&date=YYYY-MM-DD&view=month, so a view can be bookmarked and reloaded ----------------------
function readHash() {
  const params = new URLSearchParams(window.location.hash.slice(1));
  if (isDayKey(params.get('date'))) state.anchor = params.get('date');
  if (VIEWS.includes(params.get('view'))) state.view = params.get('view');
  return params.get('user');
}

function writeHash() {
  const params = new URLSearchParams();
  if (state.user) params.set('user', state.user);
  params.set('date', state.anchor);
  params.set('view', state.view);
  window.history.replaceState(null, '', `#${params.toString()}`);
}

// ---- signing in and out --------------------------------------------------------------------------------------
function showSignIn(message = '') {
  $('app').hidden = true;
  $('banner').hidden = true;
  clearCalendar();
  $('signin').hidden = false;
  const error = $('signin-error');
  error.textContent = message;
  error.hidden = !message;
  $('password').value = '';
  ($('login').value ? $('password') : $('login')).focus();
}

function clearCalendar() {
  calendar.clear();
  state.users = [];
  state.openKey = state.openOccurrence = null;
  replaceChildren($('view'));
  replaceChildren($('details'));
  $('details').hidden = true;
  replaceChildren($('user'));
  $('whoami').textContent = '';
}

function signInError(error) {
  if (error instanceof RpcError && error.code === ERRORS.LOGIN_FAILED) return 'Wrong login or password.';
  if (error instanceof RpcError && error.code === ERRORS.RATE_LIMITED) {
    return `Too many failed attempts. Try again in ${Math.ceil(error.data?.retryAfter ?? 1)} s.`;
  }
  if (error instanceof RpcError) return error.message;
  if (error instanceof Disconnected) return 'Cannot reach the calendar connector. Try again later.';
  return String(error);
}

async function onSignIn(event) {
  event.preventDefault();
  const button = $('signin-submit');
  button.disabled = true;
  try {
    await session.signIn($('login').value.trim(), $('password').value);
  } catch (error) {
    showSignIn(signInError(error));
    return;
  } finally {
    button.disabled = false;
  }
  $('password').value = '';
  await enterApp();
}

/** Show the calendar of a signed-in session; if even the user list cannot be read, sign out and say why. */
async function enterApp(wantedUser = null) {
  $('signin').hidden = true;
  $('app').hidden = false;
  $('whoami').textContent = session.login;
  let users;
  try {
    ({ users } = await session.call('users.list', {}));
  } catch (error) {
    session.signOut();
    showSignIn(signInError(error));
    return;
  }
  state.users = users;
  session.call('server.info', {}).then(takeInfo, () => {});
  renderUserPicker(users);
  const emails = users.map((u) => u.email);
  const user = emails.includes(wantedUser) ? wantedUser : emails.includes(state.user) ? state.user : emails[0] ?? null;
  if (user) await selectUser(user);
  else { render(); showNotice('No calendars are synchronized yet.'); }
}

const userLabel = (u) => `${u.name ? `${u.name} <${u.email}>` : u.email}${u.state === 'ok' ? '' : ` (${u.state})`}`;

/** People, then rooms (users.list's kind), each by name; the search box offers the same names and addresses. */
function renderUserPicker(users) {
  const byName = (a, b) => (a.name || a.email).localeCompare(b.name || b.email);
  const people = users.filter((u) => u.kind !== 'room').sort(byName);
  const rooms = users.filter((u) => u.kind === 'room').sort(byName);
  const options = (list) => list.map((u) => h('option', { value: u.email }, userLabel(u)));
  replaceChildren($('user'),
    rooms.length ? h('optgroup', { label: 'People' }, options(people)) : options(people),
    rooms.length ? h('optgroup', { label: 'Rooms' }, options(rooms)) : null);
  replaceChildren($('user-options'), [...people, ...rooms].map((u) => h('option', { value: u.email }, u.name || u.email)));
}

/** The search box: an address from its list, or the only calendar whose name or address contains the text. */
function findUser() {
  const text = $('user-search').value.trim().toLowerCase();
  if (!text) return;
  const exact = state.users.find((u) => u.email.toLowerCase() === text);
  const matches = state.users.filter((u) => u.email.toLowerCase().includes(text) || (u.name ?? '').toLowerCase().includes(text));
  const found = exact ?? (matches.length === 1 ? matches[0] : null);
  if (!found) return;
  $('user-search').value = '';
  selectUser(found.email);
}

// ---- loading and live changes ----------------------------------------------------------------------------------
async function selectUser(user) {
  if (state.user !== user) { calendar.clear(); render(); } // never show one user's events as another's
  state.user = user;
  state.openKey = state.openOccurrence = null;
  $('user').value = user;
  writeHash();
  try {
    await session.follow(user); // subscribe first, then load: a change in between is applied after the load
  } catch (error) {
    // Offline: the session re-subscribes for this user when it is back, and 'online' loads the calendar.
    if (!(error instanceof Disconnected)) showNotice(`Could not follow ${user}'s changes: ${error.message}`);
    calendar.stale = true;
    return;
  }
  await load();
}

function wantedRange() {
  const grid = monthGrid(state.anchor);
  // One day of margin each side: all-day events sit at midnight UTC, which may be the previous local day.
  return {
    user: state.user,
    start: localMidnight(addDays(grid[0][0], -1)).toISOString(),
    end: localMidnight(addDays(grid[5][6], 2)).toISOString(),
  };
}

async function load() {
  const range = wantedRange();
  const ticket = calendar.beginLoad();
  setBusy(true);
  let result;
  try {
    result = await session.call('calendar.list', range);
  } catch (error) {
    if (calendar.failLoad(ticket)) setBusy(false);
    if (!(error instanceof Disconnected)) showNotice(`Could not load the calendar: ${error.message}`);
    return; // after a reconnect the 'online' status loads again
  }
  if (!calendar.finishLoad(ticket, range, result)) return;
  setBusy(false);
  const open = calendar.get(state.openKey);
  if (open) state.openOccurrence = open;
  render();
}

/** While the shown range loads, the view is veiled and says so: a slow connector never passes for free days. */
function setBusy(busy) {
  $('view').toggleAttribute('aria-busy', busy);
  if (busy) showViewState('Loading…', 'loading');
  else showViewState(...restingState());
}

function showViewState(text, kind = '') {
  const line = $('view-state');
  line.textContent = text;
  line.className = `view-state ${kind}`.trim();
  line.hidden = !text;
}

/** The days the view shows (the month's own days for the month). */
function shownDays() {
  if (state.view === 'month') return monthGrid(state.anchor).flat().filter((day) => sameMonth(day, state.anchor));
  return state.view === 'week' ? weekDays(startOfWeek(state.anchor)) : [state.anchor];
}

function takeInfo(info) {
  if (JSON.stringify(info.window ?? null) === JSON.stringify(state.window)) return;
  state.window = info.window ?? null;
  if (!$('view').hasAttribute('aria-busy')) showViewState(...restingState());
}

const windowDate = (iso, daysBack = 0) => formatDateTime(`${addDays(iso.slice(0, 10), -daysBack)}T00:00:00Z`, true);

/** What of the shown days the connector does not keep (cache.backward, cache.forward), from server.info. */
function windowNote() {
  const kept = state.window;
  if (!kept) return '';
  const days = shownDays();
  const notes = [];
  if (days[0] < kept.start.slice(0, 10)) notes.push(`Events before ${windowDate(kept.start)} are not kept (cache.backward).`);
  if (days[days.length - 1] >= kept.singlesEnd.slice(0, 10)) {
    notes.push(`Events after ${windowDate(kept.singlesEnd, 1)} are not synchronized.`);
  } else if (days[days.length - 1] >= kept.end.slice(0, 10)) {
    notes.push(`Recurring meetings after ${windowDate(kept.end, 1)} are not synchronized yet (cache.forward); single meetings are shown.`);
  }
  return notes.join(' ');
}

/** The view's state line when nothing loads: the window's note and "No events …", or nothing. */
function restingState() {
  const [empty, kind] = emptyState();
  const text = [windowNote(), empty].filter(Boolean).join(' ');
  return [text, empty ? kind : 'window'];
}

/** "No events …" once the shown range is loaded and has none; nothing otherwise. */
function emptyState() {
  if (!state.user || !calendar.holds(wantedRange()) || calendar.status !== 'synced') return [''];
  const byDay = visibleByDay();
  if (shownDays().some((day) => (byDay.get(day) ?? []).some(shownOccurrence))) return [''];
  const period = state.view === 'month' ? `in ${monthTitle(state.anchor)}` : state.view === 'week' ? 'this week' : 'on this day';
  return [`No events ${period}`, 'empty'];
}

const LOAD_DELAY_MS = 120;
let loadTimer = null;

/** Load the shown range if it is not loaded; paging quickly through months asks only for where it stops. */
function ensureLoaded() {
  if (calendar.holds(wantedRange())) return;
  clearTimeout(loadTimer);
  setBusy(true);
  loadTimer = setTimeout(load, LOAD_DELAY_MS);
}

/** The open details follow their occurrence wherever it moves (also out of the loaded month). */
function followOpenOccurrence(changes) {
  for (const change of changes) {
    if (!change.key || change.user !== state.user || keyString(change.key) !== state.openKey) continue;
    if (change.kind === 'upsert' && change.occurrence) state.openOccurrence = change.occurrence;
    else if (change.kind === 'delete') state.openOccurrence = null;
  }
}

session.addEventListener('changes', (event) => {
  followOpenOccurrence(event.detail);
  if (calendar.receive(event.detail)) render();
  else renderDetailsPanel();
});
session.addEventListener('reset', () => load());
session.addEventListener('info', (event) => takeInfo(event.detail));
session.addEventListener('status', (event) => {
  const banner = $('banner');
  if (event.detail === 'reconnecting') {
    banner.textContent = session.hung ? 'The calendar connector is not answering — reconnecting…'
      : 'Connection lost — reconnecting…';
    banner.hidden = false;
  } else if (event.detail === 'online') {
    banner.hidden = true;
  } else if (event.detail === 'signed-out' && !$('app').hidden) {
    showSignIn('Your session has ended. Please sign in again.');
  }
});

// ---- rendering ------------------------------------------------------------------------------------------------
function periodTitle() {
  if (state.view === 'month') return monthTitle(state.anchor);
  if (state.view === 'day') return longDayTitle(state.anchor);
  const first = startOfWeek(state.anchor);
  return `${shortDayTitle(first)} – ${shortDayTitle(addDays(first, 6))} ${parseDayKey(addDays(first, 6)).year}`;
}

function showNotice(text) {
  $('notice').textContent = text;
  $('notice').hidden = !text;
}

function render() {
  if ($('app').hidden) return;
  const focus = focusDescriptor();
  const today = todayKey();
  const byDay = visibleByDay();
  const common = { today, byDay, onOpenEvent: openDetails, onOpenDay: (day) => setView('day', day, { focusContent: true }) };
  let content;
  if (state.view === 'month' && !narrowScreen.matches) {
    content = renderMonth({ ...common, anchor: state.anchor });
  } else if (state.view === 'month') {
    const days = monthGrid(state.anchor).flat().filter((day) => sameMonth(day, state.anchor));
    content = renderDays({ ...common, days, label: monthTitle(state.anchor), onlyBusy: true });
  } else if (narrowScreen.matches) {  // a phone lists the week's or the day's events
    const days = state.view === 'week' ? weekDays(startOfWeek(state.anchor)) : [state.anchor];
    content = renderDays({ ...common, days, label: periodTitle(), onOpenDay: state.view === 'week' ? common.onOpenDay : null });
  } else {
    const days = state.view === 'week' ? weekDays(startOfWeek(state.anchor)) : [state.anchor];
    content = renderTimeGrid({
      ...common, days, now: Date.now(), label: periodTitle(), onOpenDay: state.view === 'week' ? common.onOpenDay : null,
    });
  }
  const scroll = gridScroll(content);
  replaceChildren($('view'), content);
  scroll();
  if (narrowScreen.matches) showTodayOnPhone();
  $('view').dataset.view = state.view;
  $('period').textContent = periodTitle();
  const unit = state.view === 'month' ? 'month' : state.view === 'week' ? 'week' : 'day';
  $('prev').setAttribute('aria-label', `Previous ${unit}`);
  $('next').setAttribute('aria-label', `Next ${unit}`);
  for (const button of document.querySelectorAll('button[data-view]')) {
    button.setAttribute('aria-pressed', String(button.dataset.view === state.view));
  }
  if (!$('view').hasAttribute('aria-busy')) showViewState(...restingState());
  showNotice(calendar.status === 'queued'
    ? `The calendar of ${state.user} is queued for synchronization; its events appear as soon as it is synced.` : '');
  renderDetailsPanel();
  restoreFocus(focus);
}

let shownGrid = null;  // which days the time grid showed last: its scroll position is kept while they stay

/** Keeps the time grid's scroll position over a re-render of the same days; a new grid starts near now or 07:00. */
function gridScroll(content) {
  const old = $('view').querySelector('.tg-scroll');
  const days = [...content.querySelectorAll('.day-column')].map((column) => column.dataset.day);
  const same = shownGrid !== null && days.join() === shownGrid;
  const top = same && old ? old.scrollTop : initialScroll(days, Date.now());
  shownGrid = days.length ? days.join() : null;
  return () => { const grid = $('view').querySelector('.tg-scroll'); if (grid) grid.scrollTop = top; };
}

let phoneScrolledFor = null;  // the month whose list was scrolled to today: once, not on every live change

/** On a phone the month list opens at today, not at the 1st (when the month is loaded and holds today). */
function showTodayOnPhone() {
  const month = `${state.user} ${state.anchor.slice(0, 7)}`;
  if (state.view !== 'month' || phoneScrolledFor === month || !calendar.holds(wantedRange())) return;
  const today = $('view').querySelector('.agenda-day.today');
  if (!today) return;
  phoneScrolledFor = month;
  today.scrollIntoView({ block: 'start' });
}

let detailsShown;  // the occurrence object the panel shows: re-rendered only when it changed

function renderDetailsPanel() {
  const panel = $('details');
  if (!state.openKey) { panel.hidden = true; replaceChildren(panel); detailsShown = undefined; return; }
  const occ = state.openOccurrence;
  panel.hidden = false;
  if (occ === detailsShown) return; // keep "Show more" and the focus while other events change
  detailsShown = occ;
  if (occ) replaceChildren(panel, renderDetails(occ, closeDetails));
  else {
    replaceChildren(panel,
      h('header', { class: 'details-head' },
        h('button', { type: 'button', class: 'back', 'aria-label': 'Close details', onclick: closeDetails }, '←'),
        h('h2', { id: 'details-heading', tabindex: '-1' }, 'Task information')),
      h('p', { class: 'empty' }, 'This event is no longer in the calendar.'));
  }
}

/** What had the focus inside the view, so a re-render (e.g. a live change) does not throw the user out. */
function focusDescriptor() {
  const active = document.activeElement;
  if (!active || !$('view').contains(active)) return null;
  const item = active.closest('[data-key]');
  const day = active.closest('[data-day]');
  return { key: item?.dataset.key ?? null, day: day?.dataset.day ?? null, join: active.classList.contains('join') };
}

function restoreFocus(focus) {
  if (!focus) return;
  const scope = focus.day ? $('view').querySelector(`[data-day="${focus.day}"]`) : $('view');
  if (!scope) return;
  if (focus.key) {
    const item = [...scope.querySelectorAll('[data-key]')].find((node) => node.dataset.key === focus.key);
    const target = item?.querySelector(focus.join ? '.join' : '.event-open');
    if (target) { target.focus(); return; }
  }
  if (scope !== $('view')) (scope.matches('[tabindex]') ? scope : scope.querySelector('button'))?.focus();
}

// ---- navigation -----------------------------------------------------------------------------------------------
function setAnchor(day, { focusDay = false } = {}) {
  state.anchor = day;
  writeHash();
  render();
  ensureLoaded();
  if (focusDay) $('view').querySelector(`[data-day="${day}"][role="gridcell"]`)?.focus();
}

function setView(view, day = state.anchor, { focusContent = false } = {}) {
  state.view = view;
  setAnchor(day);
  if (focusContent) $('view').querySelector('[role="gridcell"][tabindex="0"], .agenda, .timegrid')?.focus();
}

function step(direction) {
  if (state.view === 'month') return addMonths(state.anchor, direction);
  return addDays(state.anchor, direction * (state.view === 'week' ? 7 : 1));
}

function openDetails(occ, opener) {
  state.openKey = keyString(occ.key);
  state.openOccurrence = occ;
  detailsShown = undefined;
  state.opener = opener?.closest('[data-key]')?.dataset.key ?? null;
  state.openerDay = opener?.closest('[data-day]')?.dataset.day ?? null;
  renderDetailsPanel();
  $('details-heading')?.focus();
}

function closeDetails() {
  const { opener, openerDay } = state;
  state.openKey = state.opener = state.openerDay = state.openOccurrence = null;
  renderDetailsPanel();
  if (opener) {
    const items = [...$('view').querySelectorAll('[data-key]')].filter((node) => node.dataset.key === opener);
    const item = items.find((node) => node.closest('[data-day]')?.dataset.day === openerDay) ?? items[0];
    item?.querySelector('.event-open')?.focus();
  }
}

const DAY_MOVES = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -7, ArrowDown: 7 };

/**
 * The month grid is one tab stop (WAI-ARIA grid pattern): arrow keys move the selected day (Home/End: its week's
 * Monday/Sunday), PageUp/PageDown the month, Enter or Space opens the day's events. An event inside the grid
 * (focused by a click, or when its details close) moves the same way from its day, and Enter opens it.
 */
function onKeyDown(event) {
  if ($('app').hidden || event.altKey || event.ctrlKey || event.metaKey) return;
  const target = event.target;
  if (event.key === 'Escape') {
    if (state.openKey) { closeDetails(); event.preventDefault(); } else if (state.view !== 'month') {
      setView('month', state.anchor, { focusContent: true });
    }
    return;
  }
  if (target.closest?.('input, select, textarea')) return;
  const cell = target.closest?.('[role="gridcell"]');
  if (event.key === 'PageUp' || event.key === 'PageDown') {
    event.preventDefault();
    setAnchor(step(event.key === 'PageUp' ? -1 : 1), { focusDay: Boolean(cell) });
    return;
  }
  if (!cell) return;
  const day = cell.dataset.day;
  if (event.key in DAY_MOVES) {
    event.preventDefault();
    setAnchor(addDays(day, DAY_MOVES[event.key]), { focusDay: true });
  } else if (event.key === 'Home' || event.key === 'End') {
    event.preventDefault();
    setAnchor(addDays(day, event.key === 'Home' ? -weekdayIndex(day) : 6 - weekdayIndex(day)), { focusDay: true });
  } else if ((event.key === 'Enter' || event.key === ' ') && target === cell) {
    event.preventDefault();
    setView('day', day, { focusContent: true });
  }
}

function onGridClick(event) {
  const cell = event.target.closest?.('[role="gridcell"]');
  if (cell && !event.target.closest('button, a') && cell.dataset.day !== state.anchor) {
    setAnchor(cell.dataset.day, { focusDay: true });
  }
}

/** Times in the browser's zone, or in one chosen here (kept in the browser): days, ranges and grids follow it. */
function setUpZonePicker() {
  const picker = $('zone');
  const zones = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
  const own = browserZone();
  replaceChildren(picker, h('option', { value: '' }, `${own} (this device)`),
    zones.filter((zone) => zone !== own).map((zone) => h('option', { value: zone }, zone)));
  const saved = window.localStorage.getItem(ZONE_KEY) ?? '';
  picker.value = zones.includes(saved) ? saved : '';
  setZone(picker.value);
  picker.addEventListener('change', () => {
    window.localStorage.setItem(ZONE_KEY, picker.value);
    setZone(picker.value);
    shownGrid = null;
    setAnchor(state.anchor);
  });
}

/** The time grids' current-time line and the dimming of past events follow the clock. */
function followNow() {
  setInterval(() => { if (state.view !== 'month' && !$('app').hidden) render(); }, 60 * 1000);
}

/** At local midnight "today" moves on: mark the new day (a page may stay open for days). */
function followToday() {
  const tomorrow = localMidnight(addDays(todayKey(), 1));
  setTimeout(() => { render(); followToday(); }, Math.max(1000, tomorrow.getTime() - Date.now() + 500));
}

// ---- start ----------------------------------------------------------------------------------------------------
async function start() {
  const wantedUser = readHash();
  followToday();
  followNow();
  $('signin-form').addEventListener('submit', onSignIn);
  $('signout').addEventListener('click', () => { session.signOut(); showSignIn(); });
  $('user').addEventListener('change', (e) => selectUser(e.target.value));
  $('user-search').addEventListener('change', findUser);
  $('user-search').addEventListener('keydown', (event) => { if (event.key === 'Enter') findUser(); });
  $('prev').addEventListener('click', () => setAnchor(step(-1)));
  $('next').addEventListener('click', () => setAnchor(step(1)));
  $('today').addEventListener('click', () => setAnchor(todayKey()));
  for (const button of document.querySelectorAll('button[data-view]')) {
    button.addEventListener('click', () => setView(button.dataset.view));
  }
  $('view').addEventListener('click', onGridClick);
  setUpZonePicker();
  $('hide-cancelled').checked = state.hideCancelled;
  $('hide-cancelled').addEventListener('change', (event) => {
    state.hideCancelled = event.target.checked;
    window.localStorage.setItem(HIDE_CANCELLED_KEY, state.hideCancelled ? 'yes' : 'no');
    render();
  });
  document.addEventListener('keydown', onKeyDown);
  narrowScreen.addEventListener('change', () => render());
  // Changes missed while offline come from the resumed subscription; a load that failed meanwhile is redone.
  session.addEventListener('status', (event) => {
    if (event.detail === 'online' && state.user && !$('app').hidden) ensureLoaded();
  });

  if (session.hasToken) {
    try {
      await session.resume();
    } catch (error) {
      showSignIn(error instanceof RpcError && error.code === ERRORS.LOGIN_FAILED ? 'Please sign in again.' : signInError(error));
      return;
    }
    await enterApp(wantedUser);
    return;
  }
  state.user = wantedUser;
  showSignIn();
}

start();
