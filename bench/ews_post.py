"""The connector's CPU per EWS POST: the session's direct path against requests' own ``Session.request``.

Every EWS request goes out as exchangelib's ``session.post(url=, headers=, data=, allow_redirects=False, timeout=,
stream=)`` on a session the provider builds (``providers/_ews_session.py``). The sessions prepare that call
directly (``providers/_lean_session.py``); the baseline, in the same run, sends the same POST through requests' own
``Session.request`` on the same session. A small HTTP server in a process of its own answers each POST with a
fixed 3 KB SOAP answer, so only the client's CPU is counted (``time.process_time``). Rounds alternate between the
two paths; the table gives the median round.

    .venv/bin/python bench/ews_post.py [--posts 2000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

from tc_calendar.providers._ews_session import EndpointSettings, ServiceAccount

RESULTS = Path(__file__).parent / "results" / "ews_post.json"

SERVER = r"""
import http.server, sys
ANSWER = b'<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">' \
    + b'<s:Body>' + b'<m:Item xmlns:m="urn:x">x</m:Item>' * 90 + b'</s:Body></s:Envelope>'
class Answer(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Type", "text/xml; charset=utf-8")
        self.send_header("Content-Length", str(len(ANSWER)))
        self.end_headers()
        self.wfile.write(ANSWER)
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Answer)
print(server.server_address[1], flush=True)
server.serve_forever()
"""

# What exchangelib's post_ratelimited passes with every request (the body: a GetItem of a few items).
HEADERS = {"Content-Type": "text/xml; charset=utf-8", "X-AnchorMailbox": "user001@bench.test"}
BODY = b'<?xml version="1.0" encoding="utf-8"?>' + b"<s:Envelope>" + b"<t:ItemId Id='AAMk' ChangeKey='DwAA'/>" * 60


def _cpu_per_post(send: Any, url: str, posts: int) -> float:
    started = time.process_time()
    for _ in range(posts):
        answer = send(url=url, headers=HEADERS, data=BODY, allow_redirects=False, timeout=30, stream=False)
        if answer.status_code != 200:
            raise SystemExit(f"the local server answered HTTP {answer.status_code}")
    return (time.process_time() - started) / posts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts", type=int, default=2000, help="POSTs per round and path")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    server = subprocess.Popen([sys.executable, "-c", SERVER], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        socket.create_connection(("127.0.0.1", port), timeout=10).close()
        url = f"http://127.0.0.1:{port}/EWS/Exchange.asmx"
        account = ServiceAccount(EndpointSettings(url, auth="basic", server_version="Exchange2016"), "svc", "pw")
        session = account.protocol.raw_session(url)
        session.auth = requests.auth.HTTPBasicAuth("svc", "pw")

        def requests_own(**kwargs: Any) -> requests.Response:
            return requests.Session.request(session, "POST", **kwargs)

        paths = {"requests' Session.request (baseline)": requests_own, "direct (the sessions' path)": session.post}
        for send in paths.values():  # warm both paths and the connection
            _cpu_per_post(send, url, 200)
        rounds: dict[str, list[float]] = {name: [] for name in paths}
        for _ in range(args.rounds):
            for name, send in paths.items():
                rounds[name].append(_cpu_per_post(send, url, args.posts))
        account.close()
    finally:
        server.terminate()
        server.wait(timeout=10)

    baseline = statistics.median(next(iter(rounds.values())))
    rows = []
    print(f"{'path':<40} {'CPU µs/POST (median)':>22} {'rounds':>30} {'x baseline':>11}")
    for name, values in rounds.items():
        median = statistics.median(values)
        rows.append({"path": name, "cpu_us_per_post": median * 1e6, "rounds_us": [v * 1e6 for v in values]})
        spread = ", ".join(f"{v * 1e6:.0f}" for v in values)
        print(f"{name:<40} {median * 1e6:>22.0f} {spread:>30} {median / baseline:>11.2f}")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({"posts": args.posts, "rounds": args.rounds, "paths": rows}, indent=2))


if __name__ == "__main__":
    main()
