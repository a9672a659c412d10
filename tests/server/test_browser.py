"""Each role's journey through the dashboard in a real headless Chromium, with screenshots kept as artefacts.

The server runs under uvicorn in a thread, on a copy of the seeded SQLite database (the demo market).
Playwright drives Debian's ``/usr/bin/chromium`` (or ``$GIGSHIFT_CHROMIUM``); without it or without
Playwright the tests skip, saying why; with ``GIGSHIFT_REQUIRE_BROWSER=1`` (as in ``.ci/run``) they fail.
Screenshots go to ``tests/artifacts/browser/`` (ignored by git); their paths are printed.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

PASSWORD = "correct horse battery staple"
SECRET = "test-secret-key-" + "x" * 40
REQUIRE_BROWSER = os.environ.get("GIGSHIFT_REQUIRE_BROWSER", "") not in ("", "0")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "browser"


def _unavailable(reason: str) -> None:
    if REQUIRE_BROWSER:
        pytest.fail(f"GIGSHIFT_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(f"browser tests skipped: {reason}")


def _chromium() -> str:
    configured = os.environ.get("GIGSHIFT_CHROMIUM")
    for candidate in (configured, "/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and Path(candidate).is_file():
            return candidate
    _unavailable("no Chromium found (apt-get install chromium, or set GIGSHIFT_CHROMIUM)")
    raise AssertionError  # unreachable


@pytest.fixture(scope="module")
def browser():  # type: ignore[no-untyped-def]
    executable = _chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright for Python is not installed (pip install playwright)")
    with sync_playwright() as playwright:
        try:
            launched = playwright.chromium.launch(executable_path=executable, headless=True, args=["--no-sandbox"])
        except Exception as exc:
            _unavailable(f"Chromium at {executable} did not start: {exc}")
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def server(sqlite_backend, tmp_path_factory):  # type: ignore[no-untyped-def]
    """uvicorn serving a copy of the seeded demo database on a free loopback port."""
    import uvicorn

    from gigshift.server import create_app

    url = sqlite_backend.fresh_url(tmp_path_factory.mktemp("browser"))
    app = create_app(url, secret_key=SECRET)
    with app.state.engine.connect() as conn:
        emails = dict(conn.execute(sa.text("SELECT role, email FROM users WHERE email LIKE '%demo%'")).all())
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    runner = uvicorn.Server(config)
    thread = threading.Thread(target=runner.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not runner.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert runner.started, "uvicorn did not start"
    port = runner.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}", emails, sqlite_backend.seed
    runner.should_exit = True
    thread.join(timeout=10)
    app.state.engine.dispose()


def _page(browser, *, phone: bool = False):  # type: ignore[no-untyped-def]
    viewport = {"width": 390, "height": 844} if phone else {"width": 1280, "height": 900}
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    page.problems = []  # console errors (a CSP violation shows here) and failed requests
    page.on("console", lambda m: page.problems.append(m.text) if m.type == "error" else None)
    page.on("requestfailed", lambda r: page.problems.append(f"failed: {r.url}"))
    return context, page


def _login(page, base: str, email: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: not url.endswith("/login"))


def _shot(page, name: str) -> Path:  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
    return path


def test_worker_journey(browser, server):
    base, emails, seed = server
    context, page = _page(browser)
    _login(page, base, emails["worker"])
    assert page.url.endswith("/worker")
    assert page.get_by_role("heading", name="Earnings").is_visible()
    _shot(page, "worker-home")
    page.get_by_role("link", name="Why (not) me").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="The answer").is_visible()
    _shot(page, "worker-why")
    page.get_by_label("Task id").fill(seed.client_task_id)
    page.get_by_role("button", name="Explain").click()
    page.wait_for_load_state()
    assert "task_id=" in page.url
    _shot(page, "worker-why-task")
    page.get_by_role("link", name="AI exposure & paths").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Career paths", exact=True).is_visible()
    _shot(page, "worker-advice")
    assert page.problems == []
    context.close()


def test_client_journey(browser, server):
    base, emails, _seed = server
    context, page = _page(browser)
    _login(page, base, emails["client"])
    assert page.url.endswith("/client")
    _shot(page, "client-home")
    page.get_by_label("Title").fill("Localise our app")
    page.get_by_label("What is the work?").fill("Translate the strings of our mobile app from English into Spanish")
    page.get_by_label("Budget (USD)").fill("300")
    page.get_by_role("button", name="Post task").click()
    page.wait_for_load_state()
    assert "/client/tasks/" in page.url
    assert page.get_by_role("heading", name="Localise our app").is_visible()
    assert page.get_by_text("Categories suggested from the text").is_visible()
    _shot(page, "client-task")
    assert page.problems == []
    context.close()


def test_operator_journey(browser, server):
    base, emails, _seed = server
    context, page = _page(browser)
    _login(page, base, emails["operator"])
    assert page.url.endswith("/operator")
    assert page.get_by_role("heading", name="Transparency statement").is_visible()
    _shot(page, "operator-home")
    page.get_by_label("Seed (optional)").fill("7")
    page.get_by_role("button", name="Allocate open tasks").click()
    page.wait_for_load_state()
    assert "/operator/allocations/" in page.url
    page.get_by_text("completed", exact=True).wait_for(timeout=60_000)  # the page refreshes while it runs
    _shot(page, "operator-run")
    assert page.problems == []
    context.close()


def test_auditor_journey_on_a_phone(browser, server):
    base, emails, _seed = server
    context, page = _page(browser, phone=True)
    _login(page, base, emails["auditor"])
    assert page.url.endswith("/auditor")
    _shot(page, "auditor-home-phone")
    page.get_by_label("Bootstrap resamples").fill("0")
    page.get_by_role("button", name="Run audit").click()
    page.wait_for_load_state()
    assert "/auditor/audits/" in page.url
    assert page.get_by_role("img", name="Impact ratio by group").is_visible()
    link = page.get_by_role("link", name="Download as JSON")
    assert link.is_visible()
    _shot(page, "auditor-report-phone")
    with page.expect_download() as download:
        link.click()
    saved = ARTIFACTS / "auditor-report.json"
    download.value.save_as(str(saved))
    assert saved.read_text().startswith("{")
    print(f"download: {saved}")
    # no horizontal scrolling of the page itself on a phone
    assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1
    assert page.problems == []
    context.close()


def test_keyboard_reaches_the_login_form(browser, server):
    base, emails, _seed = server
    context, page = _page(browser)
    page.goto(f"{base}/login")
    page.keyboard.press("Tab")  # the skip link first
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.get_by_label("Email").fill(emails["operator"])
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/operator")
    context.close()


def test_worker_leaves_and_rejoins_the_pay_pool_and_bids(browser, server):
    base, emails, seed = server
    context, page = _page(browser)
    _login(page, base, emails["worker"])
    page.get_by_role("link", name="Pay pool", exact=True).click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Your paid jobs are in the pool").is_visible()
    assert page.get_by_role("heading", name="What revoking does").is_visible()
    _shot(page, "worker-pay-pool")
    page.get_by_role("button", name="Revoke my consent").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Your paid jobs are not in the pool").is_visible()
    _shot(page, "worker-pay-pool-revoked")
    page.get_by_role("button", name="Join the pay pool").click()
    page.wait_for_load_state()
    assert page.get_by_text("You joined the pay pool.").is_visible()
    page.get_by_role("link", name="My work").click()
    page.wait_for_load_state()
    title = seed.open_task_id  # the seeded open task has no title
    page.get_by_label(f"Your price (USD) for {title}").fill("180")
    page.get_by_label("Note to the client (optional)").first.fill("Native speaker, can start tomorrow")
    page.get_by_role("button", name=f"Bid on {title}").click()
    page.wait_for_load_state()
    assert page.get_by_text(f"Your bid on task {title} is in.").is_visible()
    assert page.get_by_text("You bid $180.00").is_visible()
    _shot(page, "worker-bid")
    assert page.problems == []
    context.close()


def test_client_rates_the_work_and_the_worker_sees_it(browser, server):
    base, emails, seed = server
    context, page = _page(browser)
    _login(page, base, emails["client"])
    # the client's task that the seeded run gave to the worker login, from the "Assigned to" column
    row = page.get_by_role("row").filter(has=page.get_by_role("cell", name=seed.worker_id, exact=True)).first
    row.get_by_role("link").click()
    page.wait_for_load_state()
    page.get_by_label("4 stars").check()
    page.get_by_label("Comment (optional, the worker sees it)").fill("Careful work, delivered early")
    page.get_by_role("button", name="Save rating").click()
    page.wait_for_load_state()
    assert page.get_by_text("your rating is saved").is_visible()
    _shot(page, "client-rated")
    worker_context, worker = _page(browser)
    _login(worker, base, emails["worker"])
    assert worker.get_by_text("Careful work, delivered early").is_visible()
    worker.get_by_role("heading", name="Ratings of my work").scroll_into_view_if_needed()
    _shot(worker, "worker-sees-rating")
    assert page.problems == [] and worker.problems == []
    worker_context.close()
    context.close()


def test_operator_creates_activates_and_runs_a_policy_version(browser, server):
    base, emails, _seed = server
    context, page = _page(browser)
    _login(page, base, emails["operator"])
    page.get_by_role("link", name="Policies").first.click()
    page.wait_for_load_state()
    page.get_by_label("Version name").fill("2026.2-more-waiting")
    page.get_by_label("waiting", exact=True).fill("0.3")
    page.get_by_label("Minimum impact ratio").fill("0.7")  # parity stays off: the few open tasks could not meet it
    page.get_by_label("Activate it now").check()
    page.get_by_role("button", name="Store new version").click()
    page.wait_for_load_state()
    assert page.get_by_text("Version 2026.2-more-waiting is now the active policy.").is_visible()
    _shot(page, "operator-policies")
    page.get_by_role("button", name="Activate default-2026.1").click()
    page.wait_for_load_state()
    assert page.get_by_text("Version default-2026.1 is now the active policy.").is_visible()
    page.get_by_role("link", name="Allocation").first.click()
    page.wait_for_load_state()
    runs = page.get_by_role("region", name="Recent runs").locator("tbody tr")
    before = runs.count()
    page.get_by_label("Policy version").select_option("2026.2-more-waiting")
    fields = ("csrf_token", "idempotency_key", "policy_version", "seed")
    sent = {n: page.locator(f'form[action="/operator/allocations"] [name="{n}"]').input_value() for n in fields}
    first = context.request.post(f"{base}/operator/allocations", form=sent)  # a submit whose answer was slow...
    page.get_by_role("button", name="Allocate open tasks").click()  # ...so the user presses the button again
    page.wait_for_url("**/operator/allocations/*")
    assert first.ok and page.url == first.url
    page.get_by_text("completed", exact=True).wait_for(timeout=60_000)
    assert page.get_by_text("2026.2-more-waiting", exact=True).first.is_visible()
    _shot(page, "operator-run-with-version")
    page.goto(f"{base}/operator")
    assert runs.count() == before + 1  # the form's idempotency key made the second submit a replay
    assert page.problems == []
    context.close()


def test_operator_fairness_over_time_on_a_phone(browser, server):
    base, emails, _seed = server
    context, page = _page(browser, phone=True)
    _login(page, base, emails["operator"])
    page.goto(f"{base}/operator/fairness")
    assert page.get_by_role("img", name="Impact ratio by sex, per run").is_visible()
    assert page.get_by_role("table").is_visible()
    _shot(page, "operator-fairness-phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1
    context2, desktop = _page(browser)
    _login(desktop, base, emails["operator"])
    desktop.goto(f"{base}/operator/fairness")
    _shot(desktop, "operator-fairness")
    assert page.problems == [] and desktop.problems == []
    context2.close()
    context.close()
