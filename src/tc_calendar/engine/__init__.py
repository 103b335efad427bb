"""The runtime of sync: which mailboxes, the sync loops and streaming notifications.

Import from the submodules (``tc_calendar.engine.service`` for :class:`SyncService`); this package root stays
empty so that importing one part of the engine does not pull in the rest.
"""
