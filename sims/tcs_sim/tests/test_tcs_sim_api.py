"""The simulator answers like TrueConf Server's public REST API (shapes from the project's TrueConf reference)."""

from __future__ import annotations

import httpx

from tcs_sim.runner import SimServer
from tcs_sim.seed import DEFAULT_CLIENT_ID, DEFAULT_SECRET_KEY

CID = "5576502892"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_client_credentials_token_has_the_documented_fields(http: httpx.Client) -> None:
    reply = http.post("/oauth2/v1/token", data={"grant_type": "client_credentials", "client_id": DEFAULT_CLIENT_ID,
                                                 "client_secret": "tc-calendar-secret"})
    body = reply.json()
    assert reply.status_code == 200
    assert body["token_type"] == "Bearer" and body["expires_in"] == 604800 and len(body["access_token"]) == 40


def test_wrong_client_secret_is_an_oauth_error(http: httpx.Client) -> None:
    reply = http.post("/oauth2/v1/token", json={"grant_type": "client_credentials", "client_id": DEFAULT_CLIENT_ID,
                                                 "client_secret": "nope"})
    assert reply.status_code == 401 and reply.json()["error"] == "invalid_client"


def test_token_as_query_parameter_or_bearer_on_v3_and_v4(http: httpx.Client, token: str) -> None:
    assert http.get(f"/api/v3.11/conferences/{CID}", params={"access_token": token}).status_code == 200
    assert http.get(f"/api/v3.2/conferences/{CID}", headers=bearer(token)).status_code == 200
    assert http.get(f"/api/v4/conferences/{CID}", headers=bearer(token)).status_code == 200


def test_secret_key_works_as_a_static_token(http: httpx.Client) -> None:
    assert http.get("/api/v4/users", headers=bearer(DEFAULT_SECRET_KEY)).status_code == 200


def test_invalid_token_is_403_access_token_invalid_on_v3_and_401_on_v4(http: httpx.Client) -> None:
    v3 = http.get(f"/api/v3.11/conferences/{CID}", params={"access_token": "stale"})
    v4 = http.get(f"/api/v4/conferences/{CID}", headers=bearer("stale"))
    assert v3.status_code == 403 and v4.status_code == 401
    for reply in (v3, v4):
        assert reply.json()["error"]["errors"][0]["reason"] == "accessTokenInvalid"


def test_token_expires_after_its_lifetime(sim: SimServer, http: httpx.Client, token: str) -> None:
    http.post("/_control/time", json={"advance": 604800})
    assert http.get("/api/v4/users", headers=bearer(token)).status_code == 401


def test_missing_conference_uses_the_error_envelope(http: httpx.Client, token: str) -> None:
    reply = http.get("/api/v3.11/conferences/nope", params={"access_token": token})
    assert reply.status_code == 404
    assert reply.json() == {"error": {"code": 404, "message": "Not Found", "errors": [
        {"reason": "conferenceNotFound", "message": "Conference 'nope' is not found.",
         "locationType": "path", "location": "conference_id"}]}}


def test_users_are_paged_until_next_page_id_is_minus_one(http: httpx.Client, token: str) -> None:
    ids: list[str] = []
    page: int | None = None
    while page != -1:
        params: dict[str, str | int] = {"access_token": token, "page_size": 2}
        if page is not None:
            params["page_id"] = page
        body = http.get("/api/v3.11/users", params=params).json()
        ids += [u["id"] for u in body["users"]]
        page = body["next_page_id"]
    assert ids == ["alice", "bob", "carol", "dave", "erin"]


def test_get_user(http: httpx.Client, token: str) -> None:
    user = http.get("/api/v4/users/carol", headers=bearer(token)).json()["user"]
    assert user["email"] == "Carol@Example.test" and user["uid"] == "carol@tcs.example.test"


def test_v3_updates_with_put_and_v4_with_patch(http: httpx.Client, token: str) -> None:
    put = http.put(f"/api/v3.11/conferences/{CID}", params={"access_token": token}, json={"topic": "v3"})
    patch = http.patch(f"/api/v4/conferences/{CID}", headers=bearer(token), json={"topic": "v4"})
    wrong = http.patch(f"/api/v3.11/conferences/{CID}", params={"access_token": token}, json={"topic": "x"})
    assert put.json()["conference"]["topic"] == "v3"
    assert patch.json()["conference"]["topic"] == "v4"
    assert wrong.status_code == 405


