"""Who may open which mailbox: ExchangeImpersonation, the caller's own mailbox, delegate access."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from ews_harness import ALICE, BOB, CAROL, PLAIN_LOGIN, PLAIN_PASSWORD, USER_PASSWORD
from exchangelib import DELEGATE, Account
from exchangelib.errors import ErrorAccessDenied, ErrorImpersonateUserDenied, ErrorNonExistentMailbox

from ews_sim.world import World


def test_impersonation_allowed_for_the_application_impersonation_role(
    ews_account: Callable[..., Account], ews_world: World
) -> None:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    ews_world.create_appointment(BOB, "Bob's own", start, start + timedelta(hours=1))
    account = ews_account(BOB)
    assert [i.subject for i in account.calendar.all()] == ["Bob's own"]


def test_impersonation_denied_without_the_role(ews_account: Callable[..., Account]) -> None:
    account = ews_account(ALICE, login=PLAIN_LOGIN, password=PLAIN_PASSWORD)
    with pytest.raises(ErrorImpersonateUserDenied):
        account.calendar  # noqa: B018 - the property sends GetFolder


def test_impersonating_an_unknown_mailbox(ews_account: Callable[..., Account]) -> None:
    account = ews_account("nobody@example.com")
    with pytest.raises(ErrorNonExistentMailbox):
        account.calendar  # noqa: B018


def test_a_user_without_impersonation_acts_on_their_own_mailbox(
    ews_account: Callable[..., Account], ews_world: World
) -> None:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    ews_world.create_appointment(ALICE, "Mine", start, start + timedelta(hours=1))
    account = ews_account(ALICE, login=ALICE, password=USER_PASSWORD, access_type=DELEGATE)
    assert [i.subject for i in account.calendar.all()] == ["Mine"]


def test_delegate_reads_the_owners_calendar(ews_account: Callable[..., Account], ews_world: World) -> None:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    ews_world.create_appointment(ALICE, "Alice's", start, start + timedelta(hours=1))
    carol_on_alice = ews_account(ALICE, login=CAROL, password=USER_PASSWORD, access_type=DELEGATE)
    assert [i.subject for i in carol_on_alice.calendar.all()] == ["Alice's"]


def test_no_delegate_rights_means_access_denied(ews_account: Callable[..., Account]) -> None:
    bob_on_alice = ews_account(ALICE, login=BOB, password=USER_PASSWORD, access_type=DELEGATE)
    with pytest.raises(ErrorAccessDenied):
        list(bob_on_alice.calendar.all())
