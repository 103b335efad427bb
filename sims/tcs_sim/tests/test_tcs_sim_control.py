"""Shaping the simulated server over ``/_control`` (what the demo and other processes use)."""

from __future__ import annotations

import httpx

from tcs_sim import SimServer


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_users_and_conferences_can_be_added(sim: SimServer, http: httpx.Client, token: str) -> None:
    http.post("/_control/users", json={"id": "zoe", "email": "zoe@example.test", "display_name": "Zoe Z"})
    made = http.post("/_control/conferences", json={"id": "team_room", "topic": "Team", "owner": "zoe"}).json()
    assert made["url"] == "https://tcs.example.test/c/team_room"
    conference = http.get("/api/v4/conferences/team_room", headers=bearer(token)).json()["conference"]
    assert conference["owner"] == "zoe@tcs.example.test"
    assert [i["id"] for i in conference["invitations"]] == ["zoe"]


def test_a_conference_can_be_marked_running_without_an_api_call(sim: SimServer, http: httpx.Client) -> None:
    assert http.post("/_control/conferences/5576502892/state", json={"state": "running"}).json()["state"] == "running"
    assert sim.world.runs == []


def test_token_lifetime_and_clock_are_controllable(http: httpx.Client) -> None:
    http.post("/_control/token_lifetime", json={"seconds": 60})
    reply = http.post("/oauth2/v1/token", json={"grant_type": "client_credentials", "client_id": "tc-calendar",
                                                 "client_secret": "tc-calendar-secret"}).json()
    assert reply["expires_in"] == 60
    assert http.get("/api/v4/users", headers=bearer(reply["access_token"])).status_code == 200
    http.post("/_control/time", json={"advance": 60})
    assert http.get("/api/v4/users", headers=bearer(reply["access_token"])).status_code == 401


def test_faults_are_cleared(http: httpx.Client, token: str) -> None:
    http.post("/_control/faults", json={"server_errors": 5, "latency": 0.01})
    assert http.post("/_control/faults/clear").json()["server_errors"] == 0
    assert http.get("/api/v4/users", headers=bearer(token)).status_code == 200


def test_server_errors_can_target_one_path(http: httpx.Client, token: str) -> None:
    http.post("/_control/faults", json={"server_errors": 1, "server_error_path": "/run"})
    assert http.get("/api/v4/conferences/5576502892", headers=bearer(token)).status_code == 200
    assert http.post("/api/v4/conferences/5576502892/run", headers=bearer(token)).status_code == 503
    assert http.post("/api/v4/conferences/5576502892/run", headers=bearer(token)).status_code == 200


def test_v4_server_info_needs_no_token(http: httpx.Client) -> None:
    assert http.get("/api/v4/server").json()["product"]["display_name"] == "tcs.example.test"
