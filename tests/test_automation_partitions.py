"""Automation per entity: conditions over partitions, and through partitioned views.

Each scenario of DESIGN.md ("Entities and partitions") runs through a chain with a view
in the middle, in both forms (`@asset(is_virtual=True)` and `AssetSpec(is_virtual=True)`),
tick by tick with the cursor handed on, as the daemon does. Dagster's #33981 shape (a
partitioned chain with a view in the middle) requests exactly the partitions downstream
of what changed.
"""

import warnings
from datetime import UTC, datetime, timedelta

import pytest

import sheer as dg
from fixtures.sql import statements_during
from sheer.automation import AutomationCursor
from sheer.automation.daemon import AutomationDaemon

AC = dg.AutomationCondition
DAILY = dg.DailyPartitionsDefinition(start_date="2026-01-01")
NOW = datetime(2026, 1, 5, 6, tzinfo=UTC)  # partitions 2026-01-01 ... 2026-01-04 exist
REGIONS = dg.StaticPartitionsDefinition(["eu", "us", "asia"])
ANY_UPDATED = AC.any_deps_match(AC.newly_updated())


@pytest.fixture(params=["decorator", "spec"])
def view_form(request):
    return request.param


def view(form, name, deps, partitions_def, mapping=None):
    """A virtual asset `name` reading `deps`, in the form under test."""
    dep_list = [dg.AssetDep(d, partition_mapping=mapping) if mapping else d for d in deps]
    if form == "spec":
        return dg.AssetSpec(name, deps=dep_list, is_virtual=True, partitions_def=partitions_def)

    @dg.asset(name=name, deps=dep_list, is_virtual=True, partitions_def=partitions_def)
    def _view() -> None:
        return None

    return _view


def table(name, partitions_def, deps=(), condition=None, mapping=None):
    dep_list = [dg.AssetDep(d, partition_mapping=mapping) if mapping else d for d in deps]

    @dg.asset(
        name=name, deps=dep_list, partitions_def=partitions_def, automation_condition=condition
    )
    def _table() -> int:
        return 1

    return _table


class Ticks:
    """Ticks of one definitions on one instance, each handing its cursor to the next."""

    def __init__(self, *assets, now=NOW):
        self.assets = list(assets)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", dg.UnpartitionedViewWarning)
            self.defs = dg.Definitions(assets=self.assets)
            self.defs.resolve_asset_graph()
        self.instance = dg.Instance.ephemeral()
        self.now = now
        self.result = None

    def tick(self):
        cursor = self.result.cursor if self.result is not None else None
        self.result = dg.evaluate_automation_conditions(
            self.defs, self.instance, evaluation_time=self.now, cursor=cursor
        )
        return self.result

    def requested(self, key):
        return self.tick().get_requested_partitions(key)

    def materialize(self, key, *partitions):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", dg.UnpartitionedViewWarning)
            for p in partitions:
                dg.materialize(
                    self.assets, selection=[key], instance=self.instance, partition_key=p
                )


# Identity chains ----------------------------------------------------------------------
def test_one_changed_partition_requests_exactly_that_partition_through_a_view(view_form):
    t = Ticks(
        table("A", REGIONS),
        view(view_form, "V", ["A"], REGIONS),
        table("D", REGIONS, ["V"], AC.eager().resolve_through_virtual()),
    )
    t.materialize("A", "eu", "us", "asia")
    t.materialize("D", "eu", "us", "asia")
    assert t.requested("D") == set()
    t.materialize("A", "us")
    assert t.requested("D") == {"us"}  # not every partition (Dagster #33981)
    assert t.result.get_num_requested("D") == 1
    assert t.result.total_requested == 1
    assert t.requested("D") == set()  # handled: not requested again


def test_eager_without_resolve_through_virtual_does_not_see_a_behind_the_view(view_form):
    t = Ticks(
        table("A", REGIONS),
        view(view_form, "V", ["A"], REGIONS),
        table("D", REGIONS, ["V"], AC.eager()),
    )
    t.materialize("A", "eu", "us", "asia")
    t.materialize("D", "eu", "us", "asia")
    t.tick()
    t.materialize("A", "us")
    assert t.requested("D") == set()


