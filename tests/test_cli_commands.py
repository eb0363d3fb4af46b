"""Every `sheer` command through click's CliRunner: launch, status, runs, lineage,
list / check defs, scaffold, automation, the project configuration, errors and help.

`tests/test_cli.py` covers `list defs` and `lineage` on the quickstart and the basic
error handling; this file drives the rest. Each test gets its own instance in
`tmp_path`, so nothing is shared between tests.
"""

import json
import re
import runpy
import sys
import textwrap
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from sheer.cli import _SHEER_DIR, main, user_traceback

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = str(ROOT / "examples" / "seed_chain" / "defs.py")
SUMMARY = re.compile(
    r"^run (?P<run>[0-9a-f]{8}) (?P<word>succeeded|failed) in \d+\.\d\ds: (?P<rest>.*)$", re.M
)

FAILING = """\
import sheer as dg


@dg.asset
def ok() -> int:
    return 1


@dg.asset(deps=[ok])
def boom() -> int:
    raise ValueError("no rows today")


defs = dg.Definitions(assets=[ok, boom])
"""

BROKEN = """\
import sheer as dg

settings = {}
region = settings["region"]
"""

INVALID = """\
import sheer as dg


@dg.asset(deps=["b"])
def a() -> int:
    return 1


@dg.asset(deps=["a"])
def b() -> int:
    return 1


@dg.asset(name="a")
def a_again() -> int:
    return 1


defs = dg.Definitions(assets=[a, b, a_again])
"""

AUTOMATED = """\
import sheer as dg


@dg.asset(automation_condition=dg.AutomationCondition.missing())
def raw() -> int:
    return 1


@dg.asset(deps=[raw], automation_condition=dg.AutomationCondition.eager())
def summary() -> int:
    return 2


@dg.asset
def manual() -> int:
    return 3


defs = dg.Definitions(assets=[raw, summary, manual])
"""


@pytest.fixture
def clean_imports(monkeypatch):
    """Undo what loading definitions adds to sys.path and sys.modules."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    before = set(sys.modules)
    yield
    for name in set(sys.modules) - before:
        del sys.modules[name]


@pytest.fixture
def runner(tmp_path, monkeypatch, clean_imports):
    """A runner in an empty folder, wide enough that table rows never wrap."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SHEER_INSTANCE", raising=False)
    monkeypatch.delenv("SHEER_HOME", raising=False)
    return CliRunner(env={"COLUMNS": "200"})


@pytest.fixture
def instance(tmp_path):
    return f"sqlite:///{tmp_path / 'instance' / 'sheer.db'}"


def run(runner, *args, code=0):
    result = runner.invoke(main, [str(a) for a in args], prog_name="sheer")
    assert result.exit_code == code, result.output
    return result


def table_lines(output):
    """The body lines of a rich table, as lists of cells (a wrapped cell spans lines)."""
    return [
        [c.strip() for c in line.strip("│").split("│")]
        for line in output.splitlines()
        if line.startswith("│")
    ]


def table_rows(output):
    """The body rows of a rich table, by their first cell."""
    return {cells[0]: cells for cells in table_lines(output)}


def one_line(text):
    return " ".join(text.split())


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


# launch ------------------------------------------------------------------------
def test_launch_shows_progress_and_a_summary(runner, instance):
    result = run(runner, "launch", "-f", QUICKSTART, "--assets", "*", "--instance", instance)
    assert re.search(r"done .* 4/4", result.stdout)
    summary = SUMMARY.search(result.stdout)
    assert summary and summary["word"] == "succeeded"
    assert summary["rest"] == "4 materialized (A, B, C, D), 0 failed, 0 skipped"
    assert result.stderr == ""


def test_launch_quiet_prints_nothing_on_success(runner, instance):
    result = run(
        runner, "launch", "-f", QUICKSTART, "--assets", "A", "--quiet", "--instance", instance
    )
    assert result.output == ""


def test_launch_with_the_multiprocess_executor(runner, instance):
    result = run(
        runner,
        "launch",
        "-f",
        QUICKSTART,
        "--assets",
        "*",
        "--executor",
        "multiprocess",
        "--instance",
        instance,
    )
    assert SUMMARY.search(result.stdout)["rest"] == (
        "4 materialized (A, B, C, D), 0 failed, 0 skipped"
    )
    status = run(runner, "status", "-f", QUICKSTART, "--instance", instance)
    assert {row[1] for row in table_rows(status.stdout).values()} == {"FRESH"}


def test_an_unknown_executor_is_a_usage_error(runner, instance):
    result = run(
        runner, "launch", "-f", QUICKSTART, "--assets", "*", "--executor", "threads", code=2
    )
    assert "Invalid value for '--executor'" in result.stderr


def test_dry_run_prints_the_plan_with_ordering_through_virtual_assets(runner, tmp_path):
    result = run(runner, "launch", "-f", QUICKSTART, "--assets", "A D", "--dry-run")
    assert result.stdout.splitlines() == [
        "1. A (A) after nothing",
        "2. D (D) after A",
        "   ordering through virtual assets: A -> B -> C -> D",
    ]
    assert not (tmp_path / ".sheer").exists()  # a dry run opens no instance


def test_dry_run_of_everything_orders_each_step_after_its_parent(runner):
    result = run(runner, "launch", "-f", QUICKSTART, "--assets", "*", "--dry-run")
    assert result.stdout.splitlines() == [
        "1. A (A) after nothing",
        "2. B (B) after A",
        "3. C (C) after B",
        "4. D (D) after C",
    ]


def test_launch_of_a_failing_asset_exits_1_with_the_users_traceback(runner, tmp_path, instance):
    defs = write(tmp_path / "failing.py", FAILING)
    result = run(runner, "launch", "-f", defs, "--assets", "*", "--instance", instance, code=1)
    summary = SUMMARY.search(result.stdout)
    assert summary["word"] == "failed"
    assert summary["rest"] == "1 materialized (ok), 1 failed, 0 skipped"
    run_id = summary["run"]
    err = result.stderr.splitlines()
    assert err[0] == "Traceback (most recent call last):"
    assert f'  File "{defs}", line 11, in boom' in err
    assert err[-2] == "ValueError: no rows today"
    assert not any(_SHEER_DIR in line for line in err)
    assert err[-1] == (
        f"error: Run {run_id} failed. Step boom failed for boom: ValueError: no rows today. "
        f"Fix the asset, then run `sheer runs show {run_id}` for details."
    )


def test_a_failing_asset_in_a_worker_process_keeps_the_users_traceback(runner, tmp_path, instance):
    defs = write(tmp_path / "failing.py", FAILING)
    result = run(
        runner,
        "launch",
        "-f",
        defs,
        "--assets",
        "boom",
        "--executor",
        "multiprocess",
        "--instance",
        instance,
        code=1,
    )
    assert f'  File "{defs}", line 11, in boom' in result.stderr.splitlines()
    assert result.stderr.splitlines()[-1].startswith("error: Run ")


