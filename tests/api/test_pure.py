"""The sans-I/O rules, without sockets: framing, proofs, tokens, back-off, token bucket, schemas, secret."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tc_calendar.api import jsonrpc
from tc_calendar.api.auth import (
    AuthThrottle,
    ServerCredentials,
    SessionTokens,
    check_password,
    compute_proof,
    compute_server_proof,
    derive_token_key,
    verify_proof,
)
from tc_calendar.api.errors import ApiError, InvalidRequest, LoginFailed, ParseError
from tc_calendar.api.limits import AddressSlots, TokenBucket
from tc_calendar.api.schemas.__main__ import FOLDER, generate, render
from tc_calendar.api.secret import ensure_api_secret, read_api_secret
from tc_calendar.crypto import SecretBox
from tc_calendar.errors import SecretError


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# ---- framing ----------------------------------------------------------------------------------------------
def test_a_request_a_notification_and_a_batch_decode_as_such() -> None:
    single = jsonrpc.decode('{"jsonrpc":"2.0","id":7,"method":"server.info"}', max_batch=5)
    assert single == jsonrpc.Incoming((jsonrpc.Request("server.info", {}, 7),), is_batch=False)
    note = jsonrpc.decode('{"jsonrpc":"2.0","method":"m","params":{"a":1}}', max_batch=5).items[0]
    assert isinstance(note, jsonrpc.Request) and note.is_notification and note.params == {"a": 1}
    batch = jsonrpc.decode('[{"jsonrpc":"2.0","id":"a","method":"m"}, 1]', max_batch=5)
    assert batch.is_batch and isinstance(batch.items[1], jsonrpc.Invalid)


def test_frames_that_are_not_requests_raise_for_the_whole_frame() -> None:
    with pytest.raises(ParseError):
        jsonrpc.decode("{", max_batch=5)
    with pytest.raises(InvalidRequest):
        jsonrpc.decode("[]", max_batch=5)
    with pytest.raises(InvalidRequest, match="at most 2"):
        jsonrpc.decode("[1,2,3]", max_batch=2)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=300))
def test_decoding_any_text_either_succeeds_or_raises_an_api_error(text: str) -> None:
    try:
        jsonrpc.decode(text, max_batch=20)
    except ApiError:
        pass


def test_errors_are_framed_with_code_message_and_data() -> None:
    doc = jsonrpc.error_obj(3, InvalidRequest("bad", {"x": 1}))
    assert doc == {"jsonrpc": "2.0", "id": 3, "error": {"code": -32600, "message": "bad", "data": {"x": 1}}}


# ---- proofs and tokens ------------------------------------------------------------------------------------
def test_the_proof_is_hmac_sha256_of_challenge_then_server_id_as_documented() -> None:
    challenge = "0" * 64
    expected = hmac.new(b"s3cret", (challenge + "tcs.example.com#vcs").encode(), hashlib.sha256).hexdigest()
    assert compute_proof("s3cret", challenge, "tcs.example.com#vcs") == expected
    assert verify_proof("s3cret", challenge, "tcs.example.com#vcs", expected.upper())
    assert not verify_proof("other", challenge, "tcs.example.com#vcs", expected)
    assert expected == "2aa5174b89ea8bc4a1fed3059a643b8880ee6737984570164e53b109c7916fef"  # docs/protocol.md
    assert compute_server_proof("s3cret", "n" * 16, challenge) == (
        "5448e78fdf3519ec0f8f03aaf73dc9198b3598301a76daa1a0010a5c04e0d107"
    )


def test_server_ids_are_whitelisted_case_insensitively_with_per_server_secrets() -> None:
    creds = ServerCredentials.build(["TCS.example.com#vcs", "b#vcs"], "global", {"B#VCS": "own"})
    assert creds.secret_for("tcs.EXAMPLE.com#vcs") == "global"
    assert creds.secret_for("b#vcs") == "own"
    assert creds.secret_for("c#vcs") is None


def test_passwords_are_checked_exactly() -> None:
    users = {"admin": "pw"}
    assert check_password(users, "admin", "pw")
    assert not check_password(users, "admin", "pw ")
    assert not check_password(users, "root", "pw")


def test_a_session_token_names_its_user_until_it_expires_and_cannot_be_forged() -> None:
    clock = FakeClock()
    tokens = SessionTokens(derive_token_key("secret"), ttl=60, clock=clock)
    issued = tokens.issue("admin")
    assert tokens.verify(issued.token) == "admin"
    payload, _, _signature = issued.token.partition(".")
    with pytest.raises(LoginFailed, match="invalid"):
        tokens.verify(payload + ".AAAA")
    with pytest.raises(LoginFailed, match="invalid"):
        SessionTokens(derive_token_key("rotated"), 60, clock).verify(issued.token)
    clock.now += 61
    with pytest.raises(LoginFailed, match="expired"):
        tokens.verify(issued.token)


def test_failed_sign_ins_block_an_address_with_growing_delays_and_success_clears_it() -> None:
    clock = FakeClock()
    throttle = AuthThrottle(free_failures=2, base_delay=1, max_delay=8, clock=clock)
    assert [throttle.failure("a") for _ in range(7)] == [0, 0, 1, 2, 4, 8, 8]
    assert throttle.retry_after("a") == 8 and throttle.retry_after("b") == 0
    clock.now += 8
    assert throttle.retry_after("a") == 0
    throttle.success("a")
    assert throttle.failure("a") == 0


def test_the_throttle_remembers_a_bounded_number_of_addresses() -> None:
    throttle = AuthThrottle(max_addresses=100, clock=FakeClock())
    for n in range(10_000):
        throttle.failure(f"10.0.{n // 256}.{n % 256}")
    assert len(throttle) == 100


# ---- limits -----------------------------------------------------------------------------------------------
def test_the_token_bucket_allows_a_burst_then_the_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=2, burst=3, clock=clock)
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
    assert bucket.retry_after() == pytest.approx(0.5)
    clock.now += 0.5
    assert bucket.take() and not bucket.take()


def test_address_slots_count_per_address() -> None:
    slots = AddressSlots(limit=2)
    assert slots.acquire("a") and slots.acquire("a") and not slots.acquire("a") and slots.acquire("b")
    slots.release("a")
    assert slots.acquire("a")


# ---- schemas and the secret -------------------------------------------------------------------------------
def test_the_schema_files_are_generated_from_the_current_models() -> None:
    for name, schema in generate().items():
        assert (FOLDER / name).read_text() == render(schema), f"run python -m tc_calendar.api.schemas ({name})"


def test_every_schema_is_valid_json_schema() -> None:
    import jsonschema

    for path in FOLDER.glob("*.json"):
        jsonschema.Draft202012Validator.check_schema(json.loads(path.read_text()))


class Meta:
    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    async def get_meta(self, key: str) -> str | None:
        return self.values.get(key)

    async def set_meta(self, key: str, value: str) -> None:
        self.values[key] = value

    async def set_meta_default(self, key: str, value: str) -> str:
        return self.values.setdefault(key, value)


async def test_without_a_configured_secret_one_is_generated_once_and_kept_encrypted(tmp_path: Path) -> None:
    meta, box = Meta(), SecretBox.load_or_create(tmp_path / "calendar.key")
    assert await read_api_secret(meta, None, box) is None
    first = await ensure_api_secret(meta, None, box)
    assert first.source == "generated" and len(first.value) >= 40
    assert first.value not in meta.values["api.secret"] and box.decrypt(meta.values["api.secret"]) == first.value
    again = await ensure_api_secret(meta, None, box)
    assert again.value == first.value and again.source == "store"
    assert await read_api_secret(meta, None, box) == first.value
    assert (await ensure_api_secret(meta, "configured", box)).value == "configured"


async def test_a_stored_api_secret_that_the_key_file_cannot_decrypt_says_which_key_file_to_use(tmp_path: Path) -> None:
    meta = Meta()
    await ensure_api_secret(meta, None, SecretBox.load_or_create(tmp_path / "first.key"))
    other = SecretBox.load_or_create(tmp_path / "other.key")
    with pytest.raises(SecretError, match="every connector node sharing this database needs the same key file"):
        await ensure_api_secret(meta, None, other)


def test_a_notification_spliced_from_pre_rendered_changes_is_the_same_json() -> None:
    from tc_calendar.api.feed import FeedEntry, notify_text

    entries = [FeedEntry(4, "a@x", '{"cursor":4,"k":"é"}'), FeedEntry(9, "b@x", '{"cursor":9}')]
    doc = json.loads(notify_text("s1", entries))
    assert doc == {
        "jsonrpc": "2.0",
        "method": "changes.notify",
        "params": {"subscription": "s1", "cursor": 9, "changes": [{"cursor": 4, "k": "é"}, {"cursor": 9}]},
    }


async def test_the_send_queue_is_bounded_in_messages_and_bytes_but_takes_one_big_frame_alone() -> None:
    import asyncio

    from tc_calendar.api.sendqueue import SendQueue

    queue: SendQueue[str] = SendQueue(max_messages=3, max_bytes=10)
    await queue.put("a", 4)
    await queue.put("b", 4)
    blocked = asyncio.create_task(queue.put("c", 4))  # 12 bytes would exceed 10
    await asyncio.sleep(0.01)
    assert not blocked.done() and queue.queued_bytes == 8
    assert await queue.get() == "a"
    queue.done()
    await asyncio.wait_for(blocked, 10)
    for _ in range(2):
        await queue.get()
        queue.done()
    await queue.put("huge", 1000)  # alone in an empty queue: accepted
    assert len(queue) == 1
    await queue.get()
    queue.done()
    await asyncio.wait_for(queue.join(), 10)


def test_every_error_code_and_close_code_is_in_the_protocol_document() -> None:
    from pathlib import Path

    from tc_calendar.api.errors import ALL_ERRORS

    table = (Path(__file__).parents[2] / "docs" / "protocol.md").read_text().split("## 5. Errors", 1)[1]
    rows = {
        line.split("|")[2].strip(): line
        for line in table.splitlines()
        if line.startswith("| -32") or line.startswith("| —")
    }
    for error in ALL_ERRORS:
        if error.__name__ in {"AuthBackoff", "Flooding"}:  # documented in the RateLimited row
            assert error.close_code is not None and str(error.close_code) in rows["RateLimited"]
            continue
        row = rows[error.__name__]
        if error.__name__ != "TooSlow":
            assert row.startswith(f"| {error.code} |"), row
        if error.close_code is not None:
            assert str(error.close_code) in row, row
