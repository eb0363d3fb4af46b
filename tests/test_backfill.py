"""Backfills: targets checked per asset, runs split by each asset's BackfillPolicy and
ordered per entity through a view, progress recorded after each run, failures resumed,
cancels honoured, and the daemon advancing them. The scenario: a daily `raw`, a daily
view on it, and a daily `report` reading the view with TimeWindowPartitionMapping
(start_offset=-1), so report[d] reads raw[d-1] and raw[d] through the view. Each test
runs on SQLite and, when $SHEER_TEST_POSTGRES_URL is set, on PostgreSQL."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from typing import Any

import pytest

import sheer as dg
from fixtures.sql import statements_during
from sheer.automation.daemon import AutomationDaemon
from sheer.backfills import (
    BACKFILL_TAG,
    BackfillListener,
    BackfillStatus,
    RunChunk,
    advance_backfills,
    cancel_backfill,
    create_backfill,
    execute_backfill,
    get_backfill,
    get_backfill_progress,
    resume_backfill,
)
from sheer.backfills.lease import BackfillLease
from sheer.backfills.progress import BackfillProgress
from sheer.definitions.loading import load_definitions
from sheer.errors import ExecutionError
from sheer.storage.backfills import EntityStatus

DAYS = dg.DailyPartitionsDefinition(start_date="2026-01-01", end_date="2026-02-01")
FIRST_FIVE = ("2026-01-01", "2026-01-05")
KEYS = [f"2026-01-0{d}" for d in range(1, 6)]
PREVIOUS_DAY = dg.TimeWindowPartitionMapping(start_offset=-1)


class Chain:
    """raw -> raw_view (virtual) -> report, recording each call as (asset, keys)."""

    def __init__(self, policy: dg.BackfillPolicy | None = None, view_form: str = "spec") -> None:
        self.calls: list[tuple[str, tuple[str, ...]]] = []
        self.fail_on: set[tuple[str, str]] = set()
        calls, fail_on = self.calls, self.fail_on

        @dg.asset(partitions_def=DAYS, backfill_policy=policy)
        def raw(context: dg.AssetExecutionContext) -> None:
            for key in context.partition_keys:
                if ("raw", key) in fail_on:
                    raise ValueError(f"no data for {key}")
            calls.append(("raw", tuple(context.partition_keys)))

        if view_form == "spec":
            view: Any = dg.AssetSpec("raw_view", deps=["raw"], is_virtual=True, partitions_def=DAYS)
        else:

            @dg.asset(name="raw_view", partitions_def=DAYS, is_virtual=True, deps=["raw"])
            def view() -> None:
                return None

        @dg.asset(
            partitions_def=DAYS,
            backfill_policy=policy,
            deps=[dg.AssetDep("raw_view", partition_mapping=PREVIOUS_DAY)],
        )
        def report(context: dg.AssetExecutionContext) -> None:
            calls.append(("report", tuple(context.partition_keys)))

        self.defs = dg.Definitions(assets=[raw, view, report])

    def position(self, asset: str, key: str) -> int:
        return next(i for i, (a, keys) in enumerate(self.calls) if a == asset and key in keys)


def backfill_runs(instance: dg.Instance, backfill_id: str) -> list[dg.RunRecord]:
    """The backfill's runs, oldest first."""
    runs = [r for r in instance.get_runs() if r.tags.get(BACKFILL_TAG) == backfill_id]
    return sorted(runs, key=lambda r: (r.created_at, r.run_id))


def run_shape(run: dg.RunRecord) -> tuple[tuple[str, ...], str]:
    names = tuple(sorted(k.to_user_string() for k in run.asset_selection))
    tags = run.tags
    if "dagster/partition" in tags:
        return names, tags["dagster/partition"]
    start = tags["dagster/asset_partition_range_start"]
    return names, f"{start}...{tags['dagster/asset_partition_range_end']}"


def materialized(instance: dg.Instance) -> set[tuple[str, str]]:
    records = instance.get_latest_partition_records(["raw", "report"], KEYS)
    return {(k.to_user_string(), p) for (k, p), r in records.items() if r.materialization}


# Order and policies ------------------------------------------------------------------


