"""The HTTP(S) server: EWS at ``/EWS/Exchange.asmx`` and the JSON control API under ``/control/``.

A threaded stdlib server with HTTP/1.1 persistent connections, because NTLM authenticates a TCP connection
(the handler object lives as long as its connection, and so does its :class:`~ews_sim.auth.ConnectionAuth`),
and GetStreamingEvents needs a chunked response written as events happen.
"""

from __future__ import annotations

import contextlib
import email.parser
import http.client
import logging
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from ews_sim import control_http, pipeline, soap
from ews_sim.auth import AuthFailed, ConnectionAuth, NtlmCredentialFile, challenge_headers
from ews_sim.services.context import ServerSettings
from ews_sim.tls import CertificateFiles, self_signed, server_context
from ews_sim.world.core import World
from ews_sim.world.errors import StreamingConnectionDropped

log = logging.getLogger(__name__)

EWS_PATH = "/EWS/Exchange.asmx"
CONTROL_PREFIX = "/control/"
MAX_BODY = 32 * 1024 * 1024
#: http.client's limits for one header line and for the number of header lines (431 beyond them).
MAX_HEADER_LINE = 65536
MAX_HEADERS = 100
#: A header line the lean reader takes apart itself: a field name (RFC 9110 token characters the email parser
#: accepts too), a colon, a value. Anything else (continuation lines, junk) goes to the email parser as before.
_SIMPLE_HEADER = re.compile(r"[!-9;-~]+:[^\r\n]*\r?\n")


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    simulator: EwsSimulator

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.open_connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()

    def close_connections(self) -> None:
        """Cut every open client connection (idle keep-alives, streams) so that no handler thread outlives stop()."""
        with self.connections_lock:
            connections = list(self.open_connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that vanish mid-request or fail the TLS handshake are routine here; log instead of printing.
        log.debug("connection from %s ended with an error", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HttpServer
    # Set by the stdlib's handler; declared for the type checker.
    raw_requestline: bytes
    _headers_buffer: list[bytes]
    server_version = "Microsoft-IIS/10.0"
    sys_version = ""

    # IIS closes idle keep-alive connections after two minutes (connectionTimeout); so does the simulator.
    timeout = 120

    def setup(self) -> None:
        super().setup()
        # A reply is written as headers, then body. With Nagle's algorithm the body waits for the client to
        # acknowledge the headers, which the client delays (40 ms on Linux): every request would cost 40 ms more
        # than Exchange, which sends a reply at once.
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sim = self.server.simulator
        self.conn_auth = ConnectionAuth(sim.check_password, sim.resolve_principal, sim.password_of)
        with self.server.connections_lock:
            self.server.open_connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.open_connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        # Called for every request (send_response logs it): format only when someone reads debug logs.
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s - %s", self.address_string(), format % args)

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The Date header, formatted once per second rather than once per response."""
        if timestamp is not None:
            return super().date_time_string(timestamp)
        global _date_header
        second = int(time.time())
        cached = _date_header
        if cached[0] != second:
            cached = _date_header = (second, super().date_time_string(second))
        return cached[1]

    # -- request reading ------------------------------------------------------------------------------------

    def parse_request(self) -> bool:
        """The stdlib's request parsing, with a lean header reader for the usual ``METHOD PATH HTTP/1.1`` request.

        ``http.client.parse_headers`` runs every request's headers through ``email.parser`` (a tenth of the
        simulator's CPU). The headers are read the same way and with the same limits here, and stored as the same
        ``HTTPMessage``; any other request line, or a header line that is not plain ``Name: value``, takes the
        stdlib's path, so answers to odd requests do not change.
        """
        requestline = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        words = requestline.split()
        if len(words) != 3 or words[2] != "HTTP/1.1" or words[1].startswith("//"):
            return super().parse_request()
        self.requestline = requestline
        self.command, self.path = words[0], words[1]
        self.request_version = "HTTP/1.1"
        self.close_connection = False
        lines = self._header_lines()
        if lines is None:
            return False
        self.headers = _header_message(lines)
        self.close_connection = self.headers.get("Connection", "").lower() == "close"
        if self.headers.get("Expect", "").lower() == "100-continue":
            return self.handle_expect_100()
        return True

    def _header_lines(self) -> list[bytes] | None:
        """The header lines up to the blank line, as ``http.client`` reads them; None after answering 431."""
        lines: list[bytes] = []
        while True:
            line = self.rfile.readline(MAX_HEADER_LINE + 1)
            if len(line) > MAX_HEADER_LINE:
                self.send_error(431, "Line too long", "got more than 65536 bytes when reading header line")
                return None
            lines.append(line)
            if len(lines) > MAX_HEADERS:
                self.send_error(431, "Too many headers", f"got more than {MAX_HEADERS} headers")
                return None
            if line in (b"\r\n", b"\n", b""):
                return lines

    # -- plumbing -------------------------------------------------------------------------------------------

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts: list[bytes] = []
            total = 0
            while True:
                size_line = self.rfile.readline(1024)
                size = int(size_line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                total += size
                if total > MAX_BODY:
                    raise ValueError("request body too large")
                parts.append(self.rfile.read(size))
                self.rfile.readline(1024)
            return b"".join(parts)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise ValueError("request body too large")
        return self.rfile.read(length) if length else b""

    def _send(
        self,
        status: int,
        body: bytes = b"",
        headers: list[tuple[str, str]] | None = None,
        content_type: str = "text/xml; charset=utf-8",
    ) -> None:
        self.send_response(status)
        for name, value in headers or []:
            self.send_header(name, value)
        if body:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-FEServer", "EWSSIM")
        self._end_headers_with(body)

    def _end_headers_with(self, body: bytes) -> None:
        """``end_headers()`` and the body in one write: one send on the socket instead of two. Each costs a system
        call and, on loopback, the sender's CPU for the receiver's TCP work (a third of a request's HTTP cost)."""
        self._headers_buffer.append(b"\r\n")
        if body:
            self._headers_buffer.append(body)
        self.flush_headers()

    def _send_streaming(self, reply: pipeline.Reply) -> None:
        assert reply.streaming is not None
        chunks = reply.streaming.chunks
        outcome = "NoError"
        try:
            self.send_response(200)
            self.send_header("Content-Type", "text/xml; charset=utf-8")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.flush()
            try:
                for chunk in chunks:
                    self.server.simulator.observe(chunk)
                    self.wfile.write(f"{len(chunk):X}\r\n".encode() + chunk + b"\r\n")
                    self.wfile.flush()
            except StreamingConnectionDropped:
                # The fault: the server goes away mid-response, without the terminating chunk.
                outcome = "StreamingConnectionDropped"
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)
                return
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            outcome = "ClientDisconnected"  # the client stopped reading (exchangelib's stop_streaming)
            self.close_connection = True
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
            if reply.release is not None:
                reply.release(outcome)

    # -- routes ---------------------------------------------------------------------------------------------

    def do_POST(self) -> None:
        path = self.path.split("?", 1)[0]
        try:
            body = self._read_body()
        except ValueError:
            self.close_connection = True
            self._send(413)
            return
        if path.startswith(CONTROL_PREFIX):
            self._control("POST", path, body)
            return
        if path.lower() != EWS_PATH.lower():
            self._send(404, b"Not found", content_type="text/plain")
            return
        self._ews(body)

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path.startswith(CONTROL_PREFIX):
            self._control("GET", path, b"")
            return
        if path.lower() == EWS_PATH.lower():
            # Exchange answers GET on the endpoint only after authentication; without it, a 401 challenge.
            try:
                self.conn_auth.authenticate(self.headers.get("Authorization"))
            except AuthFailed as exc:
                self._unauthorized(exc)
                return
            self._send(200, b"<html><body>EWS</body></html>", content_type="text/html")
            return
        self._send(404, b"Not found", content_type="text/plain")

    def _control(self, method: str, path: str, body: bytes) -> None:
        sim = self.server.simulator
        status, payload = control_http.handle(
            sim.world, sim, method, path[len(CONTROL_PREFIX) :], body, self.headers.get("Authorization")
        )
        self._send(status, payload, content_type="application/json")

    def _unauthorized(self, exc: AuthFailed) -> None:
        if exc.token:
            headers = [("WWW-Authenticate", exc.token)]
        else:
            headers = [("WWW-Authenticate", h) for h in challenge_headers(self.server.simulator.realm)]
        self._send(401, b"", headers)

    def _ews(self, body: bytes) -> None:
        sim = self.server.simulator
        try:
            login = self.conn_auth.authenticate(self.headers.get("Authorization"))
        except AuthFailed as exc:
            if exc.token is None:
                sim.world.gate.count(_operation_name(body), "HTTP 401")
            self._unauthorized(exc)
            return
        reply = pipeline.process(sim.world, login, body, sim.settings, sim.stopping)
        if reply.status == 401:  # injected by the gate (already counted) or credentials gone meanwhile
            self.conn_auth.ntlm_login = None
            self._send(401, b"", [("WWW-Authenticate", h) for h in challenge_headers(sim.realm)])
            return
        if reply.streaming is not None:
            self._send_streaming(reply)
            return
        if reply.status >= 400 and not reply.body:
            # An injected bare HTTP failure with the page IIS/ASP.NET would show (exchangelib keys on the text).
            page = _ERROR_PAGES.get(reply.status, f"<html><body>HTTP Error {reply.status}</body></html>")
            self._send(reply.status, page.encode(), content_type="text/html")
            return
        if reply.body:
            sim.observe(reply.body)
        self._send(reply.status, reply.body)


#: (second, Date header text) of the last formatted Date header, shared by all handler threads (replaced whole).
_date_header: tuple[int, str] = (-1, "")


def _header_message(lines: list[bytes]) -> http.client.HTTPMessage:
    """The ``HTTPMessage`` ``http.client.parse_headers`` makes of these lines (compat32: name as sent, value
    without leading blanks and line end), without ``email.parser`` when every line is a plain ``Name: value``."""
    message = http.client.HTTPMessage()
    for raw in lines[:-1]:
        line = raw.decode("iso-8859-1")
        if _SIMPLE_HEADER.fullmatch(line) is None:
            text = b"".join(lines).decode("iso-8859-1")
            return email.parser.Parser(_class=http.client.HTTPMessage).parsestr(text)
        name, _, value = line.partition(":")
        message.set_raw(name, value.lstrip(" \t").rstrip("\r\n"))
    return message


_ERROR_PAGES = {
    500: "<html><head><title>Runtime Error</title></head><body><h1>Server Error in '/EWS' Application.</h1>"
    "<h2><i>Runtime Error</i></h2></body></html>",
    503: "<html><head><title>Service Unavailable</title></head><body><h2>Service Unavailable</h2>"
    "<p>HTTP Error 503. The service is unavailable.</p></body></html>",
}


def _operation_name(body: bytes) -> str:
    try:
        return soap.parse_request(body).operation
    except soap.SoapFault:
        return "Invalid"


class EwsSimulator:
    """An EWS server for one :class:`World`, on a real socket.

    Use as a context manager or call :meth:`start`/:meth:`stop`. ``url`` is the EWS endpoint to give clients;
    ``control_url`` the base of the JSON control API.
    """

    def __init__(
        self,
        world: World,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        https: bool = False,
        cert_file: str | None = None,
        key_file: str | None = None,
        control_token: str | None = None,
        settings: ServerSettings | None = None,
        realm: str = "EWS",
    ) -> None:
        self.world = world
        self.host = host
        self.https = https
        self.control_token = control_token
        self.settings = settings or ServerSettings()
        self.realm = realm
        self.certificate: CertificateFiles | None = None
        if https:
            if cert_file and key_file:
                self.certificate = CertificateFiles(cert_file, key_file)
            else:
                self.certificate = self_signed([host, "localhost", "127.0.0.1"])
        self._httpd = _HttpServer((host, port), _Handler, bind_and_activate=True)
        self._httpd.simulator = self
        if self.certificate is not None:
            ctx = server_context(self.certificate)
            # Handshake on first read in the connection's own thread, so a silent client cannot stall accept().
            self._httpd.socket = ctx.wrap_socket(self._httpd.socket, server_side=True, do_handshake_on_connect=False)
        self.port: int = self._httpd.server_address[1]
        self._thread: threading.Thread | None = None
        self.stopping = threading.Event()
        #: Callables given every SOAP response body (each streaming chunk separately); tests validate them.
        self.observers: list[Callable[[bytes], None]] = []
        NtlmCredentialFile.register([])  # pyspnego's acceptor needs the credential file to exist up front

    # -- credentials ------------------------------------------------------------------------------------------

    def observe(self, body: bytes) -> None:
        for observer in list(self.observers):
            try:
                observer(body)
            except Exception:  # an observer's failure must not cut the client's connection
                log.exception("response observer failed")

    def password_of(self, login: str) -> str | None:
        account = self.world.account(login)
        return account.password if account is not None else None

    def check_password(self, login: str, password: str) -> str | None:
        account = self.world.authenticate(login, password)
        return account.login if account is not None else None

    def resolve_principal(self, principal: str) -> str | None:
        """An NTLM principal (``DOMAIN\\user`` or ``user@upn``) as a world login."""
        for candidate in (principal, principal.split("\\", 1)[-1]):
            account = self.world.account(candidate)
            if account is not None:
                return account.login
        return None

    # -- lifecycle ----------------------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        scheme = "https" if self.https else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}"

    @property
    def url(self) -> str:
        return self.base_url + EWS_PATH

    @property
    def control_url(self) -> str:
        return self.base_url + CONTROL_PREFIX.rstrip("/")

    def start(self) -> EwsSimulator:
        # A short poll interval keeps stop() fast (shutdown waits for the serving loop's next poll).
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name=f"ews-sim:{self.port}", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._httpd.serve_forever()

    def stop(self) -> None:
        """Stop serving: open streams end within half a second, every connection is cut. The world is left as
        it is (its subscriptions stay valid), so a new simulator can serve it again."""
        self.stopping.set()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=10)
            self._thread = None
        self._httpd.close_connections()
        self._httpd.server_close()

    def __enter__(self) -> EwsSimulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
