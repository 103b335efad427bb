"""Loading config.json: the seed's file works as is, our keys have defaults, secrets are decrypted."""

from __future__ import annotations

import logging
import textwrap
from pathlib import Path

import pytest
from pydantic import SecretStr

from tc_calendar.config import (
    DEFAULT_CONFIG_PATH,
    Settings,
    load_settings,
    resolve_config_path,
    resolve_key_file,
)
from tc_calendar.crypto import SecretBox
from tc_calendar.errors import ConfigError

GUIDE_EXAMPLE = Path(__file__).parent / "data" / "configs" / "guide_example.json"


@pytest.fixture(autouse=True)
def _no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TC_CALENDAR_CONFIG", raising=False)
    monkeypatch.delenv("TC_CALENDAR_KEY_FILE", raising=False)


@pytest.fixture
def box(tmp_path: Path) -> SecretBox:
    return SecretBox.load_or_create(tmp_path / "calendar.key")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.json"
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def guide_config(tmp_path: Path, box: SecretBox, password: str = "exchange-pw") -> Path:
    """The guide's sections 3.1.1-3.1.4 as one file, with a real token where it says "encrypted_password"."""
    text = GUIDE_EXAMPLE.read_text(encoding="utf-8").replace("encrypted_password", box.encrypt(password))
    path = tmp_path / "config.json"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_guides_example_loads_with_its_comment_and_trailing_comma(tmp_path: Path, box: SecretBox) -> None:
    settings = load_settings(guide_config(tmp_path, box))
    assert settings.ws_port == 4315
    db = settings.db_connection_config
    assert db is not None
    assert (db.host, db.port, db.user, db.database) == ("localhost", 5441, "bridge", "calendar")
    assert db.password.get_secret_value() == ""
    assert settings.launch_conference is True
    assert settings.temporal_conf_participants_mode is False
    assert (settings.cache.auto_sync, settings.cache.backward, settings.cache.forward) == (False, 2, 3)
    assert settings.product_whitelist.tcs == ("server.trueconf.name#vcs",)
    [provider] = settings.calendar_providers
    assert provider.url == "https://exchange.domen.com:443/EWS/Exchange.asmx"
    assert provider.type == "ews"
    assert provider.credentials[0].login == "test"
    assert provider.credentials[0].password.get_secret_value() == "exchange-pw"
    assert provider.users == ("name@domen.com",)


def test_the_guides_placeholder_password_is_refused_as_not_encrypted() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(GUIDE_EXAMPLE)
    assert caught.value.key_path == "calendarProviders[0].credentials[0].password"
    assert caught.value.line == 30
    assert "tc_calendar --hash_pass" in str(caught.value)


def test_a_minimal_file_gets_the_documented_defaults(tmp_path: Path, box: SecretBox) -> None:
    path = write(tmp_path, f"""
        {{"calendarProviders": [{{"host": "ex.example.com",
                                 "credentials": [{{"login": "svc", "password": "{box.encrypt("pw")}"}}]}}]}}
    """)
    settings = load_settings(path)
    assert settings.ws_port == 4315
    assert settings.db_connection_config is None
    assert settings.database_kind == "sqlite"
    assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path / 'calendar.db'}"
    assert settings.key_file == tmp_path / "calendar.key"
    assert settings.launch_conference is True
    assert settings.cache.backward == 2 and settings.cache.forward == 3 and settings.cache.auto_sync is False
    assert settings.log_level == "info" and settings.log_format == "text"
    assert settings.account_limit is None
    assert settings.trueconf is None
    assert settings.launch.grace_minutes == 15
    assert settings.api.host == "0.0.0.0" and settings.api.secret is None
    assert settings.link_rules == ()
    provider = settings.calendar_providers[0]
    assert (provider.path, provider.port, provider.type, provider.scheme) == ("/EWS/Exchange.asmx", 443, "ews", "https")
    assert (provider.auth, provider.verify_tls, provider.timeout_seconds, provider.max_concurrency) == (
        "auto", True, 30.0, 10
    )


