"""Value types shared by the settings models: ports, e-mail addresses, encrypted secrets.

Each raises :class:`pydantic_core.PydanticCustomError` with a message that says what was expected, because the
loader shows pydantic's message to the administrator next to the key path and line.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, SecretStr, Strict, ValidationInfo
from pydantic_core import PydanticCustomError

from tc_calendar.crypto import HASH_PASS_HINT, looks_encrypted
from tc_calendar.errors import SecretError

Decryptor = Callable[[str], str]
"""Turns a ``dGNf...`` token into its plaintext or raises :class:`SecretError`; passed in the validation context."""

DECRYPTOR_CONTEXT_KEY = "decrypt"

_DOMAIN_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_EMAIL = re.compile(rf"[^@\s\"(),:;<>\[\]\\]+@{_DOMAIN_LABEL}(?:\.{_DOMAIN_LABEL})*")


def _check_port(value: int) -> int:
    if not 1 <= value <= 65535:
        raise PydanticCustomError("port", "expected an integer from 1 to 65535, got {value}", {"value": value})
    return value


def _check_months(value: int) -> int:
    if value < 0:
        raise PydanticCustomError(
            "months", "expected a whole number of months, 0 or more, got {value}", {"value": value}
        )
    return value


def _normalise_email(value: str) -> str:
    address = value.strip()
    if not _EMAIL.fullmatch(address):
        raise PydanticCustomError(
            "email", "expected an e-mail address such as name@example.com, got {value}", {"value": repr(value)}
        )
    return address.lower()


def _check_non_empty(value: str) -> str:
    if not value.strip():
        raise PydanticCustomError("empty", "expected a non-empty string")
    return value


def _decrypt(value: object, info: ValidationInfo, *, allow_empty: bool) -> SecretStr:
    """Decrypt a ``--hash_pass`` token found in the file; values built in Python may pass a ``SecretStr``."""
    if isinstance(value, SecretStr):
        return value
    if not isinstance(value, str):
        raise PydanticCustomError("secret_type", "expected an encrypted string; " + HASH_PASS_HINT)
    if allow_empty and value == "":
        return SecretStr("")
    if not looks_encrypted(value):
        raise PydanticCustomError(
            "secret_plain",
            "expected an encrypted value (starting with dGNf), found text that is not encrypted; "
            "run tc_calendar --hash_pass <password> and put the printed token here instead",
        )
    decrypt: Decryptor | None = (info.context or {}).get(DECRYPTOR_CONTEXT_KEY)
    if decrypt is None:
        raise PydanticCustomError("secret_no_key", "an encrypted value was given but no key file is available")
    try:
        return SecretStr(decrypt(value))
    except SecretError as exc:
        raise PydanticCustomError("secret", "{reason}", {"reason": exc.reason}) from exc


def _decrypt_required(value: object, info: ValidationInfo) -> SecretStr:
    return _decrypt(value, info, allow_empty=False)


def _decrypt_optional(value: object, info: ValidationInfo) -> SecretStr:
    return _decrypt(value, info, allow_empty=True)


Port = Annotated[int, Strict(), AfterValidator(_check_port)]
Months = Annotated[int, Strict(), AfterValidator(_check_months)]
Email = Annotated[str, Strict(), AfterValidator(_normalise_email)]
NonEmptyStr = Annotated[str, Strict(), AfterValidator(_check_non_empty)]
EncryptedSecret = Annotated[SecretStr, BeforeValidator(_decrypt_required)]
"""A secret stored encrypted in the file and held decrypted, as ``SecretStr`` so it never shows in repr or logs."""
EncryptedSecretOrEmpty = Annotated[SecretStr, BeforeValidator(_decrypt_optional)]
"""Like :data:`EncryptedSecret`, but ``""`` means "no secret" (the seed's ``dbConnectionConfig.password``)."""
