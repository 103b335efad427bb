"""A launch remembers when its ``run`` request was sent (``run_sent_at``), so that a connector taking over a claim
left behind knows the conference may already have been started.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("launches", sa.Column("run_sent_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("launches") as batch_op:
        batch_op.drop_column("run_sent_at")
