"""``python -m graph_sim`` from the shell with a scenario (tenant, apps, access policy, mailboxes), serving the
same mailboxes over EWS with --ews-port; and the control API over HTTP."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import msal
from graph_sim_certs import make_certificate
from graph_sim_support import ALICE, BOB, get_token

from graph_sim.server import GraphSimulator
from graph_sim.testing import running

SCENARIO = {
    "tenant": {"id": "0d5f1c2a-3b4c-4d5e-8f6a-7b8c9d0e1f2a", "domains": ["nordwind.example"]},
    "apps": [
        {
            "client_id": "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee",
            "secrets": ["app-secret"],
            "certificates": [{"file": "app.pem"}],
            "roles": ["Calendars.Read"],
            "access_policy": {"access_right": "RestrictAccess", "mailboxes": ["anna@nordwind.example"]},
        }
    ],
    "mailboxes": [
        {"smtp": "anna@nordwind.example", "name": "Anna Schmidt", "time_zone": "Europe/Berlin"},
        {"smtp": "ben@nordwind.example", "name": "Ben Meyer", "time_zone": "Europe/Berlin"},
    ],
    "meetings": [
        {"organizer": "anna@nordwind.example", "subject": "Standup", "start": "+1d 09:00", "duration": "15m",
         "required": ["ben@nordwind.example"]}
    ],
}  # fmt: skip


def _read_lines(proc: subprocess.Popen[str], count: int) -> dict[str, str]:
    found: dict[str, str] = {}
    deadline = time.monotonic() + 30
    assert proc.stdout is not None
    while len(found) < count and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        key, _, value = line.strip().removeprefix("graph_sim: ").partition("=")
        found[key] = value
    return found


def test_python_m_graph_sim_serves_a_scenario_over_graph_and_ews(tmp_path: Path) -> None:
    cert = make_certificate()
    (tmp_path / "app.pem").write_text(cert.private_key_pem + cert.certificate_pem)
    (tmp_path / "scenario.json").write_text(json.dumps(SCENARIO))
    env = {k: v for k, v in os.environ.items() if k not in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "graph_sim",
            "--port",
            "0",
            "--ews-port",
            "0",
            "--scenario",
            str(tmp_path / "scenario.json"),
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        lines = _read_lines(proc, 8)
        assert lines["tenant"] == "0d5f1c2a-3b4c-4d5e-8f6a-7b8c9d0e1f2a"
        assert lines["authority"] == f"{lines['url']}/{lines['tenant']}"
        assert lines["ews"].startswith("http://127.0.0.1:")
        app = msal.ConfidentialClientApplication(
            "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee",
            client_credential=cert.msal_credential(),
            authority=f"{lines['url']}/nordwind.example",  # a verified domain names the tenant too
            verify=lines["ca"],
            instance_discovery=False,
        )
        result = app.acquire_token_for_client(["https://graph.microsoft.com/.default"])
        assert "access_token" in result, result
        verify = ssl.create_default_context(cafile=lines["ca"])
        headers = {"Authorization": f"Bearer {result['access_token']}"}
        with httpx.Client(base_url=lines["graph"], verify=verify, headers=headers) as client:
            events = client.get("/users/anna@nordwind.example/events").json()["value"]
            assert [e["subject"] for e in events] == ["Standup"]
            assert client.get("/users/ben@nordwind.example/events").status_code == 403  # the access policy
        ews = httpx.post(lines["ews"], content=b"", timeout=10)
        assert ews.status_code in (400, 401, 500)  # an EWS endpoint answers (it wants SOAP and credentials)
    finally:
        proc.terminate()
        proc.wait(30)


def test_control_api_adds_apps_and_passes_world_commands_through(graph: GraphSimulator, client: httpx.Client) -> None:
    control = graph.control_url
    r = client.post(f"{control}/add_app", json={"client_id": "bbbbbbbb-cccc-4ddd-8eee-ffffffffffff", "secret": "s"})
    assert r.status_code == 200
    apps = client.get(f"{control}/apps").json()["apps"]
    assert "bbbbbbbb-cccc-4ddd-8eee-ffffffffffff" in [a["client_id"] for a in apps]
    r = client.post(
        f"{control}/create_meeting",
        json={"organizer": ALICE, "subject": "Via control", "start": "2026-03-02T09:00:00+01:00",
              "end": "2026-03-02T10:00:00+01:00", "required": [BOB]},
    )  # fmt: skip
    assert r.status_code == 200
    assert [e["subject"] for e in client.get(f"/users/{BOB}/events").json()["value"]] == ["Via control"]
    assert client.post(f"{control}/no_such_command").status_code == 404
    assert client.post(f"{control}/throttle", json={"bogus": 1}).status_code == 400
    faults = client.post(f"{control}/clear_faults").json()
    assert faults["graph"]["faults"] == []


def test_control_api_can_require_a_token() -> None:
    with running(control_token="letmein") as sim:
        verify = ssl.create_default_context(cafile=sim.ca_file)
        assert httpx.get(f"{sim.control_url}/apps", verify=verify).status_code == 401
        ok = httpx.get(f"{sim.control_url}/apps", verify=verify, headers={"Authorization": "Bearer letmein"})
        assert ok.status_code == 200
        assert ok.json()["apps"][0]["client_id"] == sim.client_id


def test_control_commands_for_credentials_limits_and_subscriptions(graph: GraphSimulator, client: httpx.Client) -> None:
    control = graph.control_url
    cert = make_certificate()
    app_id = "cccccccc-dddd-4eee-8fff-000000000000"
    assert client.post(f"{control}/add_app", json={"client_id": app_id, "roles": ["Calendars.Read"]}).status_code == 200
    client.post(f"{control}/add_secret", json={"client_id": app_id, "secret": "second"})
    thumbprint = client.post(
        f"{control}/add_certificate", json={"client_id": app_id, "certificate_pem": cert.certificate_pem}
    )
    assert thumbprint.json() == {"thumbprint": cert.thumbprint}
    assert get_token(graph, app_id, "second")
    assert get_token(graph, app_id, cert.msal_credential())
    assert client.post(f"{control}/token_lifetime", json={"seconds": 120}).json() == {"token_lifetime": 120}
    assert client.post(f"{control}/max_concurrency", json={"limit": 2}).json()["graph"]["max_concurrency"] == 2
    assert client.post(f"{control}/http_error", json={"status": 500}).json()["graph"]["faults"][0]["status"] == 500
    assert client.get(f"/users/{ALICE}/events").status_code == 500
    client.post(f"{control}/reset_counters")
    assert client.get(f"{control}/counters").json()["counters"]["operations"] == {}
    assert client.post(f"{control}/remove_app", json={"client_id": app_id}).status_code == 200
    assert app_id not in [a["client_id"] for a in client.get(f"{control}/apps").json()["apps"]]
    assert client.get(f"{control}/subscriptions").json() == {"subscriptions": []}
    assert client.post(f"{control}/expire_subscriptions").json() == {"expired": 0}
    assert client.get(f"{control}/server").json()["graph_url"] == graph.graph_url
