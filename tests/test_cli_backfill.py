"""`sheer backfill`: create and run with a progress bar, --submit for the daemon, list,
show, cancel, resume, and the errors of each, through click's CliRunner.

The project: a daily `raw` that fails for one day, a daily view on it, and a daily
`report` reading the view with TimeWindowPartitionMapping(start_offset=-1).
"""

import json
import sys
import textwrap

import pytest
from click.testing import CliRunner

import sheer as dg
from sheer.backfills import BackfillStatus, get_backfill
from sheer.cli import main
from sheer.cli.backfill import parse_backfill_partitions
from sheer.errors import SheerError
from sheer.instance import Instance

PROJECT = """
import os

import sheer as dg

days = dg.DailyPartitionsDefinition(start_date="2026-01-01", end_date="2026-02-01")
previous_day = dg.TimeWindowPartitionMapping(start_offset=-1)


@dg.asset(partitions_def=days)
def raw(context: dg.AssetExecutionContext) -> int:
    if context.partition_key == os.environ.get("FAIL_DAY"):
        raise ValueError("no data for " + context.partition_key)
    return 1


view = dg.AssetSpec("raw_view", deps=["raw"], is_virtual=True, partitions_def=days)


@dg.asset(
    partitions_def=days,
    deps=[dg.AssetDep("raw_view", partition_mapping=previous_day)],
)
def report() -> None:
    return None


defs = dg.Definitions(assets=[raw, view, report])
"""


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "path", list(sys.path))
    before = set(sys.modules)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SHEER_HOME", raising=False)
    monkeypatch.delenv("FAIL_DAY", raising=False)
    url = f"sqlite:///{tmp_path / 'instance' / 'sheer.db'}"
    monkeypatch.setenv("SHEER_INSTANCE", url)
    (tmp_path / "defs.py").write_text(textwrap.dedent(PROJECT))
    yield url
    for name in set(sys.modules) - before:
        del sys.modules[name]


def run(*args, code=0):
    result = CliRunner(env={"COLUMNS": "200"}).invoke(main, list(args), prog_name="sheer")
    assert result.exit_code == code, result.output
    return result


def only_backfill(url):
    listed = json.loads(run("backfill", "list", "--json").stdout)
    assert len(listed) == 1
    return listed[0]


def materialized(url, name):
    return Instance.from_url(url).get_materialized_partitions(dg.AssetKey(name))


def test_backfill_of_a_range_runs_every_partition_here_and_completes(project):
    result = run(
        "backfill", "-f", "defs.py", "--assets", "raw report",
        "--partition-range", "2026-01-01...2026-01-03",
    )  # fmt: skip
    assert "6 partitions of 2 assets" in result.stdout
    assert "COMPLETED: done 6 / failed 0 / in progress 0 / to do 0 (of 6)" in result.stdout
    assert materialized(project, "raw") == {"2026-01-01", "2026-01-02", "2026-01-03"}
    assert materialized(project, "report") == {"2026-01-01", "2026-01-02", "2026-01-03"}


def test_backfill_of_listed_partitions_runs_only_those(project):
    run("backfill", "-f", "defs.py", "--assets", "raw", "--partitions", "2026-01-02,2026-01-05")
    assert materialized(project, "raw") == {"2026-01-02", "2026-01-05"}


def test_backfill_submit_only_stores_it_for_the_daemon(project):
    result = run(
        "backfill", "-f", "defs.py", "--assets", "raw", "--partitions", "2026-01-02", "--submit"
    )
    assert "the automation daemon runs it" in result.stdout
    assert only_backfill(project)["status"] == "REQUESTED"
    assert materialized(project, "raw") == set()


def test_backfill_quiet_prints_only_the_id(project):
    result = run(
        "backfill", "-f", "defs.py", "--assets", "raw", "--partitions", "2026-01-02", "--quiet"
    )
    assert result.stdout.strip() == only_backfill(project)["backfill_id"]


