"""The web UI in a real browser: Playwright driving Debian's chromium, headless.

The page is served by uvicorn in a thread, on the quickstart (orders -> valid_orders (v)
-> recent_orders (v) -> daily_revenue) with a temporary QUICKSTART_HOME and an on-disk
SQLite instance, and on a generated 5,000-asset graph. Screenshots of every step are
kept in test-artifacts/web-ui/ at the repository root, to be looked at.

Skipped, with the reason, when the `playwright` package is missing (`pip install -e
'.[dev]'`) or when /usr/bin/chromium is (`make browser` as root installs it; CI does).
"""

from __future__ import annotations

import importlib.util
import os
import random
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

import sheer as dg

try:
    from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright
except ImportError:  # pragma: no cover - depends on the environment
    pytest.skip(
        "the playwright package is not installed: pip install -e '.[dev]'", allow_module_level=True
    )

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():  # pragma: no cover - depends on the environment
    pytest.skip(
        "Debian's chromium is not at /usr/bin/chromium: run `make browser` as root "
        "(CI installs it)",
        allow_module_level=True,
    )

import uvicorn  # noqa: E402

from sheer.web.app import create_app  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts" / "web-ui"
# Chromium as the machine notes say: headless, and no background traffic to hosts the
# closed network refuses.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
NEW_ORDERS = "1013,2026-11-05,acme,500.00,complete\n1014,2026-11-06,hooli,80.00,complete\n"
# Not a speed test: a sanity bound for 5,000 assets, far above the few seconds it takes
# on an idle machine (measured while other jobs loaded this 2-core machine: 12 to 17 s).
BIG_GRAPH_BOUND_S = 30.0


