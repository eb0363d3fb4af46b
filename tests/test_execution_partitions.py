"""Partitioned execution: one partition or a range per run, the context's partition reads,
materializations per partition, inputs per partition (through virtual assets too), and
the checks made before anything runs. Context values and result shapes are compared
with Dagster 1.13.28 where it is installed."""

from __future__ import annotations

import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import sheer
from sheer import AssetIn, AssetMaterialization, AssetSpec, MaterializeResult, asset
from sheer.errors import ExecutionError, StepExecutionError
from sheer.execution.io_managers import FilesystemIOManager
from sheer.instance import Instance
from sheer.partitions.mappings import TimeWindowPartitionMapping
from sheer.partitions.multi import MultiPartitionKey, MultiPartitionsDefinition
from sheer.partitions.static import StaticPartitionsDefinition
from sheer.partitions.time_window import DailyPartitionsDefinition

try:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import dagster
except ImportError:  # pragma: no cover - the oracle is optional
    dagster = None

needs_dagster = pytest.mark.skipif(
    dagster is None, reason="dagster is not installed (bench extra): nothing to compare with"
)

RANGE = {
    "dagster/asset_partition_range_start": "2026-01-02",
    "dagster/asset_partition_range_end": "2026-01-04",
}
READS = (
    "partition_key",
    "partition_keys",
    "partition_key_range",
    "partition_time_window",
    "has_partition_key",
    "has_partition_key_range",
)


def _reads(context: Any) -> dict[str, Any]:
    """Each partition read of a context: its value (tuples for NamedTuples) or 'error'."""
    out: dict[str, Any] = {}
    for name in READS:
        try:
            value = getattr(context, name)
        except Exception:
            out[name] = "error"
        else:
            out[name] = tuple(value) if isinstance(value, tuple) else value
    return out


def _recording(lib: Any, pdef: Any, seen: dict[str, Any]) -> Any:
    @lib.asset(partitions_def=pdef)
    def up(context) -> None:  # type: ignore[no-untyped-def]
        seen.update(_reads(context))
        seen["keys_for_output"] = context.asset_partition_keys_for_output()

    return up


def _dagster_daily() -> Any:
    return dagster.DailyPartitionsDefinition(start_date="2026-01-01", end_date="2026-01-10")


def _daily() -> DailyPartitionsDefinition:
    return DailyPartitionsDefinition(start_date="2026-01-01", end_date="2026-01-10")


def _mat_partitions(result: Any) -> list[tuple[str, str | None]]:
    return sorted(
        (e.asset_key.to_user_string(), e.partition)
        for e in result.get_asset_materialization_events()
    )


# One partition -----------------------------------------------------------------------
@needs_dagster
def test_context_partition_reads_match_dagster_for_one_partition() -> None:
    ours: dict[str, Any] = {}
    theirs: dict[str, Any] = {}
    sheer.materialize([_recording(sheer, _daily(), ours)], partition_key="2026-01-02")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dagster.materialize(
            [_recording(dagster, _dagster_daily(), theirs)], partition_key="2026-01-02"
        )
    assert ours == theirs
    assert ours["partition_key"] == "2026-01-02" and ours["has_partition_key"] is True


def test_single_partition_run_is_tagged_and_records_its_partition() -> None:
    @asset(partitions_def=_daily())
    def up(context: Any) -> str:
        return context.partition_key

    result = sheer.materialize([up], partition_key="2026-01-02")
    run = result.instance.get_run(result.run_id)
    assert run is not None and run.tags["dagster/partition"] == "2026-01-02"
    assert _mat_partitions(result) == [("up", "2026-01-02")]
    assert result.asset_value("up") == "2026-01-02"
    mats = result.asset_materializations_for_node("up")
    assert [m.partition for m in mats] == ["2026-01-02"]


def test_dagster_partition_tag_alone_runs_that_partition() -> None:
    @asset(partitions_def=_daily())
    def up(context: Any) -> str:
        return context.partition_key

    result = sheer.materialize([up], tags={"dagster/partition": "2026-01-05"})
    assert _mat_partitions(result) == [("up", "2026-01-05")]


