"""Fixtures that run the EWS simulator on a real loopback socket and connect unmodified exchangelib to it.

``ews_world``   the standard World of ews_harness.make_world (service accounts, alice, bob, carol).
``ews_server``  the simulator over plain HTTP on 127.0.0.1, port 0 (``.url``, ``.world``, ``.control_url``);
                stopped when the test ends. GetStreamingEvents minutes last a second here (FAST_STREAMING).
``ews_account`` a factory: ``ews_account(smtp, login=..., password=..., auth_type=..., access_type=...,
                server=...)`` returning an exchangelib Account that fails fast (no retry sleeps in tests).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from ews_harness import exchangelib_account, make_world
from exchangelib import Account

from ews_sim.server import EwsSimulator
from ews_sim.testing import running
from ews_sim.world import World


@pytest.fixture
def ews_world() -> World:
    return make_world()


@pytest.fixture
def ews_server(ews_world: World) -> Iterator[EwsSimulator]:
    with running(ews_world) as sim:  # 127.0.0.1, port 0, FAST_STREAMING
        yield sim


@pytest.fixture
def ews_account(ews_server: EwsSimulator) -> Iterator[Callable[..., Account]]:
    made: list[Account] = []

    def factory(smtp: str, *, server: EwsSimulator | None = None, **kwargs: Any) -> Account:
        account = exchangelib_account(server or ews_server, smtp, **kwargs)
        made.append(account)
        return account

    yield factory
    for account in made:
        account.protocol.close()
