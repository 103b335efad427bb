"""The registration server simulator: licences for known keys, bound to one installation; check-ins; outages;
offline requests signed from the command line."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from reg_sim import RegServer
from reg_sim.licences import generate_private_key, save_private_key


def _payload(licence: str, public_key: str) -> dict[str, object]:
    document = json.loads(licence)
    payload = base64.b64decode(document["payload"])
    Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key)).verify(
        base64.b64decode(document["signature"]), payload
    )
    result: dict[str, object] = json.loads(payload)
    return result


def _request(key: str, fingerprint: str) -> str:
    fields = {"format": "tc-calendar-offline-request/1", "product": "tc-calendar", "version": "0",
              "productKey": key, "fingerprint": fingerprint, "createdAt": "2026-01-01T00:00:00+00:00"}
    checksum = hashlib.sha256(json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    return json.dumps({**fields, "checksum": "sha256:" + checksum})


def test_a_known_key_gets_a_licence_signed_by_the_servers_key(reg: RegServer) -> None:
    answer = httpx.post(f"{reg.url}/api/v1/register", json={"productKey": "STD-0001", "fingerprint": "fp-a"})
    assert answer.status_code == 200
    payload = _payload(answer.json()["licence"], reg.registry.public_key)
    assert payload["edition"] == "standard" and payload["fingerprint"] == "fp-a"
    assert payload["accountLimit"] == 100 and payload["productKey"] == "STD-0001"


def test_a_free_key_gets_a_free_licence_for_50_accounts(reg: RegServer) -> None:
    answer = httpx.post(f"{reg.url}/api/v1/register", json={"productKey": "FREE-0001", "fingerprint": "fp-a"})
    payload = _payload(answer.json()["licence"], reg.registry.public_key)
    assert (payload["edition"], payload["accountLimit"]) == ("free", 50)


def test_unknown_keys_and_keys_of_another_installation_are_refused(reg: RegServer) -> None:
    unknown = httpx.post(f"{reg.url}/api/v1/register", json={"productKey": "NOPE", "fingerprint": "fp-a"})
    assert unknown.status_code == 404 and "not known" in unknown.json()["error"]
    httpx.post(f"{reg.url}/api/v1/register", json={"productKey": "STD-0001", "fingerprint": "fp-a"})
    again = httpx.post(f"{reg.url}/api/v1/register", json={"productKey": "STD-0001", "fingerprint": "fp-a"})
    assert again.status_code == 200
    other = httpx.post(f"{reg.url}/api/v1/register", json={"productKey": "STD-0001", "fingerprint": "fp-b"})
    assert other.status_code == 409


def test_check_ins_are_answered_and_recorded_for_the_bound_installation(reg: RegServer) -> None:
    httpx.post(f"{reg.url}/api/v1/register", json={"productKey": "FREE-0001", "fingerprint": "fp-a"})
    answer = httpx.post(f"{reg.url}/api/v1/checkin", json={"productKey": "FREE-0001", "fingerprint": "fp-a"}).json()
    assert answer["status"] == "ok"
    assert _payload(answer["licence"], reg.registry.public_key)["fingerprint"] == "fp-a"  # renewed
    assert httpx.post(f"{reg.url}/api/v1/checkin", json={"productKey": "FREE-0001", "fingerprint": "fp-b"}
                      ).status_code == 403
    assert [entry.fingerprint for entry in reg.registry.check_ins_of("FREE-0001")] == ["fp-a"]


def test_an_outage_answers_503(reg: RegServer) -> None:
    reg.registry.available = False
    answer = httpx.post(f"{reg.url}/api/v1/checkin", json={"productKey": "FREE-0001", "fingerprint": "fp-a"})
    assert answer.status_code == 503


def test_sign_offline_turns_a_request_into_a_standard_licence(tmp_path: Path) -> None:
    key = generate_private_key()
    save_private_key(key, tmp_path / "private.key")
    (tmp_path / "regoffline.crg").write_text(_request("STD-0002", "fp-x"))
    done = subprocess.run(
        [sys.executable, "-m", "reg_sim", "sign-offline", str(tmp_path / "regoffline.crg"),
         "--private-key", str(tmp_path / "private.key"), "--limit", "200"],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 0, done.stderr
    public = base64.b64encode(key.public_key().public_bytes_raw()).decode()
    payload = _payload((tmp_path / "regoffline2.crg").read_text(), public)
    assert (payload["edition"], payload["accountLimit"], payload["fingerprint"]) == ("standard", 200, "fp-x")


def test_sign_offline_refuses_free_keys_and_damaged_requests(tmp_path: Path) -> None:
    save_private_key(generate_private_key(), tmp_path / "private.key")
    damaged = json.loads(_request("STD-0002", "fp-x"))
    damaged["fingerprint"] = "fp-y"
    cases = {"free.crg": (_request("FREE-0002", "fp-x"), "A free license cannot be registered offline"),
             "damaged.crg": (json.dumps(damaged), "checksum does not match")}
    for name, (text, reason) in cases.items():
        (tmp_path / name).write_text(text)
        done = subprocess.run(
            [sys.executable, "-m", "reg_sim", "sign-offline", str(tmp_path / name),
             "--private-key", str(tmp_path / "private.key")],
            capture_output=True, text=True, timeout=60, check=False,
        )
        assert done.returncode == 1 and reason in done.stderr
        assert not (tmp_path / "regoffline2.crg").exists()


def test_serve_prints_its_address_and_key_and_issues_licences_for_its_keys(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "reg_sim", "serve", "--key", "STD-7=standard:10", "--key", "FREE-7"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().split()[-1]
        public_key = process.stdout.readline().split()[-1]
        answer = httpx.post(f"{url}/api/v1/register", json={"productKey": "STD-7", "fingerprint": "fp-a"})
        assert _payload(answer.json()["licence"], public_key)["accountLimit"] == 10
        answer = httpx.post(f"{url}/api/v1/register", json={"productKey": "FREE-7", "fingerprint": "fp-a"})
        assert _payload(answer.json()["licence"], public_key)["edition"] == "free"
    finally:
        process.terminate()
        process.wait(timeout=30)