def test_run_and_stop_are_recorded_with_the_invitations_at_start(sim: SimServer, http: httpx.Client,
                                                                 token: str) -> None:
    assert http.post(f"/api/v4/conferences/{CID}/run", headers=bearer(token)).json() == {"state": "running"}
    assert http.get(f"/api/v4/conferences/{CID}", headers=bearer(token)).json()["conference"]["state"] == "running"
    assert http.post(f"/api/v4/conferences/{CID}/stop", headers=bearer(token)).json() == {"state": "stopped"}
    [run] = sim.world.runs_of(CID)
    assert run.version == "v4" and run.invitations == ("alice", "bob")


def test_invitations_add_v3_flat_and_v4_wrapped_then_remove(http: httpx.Client, token: str) -> None:
    base = f"/api/v3.11/conferences/{CID}/invitations"
    v3 = http.post(base, params={"access_token": token}, json={"id": "carol"})
    v4 = http.post(f"/api/v4/conferences/{CID}/invitations", headers=bearer(token),
                   json={"invitation": {"id": "dave", "display_name": "D."}})
    assert v3.json()["invitation"]["type"] == "user" and v4.json()["invitation"]["display_name"] == "D."
    again = http.post(base, params={"access_token": token}, json={"id": "carol"})
    assert again.status_code == 400
    assert again.json()["error"]["errors"][0]["reason"] == "uniqueValueAlreadyInUse"
    assert http.delete(f"{base}/bob", params={"access_token": token}).json() == {"id": "bob"}
    listed = http.get(base, params={"access_token": token}).json()["invitations"]
    assert [i["id"] for i in listed] == ["alice", "carol", "dave"]
    assert listed[0]["is_owner"] is True


def test_live_invite_needs_a_running_conference(sim: SimServer, http: httpx.Client, token: str) -> None:
    v4 = f"/api/v4/conferences/{CID}"
    refused = http.post(f"{v4}/invite", headers=bearer(token), json={"participants": ["carol"]})
    assert refused.status_code == 400
    http.post(f"{v4}/run", headers=bearer(token))
    assert http.post(f"{v4}/invite", headers=bearer(token), json={"participants": ["carol"]}).status_code == 200
    assert http.post(f"/api/v3.11/conferences/{CID}/participants", params={"access_token": token},
                     json={"participant_id": "dave"}).status_code == 200
    live = http.get(f"{v4}/participants", headers=bearer(token)).json()["participants"]
    assert [p["id"] for p in live] == ["carol", "dave"]
    assert [i["id"] for i in sim.world.invitations(CID)] == ["alice", "bob"]


def test_fault_server_errors_for_the_next_n_requests(http: httpx.Client, token: str) -> None:
    http.post("/_control/faults", json={"server_errors": 2, "server_error_status": 502})
    statuses = [http.get("/api/v4/users", headers=bearer(token)).status_code for _ in range(3)]
    assert statuses == [502, 502, 200]


def test_fault_token_failures_refuse_valid_tokens(http: httpx.Client, token: str) -> None:
    http.post("/_control/faults", json={"token_failures": 1})
    assert http.get("/api/v3.11/users", params={"access_token": token}).status_code == 403
    assert http.get("/api/v3.11/users", params={"access_token": token}).status_code == 200


def test_revoked_tokens_stop_working(http: httpx.Client, token: str) -> None:
    http.post("/_control/tokens/revoke")
    assert http.get("/api/v3.11/users", params={"access_token": token}).status_code == 403


def test_state_exposes_the_request_log(http: httpx.Client, token: str) -> None:
    http.get("/api/v4/users", headers=bearer(token))
    state = http.get("/_control/state").json()
    assert state["tokens_issued"] == 1
    assert [(r["method"], r["path"], r["status"]) for r in state["requests"]] == [
        ("POST", "/oauth2/v1/token", 200), ("GET", "/api/v4/users", 200)]


def test_unknown_api_version_is_not_served(http: httpx.Client, token: str) -> None:
    assert http.get("/api/v2/users", headers=bearer(token)).status_code == 404


def test_the_join_link_opens_a_page_about_the_conference(sim: SimServer) -> None:
    page = httpx.get(f"{sim.url}/c/5576502892")
    assert page.status_code == 200
    assert "Weekly sync" in page.text and "not started" in page.text
    assert httpx.get(f"{sim.url}/c/nope").status_code == 404
