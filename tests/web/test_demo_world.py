"""The page against the demo world (``tc_calendar demo``): the whole product, from the Exchange simulator
through the sync engine and the store to the browser, with a change made in Exchange arriving live."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, expect
from web_pages import ARTIFACTS, event_in
from web_world import BROWSER_ZONE

pytest.importorskip("ews_sim", reason="the demo needs the simulators (scripts/demo installs them)")
pytest.importorskip("tcs_sim", reason="the demo needs the simulators (scripts/demo installs them)")

from tc_calendar.demo import WEB_LOGIN, RunningDemo, running_demo

SOPHIE = "sophie.mueller@nordwind.example"


class DemoThread:
    """``running_demo`` on its own event loop in a thread, until ``stop``; ``act`` makes the next change."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.demo: RunningDemo | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=asyncio.run, args=(self._main(),), name="web-test-demo", daemon=True)

    def start(self) -> DemoThread:
        self._thread.start()
        if not self._ready.wait(120) or self.demo is None:
            raise RuntimeError(f"the demo did not start: {self._error!r}")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(60)

    def act(self) -> str:
        """The demo's next change in Exchange (the first one books a TrueConf meeting a minute from now)."""
        assert self._loop is not None and self.demo is not None
        life = self.demo.life
        return asyncio.run_coroutine_threadsafe(asyncio.to_thread(life.act), self._loop).result(30)

    async def _main(self) -> None:
        try:
            self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
            async with running_demo(self.directory, port=0, pace=3600, say=lambda _: None) as demo:
                await demo.connector.sync.wait_synced(within=90)
                self.demo = demo
                self._ready.set()
                await self._stop.wait()
        except BaseException as error:
            self._error = error
            raise
        finally:
            self._ready.set()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoThread]:
    running = DemoThread(tmp_path_factory.mktemp("demo") / "demo").start()
    try:
        yield running
    finally:
        running.stop()


def book_quick_sync(demo: DemoThread) -> int:
    """Let the demo go on until Anna books a Quick sync; its number (the demo's changes come in turn, and the other
    test, if it ran first, has made some of them)."""
    for _ in range(4):
        if booked := re.search(r"'Quick sync #(\d+)'", demo.act()):
            return int(booked.group(1))
    raise AssertionError("the demo booked no Quick sync in a round of its changes")


def quick_sync_day(demo: DemoThread, booked: int) -> str:
    """The day (in the browser's zone) Quick sync number ``booked`` starts on, as Exchange holds it."""
    assert demo.demo is not None
    items = demo.demo.world.ews.world.find_items("anna.schmidt@nordwind.example")
    [meeting] = [item for item in items if item.subject == f"Quick sync #{booked}"]
    return browser_day(meeting.start)


def browser_day(instant: datetime) -> str:
    return instant.astimezone(ZoneInfo(BROWSER_ZONE)).date().isoformat()


def test_in_the_demo_world_a_user_sees_the_standups_and_a_meeting_booked_in_exchange_appears_live(
    browser: Browser, demo: DemoThread
) -> None:
    assert demo.demo is not None
    context = browser.new_context(viewport={"width": 1360, "height": 900}, timezone_id=BROWSER_ZONE)
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(f"{demo.demo.page_url}#user={SOPHIE}&view=week")
        page.get_by_label("Login").fill(WEB_LOGIN)
        page.get_by_label("Password").fill(demo.demo.world.web_password)
        page.get_by_role("button", name="Sign in").click()
        expect(page.locator("#user")).to_have_value(SOPHIE)
        expect(page.locator("#user option")).to_have_count(len(demo.demo.world.mailboxes))

        page.get_by_role("button", name="Month", exact=True).click()
        standups = page.locator("#view .event").filter(has=page.locator(".event-title", has_text="Engineering standup"))
        expect(standups.first).to_be_visible()
        expect(standups.first.get_by_role("img", name=re.compile("^Recurring"))).to_be_visible()

        page.get_by_role("button", name="Week", exact=True).click()
        expect(page.locator("#view .day-column")).to_have_count(7)
        booked = book_quick_sync(demo)
        if page.locator(f'#view .day-column[data-day="{quick_sync_day(demo, booked)}"]').count() == 0:
            page.get_by_role("button", name="Next week").click()  # booked in the last minute of a Sunday
        quick_sync = event_in(page.locator("#view"), f"Quick sync #{booked}")
        expect(quick_sync).to_have_count(1, timeout=30_000)
        join: Any = quick_sync.get_by_role("link", name=f"Join Quick sync #{booked}")
        expect(join).to_have_attribute("href", re.compile(rf"/c/quick_sync_{booked}$"))
        # A quarter-hour meeting is a thin block in the week grid, its Join over the middle: click the title's start.
        quick_sync.locator(".event-open").click(position={"x": 4, "y": 4})
        expect(page.locator('#details [data-field="my-response"] dd')).to_have_text("No response")
        expect(page.locator("#details .participant")).to_have_count(4)  # Anna organizes; Lukas, Sophie, Paul
    finally:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "demo_world.png"), full_page=True)
        context.close()
    assert not errors, errors


