"""A launch claim given back before its start is ``released``, no longer ``failed`` with a ``released:`` reason.

Upgrading turns such rows into ``released`` (the reason without the prefix); downgrading turns ``released`` rows
back into ``failed`` with the prefix, which the older launcher reads as "claim again at once".

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: How revisions before 0003 marked a claim handed back: state ``failed``, ``last_error`` starting with this.
OLD_PREFIX = "released:"

_STATES_BEFORE = ("claimed", "started", "failed", "skipped")
_STATES_AFTER = (*_STATES_BEFORE, "released")

# Only the columns the data conversions touch, so that this revision does not depend on tables.py as it evolves.
_launches = sa.table("launches", sa.column("state", sa.String), sa.column("last_error", sa.Text))


def _check(states: Sequence[str]) -> str:
    return "state IN ({})".format(", ".join(f"'{state}'" for state in states))


def _replace_check(states: Sequence[str]) -> None:
    # SQLite cannot alter a constraint: batch mode copies the table with the new CHECK (and keeps its indexes).
    with op.batch_alter_table("launches") as batch_op:
        batch_op.drop_constraint(op.f("ck_launches_state"), type_="check")
        batch_op.create_check_constraint(op.f("ck_launches_state"), _check(states))


def upgrade() -> None:
    _replace_check(_STATES_AFTER)
    op.execute(
        _launches.update()
        .where(_launches.c.state == "failed", _launches.c.last_error.like(f"{OLD_PREFIX}%"))
        .values(state="released", last_error=sa.func.ltrim(sa.func.substr(_launches.c.last_error, len(OLD_PREFIX) + 1)))
    )


def downgrade() -> None:
    op.execute(
        _launches.update()
        .where(_launches.c.state == "released")
        .values(
            state="failed",
            last_error=sa.literal(f"{OLD_PREFIX} ") + sa.func.coalesce(_launches.c.last_error, "handed back"),
        )
    )
    _replace_check(_STATES_BEFORE)
