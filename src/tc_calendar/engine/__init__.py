"""The runtime of sync: which mailboxes, the sync loops, streaming notifications, and the thread pools.

Import from the submodules (``tc_calendar.engine.service`` for :class:`SyncService`); this package root stays
empty so the EWS adapter can use :mod:`tc_calendar.engine.pool` without pulling in the rest of the engine.
"""