def test_unpartitioned_asset_in_a_partitioned_run_records_no_partition() -> None:
    @asset(partitions_def=_daily())
    def up() -> int:
        return 1

    @asset
    def plain() -> int:
        return 2

    result = sheer.materialize([up, plain], partition_key="2026-01-03")
    assert _mat_partitions(result) == [("plain", None), ("up", "2026-01-03")]


def test_partitioned_asset_run_without_a_key_runs_unpartitioned_as_in_dagster() -> None:
    @asset(partitions_def=_daily())
    def up(context: Any) -> bool:
        return context.has_partition_key

    result = sheer.materialize([up])
    assert _mat_partitions(result) == [("up", None)]
    assert result.asset_value("up") is False


def test_materialize_result_in_a_partitioned_step_is_recorded_per_partition() -> None:
    @asset(partitions_def=_daily())
    def up(context: Any) -> MaterializeResult[Any]:
        return MaterializeResult(metadata={"day": context.partition_key})

    result = sheer.materialize([up], partition_key="2026-01-04")
    (event,) = result.get_asset_materialization_events()
    assert event.partition == "2026-01-04" and event.metadata["day"] == "2026-01-04"


def test_materialize_to_memory_runs_one_partition() -> None:
    @asset(partitions_def=_daily())
    def up(context: Any) -> str:
        return context.partition_key

    result = sheer.materialize_to_memory([up], partition_key="2026-01-06")
    assert result.asset_value("up") == "2026-01-06"


# Multi and static definitions ----------------------------------------------------------
def test_multi_partition_key_is_a_multi_partition_key_with_its_time_window() -> None:
    pdef = MultiPartitionsDefinition(
        {"date": _daily(), "region": StaticPartitionsDefinition(["eu", "us"])}
    )
    seen: dict[str, Any] = {}

    @asset(partitions_def=pdef)
    def m(context: Any) -> None:
        seen["key"] = context.partition_key
        seen["window"] = context.partition_time_window

    result = sheer.materialize([m], partition_key="2026-01-02|eu")
    assert isinstance(seen["key"], MultiPartitionKey)
    assert seen["key"].keys_by_dimension == {"date": "2026-01-02", "region": "eu"}
    assert str(seen["window"].start.date()) == "2026-01-02"
    assert _mat_partitions(result) == [("m", "2026-01-02|eu")]


def test_partition_time_window_of_a_static_asset_is_an_error_naming_it() -> None:
    @asset(partitions_def=StaticPartitionsDefinition(["a", "b"]))
    def s(context: Any) -> Any:
        return context.partition_time_window

    with pytest.raises(StepExecutionError) as err:
        sheer.materialize([s], partition_key="a")
    assert (
        "Asset 's' asked for context.partition_time_window, but its partitions definition is a "
        "StaticPartitionsDefinition, not a TimeWindowPartitionsDefinition (or a "
        "MultiPartitionsDefinition with a time dimension). Fix: read context.partition_key or "
        "context.partition_keys instead."
    ) in str(err.value)


# Ranges ---------------------------------------------------------------------------------
@needs_dagster
def test_context_partition_reads_match_dagster_for_a_range() -> None:
    ours: dict[str, Any] = {}
    theirs: dict[str, Any] = {}
    sheer.materialize([_recording(sheer, _daily(), ours)], tags=RANGE)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dagster.materialize([_recording(dagster, _dagster_daily(), theirs)], tags=RANGE)
    assert ours == theirs
    assert ours["partition_keys"] == ["2026-01-02", "2026-01-03", "2026-01-04"]
    assert ours["partition_key"] == "error"