@pytest.mark.parametrize("view_form", ["spec", "asset"])
def test_a_backfill_materializes_every_targeted_partition_each_day_after_the_days_it_reads(
    instance, view_form
):
    chain = Chain(view_form=view_form)
    record = create_backfill(chain.defs, instance, "*", partition_range=FIRST_FIVE)

    done = execute_backfill(chain.defs, instance, record.backfill_id)

    assert done.status is BackfillStatus.COMPLETED
    assert done.error is None
    assert materialized(instance) == {(a, k) for a in ("raw", "report") for k in KEYS}
    for day in range(2, 6):  # report[d] after raw[d-1] and raw[d], read through the view
        key, before = f"2026-01-0{day}", f"2026-01-0{day - 1}"
        assert chain.position("report", key) > chain.position("raw", key)
        assert chain.position("report", key) > chain.position("raw", before)
    progress = get_backfill_progress(instance, record.backfill_id)
    assert progress.total.to_json() == {
        "total": 10,
        "done": 10,
        "failed": 0,
        "in_progress": 0,
        "remaining": 0,
    }


def test_the_view_is_passed_through_never_run_and_never_targeted(instance):
    chain = Chain(view_form="asset")
    record = create_backfill(chain.defs, instance, "*", partition_range=FIRST_FIVE)
    assert [k.to_user_string() for k in record.targets] == ["raw", "report"]
    execute_backfill(chain.defs, instance, record.backfill_id)
    assert all(
        dg.AssetKey("raw_view") not in r.asset_selection
        for r in backfill_runs(instance, record.backfill_id)
    )


def test_without_a_policy_each_run_is_one_partition_with_the_partition_tag(instance):
    chain = Chain()
    record = create_backfill(chain.defs, instance, "*", partition_range=FIRST_FIVE)
    execute_backfill(chain.defs, instance, record.backfill_id)

    runs = backfill_runs(instance, record.backfill_id)
    # report[01] reads only raw[01] (there is no day before): it runs with raw[01].
    assert [run_shape(r) for r in runs] == [
        (("raw", "report"), "2026-01-01"),
        (("raw",), "2026-01-02"),
        (("raw",), "2026-01-03"),
        (("raw",), "2026-01-04"),
        (("raw",), "2026-01-05"),
        (("report",), "2026-01-02"),
        (("report",), "2026-01-03"),
        (("report",), "2026-01-04"),
        (("report",), "2026-01-05"),
    ]
    assert all(r.tags[BACKFILL_TAG] == record.backfill_id for r in runs)
    assert all(r.status is dg.RunStatus.SUCCESS for r in runs)


def test_a_single_run_policy_gives_one_run_with_the_range_tags(instance):
    chain = Chain(policy=dg.BackfillPolicy.single_run())
    record = create_backfill(chain.defs, instance, "*", partition_range=FIRST_FIVE)
    execute_backfill(chain.defs, instance, record.backfill_id)

    (run,) = backfill_runs(instance, record.backfill_id)
    assert run.tags == {
        BACKFILL_TAG: record.backfill_id,
        "dagster/asset_partition_range_start": "2026-01-01",
        "dagster/asset_partition_range_end": "2026-01-05",
    }
    assert chain.calls == [("raw", tuple(KEYS)), ("report", tuple(KEYS))]


def test_a_multi_run_policy_of_two_cuts_runs_of_two_consecutive_partitions(instance):
    chain = Chain(policy=dg.BackfillPolicy.multi_run(2))
    record = create_backfill(chain.defs, instance, "*", partition_range=FIRST_FIVE)
    execute_backfill(chain.defs, instance, record.backfill_id)

    # report[03] reads raw[02], made by another run: it waits for the next wave.
    assert [run_shape(r) for r in backfill_runs(instance, record.backfill_id)] == [
        (("raw", "report"), "2026-01-01...2026-01-02"),
        (("raw",), "2026-01-03...2026-01-04"),
        (("raw",), "2026-01-05"),
        (("report",), "2026-01-03...2026-01-04"),
        (("report",), "2026-01-05"),
    ]


def test_listed_partitions_with_a_gap_are_never_one_range(instance):
    chain = Chain(policy=dg.BackfillPolicy.single_run())
    record = create_backfill(
        chain.defs, instance, "raw", partitions=["2026-01-04", "2026-01-01", "2026-01-02"]
    )
    assert record.targets[dg.AssetKey("raw")] == ("2026-01-01", "2026-01-02", "2026-01-04")
    execute_backfill(chain.defs, instance, record.backfill_id)
    assert [run_shape(r) for r in backfill_runs(instance, record.backfill_id)] == [
        (("raw",), "2026-01-01...2026-01-02"),
        (("raw",), "2026-01-04...2026-01-04"),
    ]