def test_all_our_keys_are_read(tmp_path: Path, box: SecretBox) -> None:
    enc = box.encrypt
    path = write(tmp_path, f"""
        {{
          "wsPort": 4400,
          "sqlitePath": "data/cache.db",
          "logLevel": "DEBUG",
          "logFormat": "json",
          "accountLimit": 50,
          "productWhitelist": {{"tcs": ["tcs.example.com#vcs"]}},
          "trueconf": {{"url": "https://tcs.example.com/", "clientId": "calendar", "clientSecret": "{enc("cs")}",
                        "apiVersion": "v3.11", "verifyTls": false, "caBundle": "/etc/ssl/ca.pem",
                        "userMap": {{"Alice@Example.com": "alice"}}}},
          "launch": {{"graceMinutes": 5}},
          "api": {{"secret": "{enc("shared")}", "secrets": {{"tcs.example.com#vcs": "{enc("own")}"}},
                   "tlsCert": "cert.pem", "tlsKey": "key.pem", "host": "127.0.0.1"}},
          "web": {{"users": {{"admin": "{enc("webpw")}"}}}},
          "linkRules": [{{"name": "corp", "pattern": "https://vc\\\\.corp/c/(?P<id>\\\\w+)", "fields": ["body"]}}],
          "calendarProviders": [{{"host": "ex.example.com", "port": 8443, "scheme": "http", "auth": "ntlm",
                                  "verifyTls": false, "caBundle": "ca.pem", "timeoutSeconds": 5,
                                  "maxConcurrency": 3,
                                  "credentials": [{{"login": "svc", "password": "{enc("pw")}"}}],
                                  "users": ["Bob@Example.com"]}}]
        }}
    """)
    s = load_settings(path)
    assert s.ws_port == 4400
    assert s.sqlite_file == tmp_path / "data" / "cache.db"
    assert (s.log_level, s.log_format, s.account_limit) == ("debug", "json", 50)
    assert s.trueconf is not None
    assert s.trueconf.url == "https://tcs.example.com"
    assert s.trueconf.client_secret == SecretStr("cs")
    assert (s.trueconf.api_version, s.trueconf.verify_tls) == ("v3.11", False)
    assert s.trueconf.user_map == {"alice@example.com": "alice"}
    assert s.launch.grace_minutes == 5
    assert s.api.secret_for("tcs.example.com#vcs") == SecretStr("own")
    assert s.api.secret_for("other#vcs") == SecretStr("shared")
    assert s.web.users["admin"].get_secret_value() == "webpw"
    assert s.link_rules[0].regex.search("join https://vc.corp/c/abc1").group("id") == "abc1"  # type: ignore[union-attr]
    assert s.link_rules[0].fields == ("body",)
    provider = s.calendar_providers[0]
    assert provider.url == "http://ex.example.com:8443/EWS/Exchange.asmx"
    assert (provider.auth, provider.verify_tls, provider.timeout_seconds, provider.max_concurrency) == (
        "ntlm", False, 5.0, 3
    )
    assert provider.users == ("bob@example.com",)
    assert set(s.secret_values()) == {"cs", "shared", "own", "webpw", "pw"}


def test_decrypted_secrets_never_show_in_repr(tmp_path: Path, box: SecretBox) -> None:
    settings = load_settings(guide_config(tmp_path, box, password="TopSecret-42"))
    assert "TopSecret-42" not in repr(settings)
    assert "TopSecret-42" not in str(settings)


def test_postgres_url_escapes_the_decrypted_password(tmp_path: Path, box: SecretBox) -> None:
    path = write(tmp_path, f"""
        {{"dbConnectionConfig": {{"host": "db.internal", "port": 5441, "user": "bridge",
                                  "password": "{box.encrypt("p@ss:w/rd")}", "database": "calendar"}},
          "calendarProviders": []}}
    """)
    settings = load_settings(path)
    assert settings.database_kind == "postgresql"
    assert settings.database_url == "postgresql+asyncpg://bridge:p%40ss%3Aw%2Frd@db.internal:5441/calendar"


def test_an_empty_database_password_means_none(tmp_path: Path) -> None:
    path = write(tmp_path, '{"dbConnectionConfig": {"user": "bridge", "password": ""}, "calendarProviders": []}')
    assert load_settings(path).database_url == "postgresql+asyncpg://bridge@localhost:5432/calendar"


def test_a_file_without_encrypted_values_needs_no_key_file(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, '{"calendarProviders": []}'))
    assert not (tmp_path / "calendar.key").exists()
    assert settings.secret_values() == ()


