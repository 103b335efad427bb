"""Small values the store returns besides the domain types of :mod:`tc_calendar.model`.

They describe the connector's own bookkeeping (mailboxes, conference launches, the TrueConf user cache), which
the domain model does not need to know about.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from tc_calendar.model import OccurrenceKey


class MailboxState(StrEnum):
    """Where a mailbox stands in synchronization; shown to administrators."""

    PENDING = "pending"
    SYNCING = "syncing"
    OK = "ok"
    ERROR = "error"
    OVER_LIMIT = "over_limit"
    DISABLED = "disabled"


class MailboxOrigin(StrEnum):
    """Why a mailbox is synchronized: listed in ``users`` of the config, or asked for by a client."""

    CONFIG = "config"
    ON_DEMAND = "on_demand"


class LaunchState(StrEnum):
    """Progress of one conference start (the row that makes it happen exactly once).

    ``claimed`` is the only unfinished state. ``failed`` may be claimed again after a back-off, ``released`` (a
    claim handed back before its start: the event moved, or the connector stopped) at once, by any node;
    ``started`` and ``skipped`` are final.
    """

    CLAIMED = "claimed"
    STARTED = "started"
    FAILED = "failed"
    SKIPPED = "skipped"
    RELEASED = "released"


@dataclass(frozen=True, slots=True)
class ConfiguredMailbox:
    """One entry of a provider's ``users`` list; its position in the list passed to the store is its order."""

    email: str
    provider_index: int = 0


@dataclass(frozen=True, slots=True)
class MailboxStatus:
    """A mailbox as administrators and the scheduler see it."""

    email: str
    provider_index: int
    origin: MailboxOrigin
    config_order: int | None
    requested_at: datetime | None
    state: MailboxState
    last_success_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    event_count: int
    first_seen_at: datetime
    lease_owner: str | None
    lease_expires_at: datetime | None
    last_requested_at: datetime | None = None
    """When a client last asked for the calendar (on-demand mailboxes nobody asks for are dropped)."""


@dataclass(frozen=True, slots=True)
class MailboxCheckpoint:
    """Where synchronization of a mailbox resumes: EWS SyncState, materialized window, subscription."""

    sync_state: str | None
    window_start: datetime | None
    window_end: datetime | None
    subscription_id: str | None
    watermark: str | None


@dataclass(frozen=True, slots=True)
class SyncStart:
    """What a mailbox's sync loop starts from: where it resumes, when the connector first saw the mailbox
    (``cache.autoSync: false`` keeps out what was last changed before), and how many events it sees."""

    checkpoint: MailboxCheckpoint
    first_seen_at: datetime
    event_count: int


@dataclass(frozen=True, slots=True)
class LaunchRecord:
    """The claim row of one conference start."""

    key: OccurrenceKey
    conference_id: str
    scheduled_at: datetime
    claimed_by: str
    claimed_at: datetime
    state: LaunchState
    attempts: int
    late: bool
    last_error: str | None
    finished_at: datetime | None
    run_sent_at: datetime | None = None
    """When a holder of the claim sent ``run``, unless TrueConf Server answered that it did not start the
    conference: set, the conference may have been started even if no outcome was recorded."""
    permanent: bool = False
    """A ``failed`` launch that retrying cannot help (the linked conference does not exist): never retried."""


@dataclass(frozen=True, slots=True)
class TrueConfUser:
    """A TrueConf Server account found for a corporate e-mail address (cached to spare the REST API)."""

    email: str
    user_id: str
    display_name: str
    refreshed_at: datetime


@dataclass(frozen=True, slots=True)
class NodeCount:
    """What a node sees of the nodes sharing the database: how many are alive (itself included) and how many
    mailboxes they share."""

    nodes: int
    mailboxes: int

    @property
    def share(self) -> int:
        """The most mailboxes one node should hold so that every node gets its part (rounded up)."""
        return -(-self.mailboxes // max(1, self.nodes))
