"""Errors of product registration and licensing.

Every message names the file or server involved and says what the administrator can do next; the command line
prints it as one line. All derive from :class:`LicenceError`, itself a :class:`TcCalendarError`.
"""

from __future__ import annotations

from tc_calendar.errors import TcCalendarError


class LicenceError(TcCalendarError):
    """A licence cannot be obtained, read or trusted."""

    exit_code = 3


class LicenceFormatError(LicenceError):
    """The file is not a tc-calendar licence at all (not JSON, a field missing, a wrong type)."""


class LicenceSignatureError(LicenceError):
    """The licence was altered after it was issued, or was signed by a key this installation does not trust."""


class LicenceExpiredError(LicenceError):
    """The licence's expiry date has passed."""


class LicenceFingerprintError(LicenceError):
    """The licence was issued for another installation (its fingerprint is not this one's)."""


class RegistrationError(LicenceError):
    """The registration server answered, and refused (unknown key, key used elsewhere, bad request)."""


class RegistrationServerUnreachable(LicenceError):
    """No answer from the registration server: connection refused, timed out, TLS failure or a 5xx answer."""


class FreeOfflineRegistrationError(LicenceError):
    """Seed 2.4.2: a free licence cannot be registered offline."""


class OfflineRequestWritten(LicenceError):
    """Registration could not complete online; ``regoffline.crg`` was written and must go to the manager.

    Not a failure of the command, but the product is not registered yet, hence a non-zero exit code.
    """

    exit_code = 4


class OfflineRequestError(LicenceError):
    """An offline request file (``regoffline.crg``) is damaged or not one."""
