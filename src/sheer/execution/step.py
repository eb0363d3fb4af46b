"""Running one step: gather inputs, call the user's function, hand outputs to IO managers.

`StepRunner` holds what every step of a run needs (graph, resources, IO managers)
and runs in whichever process the executor chooses. It never writes to storage: it
returns a `StepOutcome`, and the run's coordinator records it. Virtual parents are
computed on the fly from their own inputs, memoized within the process, and never
stored by the default IO managers.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

from sheer.definitions.assets import AssetsDefinition
from sheer.definitions.resources import ConfigurableResource
from sheer.errors import ExecutionError
from sheer.execution import results
from sheer.execution.context import AssetExecutionContext, PartitionScope, StepLog
from sheer.execution.io_managers import InputContext, IOManager, OutputContext
from sheer.execution.plan import Step
from sheer.execution.results import MaterializeResult, Output, collect_results
from sheer.graph import AssetGraph
from sheer.keys import AssetKey
from sheer.partitions.base import PartitionsDefinition

_logger = logging.getLogger("sheer")


@dataclass(frozen=True, slots=True, kw_only=True)
class OutputRecord:
    """One asset produced by a step."""

    asset_key: AssetKey
    metadata: Mapping[str, Any]
    data_version: str | None
    tags: Mapping[str, str]
    stored: bool
    partitions: tuple[str | None, ...] = (None,)


@dataclass(frozen=True, slots=True, kw_only=True)
class ErrorInfo:
    """A failure, as text that crosses process boundaries."""

    cls_name: str
    message: str
    traceback: str

    def to_json(self) -> dict[str, str]:
        return {"cls_name": self.cls_name, "message": self.message, "traceback": self.traceback}

    def one_line(self) -> str:
        return f"{self.cls_name}: {self.message}"


@dataclass(frozen=True, slots=True, kw_only=True)
class TeardownFailure:
    """A resource whose teardown raised, after the steps that used it had finished."""

    resource: str
    error: ErrorInfo

    @property
    def message(self) -> str:
        return (
            f"Resource '{self.resource}' failed to tear down: {self.error.one_line()}. The "
            "steps that used it had finished, so their results stand. Fix: make its teardown "
            "(teardown_after_execution, or the code after its yield) succeed, e.g. close what "
            "it opened only once."
        )


@dataclass(kw_only=True)
class StepOutcome:
    """What happened in a step. `exception` is kept only within the process."""

    step_key: str
    success: bool
    started_at: float
    finished_at: float
    outputs: list[OutputRecord] = field(default_factory=list)
    logs: list[dict[str, Any]] = field(default_factory=list)
    error: ErrorInfo | None = None
    exception: BaseException | None = None
    values: dict[AssetKey, Any] = field(default_factory=dict)
    teardown_failures: list[TeardownFailure] = field(default_factory=list)


class _StepResources(Mapping[str, Any]):
    """`context.resources` of a step: each resource is set up when first read."""

    def __init__(self, runner: StepRunner, asset: AssetKey) -> None:
        self._runner = runner
        self._asset = asset

    def __getitem__(self, name: str) -> Any:
        if name not in self._runner.resources:
            raise KeyError(name)
        return self._runner._resource(name, self._asset)

    def __iter__(self) -> Iterator[str]:
        return iter(self._runner.resources)

    def __len__(self) -> int:
        return len(self._runner.resources)


class StepRunner:
    """Runs steps of one run; one per process."""

    def __init__(
        self,
        *,
        graph: AssetGraph,
        run_id: str,
        resources: Mapping[str, Any],
        instance_factory: Callable[[], Any] | None,
        keep_values: bool,
        run_tags: Mapping[str, str] | None = None,
        run_asset_selection: frozenset[AssetKey] | None = None,
        partitions: PartitionScope | None = None,
    ) -> None:
        self.graph = graph
        self.partitions = partitions
        self.run_id = run_id
        self.run_tags = dict(run_tags or {})
        self.run_asset_selection = run_asset_selection
        self.resources = dict(resources)
        self.instance_factory = instance_factory
        self.keep_values = keep_values
        self.values: dict[AssetKey, Any] = {}
        self._virtual_memo: dict[tuple[AssetKey, tuple[str, ...] | None], Any] = {}
        self._lock = threading.RLock()
        self._live: dict[str, Any] = {}
        self._teardowns: list[tuple[str, ExitStack]] = []
        self._setup_errors: dict[str, Exception] = {}
        self._instance: Any = None

    def __getstate__(self) -> dict[str, Any]:
        # Shipped to other processes (Dask) before any resource is set up: only the
        # definition of the run travels; the lock and live resources stay here.
        state = dict(self.__dict__)
        state.update(_lock=None, _live={}, _teardowns=[], _setup_errors={}, _instance=None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.RLock()

    def _get_instance(self) -> Any:
        if self._instance is None and self.instance_factory is not None:
            self._instance = self.instance_factory()
        return self._instance

    # Resources ---------------------------------------------------------------
    # Each resource is set up the first time a step of this process needs it, and kept
    # until `close()`: a resource no step uses is never set up, and one whose setup
    # fails fails only the steps that need it. A setup that failed is not tried again.
    def open(self) -> None:
        """Nothing to do: resources are set up on first use (kept for callers that scope
        a process's resources with `open()` ... `close()`)."""

    def close(self) -> list[TeardownFailure]:
        """Tear down the resources set up so far, last first; a teardown that raises is
        logged and returned, never raised: the steps that used the resource are done."""
        with self._lock:
            teardowns, self._teardowns = self._teardowns, []
            self._live = {}
            self._setup_errors = {}
        failures = []
        for name, stack in reversed(teardowns):
            try:
                stack.close()
            except Exception as exc:
                failure = TeardownFailure(resource=name, error=_error_info(exc))
                _logger.warning("%s", failure.message)
                failures.append(failure)
        return failures

    def _resource(self, name: str, asset: AssetKey) -> Any:
        if name not in self.resources:
            known = ", ".join(sorted(self.resources)) or "none"
            raise ExecutionError(
                f"Asset '{asset.to_user_string()}' needs the resource '{name}', which this run "
                f"does not have (it has: {known}). Fix: pass it in "
                f"Definitions(resources={{'{name}': ...}}) or materialize(..., resources=...).",
                key=asset,
            )
        with self._lock:  # a Dask worker may run several steps at once, in threads
            if name not in self._live:
                self._live[name] = self._set_up(name, asset)
            return self._live[name]

    def _set_up(self, name: str, asset: AssetKey) -> Any:
        res = self.resources[name]
        if not isinstance(res, ConfigurableResource):
            return res
        error = self._setup_errors.get(name)
        if error is None:
            stack = ExitStack()
            try:
                value = stack.enter_context(res.yield_for_execution(None))
            except Exception as exc:
                error = self._setup_errors[name] = exc
            else:
                self._teardowns.append((name, stack))
                return value
        raise ExecutionError(
            f"Resource '{name}' failed to set up: {type(error).__name__}: {error}. Asset "
            f"'{asset.to_user_string()}' needs it, so its step did not run; steps that do not "
            f"use '{name}' go on. Fix: correct the resource's configuration or what its "
            "setup connects to (its traceback is above).",
            key=asset,
        ) from error

    def io_manager_for(self, key: AssetKey) -> IOManager:
        name = io_manager_key_of(self.graph.get(key))
        manager = self._resource(name, key)
        if not isinstance(manager, IOManager):
            raise ExecutionError(
                f"Resource '{name}', the IO manager of asset '{key.to_user_string()}', is a "
                f"{type(manager).__name__}, not an IOManager. Fix: give an IOManager under "
                f"'{name}', or set io_manager_key= to the key of one.",
                key=key,
            )
        return manager

    # Running -----------------------------------------------------------------
    def run(self, step: Step) -> StepOutcome:
        started = time.time()
        log = StepLog(step.key)
        try:
            outputs, values = self._execute(step, log)
            return StepOutcome(
                step_key=step.key,
                success=True,
                started_at=started,
                finished_at=time.time(),
                outputs=outputs,
                logs=log.records,
                values=values if self.keep_values else {},
            )
        except (Exception, SystemExit) as exc:
            # SystemExit from asset code fails its step, not the run (as in Dagster):
            # Ctrl-C (KeyboardInterrupt) still stops the whole run.
            error = _exit_error(step, exc) if isinstance(exc, SystemExit) else _error_info(exc)
            return StepOutcome(
                step_key=step.key,
                success=False,
                started_at=started,
                finished_at=time.time(),
                logs=log.records,
                error=error,
                exception=exc,
            )

    def _execute(self, step: Step, log: StepLog) -> tuple[list[OutputRecord], dict[AssetKey, Any]]:
        assets_def = step.assets_def
        selected = frozenset(step.asset_keys)
        scope = self._scope_of(assets_def.partitions_def)
        context = self._context(assets_def, selected, step.key, log, scope)
        if not assets_def.returns_nothing:
            # The IO managers of the outputs are set up before the function runs, so one
            # that cannot be set up fails the step before its work, not after.
            for key in step.asset_keys:
                name = io_manager_key_of(self.graph.get(key))
                if name in self.resources:
                    self._resource(name, key)
        result = self._call(assets_def, selected, context, log)
        produced = collect_results(assets_def, selected, result)
        records: list[OutputRecord] = []
        values: dict[AssetKey, Any] = {}
        for key in step.asset_keys:
            item = produced.get(key)
            if item is None:
                continue  # an optional output the function did not produce
            records.append(self._handle(step, key, item, context, values))
        return records, values

    def _handle(
        self,
        step: Step,
        key: AssetKey,
        item: Output[Any] | MaterializeResult[Any],
        context: AssetExecutionContext,
        values: dict[AssetKey, Any],
    ) -> OutputRecord:
        node = self.graph.get(key)
        metadata = {**item.metadata, **context.output_metadata.get(key, {})}
        if isinstance(item, Output):
            # A function annotated `-> None` / `-> Output[None]` returns no value (Nothing).
            has_value = not (step.assets_def.returns_nothing and item.value is None)
        else:
            has_value = item.has_value
        stored = False
        if has_value:
            value = item.value
            values[key] = value
            self.values[key] = value
            pdef = node.spec.partitions_def
            keys = self._scope_of(pdef)
            if node.is_virtual:
                self._virtual_memo[key, keys.keys if keys else None] = value
            manager = self.io_manager_for(key)
            if not node.is_virtual or manager.handles_virtual_assets:
                manager.handle_output(
                    OutputContext(
                        asset_key=key,
                        run_id=self.run_id,
                        step_key=step.key,
                        name=step.assets_def.get_output_name_for_asset_key(key),
                        metadata=metadata,
                        definition_metadata=node.metadata,
                        is_virtual=node.is_virtual,
                        asset_partition_keys=keys.keys if keys else (),
                        asset_partitions_def=pdef if keys else None,
                    ),
                    value,
                )
                stored = True
        version = item.data_version.value if item.data_version is not None else None
        scope = self._scope_of(node.spec.partitions_def)
        return OutputRecord(
            asset_key=key,
            metadata=metadata,
            data_version=version,
            tags=item.tags,
            stored=stored,
            partitions=scope.keys if scope is not None else (None,),
        )

    def _scope_of(self, partitions_def: PartitionsDefinition | None) -> PartitionScope | None:
        """The run's partitions, for an asset of `partitions_def` (None: unpartitioned)."""
        if partitions_def is None or self.partitions is None:
            return None
        return self.partitions

    def input_partition_keys(
        self, parent: AssetKey, reader: AssetKey, keys: tuple[str, ...] | None
    ) -> tuple[str, ...] | None:
        """The partitions of `parent` that `reader`'s partitions `keys` read (None: all of
        an unpartitioned parent)."""
        parent_def = self.graph.get(parent).spec.partitions_def
        if parent_def is None:
            return None
        reader_def = self.graph.get(reader).spec.partitions_def
        if keys is None or reader_def is None:
            return tuple(parent_def.get_partition_keys())
        explicit = self.graph.partition_relations.explicit_mapping(reader, parent)
        return upstream_partition_keys(reader_def, keys, parent_def, explicit)

    def call_function(
        self, assets_def: AssetsDefinition, key: AssetKey, step_key: str, log: StepLog
    ) -> Any:
        """Call a definition's function for one key, with its inputs and resources."""
        scope = self._scope_of(assets_def.partitions_def)
        context = self._context(assets_def, frozenset([key]), step_key, log, scope)
        return self._call(assets_def, frozenset([key]), context, log)

    def _context(
        self,
        assets_def: AssetsDefinition,
        selected: frozenset[AssetKey],
        step_key: str,
        log: StepLog,
        scope: PartitionScope | None,
    ) -> AssetExecutionContext:
        reader = min(selected)
        keys = scope.keys if scope is not None else None
        inputs = {
            param: self.input_partition_keys(parent, reader, keys)
            for param, parent in _definition_inputs(self.graph, assets_def).items()
            if self.graph.get(parent).spec.partitions_def is not None
        }
        context = AssetExecutionContext(
            assets_def=assets_def,
            selected_asset_keys=selected,
            run_id=self.run_id,
            step_key=step_key,
            instance=self._get_instance,
            resources=_StepResources(self, min(selected)),
            run_tags=self.run_tags,
            run_asset_selection=self.run_asset_selection,
            partitions=scope,
            input_partitions=inputs,
        )
        context.log = log
        return context

    def _call(
        self,
        assets_def: AssetsDefinition,
        selected: frozenset[AssetKey],
        context: AssetExecutionContext,
        log: StepLog,
    ) -> Any:
        reader = min(selected)
        node = self.graph.get(reader)
        kwargs: dict[str, Any] = {}
        params = _definition_inputs(self.graph, assets_def)
        scope = context._partitions
        for param, parent in params.items():
            keys = self.input_partition_keys(parent, reader, scope.keys if scope else None)
            kwargs[param] = self.input_value(parent, reader, param, log, keys)
        for name in node.resource_params:
            kwargs[name] = self._resource(name, reader)
        for name in assets_def.required_resource_keys:
            self._resource(name, reader)
        args = (context,) if assets_def.params.context is not None else ()
        return assets_def.fn(*args, **kwargs)

    def input_value(
        self,
        parent: AssetKey,
        reader: AssetKey,
        param: str,
        log: StepLog,
        keys: tuple[str, ...] | None = None,
    ) -> Any:
        """The value of `parent` for `reader`: handed over, computed (virtual) or loaded.

        A virtual parent whose IO manager handles virtual assets (a database view) is
        read through it, like a table; any other virtual parent is computed on the fly.
        `keys` are the parent's partitions read (None: unpartitioned); several arrive as
        `{partition_key: value}`, as Dagster's IO managers give them.
        """
        node = self.graph.get(parent)
        pdef = node.spec.partitions_def
        part_keys, part_def = (keys, pdef) if keys is not None else ((), None)
        manager = self.io_manager_for(parent) if node.is_virtual else None
        if manager is not None and manager.handles_virtual_assets:
            return manager.load_input(
                InputContext(
                    asset_key=parent,
                    downstream_asset_key=reader,
                    run_id=self.run_id,
                    name=param,
                    definition_metadata=node.metadata,
                    upstream_is_virtual=True,
                    asset_partition_keys=part_keys,
                    asset_partitions_def=part_def,
                )
            )
        if parent in self.values and self._handed_over(parent, keys):
            return self.values[parent]
        if node.is_virtual:
            if keys is None or len(keys) == 1:
                return self._virtual_value(parent, log, keys)
            return {k: self._virtual_value(parent, log, (k,)) for k in keys}
        if node.assets_def is not None and node.assets_def.returns_nothing:
            raise ExecutionError(
                f"Asset '{reader.to_user_string()}' reads '{parent.to_user_string()}' as data "
                f"(parameter '{param}'), but the function of '{parent.to_user_string()}' is "
                "annotated -> None (or -> Output[None]), so it produces no value. Fix: annotate "
                f"its real return type, or depend on it with deps=['{parent.to_user_string()}'] "
                "instead of a parameter.",
                key=reader,
            )
        return self.io_manager_for(parent).load_input(
            InputContext(
                asset_key=parent,
                downstream_asset_key=reader,
                run_id=self.run_id,
                name=param,
                definition_metadata=node.metadata,
                upstream_is_virtual=False,
                asset_partition_keys=part_keys,
                asset_partitions_def=part_def,
            )
        )

    def _handed_over(self, parent: AssetKey, keys: tuple[str, ...] | None) -> bool:
        """Whether the value `parent` computed in this run is what is read: it is
        unpartitioned, or it was computed for exactly the partitions read."""
        scope = self._scope_of(self.graph.get(parent).spec.partitions_def)
        return scope is None or keys == scope.keys

    def _virtual_value(self, key: AssetKey, log: StepLog, keys: tuple[str, ...] | None) -> Any:
        if (key, keys) in self._virtual_memo:
            return self._virtual_memo[key, keys]
        node = self.graph.get(key)
        assets_def = node.assets_def
        if assets_def is None:  # the graph rejects this at definition time
            raise ExecutionError(
                f"Virtual asset '{key.to_user_string()}' has no function.", key=key
            )
        pdef = self.graph.get(key).spec.partitions_def
        scope = (
            PartitionScope(partitions_def=pdef, keys=keys)
            if pdef is not None and keys is not None
            else None
        )
        context = self._context(
            assets_def, frozenset([key]), f"{assets_def.node_name}(virtual)", log, scope
        )
        result = self._call(assets_def, frozenset([key]), context, log)
        item = collect_results(assets_def, frozenset([key]), result).get(key)
        if item is None or (isinstance(item, MaterializeResult) and not item.has_value):
            raise ExecutionError(
                f"Virtual asset '{key.to_user_string()}' is read as data, but its function "
                "returned no value for it. Fix: return the value (or Output(value)); a "
                "MaterializeResult without value= gives downstream assets nothing to read.",
                key=key,
            )
        self._virtual_memo[key, keys] = item.value
        return item.value


def io_manager_key_of(node: Any) -> str:
    """The IO manager key of an asset node: its own (an `AssetOut`'s, a `SourceAsset`'s),
    else its definition's."""
    own = node.spec.metadata.get("sheer/io_manager_key")
    if own is not None:
        return str(own)
    return node.assets_def.io_manager_key if node.assets_def is not None else "io_manager"


def upstream_partition_keys(
    reader_def: PartitionsDefinition,
    keys: tuple[str, ...],
    parent_def: PartitionsDefinition,
    mapping: Any = None,
) -> tuple[str, ...]:
    """The keys of `parent_def` that the keys `keys` of `reader_def` read, through the
    dependency's partition mapping (`AssetIn`/`AssetDep(partition_mapping=)`, else the one
    Dagster infers for the pair)."""
    return mapped_upstream_partitions(reader_def, keys, parent_def, mapping)[0]


def mapped_upstream_partitions(
    reader_def: PartitionsDefinition,
    keys: tuple[str, ...],
    parent_def: PartitionsDefinition,
    mapping: Any = None,
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(the upstream keys read, the upstream keys required that do not exist)."""
    if reader_def == parent_def and mapping is None:
        return keys, ()  # the identity, without building subsets
    from sheer.partitions.mappings import infer_partition_mapping
    from sheer.partitions.subset import subset_with_partition_keys

    result = infer_partition_mapping(
        mapping, reader_def, parent_def
    ).get_upstream_mapped_partitions_result_for_partitions(
        subset_with_partition_keys(reader_def, keys), reader_def, parent_def
    )
    return (
        tuple(result.partitions_subset.get_partition_keys()),
        tuple(result.required_but_nonexistent_subset.get_partition_keys()),
    )


def _definition_inputs(graph: AssetGraph, assets_def: AssetsDefinition) -> dict[str, AssetKey]:
    params: dict[str, AssetKey] = {}
    for spec in assets_def.specs:
        if spec.key in graph:
            params.update(graph.get(spec.key).input_params)
    return params


def _error_info(exc: BaseException) -> ErrorInfo:
    # Keep the user's frames: drop the frames of this module (and of results.py, which
    # iterates the user's generator) at the top of the stack.
    ours = {__file__, results.__file__}
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename in ours:
        tb = tb.tb_next
    text = "".join(traceback.format_exception(type(exc), exc, tb))
    return ErrorInfo(cls_name=type(exc).__name__, message=str(exc), traceback=text)


def _exit_error(step: Step, exc: SystemExit) -> ErrorInfo:
    names = ", ".join(f"'{k.to_user_string()}'" for k in step.asset_keys)
    info = _error_info(exc)
    message = (
        f"Asset {names} called sys.exit({exc.code!r}), which would end the whole run. "
        "Fix: raise an exception to fail the asset instead of exiting."
    )
    return ErrorInfo(cls_name="SystemExit", message=message, traceback=info.traceback)
