"""Backfills in the web UI, in a real browser (the harness of tests/test_web_ui.py:
Playwright driving Debian's chromium, headless, the page served by uvicorn in a thread).

The project is daily `raw` -> `report` over ten days, never materialized, and `slow`,
daily too, whose runs wait on a gate the test opens, so a backfill can be canceled
while it runs. Screenshots are kept in test-artifacts/web-ui/ at the repository root.

Skipped, with the reason, when the `playwright` package is missing (`pip install -e
'.[dev]'`) or when /usr/bin/chromium is (`make browser` as root installs it; CI does).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

import sheer as dg

try:
    from playwright.sync_api import Locator, Page, expect
except ImportError:  # pragma: no cover - depends on the environment
    pytest.skip(
        "the playwright package is not installed: pip install -e '.[dev]'", allow_module_level=True
    )

if not Path("/usr/bin/chromium").exists():  # pragma: no cover - depends on the environment
    pytest.skip(
        "Debian's chromium is not at /usr/bin/chromium: run `make browser` as root "
        "(CI installs it)",
        allow_module_level=True,
    )

# (imported after the skips: it needs both)
import test_web_ui as harness

# The browser and page fixtures of the UI tests (the page fails a test that raised).
browser = harness.browser
page = harness.page

DAILY = dg.DailyPartitionsDefinition(start_date="2026-01-01", end_date="2026-01-11")
DAYS = DAILY.get_partition_keys()
GATE = threading.Event()  # `slow` runs wait on it
GATE.set()


@dg.asset(partitions_def=DAILY, group_name="daily")
def raw() -> int:
    return 1


@dg.asset(partitions_def=DAILY, deps=[raw], group_name="daily")
def report() -> int:
    return 2


@dg.asset(partitions_def=DAILY, group_name="daily")
def slow() -> int:
    assert GATE.wait(30)
    return 3


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[harness.Served]:
    defs = dg.Definitions(assets=[raw, report, slow])
    home = tmp_path_factory.mktemp("backfills")
    instance = dg.Instance.from_url(f"sqlite:///{home / 'sheer.db'}")
    with harness.serve(defs, instance) as s:
        yield s
    GATE.set()


def open_form(page: Page, served: harness.Served, key: str) -> tuple[Locator, Locator]:
    page.goto(f"{served.url}/#/assets/{key}")
    page.wait_for_selector("svg.graph[data-ready]")
    form = page.locator(f'.panel[data-key="{key}"] .backfill-form')
    expect(form).to_be_visible()
    return form.locator('input[name="from"]'), form.locator('input[name="to"]')


def test_a_backfill_from_the_asset_panel_runs_and_its_bar_reaches_complete(
    page: Page, served: harness.Served
) -> None:
    start, end = open_form(page, served, "raw")
    # Prefilled with the asset's first and last partition keys.
    expect(start).to_have_value(DAYS[0])
    expect(end).to_have_value(DAYS[-1])
    start.fill("2026-01-03")
    end.fill("2026-01-07")
    harness.shot(page, "30-backfill-form")
    page.locator('.panel[data-key="raw"] .backfill-form button').click()

    expect(page).to_have_url(re.compile(r"#/backfills/[a-z]{8}$"))
    backfill_id = page.url.rsplit("/", 1)[1]
    detail = page.locator(".backfills-page")
    expect(detail.locator(".backfill-title .pill")).to_have_text("completed", timeout=30000)
    expect(detail.locator("> .backfill-progress .progress-text")).to_have_text("5/5")
    bar = detail.locator("> .backfill-progress .progress-bar")
    expect(bar).to_have_attribute("data-done", "5")
    expect(bar.locator(".progress-done")).to_have_attribute("style", "width:100%")
    row = detail.locator('.backfill-assets tr[data-asset="raw"]')
    expect(row.locator(".progress-text")).to_have_text("5/5")
    expect(detail.locator("button.cancel")).to_be_disabled()
    expect(detail.locator("button.resume")).to_be_disabled()
    harness.shot(page, "31-backfill-detail-complete")

    page.locator('nav a[data-page="backfills"]').click()
    expect(page.locator('nav a[data-page="backfills"]')).to_have_class(re.compile(r"\bactive\b"))
    listed = page.locator(f'.backfills tr[data-backfill="{backfill_id}"]')
    expect(listed.locator(".pill")).to_have_text("completed")
    expect(listed.locator(".progress-text")).to_have_text("5/5")
    expect(listed).to_contain_text("raw")
    harness.shot(page, "32-backfills-list")
    made = served.instance.get_materialized_partitions(dg.AssetKey("raw"))
    assert made == set(DAYS[2:7])


def test_a_key_the_asset_lacks_shows_the_servers_message_under_the_form(
    page: Page, served: harness.Served
) -> None:
    _, end = open_form(page, served, "report")
    end.fill("2027-01-01")
    page.locator('.panel[data-key="report"] .backfill-form button').click()
    error = page.locator('.panel[data-key="report"] .backfill-error')
    expect(error).to_be_visible()
    expect(error).to_contain_text("Partition '2027-01-01' is not a partition of asset 'report'")
    expect(page).to_have_url(re.compile(r"#/assets/report$"))
    harness.shot(page, "33-backfill-form-error")
    stored = served.instance.backfills.get_backfills()
    assert not [b for b in stored if dg.AssetKey("report") in b.asset_selection]


def test_cancel_stops_a_running_backfill_and_resume_finishes_it(
    page: Page, served: harness.Served
) -> None:
    GATE.clear()  # the first run waits until the cancel is in
    start, end = open_form(page, served, "slow")
    start.fill(DAYS[0])
    end.fill(DAYS[2])
    page.locator('.panel[data-key="slow"] .backfill-form button').click()
    expect(page).to_have_url(re.compile(r"#/backfills/[a-z]{8}$"))
    detail = page.locator(".backfills-page")
    expect(detail.locator(".backfill-title .pill")).to_have_text("requested")
    expect(detail.locator("button.resume")).to_be_disabled()
    detail.locator("button.cancel").click()
    expect(detail.locator(".backfill-title .pill")).to_have_text("canceled")
    expect(detail.locator("button.cancel")).to_be_disabled()
    harness.shot(page, "34-backfill-canceled")
    GATE.set()

    expect(detail.locator("button.resume")).to_be_enabled()
    detail.locator("button.resume").click()
    expect(detail.locator(".backfill-title .pill")).to_have_text("completed", timeout=30000)
    expect(detail.locator("> .backfill-progress .progress-text")).to_have_text("3/3")
    made = served.instance.get_materialized_partitions(dg.AssetKey("slow"))
    assert made == set(DAYS[:3])