def test_launch_tags_show_in_runs(runner, instance):
    run(
        runner,
        "launch",
        "-f",
        QUICKSTART,
        "--assets",
        "A",
        "--tag",
        "team=data",
        "--tag",
        "note=a=b",
        "--instance",
        instance,
    )
    rows = table_rows(run(runner, "runs", "--instance", instance).stdout)
    (row,) = rows.values()
    assert row[-1] == "team=data, note=a=b"


def test_a_tag_that_is_not_key_value_exits_1(runner, instance):
    result = run(
        runner,
        "launch",
        "-f",
        QUICKSTART,
        "--assets",
        "A",
        "--tag",
        "team",
        "--instance",
        instance,
        code=1,
    )
    assert result.stderr == "error: Tag 'team' is not key=value. Fix: --tag team=data.\n"


def test_launch_needs_a_selection(runner):
    result = run(runner, "launch", "-f", QUICKSTART, code=1)
    assert result.stderr == (
        "error: Nothing to launch. Fix: pass --assets (e.g. --assets '*'), or --run-id of a "
        "queued run.\n"
    )


def test_launch_of_a_run_id_that_does_not_exist_needs_a_selection(runner, instance):
    result = run(
        runner, "launch", "-f", QUICKSTART, "--instance", instance, "--run-id", "r1", code=1
    )
    assert result.stderr == (
        "error: Run r1 does not exist, and --assets was not given. Fix: pass --assets to "
        "start a new run with this id, or give the id of a queued run.\n"
    )


def test_launch_refuses_a_reused_or_invalid_run_id(runner, instance):
    run(
        runner,
        "launch",
        "-f",
        QUICKSTART,
        "--instance",
        instance,
        "--assets",
        "*",
        "--run-id",
        "r1",
    )
    again = run(
        runner,
        "launch",
        "-f",
        QUICKSTART,
        "--instance",
        instance,
        "--assets",
        "*",
        "--run-id",
        "r1",
        code=1,
    )
    assert again.stderr == (
        "error: Run r1 cannot be started here: it already exists (SUCCESS). Fix: launch a new "
        "run (omit the run id, or choose an unused one) instead of reusing this id.\n"
    )
    long = run(
        runner,
        "launch",
        "-f",
        QUICKSTART,
        "--instance",
        instance,
        "--assets",
        "*",
        "--run-id",
        "x" * 65,
        code=1,
    )
    assert one_line(long.stderr).startswith(
        f"error: Run id '{'x' * 65}' is not valid: a run id is 1 to 64"
    )


# status ------------------------------------------------------------------------
def test_status_before_any_run_is_missing(runner, instance):
    result = run(runner, "status", "-f", QUICKSTART, "--instance", instance)
    assert "asset status" in result.stdout
    assert table_rows(result.stdout) == {
        "A": ["A", "MISSING", ""],
        "B (virtual)": ["B (virtual)", "MISSING", ""],
        "C (virtual)": ["C (virtual)", "MISSING", ""],
        "D": ["D", "MISSING", ""],
    }


def test_status_shows_d_stale_through_the_virtual_assets_after_a_alone_runs(runner, instance):
    run(runner, "launch", "-f", QUICKSTART, "--assets", "*", "--instance", instance)
    fresh = run(runner, "status", "-f", QUICKSTART, "--instance", instance)
    assert {row[1] for row in table_rows(fresh.stdout).values()} == {"FRESH"}

    run(runner, "launch", "-f", QUICKSTART, "--assets", "A", "--instance", instance)
    result = run(runner, "status", "-f", QUICKSTART, "--instance", instance)
    assert table_rows(result.stdout) == {
        "A": ["A", "FRESH", ""],
        "B (virtual)": ["B (virtual)", "FRESH", ""],
        "C (virtual)": ["C (virtual)", "FRESH", ""],
        "D": ["D", "STALE", "stale: A has a new data version (via C, B)"],
    }


def test_status_json_and_a_selection(runner, instance):
    run(runner, "launch", "-f", QUICKSTART, "--assets", "*", "--instance", instance)
    run(runner, "launch", "-f", QUICKSTART, "--assets", "A", "--instance", instance)
    result = run(runner, "status", "-f", QUICKSTART, "--instance", instance, "--json")
    records = json.loads(result.stdout)
    assert [(r["key"], r["status"], r["is_virtual"]) for r in records] == [
        ("A", "FRESH", False),
        ("B", "FRESH", True),
        ("C", "FRESH", True),
        ("D", "STALE", False),
    ]
    assert [r["root_causes"] for r in records] == [
        [],
        [],
        [],
        ["A has a new data version (via C, B)"],
    ]
    assert all(isinstance(r["data_version"], str) for r in records)

    only_d = json.loads(
        run(runner, "status", "-f", QUICKSTART, "--instance", instance, "--json", "D").stdout
    )
    assert [r["key"] for r in only_d] == ["D"]


def test_the_instance_comes_from_sheer_instance(runner, instance, monkeypatch):
    monkeypatch.setenv("SHEER_INSTANCE", instance)
    run(runner, "launch", "-f", QUICKSTART, "--assets", "A")
    result = run(runner, "status", "-f", QUICKSTART, "--instance", instance)
    assert table_rows(result.stdout)["A"] == ["A", "FRESH", ""]


def test_without_an_instance_the_project_folder_keeps_one(runner, tmp_path):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    run(runner, "launch", "-f", QUICKSTART, "--assets", "A")
    assert (tmp_path / ".sheer" / "sheer.db").is_file()
    result = run(runner, "status", "-f", QUICKSTART)
    assert table_rows(result.stdout)["A"] == ["A", "FRESH", ""]


# runs --------------------------------------------------------------------------
def test_runs_lists_recent_runs_newest_first(runner, tmp_path, instance):
    first = run(runner, "launch", "-f", QUICKSTART, "--assets", "*", "--instance", instance)
    failing = write(tmp_path / "failing.py", FAILING)
    second = run(runner, "launch", "-f", failing, "--assets", "*", "--instance", instance, code=1)
    result = run(runner, "runs", "--instance", instance)
    assert "2 recent runs" in result.stdout
    header = next(line for line in result.stdout.splitlines() if line.startswith("┃"))
    assert [c.strip() for c in header.strip("┃").split("┃")] == [
        "run",
        "status",
        "started",
        "duration",
        "assets",
        "tags",
    ]
    rows = list(table_rows(result.stdout).values())
    ids = [SUMMARY.search(r.stdout)["run"] for r in (second, first)]
    assert [(r[0], r[1], r[4]) for r in rows] == [
        (ids[0], "FAILURE", "2"),
        (ids[1], "SUCCESS", "4"),
    ]
    assert all(re.fullmatch(r"\d+\.\d\ds", r[3]) for r in rows)
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", r[2]) for r in rows)

    limited = run(runner, "runs", "--instance", instance, "--limit", "1")
    assert list(table_rows(limited.stdout)) == [ids[0]]


