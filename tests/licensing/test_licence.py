"""The licence document on its own: what a genuine licence says, and each way a file is refused, with a message
that names the problem and the way out."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from tc_calendar.licence_keys import BUILT_IN_PUBLIC_KEY, key_id, parse_public_key, trusted_keys
from tc_calendar.licensing import (
    Edition,
    Licence,
    LicenceExpiredError,
    LicenceFingerprintError,
    LicenceFormatError,
    LicenceSignatureError,
    is_free_key,
    sign_licence,
    verify_licence,
)

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SERVER_KEY = Ed25519PrivateKey.generate()
TRUSTED = {key_id(SERVER_KEY.public_key()): SERVER_KEY.public_key()}
LICENCE = Licence(Edition.STANDARD, 200, "STD-1", "tcc1-abc", NOW - timedelta(days=1), NOW + timedelta(days=30))


def test_a_genuine_licence_reads_back_as_issued() -> None:
    assert verify_licence(sign_licence(LICENCE, SERVER_KEY), TRUSTED, fingerprint="tcc1-abc", now=NOW) == LICENCE


def test_a_licence_without_expiry_or_limit_is_valid_forever_and_unlimited() -> None:
    forever = Licence(Edition.STANDARD, None, "STD-1", "tcc1-abc", NOW, None)
    text = sign_licence(forever, SERVER_KEY)
    assert verify_licence(text, TRUSTED, fingerprint="tcc1-abc", now=NOW + timedelta(days=3650)) == forever


def test_a_tampered_payload_is_refused_as_altered() -> None:
    document = json.loads(sign_licence(LICENCE, SERVER_KEY))
    payload = json.loads(base64.b64decode(document["payload"]))
    payload["accountLimit"] = 100000
    document["payload"] = base64.b64encode(json.dumps(payload).encode()).decode()
    with pytest.raises(LicenceSignatureError, match="has been altered since it was issued"):
        verify_licence(json.dumps(document), TRUSTED, fingerprint="tcc1-abc", now=NOW, source="license.json")


def test_a_licence_from_a_foreign_key_is_refused_and_names_the_key() -> None:
    foreign = Ed25519PrivateKey.generate()
    with pytest.raises(LicenceSignatureError, match=f"not trust \\(key id {key_id(foreign.public_key())}\\)"):
        verify_licence(sign_licence(LICENCE, foreign), TRUSTED, fingerprint="tcc1-abc", now=NOW)


def test_a_foreign_key_that_claims_a_trusted_key_id_is_refused_as_altered() -> None:
    document = json.loads(sign_licence(LICENCE, Ed25519PrivateKey.generate()))
    document["keyId"] = key_id(SERVER_KEY.public_key())
    with pytest.raises(LicenceSignatureError, match="altered"):
        verify_licence(json.dumps(document), TRUSTED, fingerprint="tcc1-abc", now=NOW)


def test_an_expired_licence_is_refused_with_its_date() -> None:
    with pytest.raises(LicenceExpiredError, match="expired on 2026-07-01T12:00:00\\+00:00"):
        verify_licence(sign_licence(LICENCE, SERVER_KEY), TRUSTED, fingerprint="tcc1-abc",
                       now=NOW + timedelta(days=30))


def test_a_licence_for_another_installation_is_refused() -> None:
    with pytest.raises(LicenceFingerprintError, match="issued for another installation"):
        verify_licence(sign_licence(LICENCE, SERVER_KEY), TRUSTED, fingerprint="tcc1-other", now=NOW)


@pytest.mark.parametrize("text", ["", "not json", "[]", '{"format": "x"}', '{"format": "tc-calendar-licence/1"}'])
def test_files_that_are_not_licences_say_so(text: str) -> None:
    with pytest.raises(LicenceFormatError, match="licence"):
        verify_licence(text, TRUSTED, fingerprint="tcc1-abc", now=NOW)


def test_free_keys_are_recognised_by_their_prefix() -> None:
    assert is_free_key("FREE-1234") and is_free_key(" free-1234")
    assert not is_free_key("STD-1234") and not is_free_key("MY-REG-KEY")


def test_the_configured_public_key_replaces_the_built_in_one() -> None:
    built_in = parse_public_key(BUILT_IN_PUBLIC_KEY)
    assert list(trusted_keys(None)) == [key_id(built_in)]
    other = base64.b64encode(SERVER_KEY.public_key().public_bytes_raw()).decode()
    assert list(trusted_keys(other)) == [key_id(SERVER_KEY.public_key())]


@settings(deadline=None, max_examples=60)
@given(position=st.integers(min_value=0), flip=st.integers(min_value=1, max_value=255), field=st.sampled_from(
    ["payload", "signature"]))
def test_no_changed_byte_of_a_licence_is_accepted(position: int, flip: int, field: str) -> None:
    document = json.loads(sign_licence(LICENCE, SERVER_KEY))
    raw = bytearray(base64.b64decode(document[field]))
    raw[position % len(raw)] ^= flip
    document[field] = base64.b64encode(bytes(raw)).decode()
    with pytest.raises((LicenceSignatureError, LicenceFormatError)):
        verify_licence(json.dumps(document), TRUSTED, fingerprint="tcc1-abc", now=NOW)
