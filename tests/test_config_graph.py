"""Microsoft Graph providers in config.json: an app registration's tenant, client id, secret or certificate.

Given an entry with ``"type": "graph"``, the connector reads Exchange Online mailboxes through Graph; every
mistake an admin can make in it is one config error naming the key and saying what to put there.
"""

from __future__ import annotations

import json
import logging
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from app_certificates import (
    cert_pem,
    certificate_for,
    key_pem,
    rsa_key,
    thumbprint_of,
    write_app_certificate,
)
from tc_calendar.config import GraphProviderSettings, load_settings
from tc_calendar.crypto import SecretBox
from tc_calendar.errors import ConfigError

TENANT = "8f3c2a9e-0d1b-4c5e-9a7f-2b6d4e8c1a35"
CLIENT = "c0ffee00-1111-4222-8333-444455556666"
EWS = '{"host": "exchange.example.com", "credentials": [{"login": "svc", "password": "TOKEN"}]'


@pytest.fixture
def box(tmp_path: Path) -> SecretBox:
    return SecretBox.load_or_create(tmp_path / "calendar.key")


def write(tmp_path: Path, text: str, box: SecretBox) -> Path:
    path = tmp_path / "config.json"
    body = textwrap.dedent(text).lstrip("\n").replace("EWS", EWS)
    path.write_text(body.replace("TOKEN", box.encrypt("app-secret")), encoding="utf-8")
    return path


def graph_config(tmp_path: Path, box: SecretBox, **keys: object) -> Path:
    entry = {"type": "graph", "tenantId": TENANT, "clientId": CLIENT, "clientSecret": "TOKEN", **keys}
    entry = {key: value for key, value in entry.items() if value is not None}
    return write(tmp_path, json.dumps({"calendarProviders": [entry]}, indent=2), box)