def test_eager_requests_only_the_latest_time_partition(view_form):
    t = Ticks(
        table("A", DAILY),
        view(view_form, "V", ["A"], DAILY),
        table("D", DAILY, ["V"], AC.eager().resolve_through_virtual()),
    )
    assert t.requested("D") == set()  # A is missing: D waits
    t.materialize("A", "2026-01-02")
    assert t.requested("D") == set()  # not the latest window
    t.materialize("A", "2026-01-04")
    assert t.requested("D") == {"2026-01-04"}


def test_any_deps_updated_through_a_view_requests_each_updated_partition(view_form):
    t = Ticks(
        table("A", DAILY),
        view(view_form, "V", ["A"], DAILY),
        table("D", DAILY, ["V"], ANY_UPDATED.resolve_through_virtual()),
    )
    t.tick()
    t.materialize("A", "2026-01-01", "2026-01-03")
    assert t.requested("D") == {"2026-01-01", "2026-01-03"}


# Mappings through views -----------------------------------------------------------------
def test_a_time_offset_through_a_view_requests_the_days_that_read_the_changed_one(view_form):
    offset = dg.TimeWindowPartitionMapping(start_offset=-1)  # day d reads d-1 and d
    t = Ticks(
        table("A", DAILY),
        view(view_form, "V", ["A"], DAILY),
        table("D", DAILY, ["V"], ANY_UPDATED.resolve_through_virtual(), mapping=offset),
    )
    t.tick()
    t.materialize("A", "2026-01-02")
    assert t.requested("D") == {"2026-01-02", "2026-01-03"}


def test_an_unpartitioned_view_between_daily_ends_requests_every_partition(view_form):
    t = Ticks(
        table("A", DAILY),
        view(view_form, "V", ["A"], None),
        table("D", DAILY, ["V"], ANY_UPDATED.resolve_through_virtual()),
    )
    t.tick()
    t.materialize("A", "2026-01-02")
    assert t.requested("D") == {"2026-01-01", "2026-01-02", "2026-01-03", "2026-01-04"}


def test_a_multi_partitioned_view_filtering_a_dimension_requests_only_that_date(view_form):
    multi = dg.MultiPartitionsDefinition({"date": DAILY, "region": REGIONS})
    by_date = dg.MultiToSingleDimensionPartitionMapping(partition_dimension_name="date")
    t = Ticks(
        table("A", multi),
        view(view_form, "V", ["A"], multi),
        table("D", DAILY, ["V"], ANY_UPDATED.resolve_through_virtual(), mapping=by_date),
    )
    t.tick()
    t.materialize("A", "2026-01-03|eu")
    assert t.requested("D") == {"2026-01-03"}


def test_static_many_to_one_through_a_view(view_form):
    countries = dg.StaticPartitionsDefinition(["fr", "de", "us"])
    continents = dg.StaticPartitionsDefinition(["europe", "america"])
    to_continent = dg.StaticPartitionMapping({"fr": "europe", "de": "europe", "us": "america"})
    t = Ticks(
        table("A", countries),
        view(view_form, "V", ["A"], continents, mapping=to_continent),
        table("D", continents, ["V"], ANY_UPDATED.resolve_through_virtual()),
    )
    t.tick()
    t.materialize("A", "de")
    assert t.requested("D") == {"europe"}


def test_hourly_through_a_daily_view(view_form):
    hourly = dg.HourlyPartitionsDefinition(start_date="2026-01-01-00:00")
    t = Ticks(
        table("A", hourly),
        view(view_form, "V", ["A"], DAILY),
        table("D", DAILY, ["V"], ANY_UPDATED.resolve_through_virtual()),
    )
    t.tick()
    t.materialize("A", "2026-01-02-13:00")
    assert t.requested("D") == {"2026-01-02"}


