"""IO managers: the filesystem IO manager refuses, before a run starts, keys it could
not store (a name too long for a file, a key whose folder is another key's file)."""

from __future__ import annotations

import pytest

import sheer as dg
from sheer.errors import DefinitionError, ExecutionError
from sheer.execution.io_managers import FilesystemIOManager, validate_stored_assets


def value_asset(key: list[str]) -> dg.AssetsDefinition:
    @dg.asset(key=key)
    def made() -> int:
        return 1

    return made


def test_a_key_that_is_a_folder_of_another_keys_file_is_refused_before_the_run(tmp_path):
    instance = dg.Instance.from_url(f"sqlite:///{tmp_path / 'sheer.db'}")
    assets = [value_asset(["raw"]), value_asset(["raw", "orders"])]
    with pytest.raises(DefinitionError) as info:
        dg.materialize(assets, instance=instance)
    assert info.value.message == (
        "Assets 'raw' and 'raw/orders' cannot both be stored by the filesystem IO manager: "
        "the value of 'raw' is the file where 'raw/orders' needs a folder. Fix: rename one "
        "(e.g. 'raw_all'), or store one with another IO manager."
    )
    assert instance.get_runs() == []  # refused before anything ran


def test_a_key_too_long_for_a_file_name_is_refused_before_the_run(tmp_path):
    instance = dg.Instance.from_url(f"sqlite:///{tmp_path / 'sheer.db'}")
    name = "t" * 250
    with pytest.raises(DefinitionError) as info:
        dg.materialize([value_asset([name])], instance=instance)
    assert info.value.message == (
        f"Asset '{name}' cannot be stored by the filesystem IO manager: its key component "
        f"'{name[:40]}...' is 250 bytes, and a file name holds at most 245 here. Fix: give "
        "it a shorter name or key, or an IO manager that does not store it as a file."
    )
    assert instance.get_runs() == []


def test_keys_the_filesystem_can_hold_pass(tmp_path):
    FilesystemIOManager(base_dir=str(tmp_path)).validate_assets(
        [dg.AssetKey(["raw", "orders"]), dg.AssetKey(["raw", "customers"]), dg.AssetKey("t" * 245)]
    )
    result = dg.materialize(
        [value_asset(["raw", "orders"]), value_asset(["raw", "customers"])],
        instance=dg.Instance.from_url(f"sqlite:///{tmp_path / 'sheer.db'}"),
    )
    assert result.success


COLLIDING = """
import sheer as dg


@dg.asset(key=["raw"])
def raw():
    return 1


@dg.asset(key=["raw", "orders"])
def orders():
    return 2
"""


def test_sheer_check_defs_reports_keys_the_filesystem_io_manager_cannot_store(tmp_path):
    from click.testing import CliRunner

    from sheer.cli import main

    path = tmp_path / "defs.py"
    path.write_text(COLLIDING)
    result = CliRunner().invoke(main, ["check", "defs", "-f", str(path)])
    assert result.exit_code == 1
    assert "Assets 'raw' and 'raw/orders' cannot both be stored by the filesystem IO manager" in (
        result.stderr
    )


def test_a_virtual_asset_beside_a_stored_one_is_not_a_collision(tmp_path):
    @dg.asset(key=["raw"], is_virtual=True)
    def raw() -> int:
        return 1

    graph = dg.Definitions(assets=[raw, value_asset(["raw", "orders"])]).resolve_asset_graph()
    validate_stored_assets(graph, {})  # the filesystem IO manager stores no virtual asset
    with pytest.raises(DefinitionError):
        validate_stored_assets(
            dg.Definitions(
                assets=[value_asset(["raw"]), value_asset(["raw", "orders"])]
            ).resolve_asset_graph(),
            {},
        )


def test_a_run_with_a_virtual_asset_beside_a_stored_one_succeeds(tmp_path):
    @dg.asset(key=["raw"], is_virtual=True)
    def raw() -> int:
        return 1

    result = dg.materialize(
        [raw, value_asset(["raw", "orders"])],
        instance=dg.Instance.from_url(f"sqlite:///{tmp_path / 'sheer.db'}"),
    )
    assert result.success


# Partition-aware contexts --------------------------------------------------------------
try:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import dagster
except ImportError:  # pragma: no cover - the oracle is optional
    dagster = None