# Failures, resume, cancel ------------------------------------------------------------------


def test_a_failure_stops_what_reads_it_and_resume_runs_only_what_is_left(instance):
    chain = Chain()
    chain.fail_on.add(("raw", "2026-01-03"))
    record = create_backfill(chain.defs, instance, "*", partition_range=FIRST_FIVE)

    failed = execute_backfill(chain.defs, instance, record.backfill_id)

    assert failed.status is BackfillStatus.FAILED
    # report[03] and report[04] read raw[03]; everything else ran.
    assert materialized(instance) == {(a, k) for a in ("raw", "report") for k in KEYS} - {
        ("raw", "2026-01-03"),
        ("report", "2026-01-03"),
        ("report", "2026-01-04"),
    }
    assert failed.error == (
        f"1 failed (raw[2026-01-03]); 2 not run, as they read what failed. Fix: fix the "
        f"asset, then `sheer backfill resume {record.backfill_id}` runs what is not done."
    )
    assert get_backfill_progress(instance, record.backfill_id).total.to_json() == {
        "total": 10,
        "done": 7,
        "failed": 1,
        "in_progress": 0,
        "remaining": 2,
    }

    chain.fail_on.clear()
    chain.calls.clear()
    assert resume_backfill(instance, record.backfill_id).status is BackfillStatus.REQUESTED
    done = execute_backfill(chain.defs, instance, record.backfill_id)

    assert done.status is BackfillStatus.COMPLETED
    assert chain.calls == [
        ("raw", ("2026-01-03",)),
        ("report", ("2026-01-03",)),
        ("report", ("2026-01-04",)),
    ]


def test_cancel_stops_further_runs_and_the_run_in_progress_finishes(instance):
    chain = Chain()
    backfill_id: list[str] = []

    @dg.asset(partitions_def=DAYS)
    def raw(context: dg.AssetExecutionContext) -> None:
        if context.partition_key == "2026-01-02":  # canceled while this run is going
            cancel_backfill(instance, backfill_id[0])
        chain.calls.append(("raw", tuple(context.partition_keys)))

    defs = dg.Definitions(assets=[raw])
    record = create_backfill(defs, instance, "raw", partition_range=FIRST_FIVE)
    backfill_id.append(record.backfill_id)

    canceled = execute_backfill(defs, instance, record.backfill_id)

    assert canceled.status is BackfillStatus.CANCELED
    assert chain.calls == [("raw", ("2026-01-01",)), ("raw", ("2026-01-02",))]
    assert get_backfill_progress(instance, record.backfill_id).total.done == 2
    assert advance_backfills(defs, instance, owner="daemon") == []  # nothing more starts
    assert cancel_backfill(instance, record.backfill_id).status is BackfillStatus.CANCELED


def test_a_canceled_backfill_resumes_with_the_partitions_not_done(instance):
    chain = Chain()
    record = create_backfill(chain.defs, instance, "raw", partition_range=FIRST_FIVE)
    cancel_backfill(instance, record.backfill_id)
    assert execute_backfill(chain.defs, instance, record.backfill_id).status is (
        BackfillStatus.CANCELED
    )
    assert chain.calls == []
    resume_backfill(instance, record.backfill_id)
    assert execute_backfill(chain.defs, instance, record.backfill_id).status is (
        BackfillStatus.COMPLETED
    )
    assert [keys for _, keys in chain.calls] == [(k,) for k in KEYS]


CRASHING_DEFS = """
import os, signal
from pathlib import Path
import sheer as dg

DAYS = dg.DailyPartitionsDefinition(start_date="2026-01-01", end_date="2026-02-01")
MARK = Path(__file__).with_name("crashed")

@dg.asset(partitions_def=DAYS)
def raw(context) -> None:
    if context.partition_key == "2026-01-03" and not MARK.exists():
        MARK.write_text("once")
        os.kill(os.getpid(), signal.SIGKILL)  # the whole process dies mid-backfill
    with open(Path(__file__).with_name("calls"), "a") as f:
        f.write(context.partition_key + "\\n")

defs = dg.Definitions(assets=[raw])
"""


