"""``python -m tcs_sim [--host H] [--port N] [--users FILE] [--no-conferences] [--token-lifetime S] [--ssl-...]``.

Prints one line ``tcs_sim listening on http://H:N`` (the demo reads the port from it) and serves until
interrupted.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from tcs_sim.runner import SimServer
from tcs_sim.seed import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_SECRET_KEY, load_users, seed_world
from tcs_sim.state import World


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tcs_sim", description="TrueConf Server REST API simulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (default)")
    parser.add_argument("--users", type=Path, help="JSON list of users: [{id, email, display_name}]")
    parser.add_argument("--no-conferences", action="store_true", help="start without the two seed conferences")
    parser.add_argument("--token-lifetime", type=int, default=604800, help="expires_in of issued tokens (s)")
    parser.add_argument("--server-name", default="tcs.example.test")
    parser.add_argument("--ssl-certfile", help="PEM certificate: serve HTTPS")
    parser.add_argument("--ssl-keyfile", help="PEM private key for --ssl-certfile")
    args = parser.parse_args(argv)

    world = World(server_name=args.server_name, token_lifetime=args.token_lifetime)
    users = load_users(args.users) if args.users else None
    seed_world(world, users, conferences=not args.no_conferences)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with SimServer(world, host=args.host, port=args.port, ssl_certfile=args.ssl_certfile,
                   ssl_keyfile=args.ssl_keyfile) as sim:
        print(f"tcs_sim listening on {sim.url}", flush=True)
        print(f"tcs_sim oauth client_id={DEFAULT_CLIENT_ID} client_secret={DEFAULT_CLIENT_SECRET} "
              f"secret_key={DEFAULT_SECRET_KEY}", flush=True)
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
