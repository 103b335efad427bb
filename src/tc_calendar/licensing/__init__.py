"""Editions and registration (seed 1.2, 2.4): the signed licence, how it is obtained, and what it allows.

* :mod:`.licence` — the signed document, pure: build, verify, parse;
* :mod:`.fingerprint` — which installation a licence belongs to;
* :mod:`tc_calendar.licence_keys` — the public keys licences are checked with (outside this package, below
  the configuration, which checks ``registration.publicKey`` when it reads ``config.json``);
* :mod:`.client` — the registration server over HTTP;
* :mod:`.registration` — online and offline registration, ``regoffline.crg``;
* :mod:`.enforcement` — the account limit and the free edition's check-in with its grace period.
"""

from tc_calendar.licensing.errors import (
    FreeOfflineRegistrationError,
    LicenceError,
    LicenceExpiredError,
    LicenceFingerprintError,
    LicenceFormatError,
    LicenceSignatureError,
    OfflineRequestError,
    OfflineRequestWritten,
    RegistrationError,
    RegistrationServerUnreachable,
)
from tc_calendar.licensing.licence import Edition, Licence, is_free_key, sign_licence, verify_licence

__all__ = [
    "Edition",
    "FreeOfflineRegistrationError",
    "Licence",
    "LicenceError",
    "LicenceExpiredError",
    "LicenceFingerprintError",
    "LicenceFormatError",
    "LicenceSignatureError",
    "OfflineRequestError",
    "OfflineRequestWritten",
    "RegistrationError",
    "RegistrationServerUnreachable",
    "is_free_key",
    "sign_licence",
    "verify_licence",
]
