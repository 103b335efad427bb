"""Secrets for config.json: tokens that look like the seed's and are real authenticated encryption."""

from __future__ import annotations

import base64
import logging
import stat
from pathlib import Path

import pytest

from tc_calendar.crypto import SecretBox, looks_encrypted
from tc_calendar.errors import SecretError


def test_a_token_decrypts_to_the_password_it_was_made_from(tmp_path: Path) -> None:
    box = SecretBox.load_or_create(tmp_path / "calendar.key")
    for password in ["s3cret", "", "пароль with spaces & symbols: @/:?", "x" * 500]:
        assert box.decrypt(box.encrypt(password)) == password


def test_tokens_have_the_seed_shape_base64_of_tc_underscore(tmp_path: Path) -> None:
    token = SecretBox.load_or_create(tmp_path / "calendar.key").encrypt("pw")
    assert token.startswith("dGNf")
    assert base64.b64decode(token).startswith(b"tc_")
    assert looks_encrypted(token)


def test_the_same_password_gives_a_different_token_each_time(tmp_path: Path) -> None:
    box = SecretBox.load_or_create(tmp_path / "calendar.key")
    assert box.encrypt("pw") != box.encrypt("pw")


def test_the_key_file_is_created_once_with_mode_0600_and_reused(tmp_path: Path) -> None:
    key_file = tmp_path / "etc" / "calendar.key"
    token = SecretBox.load_or_create(key_file).encrypt("pw")
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    content = key_file.read_bytes()
    assert SecretBox.load_or_create(key_file).decrypt(token) == "pw"
    assert key_file.read_bytes() == content


def test_a_changed_token_is_refused_not_decrypted_to_something_else(tmp_path: Path) -> None:
    box = SecretBox.load_or_create(tmp_path / "calendar.key")
    raw = bytearray(base64.b64decode(box.encrypt("pw")))
    raw[40] ^= 1
    tampered = base64.b64encode(bytes(raw)).decode()
    with pytest.raises(SecretError, match=r"cannot be decrypted with the key in .*calendar\.key \(wrong key file, or "
                                          r"the value was changed\); encrypt it again with tc_calendar --hash_pass"):
        box.decrypt(tampered)


def test_a_token_from_another_key_file_is_refused(tmp_path: Path) -> None:
    token = SecretBox.load_or_create(tmp_path / "one.key").encrypt("pw")
    with pytest.raises(SecretError, match="wrong key file"):
        SecretBox.load_or_create(tmp_path / "two.key").decrypt(token)


@pytest.mark.parametrize("value", ["plain password", "dGNf", "dGNfnot-base64!", base64.b64encode(b"xx_abc").decode()])
def test_values_that_are_not_tokens_are_recognised_as_such(tmp_path: Path, value: str) -> None:
    assert not looks_encrypted(value)
    with pytest.raises(SecretError, match="not an encrypted token"):
        SecretBox.load_or_create(tmp_path / "calendar.key").decrypt(value)


def test_a_missing_key_file_is_a_clear_error_when_only_reading(tmp_path: Path) -> None:
    with pytest.raises(SecretError, match=r"the key file .*absent\.key does not exist"):
        SecretBox.load(tmp_path / "absent.key")


def test_a_corrupt_key_file_is_a_clear_error(tmp_path: Path) -> None:
    key_file = tmp_path / "calendar.key"
    key_file.write_text("not a key\n")
    with pytest.raises(SecretError, match="does not hold a valid key"):
        SecretBox.load(key_file)


def test_an_unwritable_place_for_the_key_file_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(SecretError, match=r"cannot create the key file .* --key-file"):
        SecretBox.load_or_create(blocker / "calendar.key")


def test_a_key_file_readable_by_others_is_warned_about(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    key_file = tmp_path / "calendar.key"
    SecretBox.load_or_create(key_file)
    key_file.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="tc_calendar.crypto"):
        SecretBox.load(key_file)
    assert f"the key file {key_file} can be read by other users (mode 0644); restrict it with: chmod 600" in caplog.text
