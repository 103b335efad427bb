"""``tc_calendar demo``'s options: listed by --help, and the simulators' ports can be pinned."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx

from ports import free_port
from tc_calendar.demo import start_simulators


def test_demo_help_lists_the_demo_options() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TC_CALENDAR_")}
    result = subprocess.run([sys.executable, "-m", "tc_calendar", "demo", "--help"], capture_output=True, text=True,
                            env=env, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: tc_calendar demo")
    for option in ("--port", "--pace", "--dir", "--ews-port", "--tcs-port"):
        assert option in result.stdout, option


def test_the_simulators_listen_on_pinned_ports() -> None:
    ews_port, tcs_port = free_port(), free_port()
    world = start_simulators("web-password", ews_port=ews_port, tcs_port=tcs_port)
    try:
        assert (world.ews.port, world.tcs.port) == (ews_port, tcs_port)
        assert world.tcs.url == f"http://127.0.0.1:{tcs_port}"
        answer = httpx.get(f"https://127.0.0.1:{ews_port}/EWS/Exchange.asmx", verify=False, timeout=30)
        assert answer.status_code == 401  # Exchange asks for credentials: it is the simulator on that port
    finally:
        world.ews.stop()
        world.tcs.stop()