def test_range_run_is_one_step_and_one_materialization_per_partition() -> None:
    calls: list[list[str]] = []

    @asset(partitions_def=_daily())
    def up(context: Any) -> None:
        calls.append(context.partition_keys)

    result = sheer.materialize([up], tags=RANGE)
    assert calls == [["2026-01-02", "2026-01-03", "2026-01-04"]]
    assert _mat_partitions(result) == [
        ("up", "2026-01-02"),
        ("up", "2026-01-03"),
        ("up", "2026-01-04"),
    ]
    run = result.instance.get_run(result.run_id)
    assert run is not None and "dagster/partition" not in run.tags


def test_partition_key_in_a_range_run_says_to_read_the_range() -> None:
    @asset(partitions_def=_daily())
    def up(context: Any) -> str:
        return context.partition_key

    with pytest.raises(StepExecutionError) as err:
        sheer.materialize([up], tags=RANGE)
    assert (
        "Asset 'up' asked for context.partition_key, but the run targets the range "
        "2026-01-02...2026-01-04. Fix: read context.partition_key_range or "
        "context.partition_keys instead."
    ) in str(err.value)


def test_range_value_through_the_filesystem_io_manager_is_refused_as_in_dagster() -> None:
    @asset(partitions_def=_daily())
    def up() -> int:
        return 1

    with pytest.raises(StepExecutionError) as err:
        sheer.materialize([up], tags=RANGE)
    assert (
        "Asset 'up' returned one value for 3 partitions (2026-01-02...2026-01-04), and the "
        "filesystem IO manager stores one file per partition"
    ) in str(err.value)


def test_range_with_one_end_only_is_an_error_with_the_fix() -> None:
    @asset(partitions_def=_daily())
    def up() -> None:
        return None

    with pytest.raises(ExecutionError) as err:
        sheer.materialize([up], tags={"dagster/asset_partition_range_start": "2026-01-02"})
    assert str(err.value) == (
        "The run got the tag dagster/asset_partition_range_start without "
        "dagster/asset_partition_range_end. Fix: give both ends of the range (both are "
        "included), or partition_key= for one partition."
    )


# Validation before anything runs ------------------------------------------------------
def test_unknown_partition_key_names_the_asset_and_suggests_keys() -> None:
    @asset(partitions_def=StaticPartitionsDefinition(["apple", "pear"]))
    def fruit() -> None:
        return None

    instance = Instance.ephemeral()
    with pytest.raises(ExecutionError) as err:
        sheer.materialize([fruit], partition_key="appel", instance=instance)
    assert str(err.value) == (
        "Partition 'appel' is not a partition of 'fruit': their partitions definition is "
        "StaticPartitionsDefinition(partition_keys=['apple', 'pear']) (its keys run from "
        "'apple' to 'pear'). Did you mean 'apple'? Fix: pass one of its keys as "
        "partition_key= (for a dynamic definition, add the key with "
        "instance.add_dynamic_partitions first)."
    )
    assert instance.get_runs() == []


def test_assets_of_different_partitions_definitions_cannot_share_a_key() -> None:
    @asset(partitions_def=_daily())
    def up() -> None:
        return None

    @asset(partitions_def=StaticPartitionsDefinition(["a"]))
    def st() -> None:
        return None

    with pytest.raises(ExecutionError) as err:
        sheer.materialize([up, st], partition_key="a")
    message = str(err.value)
    assert message.startswith(
        "The selected assets must share one partitions definition to run for one partition "
        "key or range, but they have 2: "
    )
    assert message.endswith("Fix: run the assets of each partitions definition in their own run.")


@needs_dagster
def test_dagster_also_refuses_different_partitions_definitions() -> None:
    @dagster.asset(partitions_def=_dagster_daily())
    def up() -> None:
        return None

    @dagster.asset(partitions_def=dagster.StaticPartitionsDefinition(["a"]))
    def st() -> None:
        return None

    with pytest.raises(dagster.DagsterInvalidDefinitionError):
        dagster.materialize([up, st], partition_key="a")


