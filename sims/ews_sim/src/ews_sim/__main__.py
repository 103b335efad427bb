"""``python -m ews_sim``: serve a scenario over EWS until interrupted.

Prints, one per line and flushed at once so that a parent process can read them:
``ews_sim: url=<EWS endpoint>``, ``ews_sim: control=<control API base>``, ``ews_sim: cert=<PEM>`` (HTTPS),
and ``ews_sim: service_account=<login> password=<password> impersonation=<true|false>`` per service account.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from ews_sim.server import EwsSimulator
from ews_sim.services.context import ServerSettings
from ews_sim.world import DEMO_SCENARIO, ScenarioError, World, load_scenario


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m ews_sim", description="Exchange 2016 EWS simulator")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="port (default 0: any free port)")
    tls = p.add_mutually_exclusive_group()
    tls.add_argument("--https", dest="https", action="store_true", help="serve HTTPS (self-signed unless --cert)")
    tls.add_argument("--http", dest="https", action="store_false", help="serve plain HTTP (default)")
    p.set_defaults(https=False)
    p.add_argument("--cert", help="PEM certificate for HTTPS")
    p.add_argument("--key", help="PEM private key for HTTPS")
    p.add_argument("--scenario", type=Path, default=None, help=f"scenario JSON (default: {DEMO_SCENARIO.name})")
    p.add_argument("--latency-ms", type=int, default=0, help="latency added to every EWS request")
    p.add_argument("--control-token", default=None, help="require 'Authorization: Bearer <token>' on /control/")
    p.add_argument("--keepalive-seconds", type=float, default=30.0, help="GetStreamingEvents keep-alive interval")
    p.add_argument(
        "--minute-seconds",
        type=float,
        default=60.0,
        help="length of a ConnectionTimeout minute (shorter for demos and tests)",
    )
    p.add_argument(
        "--no-validate",
        dest="validate",
        action="store_false",
        help="do not check requests against messages.xsd (saves the simulator's CPU in benchmarks)",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="log requests")
    return p


def _say(line: str) -> None:
    sys.stdout.write(f"ews_sim: {line}\n")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if (args.cert is None) != (args.key is None):
        _parser().error("--cert and --key go together")
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING)
    scenario_path: Path = args.scenario or DEMO_SCENARIO
    world = World()
    try:
        scenario: dict[str, Any] = json.loads(scenario_path.read_text(encoding="utf-8"))
        load_scenario(scenario, world)
    except (OSError, json.JSONDecodeError, ScenarioError) as exc:
        sys.stderr.write(f"ews_sim: cannot load scenario {scenario_path}: {exc}\n")
        return 2
    if args.latency_ms:
        world.gate.set_latency(args.latency_ms)
    settings = ServerSettings(args.keepalive_seconds, args.minute_seconds, validate_requests=args.validate)
    sim = EwsSimulator(
        world,
        host=args.host,
        port=args.port,
        https=args.https or bool(args.cert),
        cert_file=args.cert,
        key_file=args.key,
        control_token=args.control_token,
        settings=settings,
    )
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    sim.start()
    _say(f"url={sim.url}")
    _say(f"control={sim.control_url}")
    if sim.certificate is not None:
        _say(f"cert={sim.certificate.cert_file}")
    for acc in scenario.get("service_accounts", []):
        impersonation = "true" if acc.get("impersonation", True) else "false"
        _say(f"service_account={acc['login']} password={acc['password']} impersonation={impersonation}")
    try:
        stop.wait()
    finally:
        sim.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
