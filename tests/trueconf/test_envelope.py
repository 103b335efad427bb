"""Reading TrueConf's error answers, whatever their shape (pure)."""

from __future__ import annotations

import json

from tc_calendar.trueconf._envelope import error_for, is_token_rejected, parse_error
from tc_calendar.trueconf.auth import IssuedToken
from tc_calendar.trueconf.errors import (
    ConferenceNotFoundError,
    TrueConfAuthError,
    TrueConfRequestError,
    TrueConfUnavailableError,
)


def body(data: object) -> bytes:
    return json.dumps(data).encode()


def test_v3_envelope_gives_the_first_reason_and_its_message() -> None:
    info = parse_error(403, body({"error": {"code": 403, "message": "Forbidden", "errors": [
        {"reason": "accessTokenInvalid", "message": "Access token is invalid."}]}}))
    assert (info.reason, info.message) == ("accessTokenInvalid", "Access token is invalid.")
    assert is_token_rejected(info)


def test_oauth_style_error() -> None:
    info = parse_error(401, body({"error": "invalid_client", "error_description": "bad secret"}))
    assert (info.reason, info.message) == ("invalid_client", "bad secret")


def test_bare_reason_object() -> None:
    assert parse_error(400, body({"reason": "InvalidCredentials"})).reason == "InvalidCredentials"


def test_non_json_body_keeps_a_short_text() -> None:
    info = parse_error(502, b"<html>Bad gateway</html>")
    assert info.reason is None and info.message == "<html>Bad gateway</html>"


def test_any_401_is_a_rejected_token_but_a_403_only_with_its_reason() -> None:
    assert is_token_rejected(parse_error(401, b""))
    assert not is_token_rejected(parse_error(403, body({"error": {"errors": [{"reason": "forbidden"}]}})))


def test_a_403_forbidden_asks_for_scopes() -> None:
    error = error_for(parse_error(403, body({"error": {"errors": [{"reason": "forbidden", "message": "no"}]}})),
                      "start conference 1", conference_id="1")
    assert isinstance(error, TrueConfAuthError) and "scopes" in str(error)


def test_status_decides_the_type() -> None:
    assert isinstance(error_for(parse_error(503, b""), "x"), TrueConfUnavailableError)
    assert isinstance(error_for(parse_error(404, b""), "x", conference_id="c"), ConferenceNotFoundError)
    assert type(error_for(parse_error(404, b""), "x", conference_id="c", bare_404_is_conference=False)) \
        is TrueConfRequestError
    assert type(error_for(parse_error(400, b""), "x")) is TrueConfRequestError


def test_a_token_is_renewed_after_eighty_percent_of_its_lifetime() -> None:
    token = IssuedToken("t", obtained_at=100.0, expires_in=1000.0)
    assert token.fresh(899.9, 0.8) and not token.fresh(900.0, 0.8)
