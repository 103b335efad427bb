// One JSON-RPC 2.0 connection over a WebSocket (docs/protocol.md): calls with promises, notifications to a
// callback, and every pending call rejected when the socket closes, so no caller waits forever.

export class RpcError extends Error {
  constructor(code, message, data) {
    super(message);
    this.name = 'RpcError';
    this.code = code;
    this.data = data;
  }
}

export class Disconnected extends Error {
  constructor(code, reason) {
    super(reason || `connection closed (${code})`);
    this.name = 'Disconnected';
    this.code = code;
    this.reason = reason;
  }
}

/** The close code of a connection given up because the connector did not answer in time (a hung server). */
export const NO_ANSWER = 4408;

export const ERRORS = Object.freeze({
  INVALID_PARAMS: -32602,
  NOT_AUTHENTICATED: -32001,
  RATE_LIMITED: -32005,
  LOGIN_FAILED: -32009,
});

/** The API's URL on the page's own origin: the page and the API share one port. */
export function apiUrl(location) {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  return `${scheme}://${location.host}/ws`;
}

export class RpcSocket {
  /** Open a connection; rejects with Disconnected if it cannot be opened within timeoutMs. */
  static open(url, timeoutMs = 8000) {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      const timer = setTimeout(() => { ws.close(); reject(new Disconnected(0, 'timed out')); }, timeoutMs);
      ws.addEventListener('open', () => { clearTimeout(timer); resolve(new RpcSocket(ws)); }, { once: true });
      ws.addEventListener('close', (e) => { clearTimeout(timer); reject(new Disconnected(e.code, e.reason)); },
        { once: true });
    });
  }

  constructor(ws) {
    this.ws = ws;
    this.nextId = 1;
    this.pending = new Map();
    this.closed = null;
    /** (method, params) for every notification. */
    this.onnotify = () => {};
    /** (Disconnected) once, when the socket closes for any reason. */
    this.onclose = () => {};
    ws.addEventListener('message', (e) => this.#receive(e.data));
    ws.addEventListener('close', (e) => this.#closed(new Disconnected(e.code, e.reason)));
  }

  /**
   * Call a method. timeoutMs: if no answer comes within it, the connector is taken for hung and the connection is
   * given up at once (every pending call rejects with Disconnected(NO_ANSWER)); a TCP connection to a hung
   * server would otherwise close only minutes later.
   */
  call(method, params = {}, timeoutMs = 0) {
    if (this.closed) return Promise.reject(this.closed);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = timeoutMs > 0
        ? setTimeout(() => this.abandon(new Disconnected(NO_ANSWER, `no answer to ${method} within ${timeoutMs / 1000} s`)), timeoutMs)
        : null;
      const settle = (fn) => (value) => { clearTimeout(timer); fn(value); };
      this.pending.set(id, { resolve: settle(resolve), reject: settle(reject) });
      this.ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
    });
  }

  close(code = 1000) {
    try { this.ws.close(code); } catch { /* already closing */ }
  }

  /** Give the connection up now, without waiting for the server's side of the close. */
  abandon(error) {
    this.#closed(error);
    this.close();
  }

  #receive(text) {
    let message;
    try { message = JSON.parse(text); } catch { return; }
    for (const item of Array.isArray(message) ? message : [message]) {
      if (item.id === undefined || item.id === null) {
        if (item.method) this.onnotify(item.method, item.params);
        continue;
      }
      const call = this.pending.get(item.id);
      if (!call) continue;
      this.pending.delete(item.id);
      if (item.error) call.reject(new RpcError(item.error.code, item.error.message, item.error.data));
      else call.resolve(item.result);
    }
  }

  #closed(error) {
    if (this.closed) return;
    this.closed = error;
    for (const call of this.pending.values()) call.reject(error);
    this.pending.clear();
    this.onclose(error);
  }
}
