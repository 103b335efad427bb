"""Alembic migration environment of the store (script location ``tc_calendar.store:migrations``)."""
