"""Whether synchronization works, judged from the mailbox counts by state: one rule for /health and the status
command, so a monitor and an administrator read the same verdict.

* ``ok``: no mailbox that should be synchronized is in error;
* ``degraded``: some are in error, others sync (the connector serves, an administrator should look);
* ``failing``: every mailbox that should be synchronized is in error (for example Exchange rejects the service
  account): nothing is being kept up to date.

Mailboxes not synchronized on purpose (``disabled``, ``over_limit``) do not count.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

SyncVerdict = Literal["ok", "degraded", "failing"]

NOT_SYNCED_STATES = frozenset({"disabled", "over_limit"})


def sync_verdict(states: Mapping[str, int]) -> SyncVerdict:
    """The verdict for mailbox counts by state (``{"ok": 3, "error": 1}``)."""
    synced = sum(count for state, count in states.items() if state not in NOT_SYNCED_STATES)
    errors = states.get("error", 0)
    if synced and errors >= synced:
        return "failing"
    return "degraded" if errors else "ok"
