"""Which Graph notifications wake a sync loop: only those of our subscriptions with their clientState."""

from __future__ import annotations

import logging

import pytest

from tc_calendar.providers.graph_notifications import Delivery, GraphInbox, notification_urls


def test_a_notification_with_the_subscriptions_client_state_wakes_its_mailbox_and_a_forged_one_is_refused(
    caplog: pytest.LogCaptureFixture,
) -> None:
    inbox = GraphInbox()
    woken: list[Delivery] = []
    inbox.register("sub-1", "bob@corp.test", "s3cret", woken.append)

    genuine = inbox.receive({"value": [{"subscriptionId": "sub-1", "clientState": "s3cret", "changeType": "updated"}]})
    with caplog.at_level(logging.WARNING):
        forged = inbox.receive({"value": [{"subscriptionId": "sub-1", "clientState": "guess"}]}, peer="203.0.113.9")
        unknown = inbox.receive({"value": [{"subscriptionId": "sub-9", "clientState": "s3cret"}]})

    assert (genuine.accepted, forged.refused, unknown.refused) == (1, 1, 1)
    assert woken == [Delivery("sub-1", "bob@corp.test")]
    assert "wrong clientState" in caplog.text and "203.0.113.9" in caplog.text
    assert inbox.refused == 2


def test_lifecycle_notifications_name_their_event() -> None:
    inbox = GraphInbox()
    woken: list[Delivery] = []
    inbox.register("sub-1", "bob@corp.test", "s3cret", woken.append)
    payload = {"value": [{"subscriptionId": "sub-1", "clientState": "s3cret", "lifecycleEvent": "missed"}]}
    inbox.receive(payload, lifecycle=True)
    assert woken == [Delivery("sub-1", "bob@corp.test", "missed")]


def test_notification_urls_are_the_connectors_routes_under_its_public_url() -> None:
    assert notification_urls("https://cal.corp.example:4315/") == (
        "https://cal.corp.example:4315/graph/notifications",
        "https://cal.corp.example:4315/graph/lifecycle",
    )
