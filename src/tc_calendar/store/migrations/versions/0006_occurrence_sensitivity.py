"""Occurrences keep Exchange's Sensitivity, so a private meeting is shown in full only to its own people.

Existing rows become ``Normal``. So that private events already in the cache are not shown in full until they
change, every mailbox forgets its SyncState: its next cycle reads its window again, which rewrites exactly the
events whose content (now with the sensitivity) differs; the others cost no write.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("occurrences") as batch_op:
        batch_op.add_column(sa.Column("sensitivity", sa.String(16), nullable=False, server_default="Normal"))
    op.execute(sa.table("mailboxes", sa.column("sync_state", sa.Text)).update().values(sync_state=None))


def downgrade() -> None:
    with op.batch_alter_table("occurrences") as batch_op:
        batch_op.drop_column("sensitivity")
