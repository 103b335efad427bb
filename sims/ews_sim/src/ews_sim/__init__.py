"""A Microsoft Exchange Web Services (EWS) server for tests and demos.

It speaks SOAP over real sockets so that unmodified EWS clients (exchangelib) can be exercised against it.
It shares no code with tc_calendar on purpose: the two implementations check each other.
"""

__version__ = "0.1.0"
