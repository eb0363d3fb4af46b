"""IO managers: the filesystem IO manager refuses, before a run starts, keys it could
not store (a name too long for a file, a key whose folder is another key's file)."""

from __future__ import annotations

import pytest

import sheer as dg
from sheer.errors import DefinitionError
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
