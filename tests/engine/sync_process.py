"""A sync service in a process of its own, for the crash tests: ``python sync_process.py EWS_URL DB_URL USER...``.

It runs until killed. The service account and options are those of the engine tests' simulator world.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from dataclasses import replace

from sync_harness import FAST

from tc_calendar.engine.planner import DiffPlanner
from tc_calendar.engine.service import SyncService
from tc_calendar.providers._ews_session import EndpointSettings
from tc_calendar.providers.ews import EwsProvider
from tc_calendar.store import Store

SERVICE_LOGIN, SERVICE_PASSWORD = "svc-sync", "Sync!pass1"


async def main(ews_url: str, database_url: str, users: list[str]) -> None:
    endpoint = EndpointSettings(ews_url, auth="basic", timeout_seconds=10, server_version="Exchange2016")
    provider = EwsProvider(endpoint, [(SERVICE_LOGIN, SERVICE_PASSWORD)], fetch_chunk_size=5, sync_page_size=3)
    store = Store.open(database_url)
    service = SyncService(
        store, [provider], [users], planner=DiffPlanner(), options=replace(FAST, fallback_poll_interval=0.3)
    )
    await service.start()
    logging.getLogger(__name__).info("sync service started")
    await asyncio.Event().wait()


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(process)d %(name)s %(message)s")
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3:]))