def test_runs_of_an_empty_instance(runner, instance):
    result = run(runner, "runs", "--instance", instance)
    assert "0 recent runs" in result.stdout
    assert table_rows(result.stdout) == {}


def test_runs_show_lists_the_events_of_a_run(runner, instance):
    launched = run(runner, "launch", "-f", QUICKSTART, "--assets", "A", "--instance", instance)
    run_id = SUMMARY.search(launched.stdout)["run"]
    result = run(runner, "runs", "show", run_id[:4], "--instance", instance)
    head = result.stdout.splitlines()[0]
    assert re.fullmatch(rf"run {run_id}[0-9a-f]+  SUCCESS  1 assets", head)
    events = [cells[1] for cells in table_lines(result.stdout) if cells[0]]
    assert events == [
        "RUN_START",
        "STEP_START",
        "ASSET_MATERIALIZATION",
        "STEP_SUCCESS",
        "RUN_SUCCESS",
    ]
    assert "failed" not in result.stdout


def test_runs_show_prints_the_traceback_of_a_failing_asset(runner, tmp_path, instance):
    failing = write(tmp_path / "failing.py", FAILING)
    launched = run(runner, "launch", "-f", failing, "--assets", "*", "--instance", instance, code=1)
    run_id = SUMMARY.search(launched.stdout)["run"]
    # The instance may be given to the group as well as to `show`.
    result = run(runner, "runs", "--instance", instance, "show", run_id)
    out = result.stdout
    assert "FAILURE" in out.splitlines()[0]
    assert "STEP_FAILURE" in out and "RUN_FAILURE" in out
    tail = out[out.index("boom failed:") :].splitlines()
    assert tail[:4] == [
        "boom failed:",
        "Traceback (most recent call last):",
        f'  File "{failing}", line 11, in boom',
        '    raise ValueError("no rows today")',
    ]
    assert "ValueError: no rows today" in tail


def test_runs_show_of_an_unknown_run_exits_1(runner, instance):
    run(runner, "launch", "-f", QUICKSTART, "--assets", "A", "--instance", instance)
    result = run(runner, "runs", "show", "zzz", "--instance", instance, code=1)
    assert result.stderr == (
        "error: no run with an id starting with 'zzz'. Fix: copy the id from `sheer runs` "
        "(8 characters are enough).\n"
    )


def test_runs_show_of_an_ambiguous_prefix_exits_1(runner, instance):
    for _ in range(2):
        run(runner, "launch", "-f", QUICKSTART, "--assets", "A", "--instance", instance)
    result = run(runner, "runs", "show", "", "--instance", instance, code=1)
    assert result.stderr.startswith("error: 2 runs with an id starting with ''.")


# lineage, list defs, check defs ------------------------------------------------
def test_lineage_format_text_is_one_edge_per_line(runner):
    result = run(runner, "lineage", "-f", QUICKSTART, "--format", "text")
    assert result.stdout == "A -> B (v)\nB (v) -> C (v)\nC (v) -> D\n"


def test_lineage_format_dot(runner):
    result = run(runner, "lineage", "-f", QUICKSTART, "--format", "dot")
    assert result.stdout.splitlines() == [
        "digraph lineage {",
        "  rankdir=LR;",
        "  node [shape=box, style=rounded];",
        '  "A" [label="A"];',
        '  "B" [label="B\\n(virtual)", style="dashed,rounded", color=cyan4];',
        '  "C" [label="C\\n(virtual)", style="dashed,rounded", color=cyan4];',
        '  "D" [label="D"];',
        '  "A" -> "B";',
        '  "B" -> "C";',
        '  "C" -> "D";',
        "}",
    ]


def test_lineage_format_mermaid(runner):
    result = run(runner, "lineage", "-f", QUICKSTART, "--format", "mermaid")
    assert result.stdout.splitlines() == [
        "graph LR",
        '  n0["A"]',
        '  n1["B (virtual)"]',
        "  class n1 virtual",
        '  n2["C (virtual)"]',
        "  class n2 virtual",
        '  n3["D"]',
        "  n0 --> n1",
        "  n1 --> n2",
        "  n2 --> n3",
        "  classDef virtual stroke-dasharray: 5 5",
    ]


def test_lineage_format_mermaid_of_a_selection(runner):
    result = run(runner, "lineage", "-f", QUICKSTART, "--format", "mermaid", "C or D")
    assert result.stdout.splitlines() == [
        "graph LR",
        '  n2["C (virtual)"]',
        "  class n2 virtual",
        '  n3["D"]',
        "  n2 --> n3",
        "  classDef virtual stroke-dasharray: 5 5",
    ]


def test_lineage_tree_shows_a_shared_descendant_once(runner, tmp_path):
    defs = write(
        tmp_path / "diamond.py",
        """\
        import sheer as dg
        top = dg.AssetSpec("top")
        left = dg.AssetSpec("left", deps=[top], is_virtual=True)
        right = dg.AssetSpec("right", deps=[top])
        bottom = dg.AssetSpec("bottom", deps=[left, right])
        """,
    )
    result = run(runner, "lineage", "-f", defs, "--format", "tree")
    labels = [re.sub(r"^[\s│├└─]+", "", line) for line in result.stdout.splitlines()[1:]]
    assert labels == [
        "top (external)",
        "left (virtual)",
        "bottom (external)",
        "right (external)",
        "bottom (external) (see above)",
    ]


def test_list_defs_json(runner):
    result = run(runner, "list", "defs", "-f", QUICKSTART, "--json")
    records = json.loads(result.stdout)
    assert records[0] == {
        "key": "A",
        "group": "quickstart",
        "kinds": ["table"],
        "is_virtual": False,
        "is_external": False,
        "deps": [],
        "code_version": None,
        "automation_condition": None,
        "description": "Raw orders.",
        "partitions_def": None,
    }
    assert [(r["key"], r["is_virtual"], r["deps"]) for r in records] == [
        ("A", False, []),
        ("B", True, ["A"]),
        ("C", True, ["B"]),
        ("D", False, ["C"]),
    ]


def test_list_defs_json_of_a_selection(runner):
    result = run(runner, "list", "defs", "-f", QUICKSTART, "--json", "--assets", "is:virtual")
    assert [r["key"] for r in json.loads(result.stdout)] == ["B", "C"]


def test_list_defs_shows_automation_conditions(runner, tmp_path):
    defs = write(tmp_path / "auto.py", AUTOMATED)
    records = json.loads(run(runner, "list", "defs", "-f", defs, "--json").stdout)
    conditions = {r["key"]: r["automation_condition"] for r in records}
    assert conditions["manual"] is None
    assert conditions["raw"] == "missing"
    assert conditions["summary"] == "eager"


