"""``tc_calendar --register KEY`` and ``tc_calendar --offline_reg FILE``: print the seed's messages."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from tc_calendar.licensing.registration import (
    REGISTERED,
    REGISTERED_OFFLINE,
    Installation,
    register_offline,
    register_online,
)


def register(product_key: str, config: Path | None) -> int:
    installation = Installation.from_config(config)
    asyncio.run(register_online(product_key, installation, datetime.now(UTC)))
    print(REGISTERED)
    return 0


def offline_register(file: Path, config: Path | None) -> int:
    installation = Installation.from_config(config)
    register_offline(file, installation, datetime.now(UTC))
    print(REGISTERED_OFFLINE)
    return 0
