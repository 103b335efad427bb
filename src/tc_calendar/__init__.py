"""tc-calendar: Microsoft Exchange calendars for TrueConf Server."""

__version__ = "0.1.0"
