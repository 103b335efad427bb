"""The JSON control API over HTTP, mapped onto the world's Control commands."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests
from ews_harness import ALICE, BOB
from exchangelib import Account

from ews_sim.server import EwsSimulator
from ews_sim.world import World


def test_commands_drive_the_world_and_exchangelib_sees_the_result(
    ews_server: EwsSimulator, ews_account: Callable[..., Account]
) -> None:
    start = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
    resp = requests.post(
        f"{ews_server.control_url}/create_meeting",
        json={
            "organizer": ALICE,
            "subject": "From control",
            "start": start.isoformat(),
            "end": (start + timedelta(hours=1)).isoformat(),
            "required": [BOB],
        },
        timeout=10,
    )
    assert resp.status_code == 200, resp.text
    assert resp.headers["Content-Type"] == "application/json"
    bob = ews_account(BOB)
    subjects = [i.subject for i in bob.calendar.view(start=start - timedelta(hours=1), end=start + timedelta(hours=2))]
    assert subjects == ["From control"]


def test_counters_by_operation_and_outcome(ews_server: EwsSimulator, ews_account: Callable[..., Account]) -> None:
    list(ews_account(ALICE).calendar.all())
    counters = requests.get(f"{ews_server.control_url}/counters", timeout=10).json()["counters"]
    assert counters["FindItem"]["NoError"] == 1
    assert counters["GetFolder"]["NoError"] >= 1


def test_faults_are_switched_through_the_api(ews_server: EwsSimulator, ews_world: World) -> None:
    assert (
        requests.post(f"{ews_server.control_url}/http_error", json={"status": 503, "count": 2}, timeout=10).status_code
        == 200
    )
    assert ews_world.gate.settings().http_errors == [{"status": 503, "remaining": 2}]
    assert requests.post(f"{ews_server.control_url}/clear_faults", timeout=10).status_code == 200
    assert ews_world.gate.settings().http_errors == []


def test_unknown_commands_and_bad_arguments(ews_server: EwsSimulator) -> None:
    resp = requests.post(f"{ews_server.control_url}/no_such_thing", json={}, timeout=10)
    assert resp.status_code == 404 and resp.json()["error"]
    resp = requests.post(f"{ews_server.control_url}/latency", json={"nope": 1}, timeout=10)
    assert resp.status_code == 400
    resp = requests.post(f"{ews_server.control_url}/latency", data=b"[1, 2]", timeout=10)
    assert resp.status_code == 400


def test_server_description(ews_server: EwsSimulator) -> None:
    info = requests.get(f"{ews_server.control_url}/server", timeout=10).json()
    assert info["url"] == ews_server.url


@pytest.fixture
def guarded_server(ews_world: World) -> Iterator[EwsSimulator]:
    with EwsSimulator(ews_world, control_token="s3cret") as sim:
        yield sim


def test_control_token(guarded_server: EwsSimulator) -> None:
    url = f"{guarded_server.control_url}/counters"
    assert requests.get(url, timeout=10).status_code == 401
    assert requests.get(url, headers={"Authorization": "Bearer wrong"}, timeout=10).status_code == 401
    assert requests.get(url, headers={"Authorization": "Bearer s3cret"}, timeout=10).status_code == 200
