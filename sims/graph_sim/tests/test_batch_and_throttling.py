"""JSON $batch, throttling (injected 429 with Retry-After, the 4-per-mailbox concurrency limit), the Application
Access Policy, permissions, injected HTTP faults and the request counters."""

from __future__ import annotations

import asyncio
import ssl
from datetime import UTC, datetime, timedelta

import httpx
from graph_sim_support import ALICE, BOB, CAROL, get_token, graph_client

from graph_sim.server import GraphSimulator

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
WINDOW = "startDateTime=2026-03-01T00:00:00Z&endDateTime=2026-03-31T00:00:00Z"


def test_a_batch_answers_each_request_with_its_own_status(graph: GraphSimulator, client: httpx.Client) -> None:
    graph.world.create_appointment(ALICE, "A", START, START + timedelta(hours=1))
    graph.world.create_appointment(BOB, "B", START, START + timedelta(hours=1))
    r = client.post(
        "/$batch",
        json={
            "requests": [
                {"id": "1", "method": "GET", "url": f"/users/{ALICE}/calendarView/delta?{WINDOW}",
                 "headers": {"Prefer": 'outlook.timezone="UTC", odata.maxpagesize=50'}},
                {"id": "2", "method": "GET", "url": f"users/{BOB}/calendarView?{WINDOW}"},
                {"id": "3", "method": "GET", "url": f"/users/nobody@contoso.example/calendarView?{WINDOW}"},
                {"id": "4", "method": "GET", "url": f"/users/{ALICE}/events", "dependsOn": ["3"]},
            ]
        },
    )  # fmt: skip
    assert r.status_code == 200
    responses = {p["id"]: p for p in r.json()["responses"]}
    assert responses["1"]["status"] == 200
    assert "@odata.deltaLink" in responses["1"]["body"]
    assert [e["subject"] for e in responses["1"]["body"]["value"]] == ["A"]
    assert (
        responses["1"]["headers"]["Preference-Applied"]
        == 'odata.track-changes, outlook.timezone="UTC", odata.maxpagesize=50'
    )
    assert [e["subject"] for e in responses["2"]["body"]["value"]] == ["B"]
    assert responses["3"]["status"] == 404
    assert responses["3"]["body"]["error"]["code"] == "ErrorInvalidUser"
    assert responses["4"]["status"] == 424
    counters = client.get(f"{graph.control_url}/counters").json()["counters"]
    assert counters["operations"]["batch"] == {"200": 1, "total": 1}
    assert counters["http_requests"] == 1  # one HTTP request for four mailbox reads


def test_batch_parts_for_one_mailbox_run_concurrently_and_meet_the_limit_unless_sequenced(client: httpx.Client) -> None:
    parts = [{"id": str(i), "method": "GET", "url": f"/users/{ALICE}/events"} for i in range(6)]
    statuses = [p["status"] for p in client.post("/$batch", json={"requests": parts}).json()["responses"]]
    assert sorted(statuses) == [200, 200, 200, 200, 429, 429]
    for i, part in enumerate(parts[1:], start=1):
        part["dependsOn"] = [str(i - 1)]
    statuses = [p["status"] for p in client.post("/$batch", json={"requests": parts}).json()["responses"]]
    assert statuses == [200] * 6


def test_a_batch_takes_at_most_20_requests_and_relative_urls(client: httpx.Client) -> None:
    parts = [{"id": str(i), "method": "GET", "url": f"/users/{ALICE}/events"} for i in range(21)]
    r = client.post("/$batch", json={"requests": parts})
    assert r.status_code == 400
    absolute = client.post(
        "/$batch", json={"requests": [{"id": "1", "method": "GET", "url": f"{client.base_url}/users/{ALICE}/events"}]}
    )
    assert absolute.json()["responses"][0]["status"] == 400


def test_injected_throttling_is_429_with_retry_after_for_one_mailbox(
    graph: GraphSimulator, client: httpx.Client
) -> None:
    client.post(f"{graph.control_url}/throttle", json={"count": 1, "retry_after": 7, "mailbox": ALICE})
    bob = client.get(f"/users/{BOB}/events")
    assert bob.status_code == 200
    alice = client.get(f"/users/{ALICE}/events")
    assert alice.status_code == 429
    assert alice.headers["Retry-After"] == "7"
    assert alice.json()["error"]["code"] == "TooManyRequests"
    assert client.get(f"/users/{ALICE}/events").status_code == 200