def test_check_defs_ok(runner):
    result = run(runner, "check", "defs", "-f", QUICKSTART)
    assert result.stdout == "ok: 4 assets, 2 virtual, 0 external\n"


def test_check_defs_exits_1_with_every_problem(runner, tmp_path):
    defs = write(tmp_path / "invalid.py", INVALID)
    result = run(runner, "check", "defs", "-f", defs, code=1)
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "error: 2 problems in the definitions:",
        f"  1. Asset 'a' is defined twice: at {defs}:4 and at {defs}:14. Fix: remove one of "
        "them, or give one another key (name= or key_prefix=).",
        "  2. The asset dependencies form a cycle: a -> b -> a. An asset cannot depend on "
        "itself through its descendants. Fix: remove one of these dependencies (a parameter, "
        "an ins= entry or a deps= entry).",
    ]


def test_check_defs_of_a_missing_file(runner):
    result = run(runner, "check", "defs", "-f", "nosuch.py", code=1)
    assert result.stderr == (
        "error: Cannot load definitions from 'nosuch.py': no such file. Fix: check the path, "
        "relative to the current directory.\n"
    )


# where the definitions are -----------------------------------------------------
def _shop_package(base):
    write(base / "shop" / "__init__.py", "")
    write(
        base / "shop" / "defs.py",
        """\
        import sheer as dg
        orders = dg.AssetSpec("orders")
        order_view = dg.AssetSpec("order_view", deps=[orders], is_virtual=True)
        defs = dg.Definitions(assets=[orders, order_view])
        """,
    )


def test_tool_sheer_module_in_pyproject(runner, tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text('[tool.sheer]\nmodule = "shop.defs"\n')
    _shop_package(tmp_path / "src")
    result = run(runner, "lineage", "--format", "text")
    assert result.stdout == "orders -> order_view (v)\n"
    # from a folder inside the project too
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path / "notebooks")
    result = run(runner, "list", "defs", "--json")
    assert [r["key"] for r in json.loads(result.stdout)] == ["orders", "order_view"]


def test_tool_sheer_module_without_a_src_folder(runner, tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.sheer]\nmodule = "shop.defs"\n')
    _shop_package(tmp_path)
    result = run(runner, "check", "defs")
    assert result.stdout == "ok: 2 assets, 1 virtual, 1 external\n"  # specs: orders


def test_tool_sheer_defs_folder_in_pyproject(runner, tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.sheer]\ndefs = "pipelines/definitions"\n')
    write(
        tmp_path / "pipelines" / "definitions" / "orders.py",
        """\
        import sheer as dg
        orders = dg.AssetSpec("orders")
        """,
    )
    write(
        tmp_path / "pipelines" / "definitions" / "views" / "recent.py",
        """\
        import sheer as dg
        recent = dg.AssetSpec("recent", deps=["orders"], is_virtual=True)
        """,
    )
    result = run(runner, "lineage", "--format", "text")
    assert result.stdout == "orders -> recent (v)\n"


def test_the_default_defs_folder_is_src_package_defs(runner, tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'shop'\n")
    write(
        tmp_path / "src" / "shop" / "defs" / "orders.py",
        """\
        import sheer as dg
        orders = dg.AssetSpec("orders")
        """,
    )
    (tmp_path / "docs").mkdir()
    monkeypatch.chdir(tmp_path / "docs")
    result = run(runner, "check", "defs")
    assert result.stdout == "ok: 1 assets, 0 virtual, 1 external\n"


@pytest.mark.parametrize("command", [["list", "defs"], ["scaffold", "defs", "asset", "x.py"]])
def test_a_pyproject_that_is_not_toml_exits_1_with_one_line(runner, tmp_path, command):
    (tmp_path / "pyproject.toml").write_text("[tool.sheer\ndefs = 'defs'\n")
    (tmp_path / "defs").mkdir()
    result = run(runner, *command, code=1)
    assert result.stderr == (
        f"error: Cannot read {tmp_path / 'pyproject.toml'}: Expected ']' at the end of a table "
        "declaration (at line 1, column 12). Fix: correct the TOML syntax.\n"
    )


# scaffold ----------------------------------------------------------------------
def test_scaffold_project_makes_a_project_that_loads_and_tests(runner, tmp_path, monkeypatch):
    result = run(runner, "scaffold", "project", "my-shop")
    assert result.stdout == "created project my-shop (definitions in src/my_shop/defs/)\n"
    root = tmp_path / "my-shop"
    assert sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) == [
        ".gitignore",
        "README.md",
        "pyproject.toml",
        "src/my_shop/__init__.py",
        "src/my_shop/defs/__init__.py",
        "tests/test_defs.py",
    ]
    pyproject = (root / "pyproject.toml").read_text()
    assert '[tool.sheer]\ndefs = "src/my_shop/defs"\n' in pyproject
    assert 'name = "my-shop"' in pyproject

    monkeypatch.chdir(root)
    assert run(runner, "check", "defs").stdout == "ok: 0 assets, 0 virtual, 0 external\n"
    run(runner, "scaffold", "defs", "asset", "orders.py")
    runpy.run_path(str(root / "tests" / "test_defs.py"))["test_definitions_load"]()


def test_scaffold_project_refuses_a_folder_that_is_not_empty(runner, tmp_path):
    write(tmp_path / "demo" / "notes.txt", "mine")
    result = run(runner, "scaffold", "project", "demo", code=1)
    assert result.stderr == (
        "error: Folder demo exists and is not empty. Fix: choose another name, or pass --force.\n"
    )
    assert not (tmp_path / "demo" / "pyproject.toml").exists()
    run(runner, "scaffold", "project", "demo", "--force")
    assert (tmp_path / "demo" / "pyproject.toml").is_file()
    assert (tmp_path / "demo" / "notes.txt").read_text() == "mine"


def test_scaffold_project_needs_a_python_name(runner):
    result = run(runner, "scaffold", "project", "1st", code=1)
    assert result.stderr.startswith("error: Project name '1st' cannot be a Python name.")


@pytest.mark.parametrize("name", ['my"shop', "my\\shop", "my shop", "_shop", "shop."])
def test_scaffold_project_refuses_a_name_pyproject_cannot_hold(runner, tmp_path, name):
    result = run(runner, "scaffold", "project", name, code=1)
    assert result.stderr.startswith(
        f"error: Project name {name!r} is not a valid Python project name. Fix: use letters,"
    )
    assert "e.g. 'my-shop'" in result.stderr
    assert not any(tmp_path.iterdir())  # nothing written


@pytest.fixture
def project(runner, tmp_path, monkeypatch):
    """A scaffolded project `shop`, as the current folder; its defs folder."""
    run(runner, "scaffold", "project", "shop")
    monkeypatch.chdir(tmp_path / "shop")
    return tmp_path / "shop" / "src" / "shop" / "defs"


