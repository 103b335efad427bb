"""``tc_calendar check-config --online``: each provider is asked to accept the configured identity, and a refusal
is one line that says what to change.

EWS providers run against the EWS simulator; Graph providers against the Graph simulator's token endpoint
(tests/providers/test_graph_auth.py covers every refusal Microsoft Entra can give).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from ews_sim.server import EwsSimulator
from ews_sim.testing import running
from ews_sim.world import World
from graph_sim.server import GraphSimulator
from graph_sim.testing import running as graph_running
from tc_calendar.cli import main
from tc_calendar.crypto import SecretBox

LOGIN, PASSWORD = "svc-calendar", "Svc-Passw0rd"
ANNA = "anna@example.com"


@pytest.fixture(autouse=True)
def _clean_environment_and_logging(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("TC_CALENDAR_CONFIG", raising=False)
    monkeypatch.delenv("TC_CALENDAR_KEY_FILE", raising=False)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def ews() -> Iterator[EwsSimulator]:
    world = World()
    world.add_service_account(LOGIN, PASSWORD, impersonation=True)
    world.add_service_account("svc-no-rights", PASSWORD, impersonation=False)
    world.add_mailbox(ANNA, "Anna", "Europe/Berlin")
    with running(world) as sim:
        yield sim


def ews_entry(sim: EwsSimulator, box: SecretBox, login: str = LOGIN, password: str = PASSWORD) -> dict[str, object]:
    return {
        "host": "127.0.0.1", "port": sim.port, "scheme": "http", "auth": "basic", "exchangeVersion": "Exchange2016",
        "timeoutSeconds": 10, "credentials": [{"login": login, "password": box.encrypt(password)}], "users": [ANNA],
    }


def check_online(tmp_path: Path, providers: list[dict[str, object]]) -> int:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"productWhitelist": {"tcs": ["tcs#vcs"]}, "calendarProviders": providers}))
    return main(["check-config", "--online", "--config", str(config)])


@pytest.fixture
def box(tmp_path: Path) -> SecretBox:
    return SecretBox.load_or_create(tmp_path / "calendar.key")


def test_an_ews_service_account_that_can_open_its_first_mailboxs_calendar_passes(
    tmp_path: Path, box: SecretBox, ews: EwsSimulator, capsys: pytest.CaptureFixture[str]
) -> None:
    code = check_online(tmp_path, [ews_entry(ews, box)])
    out = capsys.readouterr().out
    assert code == 0
    assert out.splitlines()[0] == f"config: {tmp_path / 'config.json'} is valid"
    assert (
        f"online check: ok: calendarProviders[0] (ews, host 127.0.0.1): service account 'svc-calendar' opened the "
        f"calendar of {ANNA} at {ews.url}"
    ) in out.splitlines()


def test_a_wrong_ews_password_fails_the_check_with_what_to_fix(
    tmp_path: Path, box: SecretBox, ews: EwsSimulator, capsys: pytest.CaptureFixture[str]
) -> None:
    code = check_online(tmp_path, [ews_entry(ews, box, password="wrong-password")])
    captured = capsys.readouterr()
    assert code == 1
    [line] = [line for line in captured.out.splitlines() if line.startswith("online check:")]
    assert line.startswith("online check: FAILED: calendarProviders[0] (ews, host 127.0.0.1): Exchange at ")
    assert "rejected the credentials of service account 'svc-calendar'" in line
    assert "check its login and password in calendarProviders[].credentials" in line
    assert "wrong-password" not in captured.out + captured.err
    assert captured.err.splitlines()[-1] == "tc_calendar: the online check failed (1 of 1 checks); see the lines above"


def test_an_ews_service_account_without_impersonation_fails_the_check_naming_the_role(
    tmp_path: Path, box: SecretBox, ews: EwsSimulator, capsys: pytest.CaptureFixture[str]
) -> None:
    code = check_online(tmp_path, [ews_entry(ews, box, login="svc-no-rights")])
    out = capsys.readouterr().out
    assert code == 1
    assert "may not impersonate this mailbox" in out and "ApplicationImpersonation" in out


def test_without_online_nothing_is_contacted(
    tmp_path: Path, box: SecretBox, capsys: pytest.CaptureFixture[str]
) -> None:
    entry = {"host": "127.0.0.1", "port": 9, "credentials": [{"login": LOGIN, "password": box.encrypt("x")}]}
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"calendarProviders": [entry]}))
    assert main(["check-config", "--config", str(config)]) == 0
    assert "online check" not in capsys.readouterr().out


@pytest.fixture
def graph() -> Iterator[GraphSimulator]:
    with graph_running() as sim:
        yield sim


def graph_entry(sim: GraphSimulator, box: SecretBox, secret: str | None = None) -> dict[str, object]:
    return {
        "type": "graph", "tenantId": sim.tenant_id, "clientId": sim.client_id,
        "clientSecret": box.encrypt(secret or sim.client_secret), "authorityHost": sim.base_url,
        "graphHost": sim.base_url, "caBundle": sim.ca_file, "timeoutSeconds": 10, "users": ["cloud@example.com"],
    }


def test_a_hybrid_config_checks_both_providers_and_passes_when_both_accept(
    tmp_path: Path, box: SecretBox, ews: EwsSimulator, graph: GraphSimulator, capsys: pytest.CaptureFixture[str]
) -> None:
    code = check_online(tmp_path, [ews_entry(ews, box), graph_entry(graph, box)])
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("online check:")]
    assert code == 0
    assert lines == [
        f"online check: ok: calendarProviders[0] (ews, host 127.0.0.1): service account 'svc-calendar' opened the "
        f"calendar of {ANNA} at {ews.url}",
        f"online check: ok: calendarProviders[1] (graph, tenant {graph.tenant_id}): Microsoft Entra at "
        f"{graph.base_url} issued a token for https://graph.microsoft.com/.default to application {graph.client_id} "
        "with its client secret",
    ]


def test_a_wrong_graph_secret_fails_the_check_saying_which_value_to_encrypt(
    tmp_path: Path, box: SecretBox, graph: GraphSimulator, capsys: pytest.CaptureFixture[str]
) -> None:
    code = check_online(tmp_path, [graph_entry(graph, box, secret="the-secret-id-not-its-value")])
    captured = capsys.readouterr()
    [line] = [line for line in captured.out.splitlines() if line.startswith("online check:")]
    assert code == 1
    assert line == (
        f"online check: FAILED: calendarProviders[0] (graph, tenant {graph.tenant_id}): the client secret of "
        f"application {graph.client_id} is wrong (AADSTS7000215); create a new client secret under Certificates & "
        "secrets, encrypt its Value (not its Secret ID) with tc_calendar --hash_pass and put the token in clientSecret"
    )
    assert "the-secret-id-not-its-value" not in captured.out + captured.err


def test_an_unreachable_sign_in_host_fails_the_check(
    tmp_path: Path, box: SecretBox, capsys: pytest.CaptureFixture[str]
) -> None:
    entry = {
        "type": "graph", "tenantId": "contoso.onmicrosoft.com", "clientId": "c0ffee00-1111-4222-8333-444455556666",
        "clientSecret": box.encrypt("s"), "authorityHost": "https://127.0.0.1:9", "timeoutSeconds": 5,
    }
    assert check_online(tmp_path, [entry]) == 1
    assert (
        "online check: FAILED: calendarProviders[0] (graph, tenant contoso.onmicrosoft.com): cannot reach "
        "https://127.0.0.1:9 (ConnectionError); check DNS, firewall and proxy for outbound HTTPS to it"
    ) in capsys.readouterr().out
