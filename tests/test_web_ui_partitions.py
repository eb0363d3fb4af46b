"""Partitions in the web UI, in a real browser (the harness of tests/test_web_ui.py:
Playwright driving Debian's chromium, headless, the page served by uvicorn in a thread).

The project is a daily chain A -> V (virtual) -> D over ten days, every day of A and D
materialized, then A[2026-01-03] again, so D[2026-01-03] is stale through the view; and
`regions`, a 1,000-partition asset never materialized. Screenshots are kept in
test-artifacts/web-ui/ at the repository root.

Skipped, with the reason, when the `playwright` package is missing (`pip install -e
'.[dev]'`) or when /usr/bin/chromium is (`make browser` as root installs it; CI does).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import sheer as dg

try:
    from playwright.sync_api import Page, Request, expect
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
REGIONS = dg.StaticPartitionsDefinition([f"region_{i:04d}" for i in range(1000)])
CHANGED = "2026-01-03"


def partitioned_defs() -> tuple[dg.Definitions, list[Any]]:
    @dg.asset(name="A", partitions_def=DAILY, group_name="daily")
    def a() -> int:
        return 1

    view = dg.AssetSpec("V", deps=["A"], partitions_def=DAILY, is_virtual=True, group_name="daily")

    @dg.asset(name="D", deps=["V"], partitions_def=DAILY, group_name="daily")
    def d() -> int:
        return 2

    @dg.asset(partitions_def=REGIONS, group_name="daily")
    def regions() -> int:
        return 3

    @dg.asset(group_name="daily")
    def plain() -> int:
        return 4

    assets = [a, view, d, regions, plain]
    return dg.Definitions(assets=assets), assets


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[harness.Served]:
    defs, assets = partitioned_defs()
    home = tmp_path_factory.mktemp("partitions")
    instance = dg.Instance.from_url(f"sqlite:///{home / 'sheer.db'}")
    for day in DAYS:
        dg.materialize(assets, selection=["A", "D"], partition_key=day, instance=instance)
    dg.materialize(assets, selection=["A"], partition_key=CHANGED, instance=instance)
    with harness.serve(defs, instance) as s:
        yield s


def test_a_partitioned_node_shows_a_strip_of_its_counts_by_status(
    page: Page, served: harness.Served
) -> None:
    harness.open_graph(page, served.url)
    d = harness.node(page, "D")
    strip = d.locator(".partition-strip")
    expect(strip).to_be_visible()
    expect(strip).to_have_attribute("data-counts", "fresh 9 / stale 1 / missing 0")
    expect(strip.locator("title")).to_have_text("10 partitions: fresh 9 / stale 1 / missing 0")
    assert strip.locator(".strip-segment").evaluate_all(
        "els => els.map(e => e.dataset.status)"
    ) == ["FRESH", "STALE"]
    widths = strip.locator(".strip-segment").evaluate_all(
        "els => els.map(e => Number(e.getAttribute('width')))"
    )
    assert widths[0] > 8 * widths[1] > 0  # in proportion: nine fresh days to one stale
    # The asset as a whole is stale (one of its partitions is), as `sheer status` says.
    expect(d).to_have_class(re.compile(r"\bstatus-stale\b"))
    expect(harness.node(page, "A").locator(".partition-strip")).to_have_attribute(
        "data-counts", "fresh 10 / stale 0 / missing 0"
    )
    expect(harness.node(page, "regions").locator(".strip-missing")).to_have_count(1)
    expect(harness.node(page, "plain").locator(".partition-strip")).to_have_count(0)
    harness.shot(page, "20-partition-strips")


def test_clicking_a_stale_partition_shows_its_causes_through_the_view(
    page: Page, served: harness.Served
) -> None:
    harness.open_graph(page, served.url)
    harness.node(page, "D").click()
    panel = page.locator('.panel[data-key="D"]')
    grid = panel.locator(".partitions .partition-grid")
    expect(grid.locator(".cell")).to_have_count(10)
    assert grid.locator(".cell").evaluate_all("els => els.map(e => e.title)") == DAYS
    expect(grid.locator(".cell-stale")).to_have_count(1)
    expect(grid.locator(".cell-stale")).to_have_attribute("title", CHANGED)
    expect(panel.locator(".partition-summary")).to_have_text(
        "10 partitions: fresh 9 / stale 1 / missing 0"
    )
    expect(panel.locator(".definition")).to_contain_text("Daily, starting 2026-01-01 UTC.")

    grid.locator(f'[data-partition="{CHANGED}"]').click()
    detail = panel.locator(f'.partition-detail[data-partition="{CHANGED}"]')
    expect(detail.locator(".badge")).to_have_text("stale")
    cause = detail.locator(".why-stale .cause")
    expect(cause).to_have_count(1)
    expect(cause.locator(".cause-text")).to_have_text(
        f"A[{CHANGED}] has a new data version (via V)"
    )
    assert [c.split()[0] for c in cause.locator(".path .chip").all_inner_texts()] == ["A", "V", "D"]
    expect(grid.locator(".cell.chosen")).to_have_attribute("title", CHANGED)
    harness.shot(page, "21-partition-grid-stale-causes")

    grid.locator('[data-partition="2026-01-02"]').click()
    fresh = panel.locator('.partition-detail[data-partition="2026-01-02"]')
    expect(fresh.locator(".badge")).to_have_text("fresh")
    expect(fresh.locator(".why-stale")).to_have_count(0)


def test_a_thousand_partitions_draw_without_a_fetch_per_cell(
    page: Page, served: harness.Served
) -> None:
    asked: list[str] = []

    def seen(request: Request) -> None:
        if "/api/assets/regions" in request.url:
            asked.append(request.url)

    page.on("request", seen)
    page.goto(f"{served.url}/#/assets/regions")
    page.wait_for_selector("svg.graph[data-ready]")
    panel = page.locator('.panel[data-key="regions"]')
    expect(panel.locator(".partition-grid .cell-missing")).to_have_count(1000)
    assert not [u for u in asked if "partition=" in u]
    panel.locator('[data-partition="region_0500"]').click()
    detail = panel.locator('.partition-detail[data-partition="region_0500"]')
    expect(detail).to_contain_text("Never materialized for this partition.")
    expect(detail.locator(".badge")).to_have_text("missing")
    assert [u for u in asked if "partition=" in u] == [
        f"{served.url}/api/assets/regions?partition=region_0500"
    ]
    harness.shot(page, "22-partition-grid-1000")
