"""Logs: text or JSON lines, and no secret ever reaches them, whatever shape it takes."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from tc_calendar.logging_setup import Redactor, configure_logging


@pytest.fixture(autouse=True)
def _restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_known_secrets_are_masked_also_when_url_or_json_escaped() -> None:
    redactor = Redactor(["p@ss w/rd\"x"])
    text = 'raw p@ss w/rd"x url p%40ss%20w%2Frd%22x json "p@ss w/rd\\"x"'
    assert "p@ss" not in redactor.redact(text)
    assert "p%40ss" not in redactor.redact(text)


def test_credential_shapes_are_masked_without_knowing_the_secret() -> None:
    redactor = Redactor()
    assert redactor.redact("Authorization: Bearer eyJhbGciOi.abc") == "Authorization: Bearer ***"
    assert redactor.redact("password=hunter2&user=x") == "password=***&user=x"
    assert redactor.redact('{"client_secret": "abc123"}') == '{"client_secret": "***"}'
    assert redactor.redact("postgresql+asyncpg://bridge:s3cr3t@db:5432/calendar") == (
        "postgresql+asyncpg://bridge:***@db:5432/calendar"
    )


def test_the_words_after_a_secret_key_name_in_a_message_are_kept() -> None:
    """A key path followed by what is wrong with it is a message, not a credential: "cannot" must survive."""
    redactor = Redactor()
    for message in (
        "calendarProviders[0].credentials[0].password: expected an encrypted value (starting with dGNf)",
        "dbConnectionConfig.password: cannot be decrypted with the key in /etc/calendar.key",
        "trueconf.clientSecret: cannot be decrypted; api.secret: expected a string",
    ):
        assert redactor.redact(message) == message
    assert redactor.redact("password: 'hunter2' secret = s3cr3t") == "password: '***' secret = ***"


def test_a_short_secret_is_masked_where_it_stands_alone_not_inside_words() -> None:
    redactor = Redactor(["x", "pw"])
    assert redactor.redact("unexpected error: no such table: mailboxes; user:pw@db, password pw") == (
        "unexpected error: no such table: mailboxes; user:***@db, password ***"
    )
    assert Redactor(["hunter22"]).redact("xhunter22y") == "x***y"  # a longer one wherever it appears


def test_secrets_added_later_are_masked_too() -> None:
    redactor = Redactor()
    redactor.add(["late-secret", ""])
    assert redactor.redact("x late-secret y") == "x *** y"


def test_text_lines_carry_time_level_logger_and_message_without_secrets() -> None:
    stream = io.StringIO()
    configure_logging("info", "text", secrets=["TopSecret"], stream=stream)
    logging.getLogger("tc_calendar.test").info("connecting with %s", "TopSecret")
    logging.getLogger("tc_calendar.test").debug("not shown at info")
    [line] = stream.getvalue().splitlines()
    assert line.endswith(" INFO tc_calendar.test: connecting with ***")
    assert line[:4].isdigit() and "T" in line.split()[0]


def test_json_lines_are_one_object_each_with_the_exception_and_no_secret() -> None:
    stream = io.StringIO()
    configure_logging("debug", "json", secrets=["TopSecret"], stream=stream)
    try:
        raise ValueError("bad TopSecret")
    except ValueError:
        logging.getLogger("tc_calendar.test").exception("failed for %s", "TopSecret")
    [line] = stream.getvalue().splitlines()
    entry = json.loads(line)
    assert entry["level"] == "error"
    assert entry["logger"] == "tc_calendar.test"
    assert entry["message"] == "failed for ***"
    assert "ValueError: bad ***" in entry["exception"]
    assert "TopSecret" not in line


def test_configuring_again_replaces_our_handler_and_keeps_others() -> None:
    other = logging.NullHandler()
    logging.getLogger().addHandler(other)
    first, second = io.StringIO(), io.StringIO()
    configure_logging("info", stream=first)
    configure_logging("warning", stream=second)
    logging.getLogger("tc_calendar.test").warning("once")
    assert first.getvalue() == ""
    assert second.getvalue().count("once") == 1
    assert other in logging.getLogger().handlers