def _chain(view_form: str) -> tuple[Any, list[Any]]:
    """A -> B (virtual) -> C, all daily; B as a virtual @asset or a function-less spec."""
    daily = _daily()

    @asset(partitions_def=daily)
    def a(context: Any) -> str:
        return f"a:{context.partition_key}"

    if view_form == "asset":

        @asset(partitions_def=daily, is_virtual=True)
        def b(a: Any) -> str:
            return f"b({a})"

        @asset(partitions_def=daily)
        def c(context: Any, b: Any) -> Any:
            return b

        return a, [a, b, c]

    spec = AssetSpec("b", deps=["a"], is_virtual=True, partitions_def=daily)

    @asset(partitions_def=daily, deps=["b"])
    def c(context: Any) -> None:
        return None

    return a, [a, spec, c]


@pytest.mark.parametrize("view_form", ["asset", "spec"])
def test_missing_upstream_partition_behind_a_view_is_refused_with_the_path(
    view_form: str,
) -> None:
    a, assets = _chain(view_form)
    instance = Instance.ephemeral()
    sheer.materialize([a], partition_key="2026-01-02", instance=instance)
    with pytest.raises(ExecutionError) as err:
        sheer.materialize(assets, selection=["c"], partition_key="2026-01-03", instance=instance)
    assert str(err.value) == (
        "The run would read upstream partitions that are neither stored nor made by the run: "
        "'c' reads partition '2026-01-03' of 'a' through the virtual assets a -> b -> c. "
        "Nothing ran. Fix: materialize 'a' for partition '2026-01-03' first, or select 'a' in "
        "this run."
    )
    assert len(instance.get_runs()) == 1
    sheer.materialize(assets, selection=["c"], partition_key="2026-01-02", instance=instance)


def test_upstream_selected_in_the_same_run_is_not_missing() -> None:
    _, assets = _chain("asset")
    result = sheer.materialize(assets, partition_key="2026-01-05")
    assert result.asset_value("c") == "b(a:2026-01-05)"


# Inputs ----------------------------------------------------------------------------------
def test_input_of_the_same_definition_loads_that_partition() -> None:
    daily = _daily()
    seen: dict[str, Any] = {}

    @asset(partitions_def=daily)
    def up(context: Any) -> str:
        return context.partition_key

    @asset(partitions_def=daily)
    def down(context: Any, up: str) -> str:
        seen["for_input"] = context.asset_partition_key_for_input("up")
        seen["for_output"] = context.asset_partition_key_for_output()
        return up + "!"

    instance = Instance.ephemeral()
    for day in ("2026-01-02", "2026-01-03"):
        sheer.materialize([up], partition_key=day, instance=instance)
    result = sheer.materialize(
        [up, down], selection=["down"], partition_key="2026-01-03", instance=instance
    )
    assert result.asset_value("down") == "2026-01-03!"
    assert seen == {"for_input": "2026-01-03", "for_output": "2026-01-03"}


def test_range_run_downstream_gets_the_range_as_a_dict() -> None:
    daily = _daily()
    seen: dict[str, Any] = {}

    @asset(partitions_def=daily)
    def up(context: Any) -> str:
        return context.partition_key.upper()

    @asset(partitions_def=daily)
    def down(context: Any, up: dict[str, str]) -> None:
        seen["up"] = up
        seen["keys"] = context.asset_partition_keys_for_input("up")
        seen["range"] = tuple(context.asset_partition_key_range_for_input("up"))

    instance = Instance.ephemeral()
    for day in ("2026-01-02", "2026-01-03"):
        sheer.materialize([up], partition_key=day, instance=instance)
    sheer.materialize(
        [up, down],
        selection=["down"],
        instance=instance,
        tags={
            "dagster/asset_partition_range_start": "2026-01-02",
            "dagster/asset_partition_range_end": "2026-01-03",
        },
    )
    assert seen == {
        "up": {"2026-01-02": "2026-01-02", "2026-01-03": "2026-01-03"},
        "keys": ["2026-01-02", "2026-01-03"],
        "range": ("2026-01-02", "2026-01-03"),
    }


