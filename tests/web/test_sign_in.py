"""Signing in: the page shows calendar data only to a web user the API accepted, and remembers the session."""

from __future__ import annotations

import re
import time
from pathlib import Path

from playwright.sync_api import Browser, Page, expect
from web_pages import sign_in
from web_server import LiveServer, copy_of
from web_world import ALICE, BROWSER_ZONE, TODAY, WEB_LOGIN

REFUSED_CALL = """async (url) => await new Promise((resolve) => {
  const ws = new WebSocket(url);
  const seen = {};
  ws.onopen = () => ws.send(JSON.stringify({jsonrpc: '2.0', id: 1, method: 'calendar.list',
    params: {user: 'alice@example.com', start: '2025-06-01T00:00:00Z', end: '2025-07-01T00:00:00Z'}}));
  ws.onmessage = (event) => { seen.reply = JSON.parse(event.data); };
  ws.onclose = (event) => { seen.code = event.code; resolve(seen); };
})"""


def test_a_web_user_signs_in_with_the_right_password_and_sees_the_calendar(page: Page, server: LiveServer) -> None:
    sign_in(page, server)
    expect(page.locator("#signin")).to_be_hidden()
    expect(page.locator("#whoami")).to_have_text(WEB_LOGIN)
    expect(page.locator("#user")).to_have_value(ALICE)
    expect(page.locator("#period")).to_have_text("June 2025")


def test_a_wrong_password_is_refused_and_shows_no_calendar(page: Page, server: LiveServer) -> None:
    sign_in(page, server, password="not the password")
    expect(page.locator("#signin-error")).to_have_text("Wrong login or password.")
    expect(page.locator("#app")).to_be_hidden()
    expect(page.locator(".event")).to_have_count(0)
    expect(page.get_by_label("Password")).to_have_value("")


def test_without_signing_in_the_page_shows_only_the_form_and_the_api_refuses_calls(
    page: Page, server: LiveServer
) -> None:
    page.goto(server.page_url)
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    expect(page.locator("#app")).to_be_hidden()
    expect(page.locator("#view")).to_be_empty()
    assert "Weekly sync" not in page.content()
    answer = page.evaluate(REFUSED_CALL, server.ws_url)
    assert answer["reply"]["error"]["code"] == -32001
    assert answer["code"] == 4001


def test_a_reload_resumes_the_session_without_the_password_and_sign_out_forgets_it(
    page: Page, server: LiveServer
) -> None:
    sign_in(page, server)
    token = page.evaluate("sessionStorage.getItem('tc-calendar.session')")
    assert token and re.fullmatch(r"[\w-]+\.[\w-]+", token)
    page.reload()
    expect(page.locator("#app")).to_be_visible()
    expect(page.locator("#view .event").first).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    expect(page.locator(".event")).to_have_count(0)
    assert page.evaluate("sessionStorage.getItem('tc-calendar.session')") is None
    page.reload()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    expect(page.locator("#app")).to_be_hidden()


def test_the_page_is_served_with_a_strict_content_security_policy_and_only_its_own_files(
    page: Page, server: LiveServer
) -> None:
    response = page.request.get(server.page_url)
    assert response.ok
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert page.request.get(server.page_url + "__init__.py").status == 404
    root = page.request.get(server.page_url.replace("/calendar/", "/"), max_redirects=0)
    assert root.status == 307 and root.headers["location"].endswith("/calendar/")


def test_after_repeated_wrong_passwords_the_page_says_when_to_try_again(
    page: Page, seeded_database: Path, tmp_path: Path
) -> None:
    strict = LiveServer(copy_of(seeded_database, tmp_path), free_failures=1).start()
    try:
        sign_in(page, strict, password="wrong once")
        expect(page.locator("#signin-error")).to_have_text("Wrong login or password.")
        wait = re.compile(r"Too many failed attempts\. Try again in \d+ s\.")
        messages = []
        for attempt in range(6):  # each failure blocks longer (1, 2, 4 s ...): soon one lands inside a block
            sign_in(page, strict, password=f"wrong again {attempt}")
            messages.append(page.locator("#signin-error").inner_text())
            if wait.fullmatch(messages[-1]):
                break
        assert wait.fullmatch(messages[-1]), messages
        expect(page.locator("#app")).to_be_hidden()
    finally:
        strict.stop()


def test_a_session_the_api_no_longer_accepts_on_reconnect_returns_to_the_sign_in_form(
    page: Page, own_server: LiveServer
) -> None:
    sign_in(page, own_server)
    own_server.stop()
    expect(page.get_by_role("status").filter(has_text="Connection lost")).to_be_visible(timeout=10_000)
    page.evaluate("sessionStorage.setItem('tc-calendar.session', 'eyJzdWIiOiJ4In0.forged')")
    own_server.start()
    # The page's reconnect delay grows to 10 s while the server is down.
    expect(page.locator("#signin-error")).to_have_text("Your session has ended. Please sign in again.", timeout=30_000)
    expect(page.locator("#app")).to_be_hidden()
    expect(page.locator(".event")).to_have_count(0)
    expect(page.locator("#banner")).to_be_hidden()


def test_a_page_left_open_renews_its_session_token_every_hour(browser: Browser, server: LiveServer) -> None:
    context = browser.new_context(timezone_id=BROWSER_ZONE, locale="de-DE")
    try:
        page = context.new_page()
        page.clock.install(time=TODAY)  # timers run only when the test moves the clock
        sign_in(page, server)
        first = page.evaluate("sessionStorage.getItem('tc-calendar.session')")
        time.sleep(1.1)  # a token renewed in the same second would be the same token
        page.clock.run_for(60 * 60 * 1000 + 1000)
        expect(page.locator("#app")).to_be_visible()

        def token() -> str:
            return str(page.evaluate("sessionStorage.getItem('tc-calendar.session')"))

        deadline = time.monotonic() + 30
        while token() == first and time.monotonic() < deadline:
            page.clock.run_for(100)  # let the side connection's callbacks run
            time.sleep(0.1)
        assert token() != first
        expect(page.locator("#banner")).to_be_hidden()
    finally:
        context.close()
