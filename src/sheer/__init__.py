"""Sheer: a fast, light asset orchestrator with first-class virtual assets.

The public API uses Dagster's names, so `import sheer as dg` runs Dagster-style code
for everything Sheer covers. Everything not listed in `__all__` is internal.
"""

from sheer.automation import AutomationCondition, evaluate_automation_conditions
from sheer.definitions import (
    AssetDep,
    AssetIn,
    AssetsDefinition,
    AssetSpec,
    ConfigurableResource,
    Definitions,
    asset,
    definitions,
    load_definitions,
    load_from_defs_folder,
    multi_asset,
    observable_source_asset,
)
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
    in_process_executor,
    materialize,
    multiprocess_executor,
    observe,
)
from sheer.graph import AssetGraph, AssetNode
from sheer.instance import Instance
from sheer.keys import AssetKey
from sheer.selection import AssetSelection
from sheer.staleness import StaleCause, StaleCauseCategory, StaleStatus, StaleStatusResolver
from sheer.versioning import DataVersion

__version__ = "0.1.0"

__all__ = [
    "AssetDep",
    "AssetExecutionContext",
    "AssetGraph",
    "AssetIn",
    "AssetKey",
    "AssetMaterialization",
    "AssetNode",
    "AssetObservation",
    "AssetSelection",
    "AssetSpec",
    "AssetsDefinition",
    "AutomationCondition",
    "ConfigurableIOManager",
    "ConfigurableResource",
    "DataVersion",
    "Definitions",
    "EventRecord",
    "EventType",
    "ExecutionResult",
    "Executor",
    "FilesystemIOManager",
    "IOManager",
    "InMemoryIOManager",
    "InProcessExecutor",
    "InputContext",
    "Instance",
    "MaterializeResult",
    "MultiprocessExecutor",
    "ObserveResult",
    "Output",
    "OutputContext",
    "RunRecord",
    "RunStatus",
    "StaleCause",
    "StaleCauseCategory",
    "StaleStatus",
    "StaleStatusResolver",
    "asset",
    "definitions",
    "evaluate_automation_conditions",
    "in_process_executor",
    "load_definitions",
    "load_from_defs_folder",
    "materialize",
    "multi_asset",
    "multiprocess_executor",
    "observable_source_asset",
    "observe",
]
