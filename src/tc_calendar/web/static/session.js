// A signed-in web session that survives dropped connections.
//
// It signs in (auth.login) or resumes (auth.resume with the token kept in sessionStorage), follows one user's
// changes (changes.subscribe), and when the socket drops it reconnects with growing delays, resumes the session
// and re-subscribes from the last cursor it received, so no change is missed or seen twice (protocol §3).
// A heartbeat (server.info every 10 s, answered within 10 s) finds a connector that hangs with the connection
// still open; the session then gives the connection up and reconnects as after a drop.
// Events: 'status' (detail: 'online' | 'reconnecting' | 'signed-out'; `hung` says whether the last drop was a
// connector that stopped answering), 'info' (detail: the heartbeat's server.info answer), 'changes' (detail: array of changes), 'reset' (the change log is behind our
// cursor: reload everything).

import { Disconnected, ERRORS, NO_ANSWER, RpcError, RpcSocket } from './rpc.js';

const TOKEN_KEY = 'tc-calendar.session';
const FIRST_DELAY_MS = 500;
const MAX_DELAY_MS = 10000;
// Session tokens live 12 hours (protocol §2.2) and are renewed by auth.resume. A page that stays connected
// renews its token every hour on a short side connection, so a drop after a long day still resumes silently.
const RENEW_EVERY_MS = 60 * 60 * 1000;
const HEARTBEAT_EVERY_MS = 10 * 1000;
/** How long the heartbeat and a reconnect's sign-in wait for an answer before taking the connector for hung. */
const ANSWER_WITHIN_MS = 10 * 1000;

export class LiveSession extends EventTarget {
  constructor(url, storage = window.sessionStorage) {
    super();
    this.url = url;
    this.storage = storage;
    this.socket = null;
    this.login = null;
    this.user = null;          // whose changes we follow
    this.subscription = null;
    this.cursor = null;        // last change-log cursor received: where to resume from
    this.status = 'signed-out';
    this.stopped = true;
    this.epoch = 0;            // bumped on every sign-in and sign-out: an older reconnect loop then gives up
    this.hung = false;         // the last drop was a connector that stopped answering
  }

  get hasToken() {
    return Boolean(this.storage.getItem(TOKEN_KEY));
  }

  /** Sign in with a password; throws RpcError (LOGIN_FAILED, RATE_LIMITED, ...) or Disconnected. */
  async signIn(login, password) {
    await this.#connect((socket) => socket.call('auth.login', { login, password }));
  }

  /** Resume with the stored token; false (and the token forgotten) if the server no longer accepts it. */
  async resume() {
    const token = this.storage.getItem(TOKEN_KEY);
    if (!token) return false;
    try {
      await this.#connect((socket) => socket.call('auth.resume', { token }));
      return true;
    } catch (error) {
      if (error instanceof RpcError && error.code === ERRORS.LOGIN_FAILED) this.storage.removeItem(TOKEN_KEY);
      throw error;
    }
  }

  signOut() {
    this.storage.removeItem(TOKEN_KEY);
    this.stopped = true;
    this.epoch += 1;
    const socket = this.socket;
    this.socket = null;
    this.user = this.subscription = this.cursor = null;
    if (socket) socket.close(1000);
    this.#setStatus('signed-out');
  }

  call(method, params) {
    if (!this.socket) return Promise.reject(new Disconnected(0, 'not connected'));
    return this.socket.call(method, params);
  }

  /** Follow user's changes from now on (dropping the previous user's subscription). */
  async follow(user) {
    const previous = this.subscription;
    this.user = user;
    this.subscription = null;
    this.cursor = null;
    if (previous) await this.call('changes.unsubscribe', { subscription: previous }).catch(() => {});
    await this.#subscribe(null);
  }

