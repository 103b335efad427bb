"""``python -m reg_sim keygen|serve|sign-offline`` (see the README)."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from reg_sim.licences import generate_private_key, load_private_key, public_key_text, save_private_key
from reg_sim.offline import OfflineRequestRefused, sign_offline_request
from reg_sim.registry import KeySpec, Registry
from reg_sim.runner import RegServer


def _key_spec(text: str) -> tuple[str, KeySpec]:
    """``KEY`` or ``KEY=free`` or ``KEY=standard:200`` (limit) or ``KEY=standard:none`` (no limit)."""
    key, _, terms = text.partition("=")
    if not terms:
        return key, KeySpec.free() if key.upper().startswith("FREE-") else KeySpec()
    edition, _, limit = terms.partition(":")
    if edition == "free":
        return key, KeySpec.free()
    if edition != "standard":
        raise argparse.ArgumentTypeError(f"unknown edition {edition!r} (free or standard)")
    return key, KeySpec("standard", None if limit == "none" else int(limit or 100))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="reg_sim", description="tc-calendar registration server simulator")
    commands = parser.add_subparsers(dest="command", required=True)
    keygen = commands.add_parser("keygen", help="write a new private key; print its public key")
    keygen.add_argument("path", type=Path)
    serve = commands.add_parser("serve", help="serve the registration API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=0, help="0 picks a free port (default)")
    serve.add_argument("--private-key", type=Path, help="PEM private key (default: a new one for this run)")
    serve.add_argument("--key", action="append", type=_key_spec, default=[], metavar="KEY[=EDITION[:LIMIT]]",
                       help="a product key to accept (repeatable)")
    sign = commands.add_parser("sign-offline", help="turn regoffline.crg into a registration file")
    sign.add_argument("request", type=Path)
    sign.add_argument("--private-key", type=Path, required=True, help="PEM private key to sign with")
    sign.add_argument("--limit", default="100", help="account limit of the licence, or none (default 100)")
    sign.add_argument("--days", type=int, default=365, help="days the licence is valid (default 365)")
    sign.add_argument("--out", type=Path, help="output file (default: regoffline2.crg beside the request)")
    args = parser.parse_args(argv)

    if args.command == "keygen":
        key = generate_private_key()
        save_private_key(key, args.path)
        print(f"public key: {public_key_text(key)}")
        return 0
    if args.command == "sign-offline":
        out = args.out or args.request.with_name("regoffline2.crg")
        try:
            licence = sign_offline_request(
                args.request.read_text(encoding="utf-8"), load_private_key(args.private_key),
                account_limit=None if args.limit == "none" else int(args.limit), valid_days=args.days,
            )
        except (OSError, ValueError, OfflineRequestRefused) as exc:
            print(f"reg_sim: {args.request}: {exc}", file=sys.stderr)
            return 1
        out.write_text(licence, encoding="utf-8")
        print(f"registration file written to {out}")
        return 0
    registry = Registry(private_key=load_private_key(args.private_key)) if args.private_key else Registry()
    for key, spec in args.key:
        registry.add_key(key, spec)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with RegServer(registry, host=args.host, port=args.port) as server:
        print(f"reg_sim listening on {server.url}", flush=True)
        print(f"reg_sim public key {registry.public_key}", flush=True)
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
