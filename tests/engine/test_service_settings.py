"""The sync service built from a real config.json (seed 3.1.4 keys, encrypted passwords) against the simulator."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

from engine_world import ALICE, BOB, SECOND_LOGIN, SECOND_PASSWORD, SERVICE_LOGIN, SERVICE_PASSWORD

from ews_sim.server import EwsSimulator
from tc_calendar.config import load_settings
from tc_calendar.crypto import SecretBox
from tc_calendar.engine.service import SyncService
from tc_calendar.metrics import Metrics
from tc_calendar.store import MailboxState, Store

TOMORROW = datetime.combine(datetime.now(UTC).date() + timedelta(days=1), time(10), tzinfo=UTC)


def write_config(directory: Path, sim: EwsSimulator, *, account_limit: int) -> Path:
    box = SecretBox.load_or_create(directory / "calendar.key")
    config = {
        "cache": {"autoSync": True, "backward": 1, "forward": 1},
        "accountLimit": account_limit,
        "calendarProviders": [
            {
                "host": sim.host,
                "port": sim.port,
                "scheme": "http",
                "path": "/EWS/Exchange.asmx",
                "type": "ews",
                "auth": "basic",
                "exchangeVersion": "Exchange2016",
                "credentials": [
                    {"login": SERVICE_LOGIN, "password": box.encrypt(SERVICE_PASSWORD)},
                    {"login": SECOND_LOGIN, "password": box.encrypt(SECOND_PASSWORD)},
                ],
                "users": [ALICE.upper(), BOB],
            }
        ],
    }
    path = directory / "config.json"
    path.write_text(json.dumps(config))
    return path


async def test_the_service_runs_from_config_json_with_users_first_and_the_account_limit(
    tmp_path: Path, ews_sim: EwsSimulator, store: Store
) -> None:
    ews_sim.world.create_meeting(ALICE, "Standup", TOMORROW, TOMORROW + timedelta(hours=1), required=[BOB])
    settings = load_settings(write_config(tmp_path, ews_sim, account_limit=1), key_file=tmp_path / "calendar.key")
    metrics = Metrics()
    service = SyncService.from_settings(settings, store, metrics=metrics)

    await service.start()
    try:
        await service.wait_synced(within=20)
        statuses = {runtime.status.email: runtime.status.state for runtime in await service.status()}
        view = await store.load_view(ALICE, TOMORROW - timedelta(days=1), TOMORROW + timedelta(days=1))
    finally:
        await service.stop(grace_seconds=5)

    assert statuses == {ALICE: MailboxState.OK, BOB: MailboxState.OVER_LIMIT}
    assert [occurrence.title for occurrence, _ in view] == ["Standup"]
    assert metrics.registry.get_sample_value("tc_calendar_mailboxes", {"state": "over_limit"}) == 1
