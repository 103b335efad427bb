"""``tc_calendar api-secret``: prints the configured secret, else the one the service generated."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from tc_calendar.api.secret import ensure_api_secret, show
from tc_calendar.config import Settings
from tc_calendar.config._types import DECRYPTOR_CONTEXT_KEY
from tc_calendar.config.models import KEY_FILE_CONTEXT_KEY
from tc_calendar.crypto import SecretBox
from tc_calendar.store import Store


def settings(tmp_path: Path, database: str, api: dict[str, Any] | None = None) -> Settings:
    box = SecretBox.load_or_create(tmp_path / "key")
    provider = {"host": "exchange.example.com", "credentials": [{"login": "svc", "password": box.encrypt("pw")}]}
    document: dict[str, Any] = {"calendarProviders": [provider], "sqlitePath": database.removeprefix("sqlite:///")}
    if api:
        document["api"] = {key: box.encrypt(value) for key, value in api.items()}
    context = {DECRYPTOR_CONTEXT_KEY: box.decrypt, KEY_FILE_CONTEXT_KEY: tmp_path / "key"}
    return Settings.model_validate(document, context=context)


def run_show(config: Settings) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = show(config, out, err)
    return code, out.getvalue(), err.getvalue()


async def test_api_secret_prints_the_generated_secret_once_the_service_made_one(
    api_store: Store, sqlite_url: str, tmp_path: Path
) -> None:
    config = settings(tmp_path, sqlite_url)
    assert config.database_url.endswith("api.db")
    code, out, err = await to_thread(run_show, config)
    assert code == 1 and out == "" and "start the service once" in err
    generated = await ensure_api_secret(api_store, None, SecretBox.load(tmp_path / "key"))
    assert await to_thread(run_show, config) == (0, generated.value + "\n", "")


async def test_api_secret_prints_the_configured_secret(sqlite_url: str, tmp_path: Path) -> None:
    config = settings(tmp_path, sqlite_url, {"secret": "from the config"})
    assert await to_thread(run_show, config) == (0, "from the config\n", "")


async def to_thread(fn: Any, *args: Any) -> Any:
    import asyncio

    return await asyncio.to_thread(fn, *args)


async def test_api_secret_before_the_database_exists_says_to_start_the_service(tmp_path: Path) -> None:
    config = settings(tmp_path, f"sqlite:///{tmp_path / 'never-started.db'}")
    code, out, err = await to_thread(run_show, config)
    assert code == 1 and out == "" and "api.secret is not set" in err
