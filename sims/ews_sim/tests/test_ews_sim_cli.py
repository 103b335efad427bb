"""``python -m ews_sim`` serves a scenario in a subprocess; a client reads its URL from stdout."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from exchangelib import BASIC, IMPERSONATION, Account, Configuration, Credentials, FailFast

from ews_sim.world import DEMO_SCENARIO

SCENARIO = {
    "service_accounts": [{"login": "svc-cli", "password": "Cli!pass1", "impersonation": True}],
    "mailboxes": [{"smtp": "dora@cli.example", "name": "Dora", "time_zone": "Europe/Berlin"}],
    "appointments": [{"mailbox": "dora@cli.example", "subject": "CLI check", "start": "+1d 09:00", "end": "+1d 10:00"}],
}


def _read_banner(proc: subprocess.Popen[str]) -> dict[str, str]:
    lines: dict[str, str] = {}
    assert proc.stdout is not None
    while "control" not in lines or "service_account" not in lines:
        line = proc.stdout.readline()
        if not line:
            raise AssertionError(f"simulator exited: {proc.wait(5)}")
        key, _, value = line.removeprefix("ews_sim: ").strip().partition("=")
        lines.setdefault(key, value)
    return lines


@pytest.fixture
def served(tmp_path: Path) -> Iterator[dict[str, str]]:
    scenario = tmp_path / "scenario.json"
    scenario.write_text(json.dumps(SCENARIO), encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, "-m", "ews_sim", "--port", "0", "--scenario", str(scenario), "--latency-ms", "1"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        yield _read_banner(proc)
    finally:
        proc.terminate()
        proc.wait(10)


def test_cli_serves_the_scenario_and_counts_requests(served: dict[str, str]) -> None:
    login, _, rest = served["service_account"].partition(" password=")
    password = rest.split(" ")[0]
    assert login == "svc-cli"
    config = Configuration(
        service_endpoint=served["url"],
        credentials=Credentials(login, password),
        auth_type=BASIC,
        retry_policy=FailFast(),
    )
    account = Account("dora@cli.example", config=config, autodiscover=False, access_type=IMPERSONATION)
    assert [i.subject for i in account.calendar.all()] == ["CLI check"]
    account.protocol.close()
    counters = requests.get(f"{served['control']}/counters", timeout=10).json()["counters"]
    assert counters["FindItem"]["NoError"] == 1
    faults = requests.get(f"{served['control']}/faults", timeout=10).json()["faults"]
    assert faults["latency_ms"] == 1


def test_demo_scenario_is_the_default() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "ews_sim", "--https"], stdout=subprocess.PIPE, text=True)
    try:
        banner = _read_banner(proc)
        assert banner["url"].startswith("https://127.0.0.1:")
        assert Path(banner["cert"]).is_file()
        demo = json.loads(DEMO_SCENARIO.read_text(encoding="utf-8"))
        assert banner["service_account"].startswith(demo["service_accounts"][0]["login"])
    finally:
        proc.terminate()
        proc.wait(10)


def test_running_helper_serves_a_scenario_in_process() -> None:
    from ews_sim.testing import running

    with running(scenario=SCENARIO) as sim:
        config = Configuration(
            service_endpoint=sim.url,
            credentials=Credentials("svc-cli", "Cli!pass1"),
            auth_type=BASIC,
            retry_policy=FailFast(),
        )
        account = Account("dora@cli.example", config=config, autodiscover=False, access_type=IMPERSONATION)
        assert [i.subject for i in account.calendar.all()] == ["CLI check"]
        account.protocol.close()


def test_a_bad_scenario_exits_with_a_message(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"mailboxes": [{"smtp": "x@y.example"}], "meetings": [{"organizer": "nobody@y.example"}]}')
    done = subprocess.run(
        [sys.executable, "-m", "ews_sim", "--scenario", str(broken)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "cannot load scenario" in done.stderr
