"""The public API: `sheer.__all__` is pinned, importable, and typed."""

from pathlib import Path

import sheer

PUBLIC = [
    "AllPartitionMapping",
    "AssetDep",
    "AssetExecutionContext",
    "AssetGraph",
    "AssetIn",
    "AssetKey",
    "AssetMaterialization",
    "AssetNode",
    "AssetObservation",
    "AssetOut",
    "AssetSelection",
    "AssetSpec",
    "AssetsDefinition",
    "AutomationCondition",
    "BackfillPolicy",
    "BackfillPolicyType",
    "ConfigurableIOManager",
    "ConfigurableResource",
    "DagsterInstance",
    "DailyPartitionsDefinition",
    "DataVersion",
    "Definitions",
    "DimensionPartitionMapping",
    "DynamicPartitionsDefinition",
    "EventRecord",
    "EventType",
    "ExecutionResult",
    "Executor",
    "FilesystemIOManager",
    "HourlyPartitionsDefinition",
    "IOManager",
    "IdentityPartitionMapping",
    "InMemoryIOManager",
    "InProcessExecutor",
    "InputContext",
    "Instance",
    "LastPartitionMapping",
    "MaterializeResult",
    "MetadataValue",
    "MonthlyPartitionsDefinition",
    "MultiPartitionKey",
    "MultiPartitionMapping",
    "MultiPartitionsDefinition",
    "MultiToSingleDimensionPartitionMapping",
    "MultiprocessExecutor",
    "ObserveResult",
    "Output",
    "OutputContext",
    "PartitionKeyRange",
    "PartitionMapping",
    "PartitionsDefinition",
    "RunRecord",
    "RunStatus",
    "SourceAsset",
    "SpecificPartitionsPartitionMapping",
    "StaleCause",
    "StaleCauseCategory",
    "StaleStatus",
    "StaleStatusResolver",
    "StaticPartitionMapping",
    "StaticPartitionsDefinition",
    "TableColumn",
    "TableColumnConstraints",
    "TableConstraints",
    "TableSchema",
    "TimeWindow",
    "TimeWindowPartitionMapping",
    "TimeWindowPartitionsDefinition",
    "UnpartitionedViewWarning",
    "WeeklyPartitionsDefinition",
    "asset",
    "build_asset_context",
    "definitions",
    "evaluate_automation_conditions",
    "file_relative_path",
    "in_process_executor",
    "load_assets_from_modules",
    "load_assets_from_package_module",
    "load_definitions",
    "load_from_defs_folder",
    "materialize",
    "materialize_to_memory",
    "multi_asset",
    "multiprocess_executor",
    "observable_source_asset",
    "observe",
]


def test_all_is_pinned():
    # Adding a public name is a decision: update this list in the same change.
    assert sheer.__all__ == PUBLIC  # exact, and kept sorted


def test_all_has_no_duplicates():
    assert len(sheer.__all__) == len(set(sheer.__all__))


def test_every_public_name_is_importable():
    for name in sheer.__all__:
        assert getattr(sheer, name) is not None, name
    namespace: dict[str, object] = {}
    exec("from sheer import *", namespace)
    assert set(PUBLIC) <= set(namespace)


def test_the_package_is_marked_typed():
    assert (Path(sheer.__file__).parent / "py.typed").is_file()


def test_version_is_a_string():
    assert isinstance(sheer.__version__, str)


def test_every_public_name_imports_first_in_a_fresh_process():
    # Lazy names load their module on first use: each must load when it is the first
    # thing a program touches (an import cycle between modules would break only then).
    import subprocess
    import sys

    script = (
        "import subprocess, sys\n"
        "names = sys.argv[1:]\n"
        "bad = [n for n in names if subprocess.run([sys.executable, '-c', "
        "f'import sheer; sheer.{n}'], capture_output=True).returncode]\n"
        "print(' '.join(bad))\n"
    )
    partitions = [n for n in sheer.__all__ if "Partition" in n]
    out = subprocess.run(
        [sys.executable, "-c", script, *partitions], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == ""