def test_unpartitioned_upstream_arrives_whole() -> None:
    @asset
    def lookup() -> dict[str, int]:
        return {"x": 1}

    @asset(partitions_def=_daily())
    def down(lookup: dict[str, int]) -> dict[str, int]:
        return lookup

    result = sheer.materialize([lookup, down], partition_key="2026-01-02")
    assert result.asset_value("down") == {"x": 1}


def test_time_offset_mapping_reads_the_previous_day() -> None:
    daily = _daily()

    @asset(partitions_def=daily)
    def up(context: Any) -> str:
        return context.partition_key

    @asset(
        partitions_def=daily,
        ins={"up": AssetIn(partition_mapping=TimeWindowPartitionMapping(start_offset=-1))},
    )
    def down(context: Any, up: dict[str, str]) -> list[str]:
        return sorted(up)

    instance = Instance.ephemeral()
    for day in ("2026-01-02", "2026-01-03"):
        sheer.materialize([up], partition_key=day, instance=instance)
    result = sheer.materialize(
        [up, down], selection=["down"], partition_key="2026-01-03", instance=instance
    )
    assert result.asset_value("down") == ["2026-01-02", "2026-01-03"]
    with pytest.raises(ExecutionError, match="'down' reads partition '2026-01-01' of 'up'"):
        sheer.materialize(
            [up, down], selection=["down"], partition_key="2026-01-02", instance=instance
        )


def test_virtual_upstream_is_computed_per_partition_from_stored_partitions() -> None:
    daily = _daily()
    calls: list[str] = []

    @asset(partitions_def=daily)
    def a(context: Any) -> str:
        return context.partition_key

    @asset(partitions_def=daily, is_virtual=True)
    def v(context: Any, a: str) -> str:
        calls.append(context.partition_key)
        return f"v({a})"

    @asset(partitions_def=daily)
    def d(v: Any) -> None:
        seen.append(v)

    seen: list[Any] = []
    instance = Instance.ephemeral()
    for day in ("2026-01-02", "2026-01-03"):
        sheer.materialize([a], partition_key=day, instance=instance)
    sheer.materialize([a, v, d], selection=["d"], partition_key="2026-01-02", instance=instance)
    sheer.materialize(
        [a, v, d],
        selection=["d"],
        instance=instance,
        tags={
            "dagster/asset_partition_range_start": "2026-01-02",
            "dagster/asset_partition_range_end": "2026-01-03",
        },
    )
    assert seen == [
        "v(2026-01-02)",
        {"2026-01-02": "v(2026-01-02)", "2026-01-03": "v(2026-01-03)"},
    ]
    assert calls == ["2026-01-02", "2026-01-02", "2026-01-03"]


# Storage --------------------------------------------------------------------------------
def test_filesystem_io_manager_stores_each_partition_under_the_asset_folder(
    tmp_path: Path,
) -> None:
    @asset(partitions_def=_daily(), key_prefix=["raw"])
    def orders(context: Any) -> str:
        return context.partition_key

    manager = FilesystemIOManager(base_dir=str(tmp_path))
    for day in ("2026-01-02", "2026-01-03"):
        sheer.materialize([orders], partition_key=day, resources={"io_manager": manager})
    assert sorted(p.name for p in (tmp_path / "raw" / "orders").iterdir()) == [
        "2026-01-02",
        "2026-01-03",
    ]


def test_reported_materialization_is_stored_under_its_partition() -> None:
    instance = Instance.ephemeral()
    instance.report_runless_asset_event(AssetMaterialization("up", partition="2026-01-02"))
    records = instance.storage.get_latest_records(None, "2026-01-02")
    assert [k.to_user_string() for k in records] == ["up"]
    assert instance.storage.get_latest_records(None) == {}


def test_reported_partition_counts_as_stored_for_a_downstream_run() -> None:
    daily = _daily()
    up = AssetSpec("up", partitions_def=daily)

    @asset(partitions_def=daily, deps=["up"])
    def down() -> None:
        return None

    instance = Instance.ephemeral()
    instance.report_runless_asset_event(AssetMaterialization("up", partition="2026-01-02"))
    run: Callable[[str], Any] = lambda day: sheer.materialize(  # noqa: E731
        [up, down], selection=["down"], partition_key=day, instance=instance
    )
    assert _mat_partitions(run("2026-01-02")) == [("down", "2026-01-02")]
    with pytest.raises(ExecutionError, match="'down' reads partition '2026-01-03' of 'up'"):
        run("2026-01-03")