# The server -------------------------------------------------------------------------
@dataclass
class Served:
    url: str
    defs: dg.Definitions
    instance: dg.Instance

    def token(self) -> str:
        page = httpx.get(self.url + "/").text
        match = re.search(r'<meta name="sheer-token" content="([^"]+)"', page)
        assert match, "the page carries its session token"
        return match.group(1)

    def launch(self, selection: list[str]) -> str:
        """POST /api/runs as the page does: with the Origin and the session token."""
        response = httpx.post(
            self.url + "/api/runs",
            json={"selection": selection},
            headers={"Origin": self.url, "X-Sheer-Token": self.token()},
        )
        assert response.status_code == 201, response.text
        return response.json()["run_id"]

    def wait_for_run(self, run_id: str, timeout: float = 60.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            detail = httpx.get(f"{self.url}/api/runs/{run_id}").json()
            if detail["run"]["status"] in ("SUCCESS", "FAILURE", "CANCELED"):
                return detail
            time.sleep(0.1)
        raise AssertionError(f"run {run_id} did not finish in {timeout} s")

    def statuses(self) -> dict[str, str]:
        return {a["key"]: a["status"] for a in httpx.get(self.url + "/api/graph").json()["assets"]}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve(defs: dg.Definitions, instance: dg.Instance) -> Iterator[Served]:
    port = free_port()
    config = uvicorn.Config(
        create_app(defs, instance, port=port),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="off",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"sheer-ui-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the UI server did not start"
        time.sleep(0.02)
    try:
        yield Served(f"http://127.0.0.1:{port}", defs, instance)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def load_quickstart(home: Path) -> Any:
    """examples/quickstart/warehouse.py as a module, with its home in `home`."""
    previous = os.environ.get("QUICKSTART_HOME")
    os.environ["QUICKSTART_HOME"] = str(home)
    try:
        path = ROOT / "examples" / "quickstart" / "warehouse.py"
        spec = importlib.util.spec_from_file_location("quickstart_warehouse_ui", path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        if previous is None:
            os.environ.pop("QUICKSTART_HOME", None)
        else:
            os.environ["QUICKSTART_HOME"] = previous


# Fixtures ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 820})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield page
    context.close()
    assert not errors, f"the page raised: {errors}"


@dataclass
class Quickstart:
    served: Served
    warehouse: Any
    home: Path

    def new_orders_arrive(self) -> None:
        with self.warehouse.orders_csv(self.home).open("a") as f:
            f.write(NEW_ORDERS)


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Quickstart]:
    home = tmp_path_factory.mktemp("quickstart")
    warehouse = load_quickstart(home)
    defs = warehouse.make_defs(home)
    instance = dg.Instance.from_url(f"sqlite:///{home / 'sheer.db'}")
    with serve(defs, instance) as served:
        yield Quickstart(served, warehouse, home)


@pytest.fixture
def stale_quickstart(quickstart: Quickstart) -> Quickstart:
    """Everything materialized, then new orders and the root re-materialized through the
    API: daily_revenue is stale through the two views."""
    served = quickstart.served
    if "MISSING" in served.statuses().values():
        detail = served.wait_for_run(
            served.launch(["orders", "valid_orders", "recent_orders", "daily_revenue"])
        )
        assert detail["run"]["status"] == "SUCCESS", detail
    quickstart.new_orders_arrive()
    detail = served.wait_for_run(served.launch(["orders"]))
    assert detail["run"]["status"] == "SUCCESS", detail
    assert served.statuses()["daily_revenue"] == "STALE"
    return quickstart


def open_graph(page: Page, url: str, timeout_ms: float = 20000) -> None:
    page.goto(url + "/")
    page.wait_for_selector("svg.graph[data-ready]", timeout=timeout_ms)


def node(page: Page, key: str) -> Locator:
    return page.locator(f'svg.graph [data-key="{key}"]')


def shot(page: Page, name: str) -> None:
    page.wait_for_timeout(150)  # let the last frame paint
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


# The quickstart ---------------------------------------------------------------------
def test_the_graph_draws_the_views_as_virtual(page: Page, quickstart: Quickstart) -> None:
    open_graph(page, quickstart.served.url)
    keys = page.locator("svg.graph .node").evaluate_all("els => els.map(e => e.dataset.key)")
    assert sorted(keys) == ["daily_revenue", "orders", "recent_orders", "valid_orders"]
    for key, virtual in [
        ("orders", False),
        ("valid_orders", True),
        ("recent_orders", True),
        ("daily_revenue", False),
    ]:
        n = node(page, key)
        assert ("virtual" in (n.get_attribute("class") or "").split()) is virtual, key
        assert (n.locator(".tag-virtual").count() == 1) is virtual, key
        dash = n.locator(".box").evaluate("el => getComputedStyle(el).strokeDasharray")
        assert (dash not in ("none", "")) is virtual, (key, dash)
        # every node has a status badge
        assert n.locator(".badge text").text_content() in {"fresh", "stale", "missing"}
    expect(page.locator('svg.graph .group[data-group="quickstart"]')).to_have_count(1)
    expect(node(page, "valid_orders").locator(".tag-virtual")).to_have_text("virtual")
    shot(page, "01-quickstart-graph")


def test_a_stale_asset_names_its_root_cause_through_the_views(
    page: Page, stale_quickstart: Quickstart
) -> None:
    open_graph(page, stale_quickstart.served.url)
    expect(node(page, "daily_revenue")).to_have_class(re.compile(r"\bstatus-stale\b"))
    expect(node(page, "daily_revenue").locator(".badge text")).to_have_text("stale")
    for view in ("valid_orders", "recent_orders"):  # views are never stale from upstream
        expect(node(page, view)).to_have_class(re.compile(r"\bstatus-fresh\b"))
    node(page, "daily_revenue").click()
    panel = page.locator('.panel[data-key="daily_revenue"]')
    cause = panel.locator(".why-stale .cause")
    expect(cause).to_have_count(1)
    expect(cause.locator(".cause-text")).to_have_text(
        "orders has a new data version (via recent_orders, valid_orders)"
    )
    path = cause.locator(".path .chip")
    expect(path).to_have_count(4)
    assert [c.split()[0] for c in path.all_inner_texts()] == [
        "orders",
        "valid_orders",
        "recent_orders",
        "daily_revenue",
    ]
    assert [
        ("virtual" in (c or "")) for c in path.evaluate_all("els => els.map(e => e.className)")
    ] == [False, True, True, False]
    # The definition and the latest materializations, with metadata and data versions.
    expect(panel.locator(".definition")).to_contain_text("Revenue per day of the recent valid")
    expect(panel.locator(".definition")).to_contain_text("recent_orders")
    first = panel.locator(".materializations > li").first
    expect(first).to_contain_text("days")
    expect(first.locator(".mat-head code")).to_contain_text("v ")
    shot(page, "02-daily-revenue-stale-panel")


def test_materialize_runs_the_root_then_daily_revenue_and_freshens_it(
    page: Page, stale_quickstart: Quickstart
) -> None:
    served = stale_quickstart.served
    open_graph(page, served.url)
    expect(node(page, "daily_revenue")).to_have_class(re.compile(r"\bstatus-stale\b"))
    node(page, "orders").click()
    node(page, "daily_revenue").click(modifiers=["Shift"])
    button = page.locator("button.materialize")
    expect(button).to_have_text("Materialize 2 assets")
    button.click()
    card = page.locator(".run-card[data-run]").first
    expect(card).to_be_visible()
    run_id = card.get_attribute("data-run")
    assert run_id
    shot(page, "03-materialize-launched")
    expect(card).to_have_attribute("data-status", "SUCCESS", timeout=60000)
    expect(node(page, "daily_revenue")).to_have_class(
        re.compile(r"\bstatus-fresh\b"), timeout=20000
    )
    expect(node(page, "orders")).to_have_class(re.compile(r"\bstatus-fresh\b"))
    shot(page, "04-after-materialize-fresh")

    # In order: orders, then daily_revenue (ordered through the two unselected views).
    steps = httpx.get(f"{served.url}/api/runs/{run_id}").json()["steps"]
    assert [s["step"] for s in steps] == ["orders", "daily_revenue"]
    assert steps[0]["finished_at"] <= steps[1]["started_at"]
    assert served.statuses()["daily_revenue"] == "FRESH"

    # The runs page lists the run; its page shows the steps, timings and logs.
    page.goto(f"{served.url}/#/runs")
    row = page.locator(f'table.runs tr[data-run="{run_id}"]')
    expect(row).to_contain_text("success")
    expect(row).to_contain_text("UI")
    shot(page, "05-runs")
    row.locator("a").click()
    expect(page.locator("table.steps tbody tr[data-step]")).to_have_count(2)
    assert page.locator("table.steps tr[data-step]").evaluate_all(
        "els => els.map(e => e.dataset.step)"
    ) == ["orders", "daily_revenue"]
    expect(page.locator("table.logs")).to_contain_text("STEP_SUCCESS")
    expect(page.locator("table.logs")).to_contain_text("Materialized 'daily_revenue'")
    shot(page, "06-run-detail")


def test_a_bad_selection_shows_the_servers_message(page: Page, quickstart: Quickstart) -> None:
    open_graph(page, quickstart.served.url)
    query = page.locator("input.query")
    query.fill("is:virtual")
    query.press("Enter")
    message = page.locator(".query-message")
    expect(message).to_have_text("2 assets")
    expect(page.locator("svg.graph .node.hl")).to_have_count(2)
    assert sorted(
        page.locator("svg.graph .node.hl").evaluate_all("els => els.map(e => e.dataset.key)")
    ) == ["recent_orders", "valid_orders"]
    expect(page.locator("button.materialize")).to_have_text("Materialize 2 assets")
    shot(page, "07-select-virtual")

    query.fill("+daily_revenue")
    query.press("Enter")
    expect(message).to_have_text("4 assets")

    query.fill("+nope")
    query.press("Enter")
    expect(message).to_have_class(re.compile(r"\berror\b"))
    expect(message).to_contain_text("nope")
    expect(page.locator("svg.graph .node.hl")).to_have_count(0)
    shot(page, "08-bad-selection")

    query.fill("group:quickstart and (")
    query.press("Enter")
    expect(message).to_have_class(re.compile(r"\berror\b"))
    assert "Traceback" not in message.inner_text()


def test_the_automation_page_shows_ticks_and_the_tree_through_views(
    page: Page, tmp_path: Path
) -> None:
    @dg.asset
    def raw() -> int:
        return 1

    @dg.asset(is_virtual=True)
    def view(raw: int) -> int:
        return raw + 1

    @dg.asset(automation_condition=dg.AutomationCondition.eager().resolve_through_virtual())
    def report(view: int) -> int:
        return view * 2

    from sheer.automation.daemon import AutomationDaemon

    defs = dg.Definitions(assets=[raw, view, report])
    instance = dg.Instance.from_url(f"sqlite:///{tmp_path / 'sheer.db'}")
    daemon = AutomationDaemon(defs, instance)  # runs requested assets in this process
    daemon.tick()
    defs.materialize(["raw"], instance=instance)
    outcome = daemon.tick()
    assert [k.to_user_string() for k in outcome.requested] == ["report"]
    with serve(defs, instance) as served:
        page.goto(f"{served.url}/#/automation")
        tick = page.locator(f'table.ticks tr[data-tick="{outcome.tick_id}"]')
        expect(tick).to_contain_text("report")
        evaluation = page.locator('details.evaluation[data-key="report"]')
        expect(evaluation).to_be_visible()
        if evaluation.get_attribute("open") is None:
            evaluation.locator("summary").click()
        expect(evaluation.locator(".evaltree .note").first).to_contain_text("virtual")
        expect(evaluation.locator(".evaltree li.true").first).to_be_visible()
        shot(page, "09-automation")

        # The asset's panel shows its latest evaluation tree too.
        page.goto(f"{served.url}/#/assets/report")
        page.wait_for_selector("svg.graph[data-ready]")
        panel = page.locator('.panel[data-key="report"]')
        expect(panel.locator(".automation .evaltree")).to_be_visible()
        expect(panel.locator(".definition")).to_contain_text("through virtual")
        shot(page, "10-automation-panel")


# Scale ------------------------------------------------------------------------------
def big_defs(
    n: int = 5000, groups: int = 50, layers: int = 5, seed: int = 7, *, named: bool = True
) -> dg.Definitions:
    """A warehouse-like graph: each group has `layers` layers; an asset reads one to three
    assets of the two layers before it; a group's first layer reads the last layers of
    earlier groups; every tenth asset is a view. Without `named`, every asset is in the
    default group (one group of 5,000)."""
    rnd = random.Random(seed)
    per = n // groups
    width = per // layers
    specs = []
    for i in range(n):
        g, j = divmod(i, per)
        layer, base = j // width, g * per
        if layer == 0:
            deps = (
                [f"asset_{rnd.randrange(g) * per + rnd.randrange(per - 2 * width, per)}"]
                if g and rnd.random() < 0.6
                else []
            )
        else:
            low = base + max(0, layer - 2) * width
            deps = sorted(
                {
                    f"asset_{rnd.randrange(low, base + layer * width)}"
                    for _ in range(rnd.randint(1, 3))
                }
            )
        virtual = i % 10 == 3
        specs.append(
            dg.AssetSpec(
                f"asset_{i}",
                deps=deps,
                group_name=f"group_{g:02d}" if named else None,
                is_virtual=virtual,
                kinds={"view" if virtual else "table"},
            )
        )
    return dg.Definitions(assets=specs)


@pytest.mark.slow
@pytest.mark.parametrize("grouped", [True, False], ids=["50-groups", "one-group"])
def test_a_5000_asset_graph_loads_and_becomes_interactive(page: Page, grouped: bool) -> None:
    name = "5000-assets" if grouped else "5000-assets-one-group"
    with serve(big_defs(named=grouped), dg.Instance.ephemeral()) as served:
        started = time.monotonic()
        open_graph(page, served.url, timeout_ms=BIG_GRAPH_BOUND_S * 1000)
        ready = time.monotonic() - started
        svg = page.locator("svg.graph")
        assert svg.get_attribute("data-mode") == "overview"  # far out: the canvas
        shot(page, f"11-{name}-overview")

        # Interactive: a selection highlights, then one asset opens in its panel.
        query = page.locator("input.query")
        query.fill("+asset_2345")
        query.press("Enter")
        expect(page.locator(".query-message")).to_have_text(re.compile(r"^\d+ assets$"))
        shot(page, f"12-{name}-selection")
        query.fill("asset_2345")
        query.press("Enter")
        expect(page.locator(".query-message")).to_have_text("1 asset")
        expect(svg).to_have_attribute("data-mode", "detail")
        node(page, "asset_2345").click()
        expect(page.locator('.panel[data-key="asset_2345"] .definition')).to_contain_text(
            "group_23" if grouped else "default"
        )
        interactive = time.monotonic() - started
        shot(page, f"13-{name}-panel")
        page.locator("button.fit").click()
        expect(svg).to_have_attribute("data-mode", "overview")

        layout_ms = int(svg.get_attribute("data-layout-ms") or 0)
        print(
            f"5,000 assets ({name}): ready in {ready:.1f} s (layout {layout_ms} ms), "
            f"interactive in {interactive:.1f} s"
        )
        assert interactive < BIG_GRAPH_BOUND_S