def test_a_backfill_whose_process_was_killed_resumes_with_the_partitions_not_done(
    instance, instance_url, tmp_path
):
    defs_file = tmp_path / "crashing_defs.py"
    defs_file.write_text(CRASHING_DEFS)
    defs = load_definitions(defs_file)
    record = create_backfill(defs, instance, "raw", partition_range=FIRST_FIVE)
    script = textwrap.dedent(
        f"""
        import sheer as dg
        from sheer.backfills import execute_backfill
        from sheer.definitions.loading import load_definitions
        from pathlib import Path
        defs = load_definitions(Path({str(defs_file)!r}))
        instance = dg.Instance.from_url({instance_url!r}, root_dir={str(tmp_path)!r})
        execute_backfill(defs, instance, {record.backfill_id!r})
        """
    )
    killed = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, check=False)
    assert killed.returncode == -signal.SIGKILL
    assert (tmp_path / "calls").read_text().split() == ["2026-01-01", "2026-01-02"]
    assert get_backfill(instance, record.backfill_id).status is BackfillStatus.REQUESTED

    resumed = execute_backfill(defs, instance, record.backfill_id)  # the crashed lease is free

    assert resumed.status is BackfillStatus.COMPLETED
    assert (tmp_path / "calls").read_text().split() == KEYS  # 01 and 02 not run again
    rows = instance.backfills.get_entities([record.backfill_id])
    attempts = {r.partition: r.attempts for r in rows[record.backfill_id]}
    assert attempts == {k: (2 if k == "2026-01-03" else 1) for k in KEYS}


# Errors -------------------------------------------------------------------------------------


def test_an_unknown_partition_key_is_an_error_naming_the_asset_and_the_key(instance):
    chain = Chain()
    with pytest.raises(ExecutionError) as caught:
        create_backfill(chain.defs, instance, "*", partition_range=("2026-01-01", "2026-13-01"))
    assert caught.value.message == (
        "Partition '2026-13-01' is not a partition of asset 'raw' (its keys run from "
        "'2026-01-01' to '2026-01-31'). Did you mean '2026-01-01' or '2026-01-31' or "
        "'2026-01-30'? Fix: backfill keys of that definition, or leave 'raw' out of the "
        "selection (for a dynamic definition, add the key with instance.add_dynamic_partitions "
        "first)."
    )
    assert caught.value.key == dg.AssetKey("raw")
    assert instance.backfills.get_backfills() == []  # nothing stored


def test_a_key_of_one_asset_that_another_lacks_names_that_asset(instance):
    weekly = dg.WeeklyPartitionsDefinition(start_date="2026-01-04")

    @dg.asset(partitions_def=DAYS)
    def raw() -> None: ...

    @dg.asset(partitions_def=weekly, deps=["raw"])
    def summary() -> None: ...

    defs = dg.Definitions(assets=[raw, summary])
    with pytest.raises(
        ExecutionError, match=r"^Partition '2026-01-05' is not a partition of asset 'summary'"
    ):
        create_backfill(defs, instance, "*", partitions=["2026-01-05"])


def test_a_range_that_ends_before_it_starts_is_an_error(instance):
    with pytest.raises(ExecutionError) as caught:
        create_backfill(Chain().defs, instance, "raw", partition_range=("2026-01-05", "2026-01-01"))
    assert caught.value.message == (
        "The partition range 2026-01-05...2026-01-01 of asset 'raw' ends before it starts. "
        "Fix: put the earlier key first: 2026-01-01...2026-01-05."
    )


def test_a_selection_of_views_only_is_an_error(instance):
    with pytest.raises(ExecutionError, match="contains no asset a backfill can run"):
        create_backfill(Chain(view_form="asset").defs, instance, "raw_view", partitions=KEYS)


def test_an_unknown_backfill_id_is_an_error_with_the_fix(instance):
    with pytest.raises(ExecutionError) as caught:
        execute_backfill(Chain().defs, instance, "nosuchid")
    assert caught.value.message == (
        "There is no backfill 'nosuchid' in this instance. Fix: run `sheer backfill list` to "
        "see the backfills and their ids (and check --instance)."
    )


def test_a_backfill_another_process_is_advancing_is_not_run_twice(instance):
    chain = Chain()
    record = create_backfill(chain.defs, instance, "raw", partition_range=FIRST_FIVE)
    other = BackfillLease(instance, record.backfill_id, "another-process")
    assert other.acquire()

    assert advance_backfills(chain.defs, instance, owner="daemon") == []
    with pytest.raises(ExecutionError, match="is being advanced by another process"):
        execute_backfill(chain.defs, instance, record.backfill_id)
    assert chain.calls == []
    other.release()
    assert execute_backfill(chain.defs, instance, record.backfill_id).status is (
        BackfillStatus.COMPLETED
    )


