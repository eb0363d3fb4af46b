"""Execution: plans, executors, the step runner, IO managers and `materialize()`."""

from sheer.errors import StepExecutionError
from sheer.execution.context import AssetExecutionContext, build_asset_context
from sheer.execution.dask_executor import DaskExecutor, dask_executor  # imports Dask only when run
from sheer.execution.executors import (
    Executor,
    InProcessExecutor,
    MultiprocessExecutor,
    in_process_executor,
    multiprocess_executor,
)
from sheer.execution.io_managers import (
    ConfigurableIOManager,
    FilesystemIOManager,
    InMemoryIOManager,
    InputContext,
    IOManager,
    OutputContext,
)
from sheer.execution.observe import observe
from sheer.execution.plan import ExecutionPlan, Step, build_plan
from sheer.execution.results import MaterializeResult, ObserveResult, Output
from sheer.execution.run import (
    ExecutionResult,
    execute_selection,
    materialize,
    materialize_to_memory,
)

__all__ = [
    "AssetExecutionContext",
    "ConfigurableIOManager",
    "DaskExecutor",
    "ExecutionPlan",
    "ExecutionResult",
    "Executor",
    "FilesystemIOManager",
    "IOManager",
    "InMemoryIOManager",
    "InProcessExecutor",
    "InputContext",
    "MaterializeResult",
    "MultiprocessExecutor",
    "ObserveResult",
    "Output",
    "OutputContext",
    "Step",
    "StepExecutionError",
    "build_asset_context",
    "build_plan",
    "dask_executor",
    "execute_selection",
    "in_process_executor",
    "materialize",
    "materialize_to_memory",
    "multiprocess_executor",
    "observe",
]