def test_last_partition_mapping_through_an_unpartitioned_view(view_form):
    t = Ticks(
        table("A", DAILY),
        view(view_form, "V", ["A"], None, mapping=dg.LastPartitionMapping()),
        table("D", None, ["V"], ANY_UPDATED.resolve_through_virtual()),
    )
    t.tick()
    t.materialize("A", "2026-01-02")
    assert t.requested("D") == set()  # V reads only the last day
    t.materialize("A", "2026-01-04")
    assert t.requested("D") == {None}


def test_a_diamond_of_two_views_with_different_mappings(view_form):
    offset = dg.TimeWindowPartitionMapping(start_offset=-1, end_offset=-1)  # the day before
    t = Ticks(
        table("A", DAILY),
        view(view_form, "Same", ["A"], DAILY),
        view(view_form, "Before", ["A"], DAILY, mapping=offset),
        table("D", DAILY, ["Same", "Before"], ANY_UPDATED.resolve_through_virtual()),
    )
    t.tick()
    t.materialize("A", "2026-01-02")
    assert t.requested("D") == {"2026-01-02", "2026-01-03"}  # the union of both paths


def test_a_missing_upstream_partition_behind_a_view_blocks_only_its_partition(view_form):
    t = Ticks(
        table("A", REGIONS),
        view(view_form, "V", ["A"], REGIONS),
        table("D", REGIONS, ["V"], AC.eager().resolve_through_virtual()),
    )
    t.tick()
    t.materialize("A", "eu")
    evaluation = t.tick()
    assert evaluation.get_requested_partitions("D") == {"eu"}
    # D[us] reads A[us] through V, which is missing: D[us] is blocked by it.
    assert not evaluation.get_evaluation("D").requested_partitions & {"us", "asia"}


def test_on_missing_requests_a_new_time_partition_once_its_upstream_is_there(view_form):
    t = Ticks(
        table("A", DAILY),
        view(view_form, "V", ["A"], DAILY),
        table("D", DAILY, ["V"], AC.on_missing().resolve_through_virtual()),
    )
    t.materialize("A", "2026-01-04")
    t.tick()
    t.now = NOW + timedelta(days=1)  # 2026-01-05 now exists, and D[2026-01-05] is missing
    assert t.requested("D") == set()  # A[2026-01-05] is missing too: D waits
    t.materialize("A", "2026-01-05")
    assert t.requested("D") == {"2026-01-05"}
    assert t.requested("D") == set()


# Operands per entity --------------------------------------------------------------------
def test_in_latest_time_window_with_a_lookback_keeps_the_partitions_within_it():
    t = Ticks(
        table("A", DAILY),
        table("D", DAILY, ["A"], AC.in_latest_time_window(timedelta(days=2)) & AC.missing()),
    )
    assert t.requested("D") == {"2026-01-03", "2026-01-04"}
    assert str(AC.in_latest_time_window(timedelta(days=2))) == (
        "in_latest_time_window(lookback_timedelta=2 days, 0:00:00)"
    )


def test_in_latest_time_window_is_every_partition_without_a_time_dimension():
    t = Ticks(table("D", REGIONS, (), AC.in_latest_time_window() & AC.missing()))
    assert t.requested("D") == {"eu", "us", "asia"}


def test_evaluation_time_decides_which_time_partitions_exist():
    t = Ticks(table("D", DAILY, (), AC.in_latest_time_window() & AC.missing()))
    assert t.requested("D") == {"2026-01-04"}
    t.now = NOW + timedelta(days=3)
    assert t.requested("D") == {"2026-01-07"}


def test_a_run_in_progress_for_one_partition_blocks_only_that_partition():
    t = Ticks(table("A", REGIONS), table("D", REGIONS, ["A"], AC.eager()))
    t.materialize("A", "eu", "us", "asia")
    t.materialize("D", "eu", "us", "asia")
    t.tick()
    t.instance.create_run([dg.AssetKey("D")], tags={"dagster/partition": "eu"}, queued=True)
    t.materialize("A", "eu", "us")
    assert t.requested("D") == {"us"}


