"""The database schema, declared once with SQLAlchemy Core.

Every query of the store is built from these tables; the Alembic migrations under ``migrations/versions`` create
the same schema (a test checks that they agree). Times are :class:`UtcDateTime`. E-mail addresses are kept
lower-case: they are the identity of users and mailboxes.

Occurrences are shared: one row per (iCalendar UID, recurrence id), whichever mailboxes hold a copy. Which
mailbox sees which occurrence, through which Exchange item and with which answer, is ``visibility``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)

from tc_calendar.model import OCCURRENCE_FIELDS, FieldKind
from tc_calendar.store._types import BigIntKey, UtcDateTime

#: Constraint names are deterministic so that migrations (and SQLite batch migrations) can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)


def content_columns() -> list[Column[Any]]:
    """The columns of ``occurrences`` that hold the fields of :data:`~tc_calendar.model.OCCURRENCE_FIELDS`, in
    their order (a new field needs them here through its declaration, and in a migration)."""
    columns: list[Column[Any]] = []
    for spec in OCCURRENCE_FIELDS:
        name = spec.column_name
        match spec.kind:
            case FieldKind.TEXT:
                columns.append(Column(name, Text, nullable=False))
            case FieldKind.OPTIONAL_TEXT:
                columns.append(Column(name, Text))
            case FieldKind.FLAG:
                columns.append(Column(name, Boolean, nullable=False))
            case FieldKind.TIME:
                columns.append(Column(name, UtcDateTime, nullable=False))
            case FieldKind.CHOICE:
                columns.append(Column(name, String(16), nullable=False, server_default=spec.default.value))
            case FieldKind.PERSON:
                columns += [
                    Column(f"{name}_email", String(320)),
                    Column(f"{name}_name", Text),
                    Column(f"{name}_role", String(16)),
                    Column(f"{name}_response", String(16)),
                    Column(f"{name}_response_time", UtcDateTime),
                ]
            case FieldKind.CONFERENCE:
                columns += [Column(f"{name}_id", Text), Column(f"{name}_url", Text), Column(f"{name}_server", Text)]
            case FieldKind.PEOPLE:
                pass  # the attendees table
    return columns


mailboxes = Table(
    "mailboxes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("email", String(320), nullable=False, unique=True),
    Column("provider_index", Integer, nullable=False, server_default="0"),
    Column("origin", String(16), nullable=False),
    Column("config_order", Integer),
    Column("requested_at", UtcDateTime),
    # When a client last asked for this mailbox's calendar (refreshed at most every few minutes).
    Column("last_requested_at", UtcDateTime),
    Column("state", String(16), nullable=False, server_default="pending"),
    Column("sync_state", Text),
    Column("window_start", UtcDateTime),
    Column("window_end", UtcDateTime),
    Column("subscription_id", Text),
    Column("watermark", Text),
    Column("last_success_at", UtcDateTime),
    Column("last_error", Text),
    Column("last_error_at", UtcDateTime),
    Column("lease_owner", String(200)),
    Column("lease_expires_at", UtcDateTime),
    Column("first_seen_at", UtcDateTime, nullable=False),
    # How many occurrences the mailbox's user sees; kept by apply() so that status pages need not count
    # millions of visibility rows.
    Column("event_count", Integer, nullable=False, server_default="0"),
    CheckConstraint("email = lower(email)", name="email_lower"),
    CheckConstraint("origin IN ('config', 'on_demand')", name="origin"),
    CheckConstraint(
        "state IN ('pending', 'syncing', 'ok', 'error', 'over_limit', 'disabled')",
        name="state",
    ),
)

occurrences = Table(
    "occurrences",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("uid", Text, nullable=False),
    # "" for a single event, else the RECURRENCE-ID in UTC: see tc_calendar.store._keys.
    Column("recurrence_id", String(32), nullable=False, server_default=""),
    # The fields of an occurrence, as declared in tc_calendar.model.OCCURRENCE_FIELDS (title, start_at, end_at, ...).
    *content_columns(),
    Column("content_hash", String(128), nullable=False),
    Column("source_mailbox", String(320), nullable=False),
    Column("source_is_organizer", Boolean, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("uid", "recurrence_id", name="uq_occurrences_key"),
    Index("ix_occurrences_start_at", "start_at"),
)

attendees = Table(
    "attendees",
    metadata,
    Column("occurrence_id", ForeignKey("occurrences.id", ondelete="CASCADE"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("email", String(320), nullable=False),
    Column("name", Text, nullable=False),
    Column("role", String(16), nullable=False),
    Column("response", String(16), nullable=False),
    Column("response_time", UtcDateTime),
)

visibility = Table(
    "visibility",
    metadata,
    Column("user_email", String(320), primary_key=True),
    Column("occurrence_id", ForeignKey("occurrences.id", ondelete="CASCADE"), primary_key=True),
    Column("item_id", Text, nullable=False),
    Column("my_response", String(16), nullable=False),
    # The hash of this mailbox's own copy, which the sync core diffs against (the shared content may come from
    # another mailbox's copy).
    Column("content_hash", String(128), nullable=False),
    Column("from_organizer_copy", Boolean, nullable=False, server_default=false()),
    # This mailbox's own version (tc_calendar.store._copies) while it differs from the shared content.
    Column("copy_content", JSON),
    Index("ix_visibility_occurrence_id", "occurrence_id"),
    Index("ix_visibility_user_item", "user_email", "item_id"),
)

change_log = Table(
    "change_log",
    metadata,
    Column("cursor", BigIntKey, Identity(), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("user_email", String(320), nullable=False),
    Column("uid", Text),
    Column("recurrence_id", String(32)),
    Column("at", UtcDateTime, nullable=False),
    Column("payload", JSON, nullable=False),
    Index("ix_change_log_user_cursor", "user_email", "cursor"),
    # Never reuse a cursor on SQLite, even after the newest entries were pruned.
    sqlite_autoincrement=True,
)

launches = Table(
    "launches",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("uid", Text, nullable=False),
    Column("recurrence_id", String(32), nullable=False),
    Column("conference_id", Text, nullable=False),
    Column("scheduled_at", UtcDateTime, nullable=False),
    Column("claimed_by", String(200), nullable=False),
    Column("claimed_at", UtcDateTime, nullable=False),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="1"),
    Column("late", Boolean, nullable=False, server_default=false()),
    Column("last_error", Text),
    Column("finished_at", UtcDateTime),
    # When ``run`` was sent, unless TrueConf Server answered that it did not start: a start may have been made.
    Column("run_sent_at", UtcDateTime),
    # The claim: a second INSERT for the same occurrence fails, whoever and wherever the caller is.
    UniqueConstraint("uid", "recurrence_id", name="uq_launches_key"),
    CheckConstraint("state IN ('claimed', 'started', 'failed', 'skipped', 'released')", name="state"),
    Index("ix_launches_state", "state"),
)

trueconf_users = Table(
    "trueconf_users",
    metadata,
    Column("email", String(320), primary_key=True),
    Column("user_id", Text, nullable=False),
    Column("display_name", Text, nullable=False),
    Column("refreshed_at", UtcDateTime, nullable=False),
)

meta = Table(
    "meta",
    metadata,
    Column("key", String(100), primary_key=True),
    Column("value", Text, nullable=False),
)

nodes = Table(
    "nodes",
    metadata,
    Column("node_id", String(200), primary_key=True),
    Column("seen_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
)
