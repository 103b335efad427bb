"""Keep a mailbox's own version of an occurrence while it differs from the shared content.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("visibility") as batch_op:
        batch_op.add_column(sa.Column("copy_content", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("visibility") as batch_op:
        batch_op.drop_column("copy_content")
