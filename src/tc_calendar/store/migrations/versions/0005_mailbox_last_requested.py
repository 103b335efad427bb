"""Mailboxes remember when a client last asked for them, so on-demand mailboxes nobody asks for can be dropped.

Existing mailboxes count as asked for at the upgrade: none is dropped before it had the full idle time.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from tc_calendar.store._types import UtcDateTime

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("mailboxes") as batch_op:
        batch_op.add_column(sa.Column("last_requested_at", sa.DateTime(timezone=True), nullable=True))
    mailboxes = sa.table("mailboxes", sa.column("last_requested_at", UtcDateTime()))
    op.execute(mailboxes.update().values(last_requested_at=datetime.now(UTC)))


def downgrade() -> None:
    with op.batch_alter_table("mailboxes") as batch_op:
        batch_op.drop_column("last_requested_at")