# The daemon and the listener ----------------------------------------------------------------


def test_the_daemon_advances_a_requested_backfill_on_its_ticks(instance):
    chain = Chain(policy=dg.BackfillPolicy.multi_run(2))
    record = create_backfill(chain.defs, instance, "*", partition_range=FIRST_FIVE)
    daemon = AutomationDaemon(chain.defs, instance)  # runs in this process

    daemon.tick()

    assert get_backfill(instance, record.backfill_id).status is BackfillStatus.COMPLETED
    assert materialized(instance) == {(a, k) for a in ("raw", "report") for k in KEYS}
    assert len(backfill_runs(instance, record.backfill_id)) == 5


def test_the_listener_hears_each_run_with_the_progress_after_it(instance):
    chain = Chain(policy=dg.BackfillPolicy.multi_run(2))
    record = create_backfill(chain.defs, instance, "raw", partition_range=FIRST_FIVE)
    heard: list[tuple[str, int, int]] = []

    class Listener(BackfillListener):
        def backfill_started(self, record: Any, progress: BackfillProgress) -> None:
            heard.append(("started", progress.total.finished, progress.total.total))

        def run_finished(self, chunk: RunChunk, run_id: str, progress: BackfillProgress) -> None:
            heard.append((chunk.describe(), progress.total.finished, progress.total.total))

    execute_backfill(chain.defs, instance, record.backfill_id, listener=Listener())

    assert heard == [
        ("started", 0, 5),
        ("raw [2026-01-01...2026-01-02]", 2, 5),
        ("raw [2026-01-03...2026-01-04]", 4, 5),
        ("raw [2026-01-05]", 5, 5),
    ]


# Storage ------------------------------------------------------------------------------------


def test_the_targets_are_stored_with_each_key_list_once(instance):
    chain = Chain()
    record = create_backfill(chain.defs, instance, "*", partition_range=FIRST_FIVE, tags={"t": "1"})
    with instance.storage.engine.connect() as conn:
        from sqlalchemy import text

        stored = conn.execute(text("select targets, tags from backfills")).one()
    assert stored[0] == (
        '{"lists":[["2026-01-01","2026-01-02","2026-01-03","2026-01-04","2026-01-05"]],'
        '"assets":{"raw":0,"report":0}}'
    )
    assert get_backfill(instance, record.backfill_id) == record
    assert stored[1] == '{"t":"1"}'


@pytest.mark.parametrize("n", [1, 5])
def test_the_progress_and_entities_of_many_backfills_are_one_query_each(instance, n):
    chain = Chain()
    ids = [
        create_backfill(chain.defs, instance, "raw", partitions=[k]).backfill_id for k in KEYS[:n]
    ]
    execute_backfill(chain.defs, instance, ids[0])
    store = instance.backfills
    assert len(statements_during(instance, lambda: store.count_entities(ids))) == 1
    assert len(statements_during(instance, lambda: store.get_entities(ids))) == 1
    assert len(statements_during(instance, store.get_active_backfills)) == 1
    counted = store.count_entities(ids)
    assert counted[ids[0]] == {dg.AssetKey("raw"): {EntityStatus.DONE: 1}}
    assert all(counted[i] == {} for i in ids[1:])


def test_a_version_5_database_gets_the_backfill_tables_keeping_its_data(make_instance):
    from sqlalchemy import inspect, text

    from sheer.storage import schema

    old = make_instance()
    old.report_runless_asset_event(dg.AssetMaterialization("a", data_version="v1"))
    with old.storage.engine.begin() as conn:  # back to version 5: no backfills
        conn.execute(text("DROP TABLE backfill_entities"))
        conn.execute(text("DROP TABLE backfills"))
        conn.execute(text("UPDATE sheer_schema SET version = 5 WHERE id = 1"))
    old.dispose()

    upgraded = make_instance()

    with upgraded.storage.engine.connect() as conn:
        version = conn.execute(text("SELECT version FROM sheer_schema WHERE id = 1")).scalar()
        tables = set(inspect(conn).get_table_names())
    assert version == schema.CURRENT_VERSION
    assert {"backfills", "backfill_entities"} <= tables
    assert upgraded.get_latest_materialization("a").data_version == dg.DataVersion("v1")
    chain = Chain()
    record = create_backfill(chain.defs, upgraded, "raw", partitions=["2026-01-02"])
    assert execute_backfill(chain.defs, upgraded, record.backfill_id).status is (
        BackfillStatus.COMPLETED
    )
