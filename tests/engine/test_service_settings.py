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
from tc_calendar.providers.ews import EwsProvider
from tc_calendar.providers.workers import EwsWithWorkers
from tc_calendar.store import MailboxState, Store
from waiting import eventually

TOMORROW = datetime.combine(datetime.now(UTC).date() + timedelta(days=1), time(10), tzinfo=UTC)


def write_config(
    directory: Path, sim: EwsSimulator, *, account_limit: int, workers: int | None = None, split: bool = False
) -> Path:
    """One EWS entry with both service accounts serving ALICE and BOB, or (``split``) one entry for each of them."""
    box = SecretBox.load_or_create(directory / "calendar.key")

    def entry(logins: list[tuple[str, str]], users: list[str]) -> dict[str, object]:
        return {
            "host": sim.host,
            "port": sim.port,
            "scheme": "http",
            "path": "/EWS/Exchange.asmx",
            "type": "ews",
            "auth": "basic",
            "exchangeVersion": "Exchange2016",
            "credentials": [{"login": login, "password": box.encrypt(password)} for login, password in logins],
            "users": users,
        }

    accounts = [(SERVICE_LOGIN, SERVICE_PASSWORD), (SECOND_LOGIN, SECOND_PASSWORD)]
    entries = (
        [entry(accounts[:1], [ALICE.upper()]), entry(accounts[1:], [BOB])] if split
        else [entry(accounts, [ALICE.upper(), BOB])]
    )  # fmt: skip
    config: dict[str, object] = {
        "cache": {"autoSync": True, "backward": 1, "forward": 1},
        "accountLimit": account_limit,
        "calendarProviders": entries,
    }
    if workers is not None:
        config["workers"] = workers
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


async def test_two_ews_entries_share_the_worker_processes_that_config_json_asks_for(
    tmp_path: Path, ews_sim: EwsSimulator, store: Store
) -> None:
    ews_sim.world.create_meeting(ALICE, "Standup", TOMORROW, TOMORROW + timedelta(hours=1), required=[BOB])
    path = write_config(tmp_path, ews_sim, account_limit=10, workers=2, split=True)
    service = SyncService.from_settings(load_settings(path, key_file=tmp_path / "calendar.key"), store)

    await service.start()
    try:
        await service.wait_synced(within=60)
        workers = [provider for provider in service.providers if isinstance(provider, EwsWithWorkers)]
        await eventually(lambda: all(len(provider.worker_pids) == 2 for provider in workers), 60, "both workers ready")
        views = {
            user: await store.load_view(user, TOMORROW - timedelta(days=1), TOMORROW + timedelta(days=1))
            for user in (ALICE, BOB)
        }
        pids = [provider.worker_pids for provider in workers]
    finally:
        await service.stop(grace_seconds=5)

    assert {user: [o.title for o, _ in view] for user, view in views.items()} == {ALICE: ["Standup"], BOB: ["Standup"]}
    assert len(pids) == 2 and len(pids[0]) == 2 and pids[0] == pids[1]


async def test_workers_0_keeps_the_reads_in_the_connectors_process(
    tmp_path: Path, ews_sim: EwsSimulator, store: Store
) -> None:
    path = write_config(tmp_path, ews_sim, account_limit=10, workers=0)
    service = SyncService.from_settings(load_settings(path, key_file=tmp_path / "calendar.key"), store)

    assert [type(provider) for provider in service.providers] == [EwsProvider]