def test_the_cursor_keeps_requested_partitions_through_json():
    t = Ticks(table("A", REGIONS), table("D", REGIONS, ["A"], AC.eager()))
    t.tick()
    t.materialize("A", "eu", "us", "asia")
    t.tick()
    cursor = t.result.cursor
    assert cursor.requested_partitions == {
        dg.AssetKey("D"): ("eu", "us", "asia")
    }  # in definition order
    assert AutomationCursor.from_json(cursor.to_json()) == cursor
    # the next tick reads them back: each requested partition is newly requested, handled
    assert t.requested("D") == set()


def test_unpartitioned_assets_in_a_graph_with_partitions_answer_none():
    t = Ticks(table("A", DAILY), table("S", None, ["A"], AC.eager()))
    t.tick()
    t.materialize("A", "2026-01-01", "2026-01-02", "2026-01-03")
    assert t.requested("S") == set()  # S reads every day of A, and A[2026-01-04] is missing
    t.materialize("A", "2026-01-04")
    assert t.requested("S") == {None}
    assert t.result.get_num_requested("S") == 1


def test_one_tick_reads_storage_in_the_same_statements_for_any_number_of_partitions():
    def statements(days):
        pdef = dg.DailyPartitionsDefinition(start_date="2025-01-01", end_date=None)
        t = Ticks(
            table("A", pdef),
            view("spec", "V", ["A"], pdef),
            table("D", pdef, ["V"], AC.eager().resolve_through_virtual()),
            now=datetime(2025, 1, 1, tzinfo=UTC) + timedelta(days=days),
        )
        t.materialize("A", "2025-01-01", "2025-01-02")
        t.tick()
        return len(statements_during(t.instance, t.tick))

    assert statements(5) == statements(200)


# The daemon -----------------------------------------------------------------------------
def test_the_daemon_runs_each_requested_partition_in_its_own_run(view_form):
    t = Ticks(
        table("A", REGIONS),
        view(view_form, "V", ["A"], REGIONS),
        table("D", REGIONS, ["V"], AC.eager().resolve_through_virtual()),
    )
    daemon = AutomationDaemon(t.defs, t.instance)
    daemon.tick(NOW.timestamp())
    t.materialize("A", "eu", "us")
    outcome = daemon.tick(NOW.timestamp())
    runs = [t.instance.get_run(run_id) for run_id in outcome.run_ids]
    assert sorted(r.tags["dagster/partition"] for r in runs) == ["eu", "us"]
    assert all(r.status is dg.RunStatus.SUCCESS for r in runs)
    assert all(r.asset_selection == (dg.AssetKey("D"),) for r in runs)
    records = t.instance.get_latest_partition_records(["D"], ["eu", "us", "asia"])
    assert sorted(part for _, part in records) == ["eu", "us"]


def _policy_ticks(view_form, policy, changed):
    """A daily A -> V (virtual) -> D, D requested through the view for each day of A
    updated, with `policy`; A's days `changed` materialized after a first tick: the
    runs of the second tick's requests and what D's calls were given."""

    @dg.asset(
        name="D",
        deps=["V"],
        partitions_def=DAILY,
        backfill_policy=policy,
        automation_condition=ANY_UPDATED.resolve_through_virtual(),
    )
    def d(context: dg.AssetExecutionContext) -> None:
        calls.append(tuple(context.partition_keys))

    calls: list[tuple[str, ...]] = []
    t = Ticks(table("A", DAILY), view(view_form, "V", ["A"], DAILY), d)
    daemon = AutomationDaemon(t.defs, t.instance)
    daemon.tick(NOW.timestamp())
    t.materialize("A", *changed)
    outcome = daemon.tick(NOW.timestamp())
    runs = [t.instance.get_run(run_id) for run_id in outcome.run_ids]
    assert all(r.status is dg.RunStatus.SUCCESS for r in runs)
    assert all(r.asset_selection == (dg.AssetKey("D"),) for r in runs)
    return runs, calls


def _partition_tags(run):
    return {k.removeprefix("dagster/"): v for k, v in run.tags.items() if "partition" in k}