needs_dagster = pytest.mark.skipif(
    dagster is None, reason="dagster is not installed (bench extra): nothing to compare with"
)
_CONTEXT_READS = (
    "has_asset_partitions",
    "asset_partition_key",
    "asset_partition_keys",
    "asset_partition_key_range",
    "asset_partitions_time_window",
)


def _context_reads(context) -> dict:
    out = {}
    for name in _CONTEXT_READS:
        try:
            value = getattr(context, name)
        except Exception:
            out[name] = "error"
        else:
            out[name] = list(value) if isinstance(value, (list, tuple)) else value
    return out


def _recording_run(lib, seen: dict) -> None:
    """A run of `down` over a range, reading `up`'s stored partitions, through an IO manager
    that records what its contexts say (the same code for Sheer and Dagster)."""
    daily = lib.DailyPartitionsDefinition(start_date="2026-01-01", end_date="2026-01-10")
    store: dict = {}

    class Recording(lib.IOManager):
        def handle_output(self, context, obj):
            seen.setdefault("output", []).append(_context_reads(context))
            for key in context.asset_partition_keys:
                store[key] = obj

        def load_input(self, context):
            seen["input"] = _context_reads(context)
            return {k: store[k] for k in context.asset_partition_keys}

    @lib.asset(partitions_def=daily)
    def up(context):
        return context.partition_key

    @lib.asset(partitions_def=daily)
    def down(up):
        return sorted(up)

    resources = {"io_manager": Recording()}
    instance = lib.DagsterInstance.ephemeral() if lib is dagster else lib.Instance.ephemeral()
    for day in ("2026-01-02", "2026-01-03"):
        lib.materialize([up], partition_key=day, resources=resources, instance=instance)
    lib.materialize(
        [up, down],
        selection=[down] if lib is dagster else ["down"],
        resources=resources,
        instance=instance,
        tags={
            "dagster/asset_partition_range_start": "2026-01-02",
            "dagster/asset_partition_range_end": "2026-01-03",
        },
    )


@needs_dagster
def test_io_manager_contexts_read_partitions_as_dagsters_do():
    ours: dict = {}
    theirs: dict = {}
    _recording_run(dg, ours)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _recording_run(dagster, theirs)
    assert ours == theirs
    assert ours["input"]["asset_partition_keys"] == ["2026-01-02", "2026-01-03"]


def test_unpartitioned_output_context_has_no_asset_partitions():
    from sheer.execution.io_managers import OutputContext

    context = OutputContext(asset_key=dg.AssetKey("a"), run_id="r", step_key="a")
    assert context.has_asset_partitions is False
    with pytest.raises(ExecutionError) as info:
        _ = context.asset_partition_key
    assert str(info.value) == (
        "The IO manager asked for the partitions of asset 'a', which is not partitioned here. "
        "Fix: check context.has_asset_partitions first."
    )


def test_filesystem_io_manager_stores_a_multi_partition_in_one_folder_per_dimension(tmp_path):
    daily = dg.DailyPartitionsDefinition(start_date="2026-01-01", end_date="2026-01-10")
    pdef = dg.MultiPartitionsDefinition(
        {"region": dg.StaticPartitionsDefinition(["eu"]), "date": daily}
    )

    @dg.asset(partitions_def=pdef)
    def sales(context) -> str:
        return str(context.partition_key)

    manager = FilesystemIOManager(base_dir=str(tmp_path))
    dg.materialize([sales], partition_key="2026-01-02|eu", resources={"io_manager": manager})
    assert (tmp_path / "sales" / "2026-01-02" / "eu").is_file()  # date before region


def test_filesystem_io_manager_loads_several_partitions_as_a_dict(tmp_path):
    daily = dg.DailyPartitionsDefinition(start_date="2026-01-01", end_date="2026-01-10")

    @dg.asset(partitions_def=daily)
    def up(context) -> str:
        return context.partition_key[-2:]

    @dg.asset
    def total(up: dict) -> dict:
        return up

    manager = FilesystemIOManager(base_dir=str(tmp_path))
    instance = dg.Instance.ephemeral()
    run = {"resources": {"io_manager": manager}, "instance": instance}
    days = daily.get_partition_keys()
    for day in days:
        dg.materialize([up], partition_key=day, **run)
    result = dg.materialize([up, total], selection=["total"], **run)
    assert result.asset_value("total") == {day: day[-2:] for day in days}
