"""Initial schema: mailboxes, shared occurrences, visibility, change log, launches, caches.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "change_log",
        sa.Column(
            "cursor", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), sa.Identity(always=False), nullable=False
        ),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("user_email", sa.String(length=320), nullable=False),
        sa.Column("uid", sa.Text(), nullable=True),
        sa.Column("recurrence_id", sa.String(length=32), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("cursor", name=op.f("pk_change_log")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_change_log_user_cursor", "change_log", ["user_email", "cursor"])
    op.create_table(
        "launches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.Text(), nullable=False),
        sa.Column("recurrence_id", sa.String(length=32), nullable=False),
        sa.Column("conference_id", sa.Text(), nullable=False),
        sa.Column("scheduled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(length=200), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="1", nullable=False),
        sa.Column("late", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("state IN ('claimed', 'started', 'failed', 'skipped')", name=op.f("ck_launches_state")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_launches")),
        sa.UniqueConstraint("uid", "recurrence_id", name="uq_launches_key"),
    )
    op.create_index("ix_launches_state", "launches", ["state"])
    op.create_table(
        "mailboxes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("provider_index", sa.Integer(), server_default="0", nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("config_order", sa.Integer(), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("state", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("sync_state", sa.Text(), nullable=True),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("window_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("subscription_id", sa.Text(), nullable=True),
        sa.Column("watermark", sa.Text(), nullable=True),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_owner", sa.String(length=200), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event_count", sa.Integer(), server_default="0", nullable=False),
        sa.CheckConstraint("origin IN ('config', 'on_demand')", name=op.f("ck_mailboxes_origin")),
        sa.CheckConstraint(
            "state IN ('pending', 'syncing', 'ok', 'error', 'over_limit', 'disabled')", name=op.f("ck_mailboxes_state")
        ),
        sa.CheckConstraint("email = lower(email)", name=op.f("ck_mailboxes_email_lower")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mailboxes")),
        sa.UniqueConstraint("email", name=op.f("uq_mailboxes_email")),
    )
    op.create_table(
        "meta",
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_meta")),
    )
    op.create_table(
        "occurrences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.Text(), nullable=False),
        sa.Column("recurrence_id", sa.String(length=32), server_default="", nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("all_day", sa.Boolean(), nullable=False),
        sa.Column("location", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("organizer_email", sa.String(length=320), nullable=True),
        sa.Column("organizer_name", sa.Text(), nullable=True),
        sa.Column("organizer_role", sa.String(length=16), nullable=True),
        sa.Column("organizer_response", sa.String(length=16), nullable=True),
        sa.Column("organizer_response_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled", sa.Boolean(), nullable=False),
        sa.Column("is_exception", sa.Boolean(), nullable=False),
        sa.Column("recurrence_summary", sa.Text(), nullable=True),
        sa.Column("conference_id", sa.Text(), nullable=True),
        sa.Column("conference_url", sa.Text(), nullable=True),
        sa.Column("conference_server", sa.Text(), nullable=True),
        sa.Column("content_hash", sa.String(length=128), nullable=False),
        sa.Column("source_mailbox", sa.String(length=320), nullable=False),
        sa.Column("source_is_organizer", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_occurrences")),
        sa.UniqueConstraint("uid", "recurrence_id", name="uq_occurrences_key"),
    )
    op.create_index("ix_occurrences_start_at", "occurrences", ["start_at"])
    op.create_table(
        "trueconf_users",
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("display_name", sa.Text(), nullable=False),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("email", name=op.f("pk_trueconf_users")),
    )
    op.create_table(
        "attendees",
        sa.Column("occurrence_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("response", sa.String(length=16), nullable=False),
        sa.Column("response_time", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["occurrence_id"],
            ["occurrences.id"],
            name=op.f("fk_attendees_occurrence_id_occurrences"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("occurrence_id", "position", name=op.f("pk_attendees")),
    )
    op.create_table(
        "visibility",
        sa.Column("user_email", sa.String(length=320), nullable=False),
        sa.Column("occurrence_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Text(), nullable=False),
        sa.Column("my_response", sa.String(length=16), nullable=False),
        sa.Column("content_hash", sa.String(length=128), nullable=False),
        sa.Column("from_organizer_copy", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.ForeignKeyConstraint(
            ["occurrence_id"],
            ["occurrences.id"],
            name=op.f("fk_visibility_occurrence_id_occurrences"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_email", "occurrence_id", name=op.f("pk_visibility")),
    )
    op.create_index("ix_visibility_occurrence_id", "visibility", ["occurrence_id"])
    op.create_index("ix_visibility_user_item", "visibility", ["user_email", "item_id"])


def downgrade() -> None:
    op.drop_index("ix_visibility_user_item", table_name="visibility")
    op.drop_index("ix_visibility_occurrence_id", table_name="visibility")
    op.drop_table("visibility")
    op.drop_table("attendees")
    op.drop_table("trueconf_users")
    op.drop_index("ix_occurrences_start_at", table_name="occurrences")
    op.drop_table("occurrences")
    op.drop_table("meta")
    op.drop_table("mailboxes")
    op.drop_index("ix_launches_state", table_name="launches")
    op.drop_table("launches")
    op.drop_index("ix_change_log_user_cursor", table_name="change_log")
    op.drop_table("change_log")