def test_the_daemon_runs_a_single_run_policy_as_one_range_run_per_consecutive_keys(view_form):
    days = ["2026-01-01", "2026-01-02", "2026-01-04"]
    runs, calls = _policy_ticks(view_form, dg.BackfillPolicy.single_run(), days)
    assert sorted(_partition_tags(r)["asset_partition_range_start"] for r in runs) == [
        "2026-01-01",
        "2026-01-04",
    ]
    assert sorted(calls) == [("2026-01-01", "2026-01-02"), ("2026-01-04",)]


def test_the_daemon_cuts_a_multi_run_policy_into_runs_of_at_most_n_keys(view_form):
    days = ["2026-01-01", "2026-01-02", "2026-01-03"]
    runs, calls = _policy_ticks(view_form, dg.BackfillPolicy.multi_run(2), days)
    assert sorted(calls) == [("2026-01-01", "2026-01-02"), ("2026-01-03",)]
    assert len(runs) == 2


def test_the_daemon_runs_one_requested_partition_with_a_policy_under_the_partition_tag(
    view_form,
):
    runs, calls = _policy_ticks(view_form, dg.BackfillPolicy.single_run(), ["2026-01-03"])
    assert [_partition_tags(r) for r in runs] == [{"partition": "2026-01-03"}]
    assert calls == [("2026-01-03",)]


# Dagster's answers ------------------------------------------------------------------------
def _tick_sequence(lib, static):
    """The same definitions and materializations, ticked on Sheer or Dagster (`lib`): what
    each tick requests per asset."""
    cond = lib.AutomationCondition
    pdef = REGIONS_OF(lib) if static else lib.DailyPartitionsDefinition(start_date="2026-01-01")
    mapping = None if static else lib.TimeWindowPartitionMapping(start_offset=-1)

    @lib.asset(partitions_def=pdef)
    def A() -> int:
        return 1

    @lib.asset(partitions_def=pdef, deps=[A], automation_condition=cond.eager())
    def B() -> int:
        return 1

    @lib.asset(
        partitions_def=pdef,
        deps=[lib.AssetDep(A, partition_mapping=mapping)] if mapping else [A],
        automation_condition=cond.any_deps_match(cond.newly_updated()),
    )
    def C() -> int:
        return 1

    @lib.asset(deps=[A], automation_condition=cond.eager())
    def S() -> int:
        return 1

    @lib.asset(
        partitions_def=pdef,
        automation_condition=cond.in_latest_time_window(timedelta(days=2)) & cond.missing(),
    )
    def M() -> int:
        return 1

    defs = lib.Definitions(assets=[A, B, C, S, M])
    instance = lib.DagsterInstance.ephemeral()
    seen, cursor = [], None

    def tick():
        nonlocal cursor
        result = lib.evaluate_automation_conditions(
            defs=defs, instance=instance, evaluation_time=NOW, cursor=cursor
        )
        cursor = result.cursor
        seen.append(
            {k: sorted(map(str, result.get_requested_partitions(lib.AssetKey(k)))) for k in "ABCSM"}
            | {"total": result.total_requested}
        )

    def run(*keys):
        for k in keys:
            lib.materialize([A], instance=instance, partition_key=k)

    first, later = (
        (["eu", "us"], ["asia"])
        if static
        else (
            ["2026-01-02", "2026-01-04"],
            ["2026-01-01", "2026-01-03"],
        )
    )
    tick()
    run(*first)
    tick()
    tick()
    run(*later)
    tick()
    run(first[-1])
    tick()
    return seen


def REGIONS_OF(lib):
    return lib.StaticPartitionsDefinition(["eu", "us", "asia"])


@pytest.mark.parametrize("static", [False, True], ids=["daily", "static"])
def test_partitioned_ticks_request_what_dagster_requests(static):
    dagster = pytest.importorskip("dagster")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = _tick_sequence(dagster, static)
    got = _tick_sequence(dg, static)
    assert got == expected
    assert sum(t["total"] for t in got) > 10  # the ticks do request partitions
