"""Sheer: a fast, light asset orchestrator with first-class virtual assets.

The public API uses Dagster's names, so `import sheer as dg` runs Dagster-style code
for everything Sheer covers. Everything not listed in `__all__` is internal.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sheer.automation import AutomationCondition, evaluate_automation_conditions
    from sheer.definitions import (
        AssetDep,
        AssetIn,
        AssetOut,
        AssetsDefinition,
        AssetSpec,
        ConfigurableResource,
        Definitions,
        SourceAsset,
        asset,
        definitions,
        file_relative_path,
        load_assets_from_modules,
        load_assets_from_package_module,
        load_definitions,
        load_from_defs_folder,
        multi_asset,
        observable_source_asset,
    )
    from sheer.definitions.backfill_policy import BackfillPolicy, BackfillPolicyType
    from sheer.events import (
        AssetMaterialization,
        AssetObservation,
        EventRecord,
        EventType,
        RunRecord,
        RunStatus,
    )
    from sheer.execution import (
        AssetExecutionContext,
        ConfigurableIOManager,
        ExecutionResult,
        Executor,
        FilesystemIOManager,
        InMemoryIOManager,
        InProcessExecutor,
        InputContext,
        IOManager,
        MaterializeResult,
        MultiprocessExecutor,
        ObserveResult,
        Output,
        OutputContext,
        build_asset_context,
        in_process_executor,
        materialize,
        materialize_to_memory,
        multiprocess_executor,
        observe,
    )
    from sheer.graph import AssetGraph, AssetNode
    from sheer.instance import DagsterInstance, Instance
    from sheer.keys import AssetKey
    from sheer.metadata import (
        MetadataValue,
        TableColumn,
        TableColumnConstraints,
        TableConstraints,
        TableSchema,
    )
    from sheer.partitions.base import PartitionKeyRange, PartitionsDefinition
    from sheer.partitions.dynamic import DynamicPartitionsDefinition
    from sheer.partitions.mappings import (
        AllPartitionMapping,
        IdentityPartitionMapping,
        LastPartitionMapping,
        PartitionMapping,
        SpecificPartitionsPartitionMapping,
        StaticPartitionMapping,
    )
    from sheer.partitions.multi import MultiPartitionKey, MultiPartitionsDefinition
    from sheer.partitions.multi_mappings import (
        DimensionPartitionMapping,
        MultiPartitionMapping,
        MultiToSingleDimensionPartitionMapping,
    )
    from sheer.partitions.relations import UnpartitionedViewWarning
    from sheer.partitions.static import StaticPartitionsDefinition
    from sheer.partitions.time_mapping import TimeWindowPartitionMapping
    from sheer.partitions.time_window import (
        DailyPartitionsDefinition,
        HourlyPartitionsDefinition,
        MonthlyPartitionsDefinition,
        TimeWindow,
        TimeWindowPartitionsDefinition,
        WeeklyPartitionsDefinition,
    )
    from sheer.selection import AssetSelection
    from sheer.staleness import StaleCause, StaleCauseCategory, StaleStatus, StaleStatusResolver
    from sheer.versioning import DataVersion

# `definitions` is both a subpackage and Dagster's decorator; importing the subpackage
# would shadow a lazily bound decorator, so the definitions (needed by any project
# anyway) are imported now and the decorator bound last.
from sheer.definitions import definitions

__version__ = "0.1.0"

# Imported on first use, so `import sheer` (and every `sheer` command) starts fast.
_LAZY: dict[str, str] = {
    "AllPartitionMapping": "sheer.partitions.mappings",
    "AssetDep": "sheer.definitions",
    "AssetExecutionContext": "sheer.execution",
    "AssetGraph": "sheer.graph",
    "AssetIn": "sheer.definitions",
    "AssetKey": "sheer.keys",
    "AssetMaterialization": "sheer.events",
    "AssetNode": "sheer.graph",
    "AssetObservation": "sheer.events",
    "AssetOut": "sheer.definitions",
    "AssetSelection": "sheer.selection",
    "AssetSpec": "sheer.definitions",
    "AssetsDefinition": "sheer.definitions",
    "AutomationCondition": "sheer.automation",
    "BackfillPolicy": "sheer.definitions.backfill_policy",
    "BackfillPolicyType": "sheer.definitions.backfill_policy",
    "ConfigurableIOManager": "sheer.execution",
    "ConfigurableResource": "sheer.definitions",
    "DagsterInstance": "sheer.instance",
    "DailyPartitionsDefinition": "sheer.partitions.time_window",
    "DataVersion": "sheer.versioning",
    "Definitions": "sheer.definitions",
    "DimensionPartitionMapping": "sheer.partitions.multi_mappings",
    "DynamicPartitionsDefinition": "sheer.partitions.dynamic",
    "EventRecord": "sheer.events",
    "EventType": "sheer.events",
    "ExecutionResult": "sheer.execution",
    "Executor": "sheer.execution",
    "FilesystemIOManager": "sheer.execution",
    "HourlyPartitionsDefinition": "sheer.partitions.time_window",
    "IOManager": "sheer.execution",
    "IdentityPartitionMapping": "sheer.partitions.mappings",
    "InMemoryIOManager": "sheer.execution",
    "InProcessExecutor": "sheer.execution",
    "InputContext": "sheer.execution",
    "Instance": "sheer.instance",
    "LastPartitionMapping": "sheer.partitions.mappings",
    "MaterializeResult": "sheer.execution",
    "MetadataValue": "sheer.metadata",
    "MonthlyPartitionsDefinition": "sheer.partitions.time_window",
    "MultiPartitionKey": "sheer.partitions.multi",
    "MultiPartitionMapping": "sheer.partitions.multi_mappings",
    "MultiPartitionsDefinition": "sheer.partitions.multi",
    "MultiToSingleDimensionPartitionMapping": "sheer.partitions.multi_mappings",
    "MultiprocessExecutor": "sheer.execution",
    "ObserveResult": "sheer.execution",
    "Output": "sheer.execution",
    "OutputContext": "sheer.execution",
    "PartitionKeyRange": "sheer.partitions.base",
    "PartitionMapping": "sheer.partitions.mappings",
    "PartitionsDefinition": "sheer.partitions.base",
    "RunRecord": "sheer.events",
    "RunStatus": "sheer.events",
    "SourceAsset": "sheer.definitions",
    "SpecificPartitionsPartitionMapping": "sheer.partitions.mappings",
    "StaleCause": "sheer.staleness",
    "StaleCauseCategory": "sheer.staleness",
    "StaleStatus": "sheer.staleness",
    "StaleStatusResolver": "sheer.staleness",
    "StaticPartitionMapping": "sheer.partitions.mappings",
    "StaticPartitionsDefinition": "sheer.partitions.static",
    "TableColumn": "sheer.metadata",
    "TableColumnConstraints": "sheer.metadata",
    "TableConstraints": "sheer.metadata",
    "TableSchema": "sheer.metadata",
    "TimeWindow": "sheer.partitions.time_window",
    "TimeWindowPartitionMapping": "sheer.partitions.time_mapping",
    "TimeWindowPartitionsDefinition": "sheer.partitions.time_window",
    "UnpartitionedViewWarning": "sheer.partitions.relations",
    "WeeklyPartitionsDefinition": "sheer.partitions.time_window",
    "asset": "sheer.definitions",
    "build_asset_context": "sheer.execution",
    "evaluate_automation_conditions": "sheer.automation",
    "file_relative_path": "sheer.definitions",
    "in_process_executor": "sheer.execution",
    "load_assets_from_modules": "sheer.definitions",
    "load_assets_from_package_module": "sheer.definitions",
    "load_definitions": "sheer.definitions",
    "load_from_defs_folder": "sheer.definitions",
    "materialize": "sheer.execution",
    "materialize_to_memory": "sheer.execution",
    "multi_asset": "sheer.definitions",
    "multiprocess_executor": "sheer.execution",
    "observable_source_asset": "sheer.definitions",
    "observe": "sheer.execution",
}
__all__ = [
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


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'sheer' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