def test_a_failed_backfill_exits_1_names_the_partition_and_resume_finishes_it(project, monkeypatch):
    monkeypatch.setenv("FAIL_DAY", "2026-01-02")
    result = run(
        "backfill", "-f", "defs.py", "--assets", "raw report",
        "--partition-range", "2026-01-01...2026-01-03", code=1,
    )  # fmt: skip
    assert "FAILED" in result.stdout
    assert "raw[2026-01-02]" in result.stdout
    shown = only_backfill(project)
    assert shown["progress"]["failed"] == 1
    # report[01-02] and report[01-03] read raw[01-02] through the view: not run
    assert shown["per_asset"]["report"]["done"] == 1
    monkeypatch.delenv("FAIL_DAY")
    backfill_id = shown["backfill_id"]
    result = run("backfill", "resume", backfill_id, "-f", "defs.py")
    assert "COMPLETED" in result.stdout
    assert materialized(project, "report") == {"2026-01-01", "2026-01-02", "2026-01-03"}


def test_backfill_show_prints_the_progress_per_asset(project):
    run("backfill", "-f", "defs.py", "--assets", "raw", "--partitions", "2026-01-02", "--submit")
    backfill_id = only_backfill(project)["backfill_id"]
    result = run("backfill", "show", backfill_id)
    assert f"backfill {backfill_id} REQUESTED" in result.stdout
    assert "done 0 / failed 0 / in progress 0 / to do 1 (of 1)" in result.stdout
    shown = json.loads(run("backfill", "show", backfill_id, "--json").stdout)
    assert shown["per_asset"] == {
        "raw": {"total": 1, "done": 0, "failed": 0, "in_progress": 0, "remaining": 1}
    }


def test_backfill_list_shows_each_backfill_newest_first(project):
    for day in ("2026-01-02", "2026-01-03"):
        run("backfill", "-f", "defs.py", "--assets", "raw", "--partitions", day, "--submit")
    listed = json.loads(run("backfill", "list", "--json").stdout)
    assert [b["status"] for b in listed] == ["REQUESTED", "REQUESTED"]
    assert listed[0]["created_at"] >= listed[1]["created_at"]
    table = run("backfill", "list").stdout
    assert all(b["backfill_id"] in table for b in listed)


def test_backfill_cancel_then_resume_runs_what_is_left(project):
    run("backfill", "-f", "defs.py", "--assets", "raw", "--partitions", "2026-01-02", "--submit")
    backfill_id = only_backfill(project)["backfill_id"]
    assert "CANCELED" in run("backfill", "cancel", backfill_id).stdout
    assert get_backfill(Instance.from_url(project), backfill_id).status is BackfillStatus.CANCELED
    assert "COMPLETED" in run("backfill", "resume", backfill_id, "-f", "defs.py").stdout
    assert materialized(project, "raw") == {"2026-01-02"}


def test_backfill_without_assets_says_what_to_pass(project):
    result = run("backfill", "-f", "defs.py", code=1)
    assert "Nothing to backfill. Fix: pass --assets" in result.stderr


def test_backfill_of_an_unknown_key_names_the_asset_and_the_key(project):
    result = run(
        "backfill", "-f", "defs.py", "--assets", "raw", "--partitions", "2027-01-09", code=1
    )
    assert "Partition '2027-01-09' is not a partition of asset 'raw'" in result.stderr
    assert "Fix:" in result.stderr
    assert json.loads(run("backfill", "list", "--json").stdout) == []  # nothing stored


def test_backfill_show_of_an_unknown_id_says_how_to_list_them(project):
    result = run("backfill", "show", "nope", code=1)
    assert "There is no backfill 'nope' in this instance" in result.stderr
    assert "sheer backfill list" in result.stderr


def test_backfill_partition_options_are_parsed_or_refused_with_the_spelling():
    assert parse_backfill_partitions("2026-01-01...2026-01-31", None) == (
        ("2026-01-01", "2026-01-31"),
        None,
    )
    assert parse_backfill_partitions(None, "a, b") == (None, ["a", "b"])
    assert parse_backfill_partitions(None, None) == (None, None)
    with pytest.raises(SheerError, match=r"is not two partition keys joined by '\.\.\.'"):
        parse_backfill_partitions("2026-01-01..2026-01-31", None)
    with pytest.raises(SheerError, match="has an empty key"):
        parse_backfill_partitions(None, "a,,b")
    with pytest.raises(SheerError, match="were both given"):
        parse_backfill_partitions("a...b", "a")