@pytest.mark.parametrize(
    ("path", "part", "fix"),
    [
        ("a.b.py", "a.b", "a_b"),
        ("sub.dir/x.py", "sub.dir", "sub_dir"),
        ("class.py", "class", "class_"),
    ],
)
def test_scaffold_defs_refuses_a_module_name_that_breaks_loading(runner, project, path, part, fix):
    result = run(runner, "scaffold", "defs", "asset", path, code=1)
    assert result.stderr.startswith(
        f"error: {path}: {part!r} cannot be imported as a Python module, and would break "
        f"loading the whole project. Fix: name it {fix!r}"
    )
    assert sorted(p.name for p in project.rglob("*")) == ["__init__.py"]  # nothing written
    assert run(runner, "check", "defs").stdout == "ok: 0 assets, 0 virtual, 0 external\n"


def test_scaffold_defs_asset_writes_a_file_that_loads_with_no_registration(runner, project):
    result = run(runner, "scaffold", "defs", "asset", "assets/orders.py")
    assert result.stdout == "wrote src/shop/defs/assets/orders.py\n"
    assert (project / "assets" / "__init__.py").is_file()
    text = (project / "assets" / "orders.py").read_text()
    assert '@dg.asset(group_name="assets", kinds={"python"})' in text
    assert "def orders(context: dg.AssetExecutionContext) -> list[dict]:" in text
    rows = table_rows(run(runner, "list", "defs").stdout)
    assert rows["orders"] == ["orders", "assets", "python", "", "", "", ""]
    launched = run(runner, "launch", "--assets", "orders")
    assert SUMMARY.search(launched.stdout)["word"] == "succeeded"


def test_scaffold_defs_virtual_asset(runner, project):
    run(runner, "scaffold", "defs", "virtual_asset", "views/recent_orders.py")
    assert "is_virtual=True" in (project / "views" / "recent_orders.py").read_text()
    rows = table_rows(run(runner, "list", "defs").stdout)
    assert rows["recent_orders"] == ["recent_orders", "views", "view", "yes", "", "1", ""]


@pytest.mark.parametrize(
    ("type_name", "virtual"),
    [
        ("asset", False),
        ("sheer.asset", False),
        ("dagster.asset", False),
        ("virtual_asset", True),
        ("sheer.virtual_asset", True),
    ],
)
def test_scaffold_defs_type_names(runner, project, type_name, virtual):
    run(runner, "scaffold", "defs", type_name, "things.py")
    (record,) = json.loads(run(runner, "list", "defs", "--json").stdout)
    assert (record["key"], record["group"], record["is_virtual"]) == ("things", "default", virtual)


def test_scaffold_defs_of_an_unknown_type_exits_1(runner, project):
    result = run(runner, "scaffold", "defs", "table", "orders.py", code=1)
    assert result.stderr == (
        "error: Unknown type 'table'. Fix: use one of asset, dagster.asset, sheer.asset, "
        "sheer.virtual_asset, virtual_asset.\n"
    )
    assert not (project / "orders.py").exists()


def test_scaffold_defs_refuses_to_overwrite_without_force(runner, project):
    run(runner, "scaffold", "defs", "asset", "assets/orders.py")
    target = project / "assets" / "orders.py"
    target.write_text("# my edits\n")
    result = run(runner, "scaffold", "defs", "virtual_asset", "assets/orders.py", code=1)
    assert result.stderr == (
        f"error: {target} already exists. Fix: choose another path, or pass --force to "
        "overwrite it.\n"
    )
    assert target.read_text() == "# my edits\n"
    run(runner, "scaffold", "defs", "virtual_asset", "assets/orders.py", "--force")
    assert "is_virtual=True" in target.read_text()


def test_scaffold_defs_creates_nested_folders_as_packages(runner, project):
    run(runner, "scaffold", "defs", "asset", "sales/eu/orders")  # .py is added
    for folder in ("sales", "sales/eu"):
        assert (project / folder / "__init__.py").is_file()
    assert (project / "sales" / "eu" / "orders.py").is_file()
    (record,) = json.loads(run(runner, "list", "defs", "--json").stdout)
    assert (record["key"], record["group"]) == ("orders", "eu")


def test_scaffold_defs_accepts_a_path_that_names_the_defs_folder(runner, project):
    run(runner, "scaffold", "defs", "asset", "defs/assets/orders.py")
    assert (project / "assets" / "orders.py").is_file()
    assert not (project / "defs").exists()


@pytest.mark.parametrize("path", ["../outside.py", "assets/../../outside.py", "/tmp/outside.py"])
def test_scaffold_defs_outside_the_defs_folder_exits_1(runner, project, path):
    result = run(runner, "scaffold", "defs", "asset", path, code=1)
    assert result.stderr == (
        f"error: {path} is outside the defs folder {project}. Fix: give a path inside it, "
        "e.g. assets/orders.py.\n"
    )
    assert not list(project.parent.rglob("outside.py"))


def test_scaffold_defs_of_a_file_that_is_not_python_exits_1(runner, project):
    result = run(runner, "scaffold", "defs", "asset", "orders.sql", code=1)
    assert result.stderr == "error: orders.sql is not a Python file. Fix: end it with .py.\n"


def test_scaffold_defs_of_a_name_that_is_not_python_exits_1(runner, project):
    result = run(runner, "scaffold", "defs", "asset", "2024_orders.py", code=1)
    assert result.stderr.startswith(
        "error: 2024_orders.py: '2024_orders' cannot be imported as a Python module, and "
        "would break loading the whole project. Fix: name it '_2024_orders'"
    )


def test_scaffold_defs_outside_a_project_exits_1(runner, tmp_path):
    result = run(runner, "scaffold", "defs", "asset", "orders.py", code=1)
    assert one_line(result.stderr).startswith(f"error: No defs folder found from '{tmp_path}'.")


def test_scaffold_defs_in_a_plain_defs_folder(runner, tmp_path):
    (tmp_path / "defs").mkdir()
    run(runner, "scaffold", "defs", "asset", "orders.py")
    run(runner, "scaffold", "defs", "virtual_asset", "views/recent.py")
    assert (tmp_path / "defs" / "views" / "recent.py").is_file()
    assert not (tmp_path / "defs" / "views" / "__init__.py").exists()
    keys = [r["key"] for r in json.loads(run(runner, "list", "defs", "--json").stdout)]
    assert sorted(keys) == ["orders", "recent"]