def problem(path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert "\n" not in str(caught.value)
    return caught.value


def test_a_graph_provider_with_a_client_secret_loads_with_the_documented_defaults(
    tmp_path: Path, box: SecretBox
) -> None:
    settings = load_settings(graph_config(tmp_path, box, users=["Anna@Example.com"]))
    [provider] = settings.calendar_providers
    assert isinstance(provider, GraphProviderSettings)
    assert (provider.type, provider.tenant_id, provider.client_id) == ("graph", TENANT, CLIENT)
    assert provider.client_secret is not None and provider.client_secret.get_secret_value() == "app-secret"
    assert provider.certificate is None and provider.credential_kind == "secret"
    assert (provider.cloud, provider.authority_host, provider.graph_host) == ("global", None, None)
    assert (provider.verify_tls, provider.ca_bundle, provider.timeout_seconds) == (True, None, 30.0)
    assert (provider.notification_url, provider.delivery) == (None, "polling")
    assert (provider.poll_interval_seconds, provider.reconcile_minutes, provider.max_concurrency) == (30, 30, 4)
    assert provider.users == ("anna@example.com",)
    assert "app-secret" in settings.secret_values()
    assert "app-secret" not in repr(settings)


def test_a_certificate_next_to_the_config_is_read_and_its_thumbprint_may_be_written_as_entra_or_openssl_shows_it(
    tmp_path: Path, box: SecretBox
) -> None:
    thumbprint = write_app_certificate(tmp_path / "graph-app.pem")
    openssl_style = ":".join(thumbprint[i : i + 2] for i in range(0, 40, 2)).lower()
    path = graph_config(
        tmp_path, box, clientSecret=None, certificate={"file": "graph-app.pem", "thumbprint": openssl_style},
        notificationUrl="https://calendar.example.com/graph/notifications", cloud="usgov",
    )
    [provider] = load_settings(path).calendar_providers
    assert isinstance(provider, GraphProviderSettings)
    assert provider.certificate is not None and provider.credential_kind == "certificate"
    assert provider.certificate.path == tmp_path / "graph-app.pem"
    assert provider.certificate.thumbprint == thumbprint
    assert provider.delivery == "notifications"
    assert provider.cloud == "usgov"


def test_a_hybrid_organization_has_an_ews_and_a_graph_provider_and_keeps_the_users_order(
    tmp_path: Path, box: SecretBox
) -> None:
    path = write(tmp_path, f"""
        {{
          "calendarProviders": [
            EWS, "users": ["onprem@example.com"]}},
            {{"type": "graph", "tenantId": "contoso.onmicrosoft.com", "clientId": "{CLIENT}",
              "clientSecret": "TOKEN", "users": ["cloud@example.com"]}},
          ]
        }}""", box)
    settings = load_settings(path)
    ews, graph = settings.calendar_providers
    assert ews.type == "ews" and not isinstance(ews, GraphProviderSettings)
    assert ews.url == "https://exchange.example.com:443/EWS/Exchange.asmx"
    assert isinstance(graph, GraphProviderSettings) and graph.tenant_id == "contoso.onmicrosoft.com"
    assert [user for provider in settings.calendar_providers for user in provider.users] == [
        "onprem@example.com", "cloud@example.com"
    ]


def test_a_mailbox_under_an_ews_and_a_graph_provider_is_an_error_naming_both(tmp_path: Path, box: SecretBox) -> None:
    path = write(tmp_path, f"""
        {{
          "calendarProviders": [
            EWS, "users": ["anna@example.com", "boris@example.com"]}},
            {{"type": "graph", "tenantId": "{TENANT}", "clientId": "{CLIENT}", "clientSecret": "TOKEN",
              "users": ["Boris@Example.com"]}}
          ]
        }}""", box)
    error = problem(path)
    assert (error.key_path, error.line) == ("calendarProviders[1].users[0]", 5)
    assert error.problem.startswith(
        "the mailbox boris@example.com is listed under two providers, calendarProviders[0] (ews, host "
        "exchange.example.com) at calendarProviders[0].users[1] and calendarProviders[1] (graph, tenant "
        f"{TENANT}); list it under the one provider that serves it"
    )


@pytest.mark.parametrize(
    ("keys", "key_path", "expected"),
    [
        pytest.param(
            {"clientSecret": None}, "calendarProviders[0]",
            "expected clientSecret (the app registration's client secret, encrypted with tc_calendar --hash_pass) "
            'or certificate ({"file": "/path/app.pem", "thumbprint": "..."})',
            id="neither secret nor certificate",
        ),
        pytest.param(
            {"clientSecret": "app-secret"}, "calendarProviders[0].clientSecret",
            "expected an encrypted value (starting with dGNf), found text that is not encrypted",
            id="secret not encrypted",
        ),
        pytest.param(
            {"tenantId": "common"}, "calendarProviders[0].tenantId",
            "'common' cannot be used with application permissions; give the Directory (tenant) ID",
            id="multi-tenant alias",
        ),
        pytest.param(
            {"tenantId": "my tenant"}, "calendarProviders[0].tenantId",
            "expected the Directory (tenant) ID, a GUID such as 8f3c2a9e-0d1b-4c5e-9a7f-2b6d4e8c1a35, or a domain",
            id="tenant neither GUID nor domain",
        ),
        pytest.param(
            {"tenantId": None}, "calendarProviders[0].tenantId", "required key is missing", id="no tenant",
        ),
        pytest.param(
            {"clientId": "calendar-connector"}, "calendarProviders[0].clientId",
            "expected the Application (client) ID of the app registration, a GUID",
            id="client id not a GUID",
        ),
        pytest.param(
            {"cloud": "germany"}, "calendarProviders[0].cloud",
            'expected one of "global", "usgov" or "china", got the string "germany"',
            id="unknown cloud",
        ),
        pytest.param(
            {"authorityHost": "http://login.microsoftonline.us"}, "calendarProviders[0].authorityHost",
            "expected an https:// URL with a host and no path, such as https://login.microsoftonline.us",
            id="authority host over http",
        ),
        pytest.param(
            {"graphHost": "https://graph.microsoft.us/v1.0"}, "calendarProviders[0].graphHost",
            "expected an https:// URL with a host and no path",
            id="graph host with a path",
        ),
        pytest.param(
            {"notificationUrl": "http://calendar.example.com/graph/notifications"},
            "calendarProviders[0].notificationUrl",
            "expected the public https:// URL at which Microsoft Graph reaches the connector's HTTP server",
            id="notification URL over http",
        ),
        pytest.param(
            {"pollIntervalSeconds": 0}, "calendarProviders[0].pollIntervalSeconds", "expected a number > 0",
            id="zero poll interval",
        ),
        pytest.param(
            {"maxConcurrency": 10}, "calendarProviders[0].maxConcurrency", "expected a number <= 4, got 10",
            id="more concurrency than Exchange Online allows per mailbox",
        ),
        pytest.param(
            {"host": "outlook.office365.com"}, None, None, id="an EWS key is only warned about",
        ),
    ],
)
def test_each_wrong_graph_key_is_one_error_saying_what_to_put_there(
    tmp_path: Path, box: SecretBox, keys: dict[str, object], key_path: str | None, expected: str | None
) -> None:
    path = graph_config(tmp_path, box, **keys)
    if key_path is None:
        load_settings(path)
        return
    error = problem(path)
    assert error.key_path == key_path
    assert expected is not None and error.problem.startswith(expected), error.problem
    assert "app-secret" not in str(error)


def test_secret_and_certificate_together_are_refused(tmp_path: Path, box: SecretBox) -> None:
    thumbprint = write_app_certificate(tmp_path / "app.pem")
    error = problem(graph_config(tmp_path, box, certificate={"file": "app.pem", "thumbprint": thumbprint}))
    assert error.key_path == "calendarProviders[0]"
    assert error.problem == (
        "give clientSecret or certificate, not both (remove the one the app registration does not use)"
    )


def _certificate_problem(tmp_path: Path, box: SecretBox, thumbprint: str = "A" * 40) -> ConfigError:
    return problem(
        graph_config(tmp_path, box, clientSecret=None, certificate={"file": "app.pem", "thumbprint": thumbprint})
    )


def test_a_missing_certificate_file_is_named_with_its_full_path(tmp_path: Path, box: SecretBox) -> None:
    error = _certificate_problem(tmp_path, box)
    assert error.key_path == "calendarProviders[0].certificate.file"
    assert error.problem == f"the certificate file {tmp_path / 'app.pem'} does not exist"


def test_a_certificate_file_without_its_private_key_says_how_to_make_one(tmp_path: Path, box: SecretBox) -> None:
    (tmp_path / "app.pem").write_bytes(cert_pem(certificate_for(rsa_key())))
    error = _certificate_problem(tmp_path, box)
    assert error.key_path == "calendarProviders[0].certificate.file"
    assert error.problem.startswith(f"the certificate file {tmp_path / 'app.pem'} does not contain a private key; "
                                    "make it with: openssl pkcs12 -in app.pfx -nodes -out app.pem")


def test_a_private_key_without_its_certificate_is_refused(tmp_path: Path, box: SecretBox) -> None:
    (tmp_path / "app.pem").write_bytes(key_pem(rsa_key()))
    assert "does not contain a certificate" in _certificate_problem(tmp_path, box).problem


def test_a_key_with_another_keys_certificate_is_refused(tmp_path: Path, box: SecretBox) -> None:
    other = certificate_for(rsa_key(fresh=True))
    (tmp_path / "app.pem").write_bytes(key_pem(rsa_key()) + cert_pem(other))
    assert _certificate_problem(tmp_path, box).problem.startswith(
        f"no certificate in {tmp_path / 'app.pem'} belongs to its private key"
    )


def test_a_passphrase_protected_key_is_refused_with_the_command_that_removes_it(
    tmp_path: Path, box: SecretBox
) -> None:
    key = rsa_key()
    (tmp_path / "app.pem").write_bytes(key_pem(key, passphrase=b"pfx-password") + cert_pem(certificate_for(key)))
    assert "is protected by a passphrase; store it without one (openssl pkey" in (
        _certificate_problem(tmp_path, box).problem
    )


def test_a_certificate_that_is_not_rsa_is_refused(tmp_path: Path, box: SecretBox) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    (tmp_path / "app.pem").write_bytes(key_pem(key) + cert_pem(certificate_for(key)))
    assert "is not an RSA key" in _certificate_problem(tmp_path, box).problem


def test_the_thumbprint_of_another_certificate_is_refused_with_the_files_own_thumbprint(
    tmp_path: Path, box: SecretBox
) -> None:
    actual = write_app_certificate(tmp_path / "app.pem")
    error = _certificate_problem(tmp_path, box, thumbprint="b" * 40)
    assert error.key_path == "calendarProviders[0].certificate.thumbprint"
    assert error.problem.startswith(
        f"{'B' * 40} is not the thumbprint of the certificate in {tmp_path / 'app.pem'}, which is {actual}; "
        "upload that certificate to the app registration"
    )


def test_a_thumbprint_that_is_not_40_hex_digits_is_refused(tmp_path: Path, box: SecretBox) -> None:
    write_app_certificate(tmp_path / "app.pem")
    error = _certificate_problem(tmp_path, box, thumbprint="3C1F")
    assert error.key_path == "calendarProviders[0].certificate.thumbprint"
    assert error.problem.startswith("expected the certificate's SHA-1 thumbprint as Microsoft Entra shows it")


def test_an_expired_certificate_loads_but_is_warned_about(
    tmp_path: Path, box: SecretBox, caplog: pytest.LogCaptureFixture
) -> None:
    now = datetime.now(UTC)
    thumbprint = write_app_certificate(
        tmp_path / "app.pem", valid_from=now - timedelta(days=400), valid_until=now - timedelta(days=2)
    )
    path = graph_config(tmp_path, box, clientSecret=None, certificate={"file": "app.pem", "thumbprint": thumbprint})
    with caplog.at_level(logging.WARNING, logger="tc_calendar.config"):
        load_settings(path)
    expired_on = (now - timedelta(days=2)).date().isoformat()
    assert any(
        f"calendarProviders[0].certificate: the certificate expired on {expired_on}; Microsoft Entra refuses it"
        in message for message in caplog.messages
    ), caplog.messages


def test_a_certificate_expiring_within_30_days_is_warned_about(
    tmp_path: Path, box: SecretBox, caplog: pytest.LogCaptureFixture
) -> None:
    thumbprint = write_app_certificate(tmp_path / "app.pem", valid_until=datetime.now(UTC) + timedelta(days=10))
    path = graph_config(tmp_path, box, clientSecret=None, certificate={"file": "app.pem", "thumbprint": thumbprint})
    with caplog.at_level(logging.WARNING, logger="tc_calendar.config"):
        load_settings(path)
    assert any("the certificate expires on" in message for message in caplog.messages)


def test_an_http_notification_url_on_loopback_is_accepted_for_a_local_simulator_with_a_warning(
    tmp_path: Path, box: SecretBox, caplog: pytest.LogCaptureFixture
) -> None:
    path = graph_config(tmp_path, box, notificationUrl="http://127.0.0.1:4315/graph/notifications")
    with caplog.at_level(logging.WARNING, logger="tc_calendar.config"):
        [provider] = load_settings(path).calendar_providers
    assert isinstance(provider, GraphProviderSettings) and provider.delivery == "notifications"
    assert any("Microsoft Graph delivers notifications to https:// URLs only" in m for m in caplog.messages)


def test_a_misspelt_key_in_a_graph_entry_is_an_error_with_a_suggestion(tmp_path: Path, box: SecretBox) -> None:
    path = graph_config(tmp_path, box, tennantId=TENANT)
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert "calendarProviders[0].tennantId: unknown key; did you mean tenantId?" in str(caught.value)


def test_certificates_keep_their_private_key_out_of_repr(tmp_path: Path) -> None:
    from tc_calendar.config.certificates import read_certificate_credential

    key = rsa_key()
    certificate = certificate_for(key)
    (tmp_path / "app.pem").write_bytes(key_pem(key) + cert_pem(certificate))
    credential = read_certificate_credential(tmp_path / "app.pem")
    assert credential.thumbprint == thumbprint_of(certificate)
    assert "PRIVATE KEY" in credential.private_key_pem
    assert "PRIVATE KEY" not in repr(credential)