def test_multiprocess_run_of_one_partition_records_it() -> None:
    @asset(partitions_def=_daily())
    def up(context: Any) -> str:
        return context.partition_key

    @asset(partitions_def=_daily())
    def down(context: Any, up: str) -> str:
        return up + "|" + context.partition_key

    with tempfile.TemporaryDirectory() as home:
        instance = Instance.from_url(f"sqlite:///{home}/sheer.db")
        result = sheer.materialize(
            [up, down],
            partition_key="2026-01-07",
            instance=instance,
            executor="multiprocess",
        )
        assert _mat_partitions(result) == [("down", "2026-01-07"), ("up", "2026-01-07")]
        assert result.asset_value("down") == "2026-01-07|2026-01-07"
        instance.dispose()


# Provenance per partition ----------------------------------------------------------------
def _versions_by_partition(result: Any, name: str) -> dict[str | None, Any]:
    return {
        e.partition: e
        for e in result.get_asset_materialization_events()
        if e.asset_key.to_user_string() == name
    }


def test_each_partition_records_the_version_of_the_upstream_partition_it_read() -> None:
    daily = _daily()

    @asset(partitions_def=daily, code_version="1")
    def up(context: Any) -> sheer.Output[str]:
        return sheer.Output(context.partition_key, data_version=f"v-{context.partition_key}")

    @asset(partitions_def=daily, code_version="1")
    def down(up: str) -> str:
        return up

    instance = Instance.ephemeral()
    for day in ("2026-01-02", "2026-01-03"):
        sheer.materialize([up], partition_key=day, instance=instance)
    run = {"selection": ["down"], "instance": instance}
    first = _versions_by_partition(
        sheer.materialize([up, down], partition_key="2026-01-02", **run), "down"
    )["2026-01-02"]
    second = _versions_by_partition(
        sheer.materialize([up, down], partition_key="2026-01-03", **run), "down"
    )["2026-01-03"]
    assert first.provenance.input_versions == {up.key: "v-2026-01-02"}
    assert second.provenance.input_versions == {up.key: "v-2026-01-03"}
    assert first.data_version != second.data_version
    again = _versions_by_partition(
        sheer.materialize([up, down], partition_key="2026-01-02", **run), "down"
    )["2026-01-02"]
    assert again.data_version == first.data_version  # same inputs, same code: same version


def test_a_range_read_records_one_combined_version_that_changes_with_any_partition() -> None:
    daily = _daily()

    @asset(partitions_def=daily)
    def up(context: Any) -> sheer.Output[str]:
        return sheer.Output(context.partition_key, data_version=tag[context.partition_key])

    @asset(partitions_def=daily, is_virtual=True)
    def view(up: str) -> str:
        return up

    @asset(deps=["view"])
    def total() -> None:
        return None

    tag = {k: "a" for k in daily.get_partition_keys()}
    instance = Instance.ephemeral()
    for day in daily.get_partition_keys():
        sheer.materialize([up], partition_key=day, instance=instance)
    runs = {"selection": ["total"], "instance": instance}
    before = _versions_by_partition(sheer.materialize([up, view, total], **runs), "total")[None]
    tag["2026-01-05"] = "b"
    sheer.materialize([up], partition_key="2026-01-05", instance=instance)
    after = _versions_by_partition(sheer.materialize([up, view, total], **runs), "total")[None]
    assert before.provenance.input_versions != after.provenance.input_versions


