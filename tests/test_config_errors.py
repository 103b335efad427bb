"""Every mistake in config.json is one line naming the file, the line and the key path, and saying what to do."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tc_calendar.config import load_settings
from tc_calendar.crypto import SecretBox
from tc_calendar.errors import ConfigError

# Line numbers in the cases below count from the line after the opening triple quote.
PROVIDER = '"host": "ex.example.com", "credentials": [{"login": "svc", "password": "TOKEN"}]'

CASES = [
    pytest.param(
        """
        {
          "calendarProviders": [
            {"host": "ex.example.com",
             "type": "exchange",
             "credentials": [{"login": "svc", "password": "TOKEN"}]}
          ]
        }""",
        "calendarProviders[0].type", 4, 'expected "ews" or "graph", got \'exchange\'',
        id="unknown provider type",
    ),
    pytest.param(
        """
        {
          "calendarProviders": [
            {"host": "dav.example.com", "type": "caldav",
             "credentials": [{"login": "svc", "password": "TOKEN"}]}
          ]
        }""",
        "calendarProviders[0].type", 3,
        "calendar provider type 'caldav' is not supported yet; use \"ews\" (Exchange Web Services, Exchange Server "
        "on premises) or \"graph\" (Microsoft Graph, Exchange Online)",
        id="planned provider type",
    ),
    pytest.param(
        """
        {
          "wsPort": "4315",
          "calendarProviders": []
        }""",
        "wsPort", 2, 'expected an integer, got the string "4315"',
        id="wrong type: string for a port",
    ),
    pytest.param(
        """
        {
          "calendarProviders": [
            {
              "host": "ex.example.com",
              "port": 70000,
              "credentials": [{"login": "svc", "password": "TOKEN"}]
            }
          ]
        }""",
        "calendarProviders[0].port", 5, "expected an integer from 1 to 65535, got 70000",
        id="port out of range",
    ),
    pytest.param(
        """
        {
          "calendarProviders": [
            {"host": "ex.example.com",
             "credentials": []}
          ]
        }""",
        "calendarProviders[0].credentials", 4, "expected at least one service account",
        id="empty credentials",
    ),
    pytest.param(
        """
        {
          "calendarProviders": [
            {PROVIDER,
             "users": [
               "alice@example.com",
               "bob.example.com"
             ]}
          ]
        }""",
        "calendarProviders[0].users[1]", 6,
        "expected an e-mail address such as name@example.com, got 'bob.example.com'",
        id="malformed e-mail",
    ),
    pytest.param(
        """
        {
          "calendarProviders": [
            {PROVIDER, "users": ["alice@example.com"]},
            {PROVIDER,
             "users": ["bob@example.com",
                       "Alice@Example.COM"]}
          ]
        }""",
        "calendarProviders[1].users[1]", 6,
        "the mailbox alice@example.com is listed under two providers, calendarProviders[0] (ews, host "
        "ex.example.com) at calendarProviders[0].users[0] and calendarProviders[1] (ews, host ex.example.com); list "
        "it under the one provider that serves it (e-mail addresses are compared ignoring case)",
        id="user under two providers, ignoring case",
    ),
    pytest.param(
        """
        {
          "calendarProviders": [
            {PROVIDER,
             "users": ["alice@example.com",
                       "Alice@Example.COM"]}
          ]
        }""",
        "calendarProviders[0].users[1]", 5,
        "the user alice@example.com is listed twice (also at calendarProviders[0].users[0]; e-mail addresses are "
        "compared ignoring case)",
        id="duplicate user, ignoring case",
    ),
    pytest.param(
        """
        {
          "calendarProviders": [
            {"host": "ex.example.com",
             "credentials": [{"login": "svc",
                              "password": "Passw0rd!"}]}
          ]
        }""",
        "calendarProviders[0].credentials[0].password", 5,
        "expected an encrypted value (starting with dGNf), found text that is not encrypted; "
        "run tc_calendar --hash_pass <password> and put the printed token here instead",
        id="unencrypted password",
    ),
    pytest.param(
        """
        {
          "dbConnectionConfig": {"user": "bridge",
                                 "password": "plain"},
          "calendarProviders": []
        }""",
        "dbConnectionConfig.password", 3, "expected an encrypted value (starting with dGNf)",
        id="unencrypted database password",
    ),
    pytest.param(
        """
        {
          "calendarProviders": [
            {"credentials": [{"login": "svc", "password": "TOKEN"}]}
          ]
        }""",
        "calendarProviders[0].host", 3, "required key is missing",
        id="missing required key",
    ),
    pytest.param(
        """
        {
          "wsPort": 4315
        }""",
        "calendarProviders", 1, "required key is missing",
        id="missing calendarProviders",
    ),
    pytest.param(
        """
        {
          "calendarProviders": [],
          "linkRules": [
            {"name": "corp",
             "pattern": "https://vc/c/(?P<id>[a-z+"}
          ]
        }""",
        "linkRules[0].pattern", 5, "not a valid regular expression: unterminated character set",
        id="invalid regex",
    ),
    pytest.param(
        """
        {
          "calendarProviders": [],
          "linkRules": [{"name": "corp", "pattern": "https://vc/c/(\\\\w+)"}]
        }""",
        "linkRules[0].pattern", 3, "the regular expression needs a named group id",
        id="regex without the id group",
    ),
    pytest.param(
        """
        {
          "calendarProviders": [],
          "cache": {
            "autoSync": false,
            "backward": -1,
            "forward": 3
          }
        }""",
        "cache.backward", 5, "expected a whole number of months, 0 or more, got -1",
        id="backward negative",
    ),
    pytest.param(
        """
        {
          "calendarProviders": [],
          "cache": {"forward": -3}
        }""",
        "cache.forward", 3, "expected a whole number of months, 0 or more, got -3",
        id="forward negative",
    ),
    pytest.param(
        """
        {
          "launchConference": "yes",
          "calendarProviders": []
        }""",
        "launchConference", 2, 'expected true or false, got the string "yes"',
        id="string for a boolean",
    ),
    pytest.param(
        """
        {
          "calendarProviders": [
            {PROVIDER,
             "users": "alice@example.com"}
          ]
        }""",
        "calendarProviders[0].users", 4, 'expected a list ([...]), got the string "alice@example.com"',
        id="string for a list",
    ),
    pytest.param(
        """
        {
          "calendarProviders": [],
          "cache": [2, 3]
        }""",
        "cache", 3, "expected an object ({...}), got a list",
        id="list for an object",
    ),
    pytest.param(
        """
        {
          "calendarProviders": [],
          "logFormat": "xml"
        }""",
        "logFormat", 3, 'expected one of "text" or "json", got the string "xml"',
        id="value not among the choices",
    ),
    pytest.param(
        """
        {
          "calendarProviders": [],
          "trueconf": {
            "url": "https://tcs.example.com"
          }
        }""",
        "trueconf", 3, "expected clientId and clientSecret (OAuth2 application), or token",
        id="trueconf without credentials",
    ),
    pytest.param(
        """
        {
          "calendarProviders": [],
          "trueconf": {"url": "tcs.example.com", "token": "TOKEN"}
        }""",
        "trueconf.url", 3, "expected an http:// or https:// URL",
        id="trueconf url without scheme",
    ),
    pytest.param(
        """
        {
          "calendarProviders": [],
          "api": {"tlsCert": "cert.pem"}
        }""",
        "api", 3, "tlsCert and tlsKey must be given together",
        id="half a TLS pair",
    ),
    pytest.param(
        """
        {
          "calendarProviders": [],
          "accountLimit": 0
        }""",
        "accountLimit", 3, "expected a number >= 1, got 0",
        id="account limit below one",
    ),
    pytest.param(
        """
        {
          "calendarProviders": [
            {PROVIDER, "path": "EWS/Exchange.asmx"}
          ]
        }""",
        "calendarProviders[0].path", 3, "expected a path starting with /",
        id="relative EWS path",
    ),
    pytest.param(
        """
        {
          "wsPort": 4315,
          "calendarProviders": [],
          "wsPort": 4316
        }""",
        "wsPort", 4, "the key 'wsPort' appears twice in the same object (first at line 2)",
        id="duplicate key",
    ),
]


@pytest.fixture
def token(tmp_path: Path) -> str:
    return SecretBox.load_or_create(tmp_path / "calendar.key").encrypt("pw")


def write(tmp_path: Path, text: str, token: str) -> Path:
    path = tmp_path / "config.json"
    body = textwrap.dedent(text).lstrip("\n").replace("PROVIDER", PROVIDER).replace("TOKEN", token)
    path.write_text(body, encoding="utf-8")
    return path


@pytest.mark.parametrize(("text", "key_path", "line", "problem"), CASES)
def test_a_bad_value_is_reported_with_its_key_path_and_line(
    tmp_path: Path, token: str, text: str, key_path: str, line: int, problem: str
) -> None:
    path = write(tmp_path, text, token)
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    error = caught.value
    assert (error.key_path, error.line) == (key_path, line)
    assert str(error).startswith(f"config error: {path} line {line}: {key_path}: {problem}")
    assert "\n" not in str(error)


def test_the_message_has_the_documented_shape(tmp_path: Path, token: str) -> None:
    path = write(tmp_path, CASES[3].values[0], token)  # type: ignore[arg-type]
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert str(caught.value) == (
        f"config error: {path} line 5: calendarProviders[0].port: expected an integer from 1 to 65535, got 70000"
    )


def test_not_json_names_the_line_and_column_of_the_syntax_error(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text('{\n  "wsPort": 4315\n  "calendarProviders": []\n}\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert str(caught.value) == (
        f"config error: {path} line 3 column 3: not valid JSON: expected ',' or '}}' after an object member"
    )


def test_a_missing_file_says_how_to_choose_another(tmp_path: Path) -> None:
    path = tmp_path / "absent.json"
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert str(caught.value) == (
        f"config error: {path}: the file does not exist (choose another with --config or TC_CALENDAR_CONFIG)"
    )


def test_a_top_level_that_is_not_an_object_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text("[1, 2]")
    with pytest.raises(ConfigError, match="expected a JSON object"):
        load_settings(path)


def test_several_problems_are_all_reported_one_per_line_in_file_order(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text('{\n "cache": {"backward": -1},\n "wsPort": 0,\n "calendarProviders": [{"port": 0}]\n}')
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert caught.value.key_path == "cache.backward"
    assert [(problem.line, problem.key_path) for problem in caught.value.problems] == [
        (2, "cache.backward"), (3, "wsPort"), (4, "calendarProviders[0].host"), (4, "calendarProviders[0].port"),
        (4, "calendarProviders[0].credentials"),
    ]
    assert str(caught.value).splitlines() == [
        f"config error: {path} line 2: cache.backward: expected a whole number of months, 0 or more, got -1",
        f"config error: {path} line 3: wsPort: expected an integer from 1 to 65535, got 0",
        f"config error: {path} line 4: calendarProviders[0].host: required key is missing",
        f"config error: {path} line 4: calendarProviders[0].port: expected an integer from 1 to 65535, got 0",
        f"config error: {path} line 4: calendarProviders[0].credentials: required key is missing",
    ]


def test_a_misspelt_known_key_is_an_error_with_a_suggestion(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text('{\n "calendarProviders": [],\n "cache": {\n  "autosync": true\n }\n}')
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert str(caught.value) == (
        f"config error: {path} line 4: cache.autosync: unknown key; did you mean autoSync? (key names are "
        "case-sensitive)"
    )


def test_a_misspelt_required_key_is_reported_once_with_a_suggestion(tmp_path: Path, token: str) -> None:
    path = write(tmp_path, """
        {
          "calendarProviders": [
            {"hots": "ex.example.com",
             "credentials": [{"login": "svc", "password": "TOKEN"}]}
          ]
        }""", token)
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert str(caught.value) == (
        f"config error: {path} line 3: calendarProviders[0].hots: unknown key; did you mean host? (a required key, "
        "missing here)"
    )


def test_a_token_from_another_key_file_names_the_key_and_the_key_file(tmp_path: Path) -> None:
    foreign = SecretBox.load_or_create(tmp_path / "other" / "calendar.key").encrypt("pw")
    SecretBox.load_or_create(tmp_path / "calendar.key")
    path = write(tmp_path, '{\n "calendarProviders": [{PROVIDER}]\n}', foreign)
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert str(caught.value) == (
        f"config error: {path} line 2: calendarProviders[0].credentials[0].password: cannot be decrypted with the "
        f"key in {tmp_path / 'calendar.key'} (wrong key file, or the value was changed); encrypt it again with "
        "tc_calendar --hash_pass"
    )


def test_a_changed_token_is_refused(tmp_path: Path, token: str) -> None:
    tampered = token[:30] + ("A" if token[30] != "A" else "B") + token[31:]
    path = write(tmp_path, '{\n "calendarProviders": [{PROVIDER}]\n}', tampered)
    with pytest.raises(ConfigError, match=r"credentials\[0\]\.password: cannot be decrypted"):
        load_settings(path)


def test_a_missing_key_file_with_encrypted_values_is_a_clear_error(tmp_path: Path, token: str) -> None:
    path = write(tmp_path, '{\n "calendarProviders": [{PROVIDER}]\n}', token)
    (tmp_path / "calendar.key").unlink()
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert caught.value.key_path == "calendarProviders[0].credentials[0].password"
    assert f"the key file {tmp_path / 'calendar.key'} does not exist" in str(caught.value)


def test_secret_values_of_the_wrong_type_are_not_echoed(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text('{"calendarProviders": [{"host": "h", "credentials": [{"login": "l", "password": 987654}]}]}')
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert "987654" not in str(caught.value)
    assert caught.value.key_path == "calendarProviders[0].credentials[0].password"


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=6,
)
_BASE: dict[str, object] = {
    "wsPort": 4315,
    "dbConnectionConfig": {"host": "h", "port": 5432, "user": "u", "password": "", "database": "d"},
    "cache": {"autoSync": False, "backward": 2, "forward": 3},
    "productWhitelist": {"tcs": ["tcs#vcs"]},
    "calendarProviders": [{"host": "h", "credentials": [{"login": "l", "password": "x"}], "users": ["a@b.c"]}],
    "trueconf": {"url": "https://t", "token": "x", "userMap": {"a@b.c": "a"}},
    "api": {"secrets": {"tcs#vcs": "x"}, "tlsCert": None, "tlsKey": None},
    "web": {"users": {"admin": "x"}},
    "linkRules": [{"name": "n", "pattern": "(?P<id>x)", "fields": ["body"]}],
    "launch": {"graceMinutes": 1},
}
_PATHS = [
    ("wsPort",), ("dbConnectionConfig",), ("dbConnectionConfig", "port"), ("cache", "backward"), ("cache",),
    ("productWhitelist", "tcs"), ("productWhitelist", "tcs", 0), ("calendarProviders",), ("calendarProviders", 0),
    ("calendarProviders", 0, "credentials"), ("calendarProviders", 0, "credentials", 0, "password"),
    ("calendarProviders", 0, "users", 0), ("calendarProviders", 0, "port"), ("trueconf",), ("trueconf", "userMap"),
    ("trueconf", "userMap", "a@b.c"), ("api", "secrets"), ("api", "secrets", "tcs#vcs"), ("web", "users"),
    ("linkRules", 0, "fields"), ("linkRules", 0, "pattern"), ("launch", "graceMinutes"), ("accountLimit",),
    ("logLevel",), ("keyFile",),
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(_PATHS), value=_json_values)
@example(path=("wsPort",), value="\x85")  # a line break for str.splitlines, not for JSON
def test_any_value_anywhere_gives_settings_or_a_config_error_never_a_crash(
    tmp_path: Path, path: tuple[str | int, ...], value: object
) -> None:
    box = SecretBox.load_or_create(tmp_path / "calendar.key")
    data = json.loads(json.dumps(_BASE).replace('"x"', json.dumps(box.encrypt("pw"))))
    target = data
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    config = tmp_path / "config.json"
    config.write_text(json.dumps(data, indent=2))
    try:
        load_settings(config)
    except ConfigError as error:
        assert error.line is not None and error.line >= 1
        assert all(problem.line is not None and problem.line >= 1 for problem in error.problems)
        assert len(str(error).splitlines()) == len(error.problems)


def test_a_file_that_is_not_utf8_is_refused_with_the_byte_offset(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_bytes(b'{"wsPort": 4315, "x": "\xff"}')
    with pytest.raises(ConfigError, match=r"the file is not UTF-8 text \(invalid start byte at byte 23\)"):
        load_settings(path)


def test_a_directory_instead_of_the_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"is a directory, expected the config\.json file"):
        load_settings(tmp_path)
