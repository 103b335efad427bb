"""Start-up from config.json settings: whitelist, per-server secrets, web users, generated secret, wsPort."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

from tc_calendar.api import api_secret_for_cli, build_services, create_app, serve_settings
from tc_calendar.api.client import ApiClient, RpcError, ServerAuth, WebAuth
from tc_calendar.config import Settings
from tc_calendar.config._types import DECRYPTOR_CONTEXT_KEY
from tc_calendar.crypto import SecretBox
from tc_calendar.store import Store


def settings(tmp_path: Path, document: dict[str, Any]) -> Settings:
    box = SecretBox.load_or_create(tmp_path / "key")

    def encrypt(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: encrypt(v) for k, v in value.items()}
        return box.encrypt(value) if isinstance(value, str) else value

    api = document.get("api", {})
    document = {**document, "api": {**api, "secrets": encrypt(api.get("secrets", {}))}}
    if "secret" in api:
        document["api"]["secret"] = box.encrypt(api["secret"])
    if "web" in document:
        document["web"] = {"users": encrypt(document["web"]["users"])}
    provider = {"host": "exchange.example.com", "credentials": [{"login": "svc", "password": box.encrypt("pw")}]}
    document.setdefault("calendarProviders", [provider])
    return Settings.model_validate(document, context={DECRYPTOR_CONTEXT_KEY: box.decrypt})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_a_seed_config_without_a_secret_gets_a_generated_one_that_the_cli_prints(
    api_store: Store, tmp_path: Path
) -> None:
    config = settings(tmp_path, {"productWhitelist": {"tcs": ["tcs.example.com#vcs"]}})
    assert await api_secret_for_cli(config, api_store) is None
    services, secret = await build_services(config, api_store)
    assert secret.source == "generated"
    assert await api_secret_for_cli(config, api_store) == secret.value
    assert services.credentials.secret_for("tcs.example.com#vcs") == secret.value
    again, _ = await build_services(config, api_store)
    assert again.credentials.secret_for("tcs.example.com#vcs") == secret.value


async def test_the_service_serves_wsport_with_the_configured_secrets_and_web_users(
    api_store: Store, tmp_path: Path
) -> None:
    port = free_port()
    config = settings(
        tmp_path,
        {
            "wsPort": port,
            "productWhitelist": {"tcs": ["a.example.com#vcs", "b.example.com#vcs"]},
            "api": {"host": "127.0.0.1", "secret": "shared", "secrets": {"b.example.com#vcs": "own"}},
            "web": {"users": {"admin": "pw"}},
        },
    )
    services, secret = await build_services(config, api_store)
    assert secret.source == "config"
    app = create_app(services, notifier=api_store)
    async with serve_settings(app, config, services.limits) as server:
        assert server.port == port
        url = f"ws://127.0.0.1:{port}/ws"
        for auth in (
            ServerAuth("a.example.com#vcs", "shared"),
            ServerAuth("b.example.com#vcs", "own"),
            WebAuth("admin", "pw"),
        ):
            async with await ApiClient.connect(url, auth) as client:
                assert client.session is not None
        with pytest.raises(RpcError) as raised:
            await ApiClient.connect(url, ServerAuth("b.example.com#vcs", "shared"))
        assert raised.value.code == -32003