def test_more_than_four_concurrent_requests_per_mailbox_are_throttled(
    graph: GraphSimulator, client: httpx.Client
) -> None:
    access = client.headers["Authorization"]

    async def burst() -> list[httpx.Response]:
        verify = ssl.create_default_context(cafile=graph.ca_file)
        clients = [
            httpx.AsyncClient(base_url=graph.graph_url, verify=verify, headers={"Authorization": access}, timeout=30)
            for _ in range(7)
        ]
        try:
            for c in clients:  # connect first, so that the burst's requests arrive together
                assert (await c.get(f"/users/{CAROL}/events")).status_code == 200
            graph.gate.latency_ms = 2000  # each request holds its slot for two seconds
            return await asyncio.gather(
                *(c.get(f"/users/{ALICE}/events") for c in clients[:6]), clients[6].get(f"/users/{BOB}/events")
            )
        finally:
            for c in clients:
                await c.aclose()

    responses = asyncio.run(burst())
    statuses = [r.status_code for r in responses[:6]]
    assert statuses.count(200) <= 4 and statuses.count(429) >= 2  # at most 4 of Alice's run at once
    throttled = next(r for r in responses if r.status_code == 429)
    assert throttled.json()["error"]["code"] == "ApplicationThrottled"
    assert "MailboxConcurrency" in throttled.json()["error"]["message"]
    assert int(throttled.headers["Retry-After"]) >= 1
    assert responses[6].status_code == 200  # another mailbox is not affected


def test_a_mailbox_outside_the_access_policy_is_403_error_access_denied(graph: GraphSimulator) -> None:
    graph.tenant.add_app("22222222-3333-4444-8555-666677778888", secret="s3cret", roles=["Calendars.Read"])
    r = graph_client(graph, "x").post(
        f"{graph.control_url}/access_policy",
        json={
            "client_id": "22222222-3333-4444-8555-666677778888",
            "access_right": "RestrictAccess",
            "mailboxes": [ALICE],
        },
    )
    assert r.status_code == 200
    with graph_client(graph, get_token(graph, "22222222-3333-4444-8555-666677778888", "s3cret")) as limited:
        assert limited.get(f"/users/{ALICE}/events").status_code == 200
        denied = limited.get(f"/users/{CAROL}/events")
        assert denied.status_code == 403
        assert denied.json()["error"]["code"] == "ErrorAccessDenied"
        assert "AccessPolicy" in denied.json()["error"]["message"]
        # Calendars.Read cannot write
        write = limited.post(f"/users/{ALICE}/events", json={"subject": "x"})
        assert write.status_code == 403
    assert graph.gate.counters()["operations"]["events.list"] == {"200": 1, "403": 1, "total": 2}


def test_injected_http_faults_have_graph_error_bodies(graph: GraphSimulator, client: httpx.Client) -> None:
    client.post(f"{graph.control_url}/fail_http", json={"status": 503, "count": 2, "retry_after": 3})
    first = client.get(f"/users/{ALICE}/events")
    assert (first.status_code, first.headers["Retry-After"], first.json()["error"]["code"]) == (
        503,
        "3",
        "ServiceUnavailable",
    )
    assert client.get(f"/users/{BOB}/events").status_code == 503
    assert client.get(f"/users/{BOB}/events").status_code == 200


def test_world_unavailability_is_503(graph: GraphSimulator, client: httpx.Client) -> None:
    graph.world.set_mailbox_unavailable(ALICE)
    r = client.get(f"/users/{ALICE}/events")
    assert r.status_code == 503
    assert r.json()["error"]["code"] == "ErrorMailboxStoreUnavailable"


def test_counters_count_requests_by_operation_and_mailbox(graph: GraphSimulator, client: httpx.Client) -> None:
    client.get(f"/users/{ALICE}/calendarView?{WINDOW}")
    client.get(f"/users/{ALICE}/calendarView/delta?{WINDOW}")
    counters = client.get(f"{graph.control_url}/counters").json()["counters"]
    assert counters["operations"]["calendarView"] == {"200": 1, "total": 1}
    assert counters["operations"]["calendarView.delta"] == {"200": 1, "total": 1}
    assert counters["mailboxes"][ALICE] == {"calendarView": 1, "calendarView.delta": 1, "total": 2}
