"""Which mailboxes are synchronized: configured users first, in order, then on-demand ones, within the limit."""

from __future__ import annotations

from collections import Counter

from tc_calendar.addresses import pick_credential
from tc_calendar.engine.mailboxes import Admission, MailboxRoster
from tc_calendar.store.records import MailboxOrigin


def test_configured_users_come_first_in_config_order_across_providers() -> None:
    roster = MailboxRoster([["B@corp.test", "a@corp.test"], ["c@other.test"]], limit=None, on_demand=["z@corp.test"])

    assert [(e.email, e.origin, e.provider) for e in roster.entries()] == [
        ("b@corp.test", MailboxOrigin.CONFIG, 0),
        ("a@corp.test", MailboxOrigin.CONFIG, 0),
        ("c@other.test", MailboxOrigin.CONFIG, 1),
        ("z@corp.test", MailboxOrigin.ON_DEMAND, 0),
    ]


def test_limit_admits_users_first_and_keeps_the_rest_as_over_limit() -> None:
    roster = MailboxRoster([["u1@corp.test", "u2@corp.test"]], limit=3, on_demand=["d1@corp.test", "d2@corp.test"])

    assert [e.email for e in roster.admitted()] == ["u1@corp.test", "u2@corp.test", "d1@corp.test"]
    assert [e.email for e in roster.over_limit()] == ["d2@corp.test"]


def test_a_user_added_to_the_config_pushes_an_on_demand_mailbox_over_the_limit() -> None:
    before = MailboxRoster([["u1@corp.test"]], limit=2, on_demand=["d1@corp.test"])
    after = MailboxRoster([["u1@corp.test", "u2@corp.test"]], limit=2, on_demand=["d1@corp.test"])

    assert before.get("d1@corp.test") is not None and before.get("d1@corp.test").admitted  # type: ignore[union-attr]
    assert [e.email for e in after.over_limit()] == ["d1@corp.test"]


def test_requesting_a_mailbox_admits_it_once_and_reports_over_limit_beyond() -> None:
    roster = MailboxRoster([["u1@corp.test"]], limit=2)

    assert roster.request("New@Corp.test") is Admission.ADMITTED
    assert roster.request("new@corp.test") is Admission.ALREADY_ADMITTED
    assert roster.request("late@corp.test") is Admission.OVER_LIMIT
    assert roster.request("late@corp.test") is Admission.OVER_LIMIT
    assert roster.request("u1@corp.test") is Admission.ALREADY_ADMITTED


def test_an_on_demand_mailbox_goes_to_the_provider_serving_its_domain() -> None:
    roster = MailboxRoster([["a@one.test"], ["b@two.test"]], limit=None)

    roster.request("x@two.test")

    entry = roster.get("x@two.test")
    assert entry is not None and entry.provider == 1


def test_service_accounts_are_picked_stably_and_evenly() -> None:
    mailboxes = [f"user{i}@corp.test" for i in range(3000)]
    picks = Counter(pick_credential(m, 3) for m in mailboxes)

    assert [pick_credential(m, 3) for m in mailboxes] == [pick_credential(m.upper(), 3) for m in mailboxes]
    assert set(picks) == {0, 1, 2}
    assert min(picks.values()) > 900


def test_forgetting_an_on_demand_mailbox_gives_its_slot_to_the_next_one_and_keeps_configured_users() -> None:
    roster = MailboxRoster([["u1@corp.test"]], limit=2, on_demand=["ghost@corp.test", "d1@corp.test"])
    assert [e.email for e in roster.over_limit()] == ["d1@corp.test"]

    assert roster.forget("Ghost@corp.test")
    assert roster.get("ghost@corp.test") is None
    assert [e.email for e in roster.admitted()] == ["u1@corp.test", "d1@corp.test"]
    assert not roster.forget("u1@corp.test")  # configured users are corrected in the config, not forgotten
    assert roster.request("d2@corp.test") is Admission.OVER_LIMIT