# automation --------------------------------------------------------------------
def test_automation_tick_prints_what_was_requested_and_why(runner, tmp_path, instance):
    defs = write(tmp_path / "auto.py", AUTOMATED)
    first = run(runner, "automation", "tick", "-f", defs, "--instance", instance)
    lines = first.stdout.splitlines()
    assert lines[0] == "tick 1: 1 requested", first.output
    assert table_rows(first.stdout) == {  # manual has no condition: not evaluated
        "raw": ["raw", "yes", "yes", "missing"],
        "summary": ["summary", "", "", "not: (newly_missing | any_deps_updated) since (handled)"],
    }
    assert re.fullmatch(r"launched run [0-9a-f]{8}", lines[-1])
    launched = lines[-1].split()[-1]
    runs = table_rows(run(runner, "runs", "--instance", instance).stdout)
    assert runs[launched][1] == "SUCCESS"
    assert runs[launched][-1] == "sheer/from_automation=true"

    second = run(runner, "automation", "tick", "-f", defs, "--instance", instance)
    rows = table_rows(second.stdout)
    assert second.stdout.startswith("tick 2: 1 requested")
    assert rows["raw"] == ["raw", "", "", "not: missing"]
    assert rows["summary"][:3] == ["summary", "yes", "yes"]
    assert "(newly_missing | any_deps_updated) since (handled)" in rows["summary"][3]


def test_automation_run_ticks_until_max_ticks(runner, tmp_path, instance):
    defs = write(tmp_path / "auto.py", AUTOMATED.replace("missing()", "eager()"))
    result = run(
        runner,
        "automation",
        "run",
        "-f",
        defs,
        "--instance",
        instance,
        "--interval",
        "10ms",
        "--max-ticks",
        "2",
    )
    lines = result.stdout.splitlines()
    assert re.fullmatch(
        rf"automation daemon \S+ ticking every 0\.01s on {re.escape(instance)}", lines[0]
    )
    assert [line for line in lines if line.startswith("tick ")] == [
        "tick 1: 0 requested",
        "tick 2: 0 requested",
    ]


def test_automation_run_with_a_bad_interval_is_a_usage_error(runner, instance):
    result = run(
        runner,
        "automation",
        "run",
        "-f",
        QUICKSTART,
        "--instance",
        instance,
        "--interval",
        "soon",
        code=2,
    )
    assert "'soon' is not a duration; use e.g. 30s, 500ms, 2m" in result.stderr


# errors ------------------------------------------------------------------------
def test_an_unknown_selection_suggests_close_keys(runner, tmp_path, instance):
    defs = write(tmp_path / "failing.py", FAILING)
    result = run(runner, "launch", "-f", defs, "--assets", "boon", "--instance", instance, code=1)
    assert result.stderr == (
        "error: No asset named 'boon' in the definitions. Did you mean 'boom'? Fix: use one of "
        "the 2 defined keys (`sheer list defs` lists them).\n"
    )


def test_definitions_that_fail_to_import_show_the_users_traceback(runner, tmp_path):
    defs = write(tmp_path / "broken.py", BROKEN)
    result = run(runner, "list", "defs", "-f", defs, code=1)
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "Traceback (most recent call last):",
        f'  File "{defs}", line 4, in <module>',
        '    region = settings["region"]',
        "             ~~~~~~~~^^^^^^^^^^",
        "KeyError: 'region'",
        f"error: Loading definitions from {defs} failed: KeyError: 'region'. Fix: correct the "
        "error shown in the traceback above, then load again.",
    ]


def test_a_defs_folder_that_fails_to_import_shows_the_users_traceback(runner, tmp_path):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'shop'\n")
    write(tmp_path / "src" / "shop" / "__init__.py", "")
    write(tmp_path / "src" / "shop" / "defs" / "__init__.py", "")
    helper = write(tmp_path / "src" / "shop" / "settings.py", 'REGION = {}["region"]\n')
    orders = write(
        tmp_path / "src" / "shop" / "defs" / "orders.py",
        "import sheer as dg\nfrom shop import settings\n",
    )
    result = run(runner, "check", "defs", code=1)
    err = result.stderr.splitlines()
    files = [line.strip() for line in err if line.lstrip().startswith("File ")]
    assert files == [
        f'File "{orders}", line 2, in <module>',
        f'File "{helper}", line 1, in <module>',
    ]
    assert err[-2] == "KeyError: 'region'"
    assert err[-1].startswith(f"error: Loading definitions from {orders} failed: KeyError")


def test_user_traceback_keeps_a_user_package_named_like_sheer():
    """Only Sheer's own folder is hidden, not `<site-packages>/sheer_etl/`."""
    user_file = _SHEER_DIR.rstrip("/") + "_etl/defs.py"
    own_file = _SHEER_DIR + "definitions/loading.py"
    try:
        exec(compile("def load():\n    raise KeyError('region')\n", user_file, "exec"), ns := {})
        exec(compile("load()\n", own_file, "exec"), ns)
    except KeyError as exc:
        text = user_traceback(exc)
    assert f'File "{user_file}", line 2, in load' in text
    assert own_file not in text


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///{tmp}/a-file/sheer.db",  # its folder cannot be created
        "postgresql+psycopg://nouser@127.0.0.1:1/sheer",  # no driver, or nothing listening
    ],
)
def test_an_instance_that_cannot_be_opened_exits_1_with_one_line(runner, tmp_path, url):
    (tmp_path / "a-file").write_text("")
    url = url.format(tmp=tmp_path)
    result = run(runner, "status", "-f", QUICKSTART, "--instance", url, code=1)
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith(f"error: Cannot open the instance storage at {url}: ")
    assert " Fix: " in result.stderr


def test_a_sheer_home_that_cannot_be_created_exits_1_with_one_line(runner, tmp_path, monkeypatch):
    (tmp_path / "a-file").write_text("")
    monkeypatch.setenv("SHEER_HOME", str(tmp_path / "a-file" / "home"))
    result = run(runner, "runs", code=1)
    assert result.stderr.startswith(
        "error: Cannot open the instance storage at the default location: "
    )
    assert result.stderr.endswith(" Fix: point it at a folder you can write to.\n")
    assert len(result.stderr.splitlines()) == 1


def test_the_error_for_an_unopenable_instance_names_the_url(runner, tmp_path):
    result = run(runner, "runs", "--instance", "nosuchdb://", code=1)
    assert result.stderr.startswith("error: Cannot open the instance storage at nosuchdb://:")


def test_an_instance_on_a_folder_is_one_line(runner, tmp_path):
    result = run(runner, "status", "-f", QUICKSTART, "--instance", f"sqlite:///{tmp_path}", code=1)
    assert result.stderr == (
        f"error: Cannot open the instance storage at sqlite:///{tmp_path}: (sqlite3."
        "OperationalError) unable to open database file. Fix: check the path and that its "
        "folder is writable; a file that is damaged or not a Sheer database: move it aside (or "
        "restore a backup) to start afresh.\n"
    )


# help --------------------------------------------------------------------------
def _command_paths(group=main, path=()):
    yield path
    if isinstance(group, click.Group):
        for name, command in sorted(group.commands.items()):
            yield from _command_paths(command, (*path, name))