def test_config_path_comes_from_the_argument_then_the_environment_then_the_default(tmp_path: Path) -> None:
    env = {"TC_CALENDAR_CONFIG": str(tmp_path / "env.json")}
    assert resolve_config_path(tmp_path / "arg.json", env) == tmp_path / "arg.json"
    assert resolve_config_path(None, env) == tmp_path / "env.json"
    assert resolve_config_path(None, {}) == DEFAULT_CONFIG_PATH
    assert Path("/opt/trueconf/calendar/etc/calendar/config.json") == DEFAULT_CONFIG_PATH


def test_key_file_comes_from_the_argument_then_environment_then_keyfile_then_beside_the_config(
    tmp_path: Path,
) -> None:
    config = tmp_path / "etc" / "config.json"
    env = {"TC_CALENDAR_KEY_FILE": str(tmp_path / "env.key")}
    assert resolve_key_file(config, key_file=tmp_path / "arg.key", key_file_setting="x.key", env=env) == (
        tmp_path / "arg.key"
    )
    assert resolve_key_file(config, key_file_setting="x.key", env=env) == tmp_path / "env.key"
    assert resolve_key_file(config, key_file_setting="x.key", env={}) == tmp_path / "etc" / "x.key"
    assert resolve_key_file(config, key_file_setting="/abs/x.key", env={}) == Path("/abs/x.key")
    assert resolve_key_file(config, env={}) == tmp_path / "etc" / "calendar.key"


def test_load_settings_uses_the_environment_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, '{"calendarProviders": [], "wsPort": 5000}')
    monkeypatch.setenv("TC_CALENDAR_CONFIG", str(path))
    settings = load_settings()
    assert settings.config_path == path
    assert settings.ws_port == 5000


def test_keyfile_setting_in_the_config_is_used_to_decrypt(tmp_path: Path) -> None:
    box = SecretBox.load_or_create(tmp_path / "keys" / "own.key")
    path = write(tmp_path, f"""
        {{"keyFile": "keys/own.key",
          "calendarProviders": [{{"host": "h", "credentials": [{{"login": "l", "password": "{box.encrypt("pw")}"}}]}}]}}
    """)
    settings = load_settings(path)
    assert settings.key_file == tmp_path / "keys" / "own.key"
    assert settings.calendar_providers[0].credentials[0].password.get_secret_value() == "pw"


def test_unknown_keys_that_are_no_misspelling_are_warned_about_with_path_and_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write(tmp_path, """
        {
          "wsPort": 4315,
          "theme": "blue",
          "cache": {"backwardMonths": 2},
          "calendarProviders": []
        }
    """)
    with caplog.at_level(logging.WARNING, logger="tc_calendar.config"):
        load_settings(path)
    messages = [record.getMessage() for record in caplog.records]
    assert f"config warning: {path} line 3: theme: unknown key, ignored" in messages
    assert (f"config warning: {path} line 4: cache.backwardMonths: unknown key, ignored (did you mean backward?)"
            in messages)


def test_an_unknown_key_inside_a_provider_names_its_index(tmp_path: Path, box: SecretBox,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    path = write(tmp_path, f"""
        {{
          "calendarProviders": [
            {{"host": "h",
              "credentials": [{{"login": "l", "password": "{box.encrypt("pw")}", "domain": "CORP"}}]}}
          ]
        }}
    """)
    with caplog.at_level(logging.WARNING, logger="tc_calendar.config"):
        load_settings(path)
    messages = [record.getMessage() for record in caplog.records]
    where = f"config warning: {path} line 4: calendarProviders[0].credentials[0]"
    assert f"{where}.domain: unknown key, ignored" in messages


def test_a_misspelt_key_inside_a_provider_is_an_error_naming_its_index(tmp_path: Path, box: SecretBox) -> None:
    path = write(tmp_path, f"""
        {{
          "calendarProviders": [
            {{"host": "h",
              "credentials": [{{"login": "l", "password": "{box.encrypt("pw")}"}}],
              "hots": "typo", "Users": []}}
          ]
        }}
    """)
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert str(caught.value).splitlines() == [
        f"config error: {path} line 5: calendarProviders[0].hots: unknown key; did you mean host?",
        f"config error: {path} line 5: calendarProviders[0].Users: unknown key; did you mean users? (key names are "
        "case-sensitive)",
    ]


def test_settings_built_in_python_accept_secrets_directly() -> None:
    settings = Settings.model_validate(
        {"calendarProviders": [{"host": "h", "credentials": [{"login": "l", "password": SecretStr("pw")}]}]}
    )
    assert settings.calendar_providers[0].credentials[0].password.get_secret_value() == "pw"
