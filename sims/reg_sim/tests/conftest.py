"""A fresh registration server simulator (new key pair) for every test that asks for one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from reg_sim import RegServer


@pytest.fixture
def reg() -> Iterator[RegServer]:
    """A running server that knows the keys FREE-0001 and STD-0001."""
    with RegServer() as server:
        server.registry.add_key("FREE-0001")
        server.registry.add_key("STD-0001")
        yield server
