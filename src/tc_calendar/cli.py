"""The ``tc_calendar`` command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from tc_calendar import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tc_calendar", description="Exchange calendars for TrueConf Server.")
    parser.add_argument("--version", action="version", version=f"tc_calendar {__version__}")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    parser.parse_args(argv)
    parser.print_help(sys.stdout)
    return 0