ALL_COMMANDS = list(_command_paths())


def test_every_command_is_listed():
    assert {" ".join(p) for p in ALL_COMMANDS} == {
        "",
        "automation",
        "automation run",
        "automation tick",
        "backfill",
        "backfill cancel",
        "backfill list",
        "backfill resume",
        "backfill show",
        "check",
        "check defs",
        "dev",
        "launch",
        "lineage",
        "list",
        "list defs",
        "runs",
        "runs show",
        "scaffold",
        "scaffold defs",
        "scaffold project",
        "status",
    }


@pytest.mark.parametrize("path", ALL_COMMANDS, ids=lambda p: " ".join(p) or "sheer")
def test_help_of_every_command_has_an_example(runner, path):
    result = run(runner, *path, "--help")
    assert result.stdout.startswith(f"Usage: sheer {' '.join(path)}".rstrip())
    assert re.search(r"^  Examples?:\n    sheer ", result.stdout, re.M), result.stdout


# sheer dev: hosts, origins and secrets (issue 13, items 7-9) ----------------------------
# uvicorn.run is replaced, so each command stops where the server would start.
REMOTE = (
    "Binding to {host} exposes the UI to the network, so every request must carry an auth "
    "token, and the UI answers only the host names it was started for (no other site can "
    "reach it through DNS rebinding). Fix: add {fix}."
)
ALLOW_HOST_FIX = "--allow-host {name} (once for each name clients use)"


@pytest.fixture
def served(monkeypatch):
    """The (app, options) `sheer dev` hands to uvicorn.run, which serves nothing here."""
    import uvicorn

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: calls.append((app, options)))
    return calls


def dev(runner, instance, *args, code=0, env=None):
    argv = ["dev", "-f", QUICKSTART, "--instance", instance, "--no-daemon", *args]
    result = runner.invoke(main, argv, prog_name="sheer", env=env)
    assert result.exit_code == code, result.output
    return result


def ui_client(app, base_url):
    import warnings

    from starlette.exceptions import StarletteDeprecationWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StarletteDeprecationWarning)
        from starlette.testclient import TestClient

        return TestClient(app, base_url=base_url)


@pytest.mark.parametrize(
    ("host", "name"),
    [
        ("0.0.0.0", "my-server.example.com"),
        ("::", "my-server.example.com"),
        ("10.0.0.5", "10.0.0.5"),
    ],
)
def test_dev_on_a_network_address_needs_allow_host(runner, instance, served, host, name):
    result = dev(runner, instance, "--host", host, "--auth-token", "t0ken", code=2)
    fix = ALLOW_HOST_FIX.format(name=name)
    assert result.stderr.splitlines()[-1] == "Error: " + REMOTE.format(host=host, fix=fix)
    assert served == []


def test_dev_on_a_network_address_names_every_missing_option(runner, instance, served):
    result = dev(runner, instance, "--host", "0.0.0.0", code=2)
    fix = '--auth-token "$(openssl rand -hex 16)" and ' + ALLOW_HOST_FIX.format(
        name="my-server.example.com"
    )
    assert result.stderr.splitlines()[-1] == "Error: " + REMOTE.format(host="0.0.0.0", fix=fix)
    result = dev(runner, instance, "--host", "0.0.0.0", "--allow-host", "a.example", code=2)
    assert result.stderr.splitlines()[-1] == "Error: " + REMOTE.format(
        host="0.0.0.0", fix='--auth-token "$(openssl rand -hex 16)"'
    )
    assert served == []


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_dev_on_loopback_needs_neither(runner, instance, served, host):
    dev(runner, instance, "--host", host)
    assert served[0][1]["host"] == host


def test_dev_answers_allowed_hosts_and_origins_only(runner, instance, served):
    result = dev(
        runner,
        instance,
        "--host",
        "0.0.0.0",
        "--auth-token",
        "t0ken",
        "--allow-host",
        "my-server.example.com",
        "--allow-origin",
        "https://ui.example.com",
    )
    assert result.stdout == (
        f"Sheer UI on http://my-server.example.com:3000/?auth=t0ken (instance {instance}); "
        "Ctrl-C to stop\n"
    )
    app, options = served[0]
    assert options["host"] == "0.0.0.0" and options["port"] == 3000
    bearer = {"Authorization": "Bearer t0ken"}
    with ui_client(app, "http://my-server.example.com:3000") as client:
        assert client.get("/api/session", headers=bearer).status_code == 200
        assert (
            client.get("/api/session", headers={**bearer, "Host": "localhost"}).status_code == 200
        )
        refused = client.get("/api/session", headers={**bearer, "Host": "evil.example"})
        assert refused.status_code == 400
    allowed = app.state.ui.allowed_origins
    assert {"http://my-server.example.com:3000", "https://ui.example.com"} <= allowed
    assert "http://evil.example:3000" not in allowed


def test_dev_does_not_print_a_token_from_the_environment(runner, instance, served):
    env = {"SHEER_AUTH_TOKEN": "from-the-env-1234"}
    args = ("--host", "0.0.0.0", "--allow-host", "my-server.example.com")
    result = dev(runner, instance, *args, env=env)
    assert "from-the-env-1234" not in result.output
    assert result.stdout == (
        "Sheer UI on http://my-server.example.com:3000/?auth=$SHEER_AUTH_TOKEN "
        f"(instance {instance}); Ctrl-C to stop\n"
    )
    assert served[0][0].state.ui.auth_token == "from-the-env-1234"


def test_dev_banner_hides_the_instance_password():
    from sheer.cli.dev import banner

    text = banner(
        host="127.0.0.1",
        port=3000,
        instance_url="postgresql+psycopg://user:secret@db.example/sheer",
        auth_token=None,
        token_from_env=False,
        allow_hosts=(),
    )
    assert text == (
        "Sheer UI on http://127.0.0.1:3000/ (instance postgresql+psycopg://user:***@db.example/"
        "sheer); Ctrl-C to stop"
    )
    ipv6 = banner(
        host="::1",
        port=3001,
        instance_url="sqlite://",
        auth_token="t",
        token_from_env=True,
        allow_hosts=(),
    )
    assert ipv6.startswith("Sheer UI on http://[::1]:3001/?auth=$SHEER_AUTH_TOKEN (")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--auth-token", "pässwörd"],
            "Error: Invalid value for '--auth-token': the token travels in HTTP headers and "
            "cookies, so it must be printable ASCII without spaces. Fix: use e.g. "
            '"$(openssl rand -hex 16)".',
        ),
        (
            ["--allow-host", "my server"],
            "Error: Invalid value for '--allow-host': 'my server' is not a host name or "
            "address. Fix: give the name clients use in their URLs, e.g. --allow-host "
            "my-server.example.com.",
        ),
        (
            ["--allow-origin", "https://ui.example.com/app"],
            "Error: Invalid value for '--allow-origin': 'https://ui.example.com/app' is not an "
            "origin. Fix: give it as the browser sends it, scheme://host[:port], e.g. "
            "--allow-origin https://sheer.example.com.",
        ),
    ],
)
def test_dev_refuses_bad_option_values(runner, instance, served, args, message):
    result = dev(runner, instance, *args, code=2)
    assert result.stderr.splitlines()[-1] == message
    assert served == []


