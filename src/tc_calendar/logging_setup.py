"""Logging for the whole process: text or JSON lines on stderr, with secrets removed from every line.

Secrets are held as ``SecretStr`` and so print as ``**********``, but a password can still reach a log through
an exception message, a URL or a library's debug output. The formatter is therefore the last line of defence:
it replaces every known secret (the decrypted values from the config, also URL- and JSON-escaped) and anything
shaped like a credential (``Authorization:`` headers, ``password=...``, ``"password": "..."``, ``user:pass@`` in
URLs) in the final text, traceback included. Only values are masked, never the words of a message:
``dbConnectionConfig.password: cannot be decrypted`` keeps its "cannot". Secrets that exist only at run time (the
generated API secret, the web session key) are added with :func:`hide_secrets`.

The first lines of defence are upstream: libraries that would write data rather than narrate (the SQLite
driver's parameters, WebSocket frames with passwords and tokens) stay at INFO even when we debug, and the
database engine hides SQL parameters.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import IO, Literal
from urllib.parse import quote

MASK = "***"
SHORT_SECRET = 6
"""Secrets shorter than this are masked where they stand alone, not inside longer words."""
LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}

_CREDENTIAL_SHAPES = (
    re.compile(r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?(?:bearer|basic|ntlm|negotiate)\s+)[^\s\"',]+"),
    # key=value, or key: "value" (JSON, a dict's repr). "password: cannot be decrypted" is a message about the
    # key, not the key's value: a colon must be followed by a quote before the word after it is masked.
    re.compile(
        r"(?i)([\"']?(?:password|passwd|client_secret|clientsecret|secret|access_token|refresh_token|token)"
        r"[\"']?(?:\s*=\s*[\"']?|\s*:\s*[\"']))(?!\*\*\*)[^\s\"'&,;}]+"
    ),
    re.compile(r"(://[^/\s:@]+:)[^@\s/]+(@)"),
)


class Redactor:
    """Removes secrets from text; the set of known secrets can grow once the configuration is loaded."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._literals: list[str] = []
        self._short: re.Pattern[str] | None = None
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        """Remember ``secrets`` (and the escaped forms they take in URLs and JSON).

        A secret shorter than :data:`SHORT_SECRET` characters is masked only where it stands alone: masked inside
        words, a password ``x`` would turn every "unexpected" into "une***pected"."""
        for secret in secrets:
            if not secret:
                continue
            forms = {secret, quote(secret, safe=""), quote(secret), json.dumps(secret)[1:-1]}
            self._literals.extend(form for form in forms if form not in self._literals)
        self._literals.sort(key=len, reverse=True)  # longest first, so a secret containing another is fully hidden
        short = [re.escape(literal) for literal in self._literals if len(literal) < SHORT_SECRET]
        self._short = re.compile(rf"(?<![0-9A-Za-z])(?:{'|'.join(short)})(?![0-9A-Za-z])") if short else None

    def redact(self, text: str) -> str:
        for literal in self._literals:
            if len(literal) >= SHORT_SECRET:
                text = text.replace(literal, MASK)
        if self._short is not None:
            text = self._short.sub(MASK, text)
        for shape in _CREDENTIAL_SHAPES:
            text = shape.sub(lambda m: m.group(1) + MASK + (m.group(2) if m.re.groups > 1 else ""), text)
        return text


class TextFormatter(logging.Formatter):
    """``2026-01-01T10:00:00Z INFO tc_calendar.sync: message`` with secrets removed."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.redactor = redactor

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return _timestamp(record)

    def format(self, record: logging.LogRecord) -> str:
        return self.redactor.redact(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per line (``time``, ``level``, ``logger``, ``message``, ``exception``), secrets removed."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": _timestamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return self.redactor.redact(json.dumps(entry, ensure_ascii=False))


def _timestamp(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


CHATTY_LIBRARIES = ("alembic", "exchangelib", "httpx", "httpcore", "urllib3", "uvicorn.error", "spnego")
#: Libraries whose debug output is the data itself (SQL parameters, WebSocket frames): never below INFO.
DATA_LOGGING_LIBRARIES = ("aiosqlite", "asyncpg", "websockets", "uvicorn.protocols")


class _OurHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Marks the handler this module installs, so configuring again replaces it and leaves others alone."""


def configure_logging(
    level: str = "info",
    fmt: Literal["text", "json"] = "text",
    *,
    secrets: Iterable[str] = (),
    stream: IO[str] | None = None,
) -> Redactor:
    """Send the root logger to ``stream`` (stderr) at ``level``; returns the redactor so secrets can be added."""
    redactor = Redactor(secrets)
    handler = _OurHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter(redactor) if fmt == "json" else TextFormatter(redactor))
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _OurHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(LEVELS.get(level.lower(), logging.INFO))
    # Libraries that narrate their internals at INFO; their warnings still come through unless we debug.
    chatty = logging.DEBUG if root.level <= logging.DEBUG else logging.WARNING
    for name in CHATTY_LIBRARIES:
        logging.getLogger(name).setLevel(chatty)
    for name in DATA_LOGGING_LIBRARIES:
        logging.getLogger(name).setLevel(max(chatty, logging.INFO))
    return redactor


def hide_secrets(secrets: Iterable[str]) -> None:
    """Keep ``secrets`` out of every line our handlers write from now on (secrets known only at run time)."""
    for handler in logging.getLogger().handlers:
        formatter = handler.formatter
        if isinstance(handler, _OurHandler) and isinstance(formatter, TextFormatter | JsonFormatter):
            formatter.redactor.add(secrets)
