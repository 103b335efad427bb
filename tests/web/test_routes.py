"""The page's routes on the real app, without a browser: what is served, with which headers, and what is not."""

from __future__ import annotations

import json

import httpx
import pytest
from web_server import LiveServer
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tc_calendar.web import PAGE_PATH, SECURITY_HEADERS, STATIC_DIR


@pytest.fixture
def http(server: LiveServer) -> httpx.Client:
    return httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=10)


def test_the_page_and_its_modules_are_served_with_the_security_headers(http: httpx.Client) -> None:
    page = http.get(f"{PAGE_PATH}/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<script type="module" src="app.js">' in page.text
    for name, value in SECURITY_HEADERS.items():
        assert page.headers[name] == value
    for module in sorted(p.name for p in STATIC_DIR.glob("*.js")):
        script = http.get(f"{PAGE_PATH}/{module}")
        assert script.status_code == 200, module
        assert script.headers["content-type"] == "text/javascript; charset=utf-8"


def test_the_page_files_are_sent_compressed_to_browsers_that_accept_gzip(http: httpx.Client) -> None:
    for name in ("", "app.js", "styles.css"):
        compressed = http.get(f"{PAGE_PATH}/{name}", headers={"accept-encoding": "gzip"})
        assert compressed.status_code == 200 and compressed.headers["content-encoding"] == "gzip", name
        assert int(compressed.headers["content-length"]) < len(compressed.content) / 2, name  # decoded by httpx
        assert compressed.headers["content-security-policy"] == SECURITY_HEADERS["content-security-policy"]
    plain = http.get(f"{PAGE_PATH}/app.js", headers={"accept-encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.text.startswith("//")


def test_every_module_the_page_imports_is_there() -> None:
    sources = {p.name: p.read_text(encoding="utf-8") for p in STATIC_DIR.glob("*.js")}
    imported = {
        line.split("from '")[1].split("'")[0].removeprefix("./")
        for text in sources.values()
        for line in text.splitlines()
        if line.startswith(("import ", "} from")) and "from '" in line
    }
    assert imported and imported <= set(sources)


def test_http_on_the_root_redirects_to_the_page_while_a_websocket_there_reaches_the_api(
    http: httpx.Client, server: LiveServer
) -> None:
    root = http.get("/", follow_redirects=False)
    assert root.status_code == 307 and root.headers["location"] == f"{PAGE_PATH}/"
    assert http.get(PAGE_PATH, follow_redirects=True).url.path == f"{PAGE_PATH}/"
    with connect(server.ws_url.removesuffix("ws")) as ws:
        ws.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "users.list", "params": {}}))
        assert json.loads(ws.recv(timeout=30))["error"]["code"] == -32001  # the API, refusing before sign-in


def test_nothing_outside_the_static_folder_is_served(http: httpx.Client, server: LiveServer) -> None:
    assert http.get(f"{PAGE_PATH}/__init__.py").status_code == 404
    assert http.get(f"{PAGE_PATH}/%2e%2e/__init__.py").status_code == 404
    with pytest.raises(InvalidStatus), connect(f"ws://127.0.0.1:{server.port}{PAGE_PATH}/app.js"):
        pass
