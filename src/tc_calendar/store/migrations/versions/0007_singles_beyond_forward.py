"""Single meetings are kept beyond ``cache.forward``: every mailbox reads its window once more after the upgrade.

Before 0004 the connector kept every event within ``cache.backward``/``cache.forward``; since then that window
bounds only recurring series and a single meeting is kept up to two years after the window's start (guide 3.1.2,
docs/sync.md). A mailbox's stored window does not say which rule filled it, and incremental syncs and the daily
slide only read what changes or slides in, so single meetings beyond ``forward`` that existed at the upgrade would
never be read. Forgetting the stored windows makes each mailbox run one window sync, continuing from its SyncState;
the diff against the store writes only the meetings it did not have. Downgrading needs nothing: the older code also
runs a window sync for a mailbox without a stored window, and drops the single meetings beyond ``forward``.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Only the columns this revision touches, so that it does not depend on tables.py as it evolves.
_mailboxes = sa.table("mailboxes", sa.column("window_start", sa.DateTime), sa.column("window_end", sa.DateTime))


def upgrade() -> None:
    op.execute(_mailboxes.update().values(window_start=None, window_end=None))


def downgrade() -> None:
    pass
