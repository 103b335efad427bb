"""The sync core: pure decisions from (what the provider reports, what the store holds) to actions.

Nothing in this package does I/O; the provider adapters feed it and the store applies what it returns.

The path of one sync, module by module:

* :mod:`~tc_calendar.sync.window`: which months are materialized: series within ``cache.backward``/
  ``cache.forward``, single meetings from the same start up to a safety limit; in whole UTC days so the window
  moves once a day;
* :mod:`~tc_calendar.sync.normalize`: provider records of one mailbox -> :class:`SeenOccurrence` (what its user
  sees: visibility, own answer, roles, organizer copy), expanding series with
  :mod:`~tc_calendar.sync.recurrence`, describing bodies with :mod:`~tc_calendar.sync.html_text` and finding
  the conference with :mod:`~tc_calendar.sync.links`;
* :mod:`~tc_calendar.sync.diff`: seen occurrences + what the store holds -> :mod:`~tc_calendar.sync.actions`,
  comparing :mod:`~tc_calendar.sync.content_hash` fingerprints so that invisible edits cause no work.
"""
