"""The project's exception hierarchy.

Every error an administrator can act on derives from :class:`TcCalendarError`; the command line catches it
at the top and prints its message as one line, so the message itself must say what is wrong and what to do.
Each I/O boundary adds its own subclass in its own module (``ProviderError``, ``StoreError``, ``ApiError``,
``TrueConfError``); the two defined here belong to start-up: reading ``config.json`` and its secrets.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


class TcCalendarError(Exception):
    """Base of every error tc_calendar raises on purpose.

    ``exit_code`` is what the command exits with when this error reaches the top.
    """

    exit_code: int = 1

    logged_where_raised: bool = False
    """Whether the code that raises this error has logged it already (the store logs a database outage once for
    all its callers), so that a retry loop catching it logs it at DEBUG only
    (:class:`~tc_calendar.failure_log.FailureLog`)."""


class ConfigError(TcCalendarError):
    """``config.json`` cannot be used: missing, not JSON, or values that are wrong.

    Each problem is one line in the form
    ``config error: <file> line <n>: <key path>: <what was expected, what was found>``; when a file has several,
    all of them are reported at once, one line each in file order (``more``), so a single round of editing can
    fix them. The parts of the first problem are kept as attributes so tests and callers need not parse the text.
    """

    exit_code = 2

    def __init__(
        self,
        problem: str,
        *,
        file: Path | None = None,
        line: int | None = None,
        column: int | None = None,
        key_path: str | None = None,
        more: Sequence[ConfigError] = (),
    ) -> None:
        self.problem = problem
        self.file = file
        self.line = line
        self.column = column
        self.key_path = key_path
        self.more = tuple(more)
        super().__init__("\n".join(problem.render_line() for problem in self.problems))

    @property
    def problems(self) -> tuple[ConfigError, ...]:
        """This problem and the ones reported with it."""
        return (self, *self.more)

    def render_line(self) -> str:
        """This problem alone, as its one line."""
        where = []
        if self.file is not None:
            where.append(str(self.file))
        if self.line is not None:
            where.append(f"line {self.line}" + (f" column {self.column}" if self.column is not None else ""))
        text = "config error: "
        if where:
            text += " ".join(where) + ": "
        if self.key_path:
            text += f"{self.key_path}: "
        return text + self.problem


class SecretError(TcCalendarError):
    """A secret cannot be encrypted or decrypted: key file missing or unreadable, or a token that is not ours.

    When this happens while loading ``config.json`` it is turned into a :class:`ConfigError` that names the
    key holding the secret; on its own (for example in ``--hash_pass``) its message is printed as is.
    """

    exit_code = 2

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"secret error: {reason}")
