"""The web calendar page: static files served by the API's app on the same port (``wsPort``).

The page is plain HTML, CSS and ES modules (no build step). It reads calendars only through the WebSocket API,
exactly as TrueConf Server does, so serving it needs no access to the store: these routes hand out files and
nothing else. Mount them with ``create_app(services, extra_routes=web_routes())``; the page is then at
``http://host:4315/calendar/`` and ``/`` redirects browsers there (the WebSocket API keeps ``/ws`` and ``/``).
"""

from __future__ import annotations

from pathlib import Path

from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Message, Receive, Scope, Send

#: Where index.html, app.js and the rest live (package data; a folder of its own so no Python file is served).
STATIC_DIR = Path(__file__).resolve().parent / "static"
#: The URL path of the page.
PAGE_PATH = "/calendar"

#: The page loads only its own files and talks only to its own origin's WebSocket; no inline script, no frames.
SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-cache",
}


class PageFiles(StaticFiles):
    """``StaticFiles`` that adds the page's security headers and ignores WebSocket requests to its paths."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # a WebSocket to /calendar/...: not ours; refuse instead of asserting
            await send({"type": "websocket.close", "code": 1008})
            return

        # Module scripts must come as JavaScript; some systems' MIME tables (e.g. a Windows registry) say otherwise.
        is_script = str(scope.get("path", "")).endswith(".js")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if not (is_script and k == b"content-type")]
                if is_script:
                    headers.append((b"content-type", b"text/javascript; charset=utf-8"))
                headers.extend((k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items())
                message = {**message, "headers": headers}
            await send(message)

        await super().__call__(scope, receive, send_with_headers)


async def _to_page(request: Request) -> Response:
    return RedirectResponse(f"{request.scope.get('root_path', '')}{PAGE_PATH}/", status_code=307)


def web_routes() -> list[BaseRoute]:
    """The page's routes, for ``create_app(extra_routes=...)``: ``/calendar/*`` files (gzip-compressed when the
    browser accepts it) and a redirect from ``/``.

    ``GET /`` over HTTP redirects to the page; a WebSocket upgrade on ``/`` still reaches the API (its route
    comes first and matches WebSocket requests only).
    """
    return [
        Route("/", _to_page, methods=["GET", "HEAD"]),
        # Compressed for browsers that accept gzip: the page's files shrink to about a quarter.
        Mount(
            PAGE_PATH, app=GZipMiddleware(PageFiles(directory=STATIC_DIR, html=True), minimum_size=500), name="calendar"
        ),
    ]
