"""Encryption of the secrets written into ``config.json`` (``tc_calendar --hash_pass``).

The seed's tokens look like ``dGNf...``: base64 of a value starting with ``tc_``. We keep that shape so an
administrator recognises them, but the value inside is real authenticated encryption (Fernet: AES-128-CBC with
an HMAC-SHA256), under a key kept in a separate file created on first use with mode 0600. Copying the config
without the key file reveals nothing; changing one character of a token makes it fail to decrypt instead of
decrypting to something else.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import stat
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from tc_calendar.errors import SecretError

TOKEN_PREFIX = b"tc_"
"""Every token is base64 of ``tc_`` + a Fernet token, so its text starts with :data:`TOKEN_TEXT_PREFIX`."""

TOKEN_TEXT_PREFIX = "dGNf"

HASH_PASS_HINT = "encrypt it with: tc_calendar --hash_pass <password>"

log = logging.getLogger("tc_calendar.crypto")


def looks_encrypted(value: str) -> bool:
    """Whether ``value`` has the shape of one of our tokens (says nothing about which key made it)."""
    return _unwrap(value) is not None


def _unwrap(value: str) -> bytes | None:
    """The Fernet token inside one of our tokens, or ``None`` when ``value`` is not one."""
    if not value.startswith(TOKEN_TEXT_PREFIX):
        return None
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    if not raw.startswith(TOKEN_PREFIX) or len(raw) == len(TOKEN_PREFIX):
        return None
    return raw[len(TOKEN_PREFIX) :]


class SecretBox:
    """Encrypts and decrypts secrets with the key in one key file."""

    def __init__(self, key: bytes, key_file: Path) -> None:
        try:
            self._fernet = Fernet(key)
        except (ValueError, binascii.Error) as exc:
            raise SecretError(
                f"the key file {key_file} does not hold a valid key (it must be the file written by "
                "tc_calendar --hash_pass; restore it from a backup, or delete it and encrypt every secret again)"
            ) from exc
        self.key_file = key_file

    @classmethod
    def load(cls, key_file: Path) -> SecretBox:
        """Open an existing key file; a missing or unreadable file is a :class:`SecretError`."""
        try:
            key = key_file.read_bytes().strip()
        except FileNotFoundError as exc:
            raise SecretError(
                f"the key file {key_file} does not exist; copy the key file that was used with "
                "tc_calendar --hash_pass there (or point keyFile, --key-file or TC_CALENDAR_KEY_FILE at it)"
            ) from exc
        except OSError as exc:
            raise SecretError(f"cannot read the key file {key_file}: {exc.strerror or exc}") from exc
        _warn_if_exposed(key_file)
        return cls(key, key_file)

    @classmethod
    def load_or_create(cls, key_file: Path) -> SecretBox:
        """Open the key file, creating it with a new random key and mode 0600 when it does not exist yet.

        Creation uses ``O_EXCL`` so two processes started at once cannot write two different keys.
        """
        try:
            try:
                key_file.parent.mkdir(parents=True, exist_ok=True)
            except FileExistsError as exc:  # a file stands where the directory should be
                raise NotADirectoryError(20, "Not a directory") from exc
            descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return cls.load(key_file)
        except OSError as exc:
            raise SecretError(
                f"cannot create the key file {key_file}: {exc.strerror or exc}; "
                "choose a writable place with --key-file or TC_CALENDAR_KEY_FILE"
            ) from exc
        key = Fernet.generate_key()
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(key + b"\n")
        os.chmod(key_file, 0o600)  # the umask may have removed bits, never added them; make it exact
        return cls(key, key_file)

    def encrypt(self, plaintext: str) -> str:
        """A token for ``plaintext``; encrypting the same text twice gives different tokens."""
        inner = self._fernet.encrypt(plaintext.encode("utf-8"))
        return base64.b64encode(TOKEN_PREFIX + inner).decode("ascii")

    def decrypt(self, token: str) -> str:
        """The plaintext inside ``token``; raises :class:`SecretError` saying why it cannot be had."""
        inner = _unwrap(token)
        if inner is None:
            raise SecretError(f"the value is not an encrypted token (they start with {TOKEN_TEXT_PREFIX}); "
                              + HASH_PASS_HINT)
        try:
            return self._fernet.decrypt(inner).decode("utf-8")
        except (InvalidToken, UnicodeDecodeError) as exc:
            raise SecretError(
                f"cannot be decrypted with the key in {self.key_file} (wrong key file, or the value was changed); "
                "encrypt it again with tc_calendar --hash_pass"
            ) from exc


def _warn_if_exposed(key_file: Path) -> None:
    """Whoever can read the key file can decrypt every secret in the config: say so if others can read it."""
    try:
        mode = stat.S_IMODE(key_file.stat().st_mode)
    except OSError:
        return
    if mode & 0o077:
        log.warning(
            "the key file %s can be read by other users (mode %04o); restrict it with: chmod 600 %s",
            key_file, mode, key_file,
        )
