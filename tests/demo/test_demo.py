"""``tc_calendar demo``: one command shows the whole product working."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from tc_calendar.api.client import ApiClient, WebAuth
from tc_calendar.demo import WEB_LOGIN, running_demo


def test_the_demo_command_serves_a_healthy_connector_and_stops_on_sigterm(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "tc_calendar", "demo", "--port", "0", "--dir", str(tmp_path / "demo"), "--pace", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        lines: list[str] = []
        page = None
        deadline = time.monotonic() + 60
        while page is None and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
            if match := re.search(r"Web calendar: +(http://\S+)/calendar/", line):
                page = match.group(1)
        assert page is not None, "".join(lines)
        assert any("Sign in as:" in line for line in lines) or "Sign in as:" in process.stdout.readline()

        health = None
        while time.monotonic() < deadline:
            try:  # the first sync keeps a busy machine's demo slow to answer for a while
                health = httpx.get(f"{page}/health", timeout=10)
            except httpx.TransportError:
                health = None
            if health is not None and health.status_code == 200:
                break
            time.sleep(0.5)
        assert health is not None and health.status_code == 200, health.text if health else "no answer"
        assert httpx.get(f"{page}/calendar/", timeout=30).status_code == 200

        while time.monotonic() < deadline:  # the demo's life goes on: changes are announced
            line = process.stdout.readline()
            lines.append(line)
            if line.startswith("[demo] "):
                break
        assert any(line.startswith("[demo] ") for line in lines), "".join(lines)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
    assert process.returncode == 0


async def test_the_demo_world_shows_meetings_and_starts_a_booked_conference(tmp_path: Path) -> None:
    async with running_demo(tmp_path / "demo", port=0, pace=3600, say=lambda _: None) as demo:
        demo.life.quick_sync_lead = timedelta(seconds=3)
        await demo.connector.sync.wait_synced(within=60)
        client = await ApiClient.connect(demo.connector.url, WebAuth(WEB_LOGIN, demo.world.web_password))
        try:
            now = datetime.now(UTC)
            listed = await client.call("calendar.list", {
                "user": "sophie.mueller@nordwind.example",
                "start": (now - timedelta(days=7)).isoformat(), "end": (now + timedelta(days=14)).isoformat(),
            })
            titles = {o["title"] for o in listed["occurrences"]}
            assert "Engineering standup" in titles
            assert any(o["conference"] for o in listed["occurrences"])
        finally:
            await client.close()

        demo.life.act()  # Anna books a TrueConf meeting three seconds from now
        for _ in range(600):  # started late (and marked so) if the machine is too busy to be on time
            if demo.world.tcs.world.runs_of("quick_sync_1"):
                break
            await asyncio.sleep(0.1)
        [run] = demo.world.tcs.world.runs_of("quick_sync_1")
        assert {"anna_schmidt", "lukas_weber", "sophie_mueller", "paul_schulz"} <= set(run.invitations)


async def test_the_demo_reads_the_cloud_mailboxes_through_graph_and_starts_a_cloud_organizers_meeting(
    tmp_path: Path,
) -> None:
    async with running_demo(tmp_path / "demo", port=0, pace=3600, say=lambda _: None) as demo:
        demo.life.quick_sync_lead = timedelta(seconds=3)
        world = demo.world
        assert "john.miller@nordwind.example" in world.cloud_mailboxes
        assert "sophie.mueller@nordwind.example" in world.onprem_mailboxes
        await demo.connector.sync.wait_synced(within=60)
        read_through_graph = world.graph.gate.counters()["mailboxes"]
        assert set(world.cloud_mailboxes) <= set(read_through_graph)
        assert not set(world.onprem_mailboxes) & set(read_through_graph)
        client = await ApiClient.connect(demo.connector.url, WebAuth(WEB_LOGIN, world.web_password))
        try:
            now = datetime.now(UTC)
            listed = await client.call("calendar.list", {
                "user": "john.miller@nordwind.example",
                "start": (now - timedelta(days=7)).isoformat(), "end": (now + timedelta(days=14)).isoformat(),
            })
            assert "Sales pipeline review" in {o["title"] for o in listed["occurrences"]}
        finally:
            await client.close()

        demo.life.quick_syncs = 1  # the next quick sync is John Miller's, booked in Exchange Online
        demo.life.act()
        for _ in range(600):  # started late (and marked so) if the machine is too busy to be on time
            if world.tcs.world.runs_of("quick_sync_2"):
                break
            await asyncio.sleep(0.1)
        [run] = world.tcs.world.runs_of("quick_sync_2")
        assert {"john_miller", "emily_davis", "sophie_mueller", "ivan_petrov"} <= set(run.invitations)
