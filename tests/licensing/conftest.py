"""A registration server simulator on loopback and an installation directory that trusts its key.

``config`` is a ``config.json`` holding only the ``registration`` section (registration comes before
configuration, seed 2.4), pointing at ``reg``. ``closed_port_url`` is a URL where nothing listens.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from licensing_harness import FREE_KEY, STANDARD_KEY, STANDARD_LIMIT, write_config

from reg_sim import KeySpec, RegServer


@pytest.fixture
def reg() -> Iterator[RegServer]:
    with RegServer() as server:
        server.registry.add_key(FREE_KEY)
        server.registry.add_key(STANDARD_KEY, KeySpec("standard", STANDARD_LIMIT, 365))
        yield server


@pytest.fixture
def closed_port_url() -> Iterator[str]:
    """A loopback URL that refuses connections: the port is held by a socket that never listens."""
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    holder.bind(("127.0.0.1", 0))
    try:
        yield f"http://127.0.0.1:{holder.getsockname()[1]}"
    finally:
        holder.close()


@pytest.fixture
def config(tmp_path: Path, reg: RegServer) -> Path:
    directory = tmp_path / "calendar"
    directory.mkdir()
    return write_config(directory, reg.url, reg.registry.public_key)


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """The command configures logging when run in-process; put the test runner's back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