PARTITIONED = """
import sheer as dg

daily = dg.DailyPartitionsDefinition(start_date="2026-01-01")


@dg.asset(partitions_def=daily)
def orders() -> int:
    return 1


@dg.asset(partitions_def=daily, is_virtual=True)
def orders_view(orders):
    return orders


@dg.asset
def summary(orders_view) -> int:
    return 1


defs = dg.Definitions(assets=[orders, orders_view, summary])
"""


def test_list_defs_shows_each_assets_partitions_definition(runner, tmp_path):
    path = write(tmp_path / "partitioned.py", PARTITIONED)
    rows = table_rows(run(runner, "list", "defs", "-f", path).stdout)
    assert rows["orders"][-1] == "Daily, starting 2026-01-01 UTC."
    assert rows["orders_view"][-1] == "Daily, starting 2026-01-01 UTC."
    assert rows["summary"][-1] == ""


def test_list_defs_json_has_the_partitions_definition_or_null(runner, tmp_path):
    path = write(tmp_path / "partitioned.py", PARTITIONED)
    listed = json.loads(run(runner, "list", "defs", "-f", path, "--json").stdout)
    by_key = {d["key"]: d["partitions_def"] for d in listed}
    assert by_key == {
        "orders": "Daily, starting 2026-01-01 UTC.",
        "orders_view": "Daily, starting 2026-01-01 UTC.",
        "summary": None,
    }


def test_list_defs_of_an_unpartitioned_project_has_no_partitions_column(runner):
    result = run(runner, "list", "defs", "-f", QUICKSTART)
    assert "partitions" not in result.stdout


def test_launch_partition_range_that_is_not_two_keys_says_the_spelling(runner, instance):
    result = run(
        runner,
        "launch", "-f", QUICKSTART, "--instance", instance, "--assets", "A",
        "--partition-range", "2026-01-01..2026-01-03",
        code=1,
    )  # fmt: skip
    assert "--partition-range '2026-01-01..2026-01-03' is not two partition keys" in result.stderr
    assert "Fix: pass e.g. --partition-range 2026-01-01...2026-01-31" in result.stderr


def test_launch_partition_and_partition_range_together_is_an_error(runner, instance):
    result = run(
        runner,
        "launch", "-f", QUICKSTART, "--instance", instance, "--assets", "A",
        "--partition", "2026-01-01", "--partition-range", "2026-01-01...2026-01-03",
        code=1,
    )  # fmt: skip
    assert "--partition and --partition-range were both given" in result.stderr


def test_partition_options_become_dagsters_run_tags():
    from sheer.cli.run_commands import parse_partition_options

    assert parse_partition_options("2026-01-02", None) == {"dagster/partition": "2026-01-02"}
    assert parse_partition_options(None, "2026-01-01...2026-01-31") == {
        "dagster/asset_partition_range_start": "2026-01-01",
        "dagster/asset_partition_range_end": "2026-01-31",
    }
    assert parse_partition_options(None, None) == {}


PARTITIONED_CHAIN = """
import sheer as dg

daily = dg.DailyPartitionsDefinition(start_date="2026-01-01", end_date="2026-01-05")
version = {"v": "1"}


@dg.asset(partitions_def=daily)
def orders(context) -> dg.MaterializeResult:
    return dg.MaterializeResult(data_version=dg.DataVersion(open("version.txt").read()))


@dg.asset(partitions_def=daily, is_virtual=True, deps=["orders"])
def orders_view() -> None:
    return None


@dg.asset(partitions_def=daily, deps=["orders_view"])
def report() -> None:
    return None


defs = dg.Definitions(assets=[orders, orders_view, report])
"""


def _partitioned_project(runner, instance, tmp_path):
    path = write(tmp_path / "chain.py", PARTITIONED_CHAIN)
    (tmp_path / "version.txt").write_text("1")
    for day in ("2026-01-01", "2026-01-02", "2026-01-03", "2026-01-04"):
        run(
            runner,
            "launch",
            "-f",
            path,
            "--instance",
            instance,
            "--assets",
            "*",
            "--partition",
            day,
        )
    (tmp_path / "version.txt").write_text("2")
    run(
        runner, "launch", "-f", path, "--instance", instance,
        "--assets", "orders", "--partition", "2026-01-03",
    )  # fmt: skip
    return path


def test_status_shows_counts_per_partitioned_asset(runner, instance, tmp_path):
    path = _partitioned_project(runner, instance, tmp_path)
    rows = table_rows(run(runner, "status", "-f", path, "--instance", instance).stdout)
    assert rows["orders"][1] == "fresh 4 / stale 0 / missing 0"
    assert rows["report"][1] == "fresh 3 / stale 1 / missing 0"
    assert "stale partitions: 2026-01-03" in rows["report"][2]


def test_status_of_one_partition_shows_its_root_causes(runner, instance, tmp_path):
    path = _partitioned_project(runner, instance, tmp_path)
    out = run(
        runner, "status", "-f", path, "--instance", instance, "report",
        "--partition", "2026-01-03", "--json",
    ).stdout  # fmt: skip
    (record,) = json.loads(out)
    assert record["status"] == "STALE" and record["partition_key"] == "2026-01-03"
    assert record["root_causes"] == ["orders[2026-01-03] has a new data version (via orders_view)"]
    listed = json.loads(run(runner, "status", "-f", path, "--instance", instance, "--json").stdout)
    report = next(r for r in listed if r["key"] == "report")
    assert report["partition_counts"] == {"FRESH": 3, "STALE": 1, "MISSING": 0}
    assert report["stale_partitions"] == ["2026-01-03"]


def test_status_of_a_partition_an_asset_does_not_have_names_it(runner, instance, tmp_path):
    path = _partitioned_project(runner, instance, tmp_path)
    result = run(
        runner, "status", "-f", path, "--instance", instance, "report",
        "--partition", "2026-02-30", code=1,
    )  # fmt: skip
    assert "Partition '2026-02-30' is not a partition of 'report'" in one_line(result.stderr)


def test_status_partition_without_a_partitioned_asset_says_so(runner, instance):
    result = run(
        runner, "status", "-f", QUICKSTART, "--instance", instance,
        "--partition", "2026-01-01", code=1,
    )  # fmt: skip
    assert "none of the selected assets is partitioned" in one_line(result.stderr)
