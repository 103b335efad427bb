"""``python -m graph_sim``: serve a scenario over Microsoft Graph (and optionally EWS) until interrupted.

Prints, one per line and flushed at once so that a parent process can read them:
``graph_sim: url=<base URL: login and Graph host>``, ``graph_sim: graph=<base>/v1.0``, ``graph_sim: ca=<PEM>``,
``graph_sim: tenant=<tenant id>``, ``graph_sim: authority=<base>/<tenant id>``,
``graph_sim: client_id=<default app> secret=<its secret>``, ``graph_sim: control=<control API base>`` and, with
``--ews-port``, ``graph_sim: ews=<EWS endpoint>`` (the same mailboxes over EWS).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from ews_sim.server import EwsSimulator
from ews_sim.world import DEMO_SCENARIO, ScenarioError
from graph_sim.scenario import load_graph_scenario
from graph_sim.server import GraphSimulator
from graph_sim.tenant import DEFAULT_TENANT_ID


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m graph_sim", description="Microsoft Graph v1.0 calendar simulator")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="HTTPS port (default 0: any free port)")
    p.add_argument("--scenario", type=Path, default=None, help=f"scenario JSON (default: {DEMO_SCENARIO.name})")
    p.add_argument("--ews-port", type=int, default=None, help="also serve the same world over EWS (plain HTTP)")
    p.add_argument("--cert", help="PEM certificate (default: a fresh self-signed one)")
    p.add_argument("--key", help="PEM private key of --cert")
    p.add_argument("--tenant-id", default=DEFAULT_TENANT_ID, help="the tenant's id (a scenario may set it)")
    p.add_argument("--token-lifetime", type=int, default=None, help="access token lifetime in seconds (3599)")
    p.add_argument("--control-token", default=None, help="require 'Authorization: Bearer <token>' on /control/")
    p.add_argument("--allow-http-notifications", action="store_true", help="accept http:// notification URLs")
    p.add_argument("--notification-ca-file", default=None, help="CA bundle to trust for notification URLs")
    p.add_argument("--no-verify-notifications", action="store_true", help="do not verify notification URLs' TLS")
    p.add_argument("-v", "--verbose", action="store_true", help="log requests")
    return p


def _say(line: str) -> None:
    sys.stdout.write(f"graph_sim: {line}\n")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if (args.cert is None) != (args.key is None):
        parser.error("--cert and --key go together")
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING)
    sim = GraphSimulator(
        host=args.host,
        port=args.port,
        tenant_id=args.tenant_id,
        cert_file=args.cert,
        key_file=args.key,
        control_token=args.control_token,
        token_lifetime=args.token_lifetime,
        allow_http_notifications=args.allow_http_notifications,
        notification_ca_file=args.notification_ca_file,
        verify_notifications=not args.no_verify_notifications,
    )
    scenario = args.scenario or DEMO_SCENARIO
    try:
        load_graph_scenario(scenario, sim.world, sim.tenant)
    except ScenarioError as exc:
        sys.stderr.write(f"graph_sim: cannot load scenario {scenario}: {exc}\n")
        return 2
    ews = EwsSimulator(sim.world, host=args.host, port=args.ews_port) if args.ews_port is not None else None
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    sim.start()
    if ews is not None:
        ews.start()
    _say(f"url={sim.base_url}")
    _say(f"graph={sim.graph_url}")
    _say(f"ca={sim.ca_file}")
    _say(f"tenant={sim.tenant_id}")
    _say(f"authority={sim.authority}")
    _say(f"client_id={sim.client_id} secret={sim.client_secret}")
    _say(f"control={sim.control_url}")
    if ews is not None:
        _say(f"ews={ews.url}")
    try:
        stop.wait()
    finally:
        if ews is not None:
            ews.stop()
        sim.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
