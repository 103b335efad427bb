"""Change notification subscriptions: the validation handshake, notifications with clientState for changes made
through either protocol, renewal and deletion, the 7-day maximum, and lifecycle notifications."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from graph_sim_receiver import Receiver
from graph_sim_support import ALICE, BOB, get_token, graph_client, make_world

from graph_sim.ids import rest_id, user_id
from graph_sim.server import GraphSimulator
from graph_sim.testing import running

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def _expiry(graph: GraphSimulator, minutes: float) -> str:
    return (graph.world.clock() + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


def _subscribe(graph: GraphSimulator, client: httpx.Client, receiver: Receiver, **extra: Any) -> httpx.Response:
    body = {
        "changeType": "created,updated,deleted",
        "notificationUrl": receiver.url("notify"),
        "lifecycleNotificationUrl": receiver.url("lifecycle"),
        "resource": f"/users/{ALICE}/events",
        "expirationDateTime": _expiry(graph, 4000),
        "clientState": "secret-client-state",
        **extra,
    }
    return client.post("/subscriptions", json=body)


def test_creating_a_subscription_validates_both_urls(
    graph: GraphSimulator, client: httpx.Client, receiver: Receiver
) -> None:
    r = _subscribe(graph, client, receiver)
    assert r.status_code == 201, r.text
    sub = r.json()
    assert sub["resource"] == f"/users/{ALICE}/events"
    assert sub["changeType"] == "created,updated,deleted"
    assert sub["clientState"] == "secret-client-state"
    assert sub["applicationId"] == graph.client_id
    assert len(receiver.validations) == 2
    assert receiver.validations[0].startswith("Validation: Testing client application reachability")


def test_a_failed_handshake_creates_no_subscription(
    graph: GraphSimulator, client: httpx.Client, receiver: Receiver
) -> None:
    receiver.echo_validation = False
    r = _subscribe(graph, client, receiver)
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "InvalidRequest"
    assert "validation request failed" in r.json()["error"]["message"]
    assert client.get("/subscriptions").json()["value"] == []


def test_notification_urls_must_be_https(graph: GraphSimulator, client: httpx.Client, receiver: Receiver) -> None:
    r = _subscribe(graph, client, receiver, notificationUrl=receiver.url("notify", scheme="http"))
    assert r.status_code == 400


def test_subscriptions_last_at_most_10080_minutes(
    graph: GraphSimulator, client: httpx.Client, receiver: Receiver
) -> None:
    r = _subscribe(graph, client, receiver, expirationDateTime=_expiry(graph, 10081))
    assert r.status_code == 400
    assert "10080 minutes" in r.json()["error"]["message"]
    assert _subscribe(graph, client, receiver, expirationDateTime=_expiry(graph, 10079)).status_code == 201


def test_changes_through_any_protocol_are_notified_with_client_state(
    graph: GraphSimulator, client: httpx.Client, receiver: Receiver
) -> None:
    sub = _subscribe(graph, client, receiver).json()
    item = graph.world.create_meeting(ALICE, "Budget", START, START + timedelta(hours=1), required=[BOB])
    values = receiver.wait_for("notify", lambda v: any(n["changeType"] == "created" for n in v))
    created = next(n for n in values if n["changeType"] == "created")
    assert created["subscriptionId"] == sub["id"]
    assert created["clientState"] == "secret-client-state"
    assert created["tenantId"] == graph.tenant_id
    assert created["resource"] == f"Users/{user_id(ALICE)}/Events/{rest_id(item.item_id)}"
    assert created["resourceData"]["id"] == rest_id(item.item_id)
    assert created["resourceData"]["@odata.type"] == "#Microsoft.Graph.Event"

    graph.world.respond(BOB, item.uid, "Accept")  # Bob's answer updates Alice's copy
    receiver.wait_for("notify", lambda v: any(n["changeType"] == "updated" for n in v))
    client.delete(f"/users/{ALICE}/events/{rest_id(item.item_id)}")
    receiver.wait_for("notify", lambda v: any(n["changeType"] == "deleted" for n in v))


def test_only_the_subscribed_change_types_and_mailbox_are_notified(
    graph: GraphSimulator, client: httpx.Client, receiver: Receiver
) -> None:
    _subscribe(graph, client, receiver, changeType="deleted")
    graph.world.create_appointment(BOB, "Bob's", START, START + timedelta(hours=1))
    item = graph.world.create_appointment(ALICE, "Alice's", START, START + timedelta(hours=1))
    graph.world.delete_item(item.item_id)
    values = receiver.wait_for("notify", lambda v: len(v) >= 1)
    assert [n["changeType"] for n in values] == ["deleted"]


def test_renewal_and_deletion(graph: GraphSimulator, client: httpx.Client, receiver: Receiver) -> None:
    sub = _subscribe(graph, client, receiver).json()
    renewed = client.patch(f"/subscriptions/{sub['id']}", json={"expirationDateTime": _expiry(graph, 10000)})
    assert renewed.status_code == 200
    assert renewed.json()["expirationDateTime"] > sub["expirationDateTime"]
    too_long = client.patch(f"/subscriptions/{sub['id']}", json={"expirationDateTime": _expiry(graph, 20000)})
    assert too_long.status_code == 400
    assert client.delete(f"/subscriptions/{sub['id']}").status_code == 204
    assert client.get(f"/subscriptions/{sub['id']}").status_code == 404
    graph.world.create_appointment(ALICE, "After", START, START + timedelta(hours=1))
    assert graph.subscriptions.describe() == []


def test_lifecycle_notifications_on_demand_and_removal(
    graph: GraphSimulator, client: httpx.Client, receiver: Receiver
) -> None:
    sub = _subscribe(graph, client, receiver).json()
    for event in ("reauthorizationRequired", "missed", "subscriptionRemoved"):
        assert client.post(
            f"{graph.control_url}/lifecycle", json={"event": event, "subscription_id": sub["id"]}
        ).json() == {"sent": 1}
    values = receiver.wait_for("lifecycle", lambda v: len(v) == 3)
    assert sorted(v["lifecycleEvent"] for v in values) == ["missed", "reauthorizationRequired", "subscriptionRemoved"]
    assert all(v["subscriptionId"] == sub["id"] and v["clientState"] == "secret-client-state" for v in values)
    assert client.get(f"/subscriptions/{sub['id']}").status_code == 404  # removed
    assert client.post(f"/subscriptions/{sub['id']}/reauthorize").status_code == 404


def test_reauthorization_is_required_near_expiry(
    graph: GraphSimulator, client: httpx.Client, receiver: Receiver
) -> None:
    short = _subscribe(graph, client, receiver, expirationDateTime=_expiry(graph, 5)).json()
    sub = _subscribe(graph, client, receiver, expirationDateTime=_expiry(graph, 30)).json()
    graph.world.clock.advance(21 * 60)  # type: ignore[attr-defined]
    values = receiver.wait_for("lifecycle", lambda v: len(v) >= 1)
    # only the subscription set for longer than the warning time (10 minutes) is warned
    assert [(v["lifecycleEvent"], v["subscriptionId"]) for v in values] == [("reauthorizationRequired", sub["id"])]
    assert short["id"] not in [v["subscriptionId"] for v in values]
    assert client.post(f"/subscriptions/{sub['id']}/reauthorize").status_code == 204


def test_losing_access_removes_the_subscription(
    graph: GraphSimulator, client: httpx.Client, receiver: Receiver
) -> None:
    _subscribe(graph, client, receiver)
    graph.tenant.set_access_policy(graph.client_id, "RestrictAccess", [BOB])
    values = receiver.wait_for("lifecycle", lambda v: len(v) >= 1)
    assert values[0]["lifecycleEvent"] == "subscriptionRemoved"


def test_undeliverable_notifications_end_in_a_missed_lifecycle_notification(
    graph: GraphSimulator, client: httpx.Client, receiver: Receiver
) -> None:
    _subscribe(graph, client, receiver)
    receiver.status = 500
    graph.world.create_appointment(ALICE, "Lost", START, START + timedelta(hours=1))
    values = receiver.wait_for("lifecycle", lambda v: len(v) >= 1)
    assert values[0]["lifecycleEvent"] == "missed"
    assert len(receiver.received("notify")) == 3  # the first try and two retries


def test_expired_subscriptions_are_deleted(graph: GraphSimulator, client: httpx.Client, receiver: Receiver) -> None:
    _subscribe(graph, client, receiver)
    graph.world.clock.advance(4001 * 60)  # type: ignore[attr-defined]
    deadline = time.monotonic() + 30
    while graph.subscriptions.describe() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert graph.subscriptions.describe() == []


def test_http_notification_urls_are_tried_when_allowed(receiver: Receiver) -> None:

    with running(make_world(), allow_http_notifications=True) as sim, graph_client(sim, get_token(sim)) as client:
        r = _subscribe(
            sim, client, receiver, notificationUrl="http://127.0.0.1:9/notify", lifecycleNotificationUrl=None
        )
        assert r.status_code == 400
        assert "validation request failed" in r.json()["error"]["message"]  # tried, not refused for the scheme