def coffee_chat_day(demo: DemoThread) -> str:
    """The day (in the browser's zone) of the Coffee chat the demo booked last, read from Exchange itself rather
    than worked out again from the clock: near midnight, "tomorrow" differs between zones and moments."""
    assert demo.demo is not None and demo.demo.life.coffee_uid is not None
    [organizers_copy, *_] = demo.demo.world.ews.world.items_by_uid(demo.demo.life.coffee_uid)
    return browser_day(organizers_copy.start)


TURQUOISE = "rgb(0, 178, 169)"
GRAY = "rgb(163, 172, 181)"
MARIE = "marie.hoffmann@nordwind.example"
SARAH = "sarah.wilson@nordwind.example"


def test_in_the_demo_world_linked_plain_and_cancelled_meetings_look_as_the_guide_shows(
    browser: Browser, demo: DemoThread
) -> None:
    """Seed 4.1.1 and 4.2.3 in the demo world: turquoise with Join, gray without, `Canceled:` struck through;
    and nothing at all before signing in."""
    assert demo.demo is not None
    context = browser.new_context(viewport={"width": 1360, "height": 900}, timezone_id=BROWSER_ZONE)
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        page.goto(f"{demo.demo.page_url}#user={SOPHIE}&view=month")
        expect(page.get_by_label("Password")).to_be_visible()
        expect(page.locator("#view .event")).to_have_count(0)

        page.get_by_label("Login").fill(WEB_LOGIN)
        page.get_by_label("Password").fill(demo.demo.world.web_password)
        page.get_by_role("button", name="Sign in").click()
        expect(page.locator("#user")).to_have_value(SOPHIE)

        standup = event_in(page.locator("#view"), "Engineering standup").first
        expect(standup).to_be_visible()
        expect(standup.get_by_role("link", name="Join Engineering standup")).to_have_attribute(
            "href", re.compile(r"/c/eng_standup$")
        )
        expect(standup.locator(".indicator")).to_have_css("background-color", TURQUOISE)

        for _ in range(4):  # the demo's changes come in turn; one of them cancels the UK partner call series
            if "cancelled" in demo.act():
                break
        page.goto(f"{demo.demo.page_url}#user={MARIE}&view=week&date={coffee_chat_day(demo)}")
        page.reload()
        coffee = event_in(page.locator("#view"), "Coffee chat").first
        expect(coffee).to_be_visible(timeout=30_000)
        expect(coffee.locator(".join")).to_have_count(0)
        expect(coffee.locator(".indicator")).to_have_css("background-color", GRAY)

        page.goto(f"{demo.demo.page_url}#user={SARAH}&view=month")
        page.reload()
        cancelled = event_in(page.locator("#view"), "Canceled: UK partner call").first
        expect(cancelled).to_be_visible(timeout=30_000)
        expect(cancelled.locator(".event-title")).to_have_css("text-decoration-line", re.compile("line-through"))
        expect(cancelled.locator(".join")).to_have_count(0)
    finally:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "demo_world_cancelled.png"), full_page=True)
        context.close()


README_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "images" / "demo-calendar.png"


def test_the_readme_screenshot_shows_the_demos_week_as_a_time_grid_with_a_meetings_details(
    browser: Browser, demo: DemoThread
) -> None:
    """docs/images/demo-calendar.png, as the README shows it: Sophie's week in the demo, a standup's details open."""
    assert demo.demo is not None
    context = browser.new_context(viewport={"width": 1440, "height": 900}, timezone_id=BROWSER_ZONE, locale="de-DE")
    page = context.new_page()
    try:
        page.goto(f"{demo.demo.page_url}#user={SOPHIE}&view=week")
        page.get_by_label("Login").fill(WEB_LOGIN)
        page.get_by_label("Password").fill(demo.demo.world.web_password)
        page.get_by_role("button", name="Sign in").click()
        expect(page.locator("#view .day-column")).to_have_count(7)
        standup = event_in(page.locator("#view"), "Engineering standup").last
        standup.locator(".event-open").click()
        expect(page.get_by_role("dialog", name="Task information")).to_be_visible()
        expect(page.locator("#view[aria-busy]")).to_have_count(0)
        page.mouse.move(0, 0)
        page.evaluate("document.activeElement?.blur()")  # no focus ring in the picture
        page.screenshot(path=str(README_SCREENSHOT))
    finally:
        context.close()