  async #subscribe(cursor) {
    const params = { users: [this.user] };
    if (cursor !== null) params.cursor = cursor;
    const result = await this.call('changes.subscribe', params);
    this.subscription = result.subscription;
    this.cursor = result.cursor;
  }

  async #connect(authenticate) {
    const socket = await RpcSocket.open(this.url);
    let result;
    try {
      result = await authenticate(socket);
    } catch (error) {
      socket.close();
      throw error;
    }
    this.storage.setItem(TOKEN_KEY, result.token);
    this.login = result.session.name;
    this.epoch += 1;
    this.#adopt(socket);
    this.stopped = false;
    this.#setStatus('online');
  }

  #adopt(socket) {
    if (this.socket && this.socket !== socket) this.socket.close();
    this.socket = socket;
    socket.onnotify = (method, params) => this.#notified(method, params);
    this.#heartbeat(socket);
    socket.onclose = (error) => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.hung = error.code === NO_ANSWER;
      if (error.code === 4009) this.#expired();
      else if (!this.stopped) this.#reconnect();
    };
  }

  #heartbeat(socket) {
    const beat = setInterval(() => {
      if (this.socket !== socket) { clearInterval(beat); return; }
      socket.call('server.info', {}, ANSWER_WITHIN_MS)
        .then((info) => this.dispatchEvent(new CustomEvent('info', { detail: info })))
        .catch(() => {}); // no answer: the socket gives itself up
    }, HEARTBEAT_EVERY_MS);
  }

  #notified(method, params) {
    if (method !== 'changes.notify' || params.subscription !== this.subscription) return;
    this.cursor = params.cursor;
    this.dispatchEvent(new CustomEvent('changes', { detail: params.changes }));
  }

  #expired() {
    this.storage.removeItem(TOKEN_KEY);
    this.stopped = true;
    this.#setStatus('signed-out');
  }

  async #reconnect() {
    this.#setStatus('reconnecting');
    const epoch = this.epoch;
    const current = () => !this.stopped && this.epoch === epoch;
    let delay = FIRST_DELAY_MS;
    while (current()) {
      await sleep(delay * (0.8 + Math.random() * 0.4));
      if (!current()) return;
      delay = Math.min(delay * 2, MAX_DELAY_MS);
      const token = this.storage.getItem(TOKEN_KEY);
      if (!token) return current() ? this.#expired() : undefined;
      let socket;
      let resumed;
      try {
        socket = await RpcSocket.open(this.url);
        resumed = await socket.call('auth.resume', { token }, ANSWER_WITHIN_MS);
      } catch (error) {
        socket?.close();
        if (!current()) return;
        if (error instanceof Disconnected) this.hung = error.code === NO_ANSWER;
        if (error instanceof RpcError && error.code === ERRORS.LOGIN_FAILED) return this.#expired();
        if (error instanceof RpcError && error.data?.retryAfter) delay = Math.max(delay, error.data.retryAfter * 1000);
        continue;
      }
      if (!current()) { socket.close(); return; }
      this.storage.setItem(TOKEN_KEY, resumed.token);
      this.hung = false;
      this.#adopt(socket);
      if (this.user) {
        try {
          await this.#subscribe(this.cursor);
        } catch (error) {
          if (!(error instanceof RpcError && error.code === ERRORS.INVALID_PARAMS && error.data?.latest !== undefined)) {
            socket.close(); // dropped again, or a transient error: its close handler starts the next attempt
            return;
          }
          await this.#subscribe(null).catch(() => {});
          this.dispatchEvent(new CustomEvent('reset'));
        }
      }
      this.#setStatus('online');
      return;
    }
  }

  #scheduleRenewal() {
    clearTimeout(this.renewTimer);
    const epoch = this.epoch;
    this.renewTimer = setTimeout(async () => {
      if (this.stopped || this.epoch !== epoch) return;
      let socket;
      try {
        socket = await RpcSocket.open(this.url);
        const renewed = await socket.call('auth.resume', { token: this.storage.getItem(TOKEN_KEY) });
        if (!this.stopped && this.epoch === epoch) this.storage.setItem(TOKEN_KEY, renewed.token);
      } catch (error) {
        // Revoked (login removed, secret rotated): end the session here too. Anything else: try next time.
        if (error instanceof RpcError && error.code === ERRORS.LOGIN_FAILED && this.epoch === epoch) {
          const main = this.socket;
          this.#expired(); // stopped first, so closing the main connection does not start a reconnect
          main?.close();
          return;
        }
      } finally {
        socket?.close();
      }
      if (!this.stopped && this.epoch === epoch) this.#scheduleRenewal();
    }, RENEW_EVERY_MS);
  }

  #setStatus(status) {
    if (status === 'online') this.#scheduleRenewal();
    else clearTimeout(this.renewTimer);
    this.status = status;
    this.dispatchEvent(new CustomEvent('status', { detail: status }));
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