def test_an_offset_before_the_first_partition_reads_only_what_exists_as_in_dagster() -> None:
    daily = _daily()
    seen: list[list[str]] = []

    @asset(partitions_def=daily)
    def up(context: Any) -> str:
        return context.partition_key

    @asset(
        partitions_def=daily,
        ins={"up": AssetIn(partition_mapping=TimeWindowPartitionMapping(start_offset=-1))},
    )
    def down(context: Any, up: Any) -> None:
        seen.append(context.asset_partition_keys_for_input("up"))

    sheer.materialize([up, down], partition_key="2026-01-01")
    assert seen == [["2026-01-01"]]  # Dagster bounds the window by the first partition


def test_a_range_through_a_chain_of_views_is_checked_as_one_interval() -> None:
    daily = DailyPartitionsDefinition(start_date="2020-01-01", end_date="2026-01-01")

    @asset(partitions_def=daily)
    def a() -> None:
        return None

    views = [AssetSpec("v0", deps=["a"], is_virtual=True, partitions_def=daily)]
    views += [
        AssetSpec(f"v{i}", deps=[f"v{i - 1}"], is_virtual=True, partitions_def=daily)
        for i in range(1, 50)
    ]

    @asset(partitions_def=daily, deps=["v49"])
    def d() -> None:
        return None

    tags = {
        "dagster/asset_partition_range_start": "2020-01-01",
        "dagster/asset_partition_range_end": "2025-12-31",
    }
    result = sheer.materialize([a, *views, d], tags=tags)
    assert len(result.get_asset_materialization_events()) == 2 * daily.get_num_partitions()


def test_a_partitioned_multi_asset_records_each_output_for_the_partition() -> None:
    daily = _daily()

    @sheer.multi_asset(
        specs=[AssetSpec("x", partitions_def=daily), AssetSpec("y", partitions_def=daily)]
    )
    def xy(context: Any) -> Any:
        yield MaterializeResult(asset_key="x", metadata={"p": context.partition_key})
        yield MaterializeResult(asset_key="y", metadata={"p": context.partition_key})

    result = sheer.materialize([xy], partition_key="2026-01-08")
    assert _mat_partitions(result) == [("x", "2026-01-08"), ("y", "2026-01-08")]


def test_running_a_partitioned_view_records_its_computed_version_per_partition() -> None:
    daily = _daily()

    @asset(partitions_def=daily)
    def a(context: Any) -> sheer.Output[str]:
        return sheer.Output(context.partition_key, data_version="same")

    @asset(partitions_def=daily, is_virtual=True, code_version="v1")
    def v(a: str) -> str:
        return a

    instance = Instance.ephemeral()
    sheer.materialize([a], partition_key="2026-01-02", instance=instance)
    result = sheer.materialize(
        [a, v], selection=["v"], partition_key="2026-01-02", instance=instance
    )
    (event,) = result.get_asset_materialization_events()
    assert event.partition == "2026-01-02" and event.data["is_virtual"] is True
    assert event.provenance is not None
    assert event.provenance.input_versions == {a.key: "same"}
    assert event.data_version is not None


def test_per_partition_inputs_through_an_offset_view_arrive_as_a_dict() -> None:
    """D[d] reads yesterday and today of a view; each day of the view is computed on the
    fly from the stored partition of A it reads: {partition_key: value}, both days."""
    daily = _daily()

    @asset(partitions_def=daily)
    def a(context: Any) -> str:
        return f"a{context.partition_key[-2:]}"

    @asset(partitions_def=daily, is_virtual=True)
    def v(a: str) -> str:
        return f"v({a})"

    @asset(
        partitions_def=daily,
        ins={"v": AssetIn(partition_mapping=TimeWindowPartitionMapping(start_offset=-1))},
    )
    def d(v: Any) -> None:
        seen.append(v)

    seen: list[Any] = []
    instance = Instance.ephemeral()
    for day in ("2026-01-02", "2026-01-03"):
        sheer.materialize([a], partition_key=day, instance=instance)
    sheer.materialize([a, v, d], selection=["d"], partition_key="2026-01-03", instance=instance)
    assert seen == [{"2026-01-02": "v(a02)", "2026-01-03": "v(a03)"}]
