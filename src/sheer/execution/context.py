"""AssetExecutionContext: what an asset function can ask about the step it runs in."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sheer.errors import DefinitionError, ExecutionError
from sheer.keys import AssetKey, coerce_key
from sheer.partitions.base import PartitionKeyRange, PartitionsDefinition

if TYPE_CHECKING:
    from sheer.definitions.assets import AssetsDefinition
    from sheer.instance import Instance
    from sheer.partitions.time_window import TimeWindow

_logger = logging.getLogger("sheer")


class StepLog:
    """`context.log`: Python-logging-style calls, kept as log events of the step."""

    def __init__(self, step_key: str) -> None:
        self._step_key = step_key
        self.records: list[dict[str, Any]] = []

    def _log(self, level: int, msg: str, *args: Any) -> None:
        text = msg % args if args else str(msg)
        self.records.append(
            {"level": logging.getLevelName(level), "message": text, "timestamp": time.time()}
        )
        _logger.log(level, "[%s] %s", self._step_key, text)

    def debug(self, msg: str, *args: Any) -> None:
        self._log(logging.DEBUG, msg, *args)

    def info(self, msg: str, *args: Any) -> None:
        self._log(logging.INFO, msg, *args)

    def warning(self, msg: str, *args: Any) -> None:
        self._log(logging.WARNING, msg, *args)

    warn = warning

    def error(self, msg: str, *args: Any) -> None:
        self._log(logging.ERROR, msg, *args)

    def exception(self, msg: str, *args: Any) -> None:
        self._log(logging.ERROR, msg, *args)

    def critical(self, msg: str, *args: Any) -> None:
        self._log(logging.CRITICAL, msg, *args)


@dataclass(frozen=True, slots=True, kw_only=True)
class RunInfo:
    """`context.run`: the run a step belongs to, with the attributes of Dagster's DagsterRun
    that Sheer has (`run_id`, `tags`, `asset_selection`)."""

    run_id: str
    tags: Mapping[str, str] = field(default_factory=dict)
    asset_selection: frozenset[AssetKey] | None = None


class _ResourceNamespace:
    """`context.resources`: the resources by key as attributes, read when asked for."""

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[str, Any]) -> None:
        self._values = values

    def __getattr__(self, name: str) -> Any:
        values = object.__getattribute__(self, "_values")  # unset while unpickling
        if name.startswith("__") or name not in values:
            known = ", ".join(sorted(values)) or "none"
            raise AttributeError(f"No resource '{name}' in context.resources (it has: {known}).")
        return values[name]

    def __dir__(self) -> list[str]:
        return sorted(self._values)

    def __repr__(self) -> str:
        return f"<resources {', '.join(sorted(self._values))}>"


@dataclass(frozen=True, slots=True, kw_only=True)
class PartitionScope:
    """The partitions a run targets: one key (`dagster/partition`) or a range of one
    definition, both ends included (`dagster/asset_partition_range_start` / `_end`).

    Attributes:
        partitions_def: the definition every partitioned asset of the run shares.
        keys: the targeted keys, in the definition's order.
        is_range: whether the run was asked for a range (even of one key), as Dagster
            tells `partition_key_range` runs from `partition_key` runs.
    """

    partitions_def: PartitionsDefinition
    keys: tuple[str, ...]
    is_range: bool = False

    @property
    def key_range(self) -> PartitionKeyRange:
        return PartitionKeyRange(self.keys[0], self.keys[-1])

    def time_window(self, asset: str) -> TimeWindow:
        """The window from the first key's start to the last key's end."""
        from sheer.partitions.multi import MultiPartitionsDefinition
        from sheer.partitions.time_window import TimeWindow, TimeWindowPartitionsDefinition

        pdef, keys = self.partitions_def, list(self.keys)
        if isinstance(pdef, MultiPartitionsDefinition) and pdef.has_time_window_dimension:
            dim = pdef.time_window_dimension
            pdef = dim.partitions_def
            keys = sorted({k.keys_by_dimension[dim.name] for k in self.keys})  # type: ignore[attr-defined]
        if not isinstance(pdef, TimeWindowPartitionsDefinition):
            raise ExecutionError(
                f"Asset '{asset}' asked for context.partition_time_window, but its partitions "
                f"definition is a {type(self.partitions_def).__name__}, not a "
                "TimeWindowPartitionsDefinition (or a MultiPartitionsDefinition with a time "
                "dimension). Fix: read context.partition_key or context.partition_keys instead."
            )
        first, last = pdef.index_of(keys[0]), pdef.index_of(keys[-1])
        assert first is not None and last is not None  # validated when the run was planned
        return TimeWindow(pdef.time_window_at(first).start, pdef.time_window_at(last).end)


DIRECT_RUN_ID = "EPHEMERAL"  # Dagster's run id for a function called directly


class AssetExecutionContext:
    """Passed as the first parameter (named `context`) of an asset function.

    Example:
        >>> # @asset
        >>> # def orders(context: AssetExecutionContext):
        >>> #     context.log.info("loading")
        >>> #     context.add_output_metadata({"rows": 3})
    """

    def __init__(
        self,
        *,
        assets_def: AssetsDefinition | None,
        selected_asset_keys: frozenset[AssetKey],
        run_id: str,
        step_key: str,
        instance: Callable[[], Instance | None],
        resources: Mapping[str, Any],
        run_tags: Mapping[str, str] | None = None,
        run_asset_selection: frozenset[AssetKey] | None = None,
        direct: bool = False,
        partitions: PartitionScope | None = None,
        input_partitions: Mapping[str, tuple[str, ...] | None] | None = None,
    ) -> None:
        self._assets_def = assets_def
        self._partitions = partitions
        self._input_partitions = dict(input_partitions or {})
        self._selected = selected_asset_keys
        self._run_id = run_id
        self._get_instance = instance
        # Not copied: in a run, reading a resource sets it up (see step.py).
        self._resource_values = resources
        self._resources = _ResourceNamespace(resources)
        self.log = StepLog(step_key)
        self._step_key = step_key
        self._run = RunInfo(
            run_id=run_id, tags=dict(run_tags or {}), asset_selection=run_asset_selection
        )
        self._direct = direct
        # build_asset_context(partition_key= / partition_key_range=): resolved against the
        # asset's partitions definition once the context is bound to it.
        self._direct_partitions: tuple[str | None, PartitionKeyRange | None] | None = None
        self._exit_stack: ExitStack | None = None
        self.output_metadata: dict[AssetKey, dict[str, Any]] = {}

    @property
    def run_id(self) -> str:
        return self._run_id

    @property
    def run(self) -> RunInfo:
        """The run this step belongs to: `context.run.run_id`, `context.run.tags`."""
        if self._direct:
            raise ExecutionError(
                "context.run is not available: this asset function was called directly (with "
                "build_asset_context()), not in a run. Fix: run it with materialize([...]) to "
                "get a run, or read context.run_id, which is 'EPHEMERAL' here."
            )
        return self._run

    @property
    def dagster_run(self) -> RunInfo:
        return self.run

    @property
    def instance(self) -> Instance:
        instance = self._get_instance()
        if instance is None:
            raise ExecutionError(
                "context.instance is not available here: the run's instance is in memory, in "
                "another process. Fix: use an instance on disk (Instance.from_url) or the "
                "in-process executor."
            )
        return instance

    @property
    def resources(self) -> Any:
        """The run's resources, by key: `context.resources.warehouse`."""
        return self._resources

    @property
    def assets_def(self) -> AssetsDefinition:
        return self._bound()

    def _bound(self) -> AssetsDefinition:
        if self._assets_def is None:
            raise ExecutionError(
                "This context, made by build_asset_context(), is not bound to an asset yet. "
                "Fix: pass it to the asset itself, e.g. my_asset(build_asset_context()), "
                "before asking which asset it is for."
            )
        return self._assets_def

    def bind_to_assets_def(self, assets_def: AssetsDefinition) -> AssetExecutionContext:
        """This direct-invocation context, bound to the definition it is passed to."""
        if self._assets_def is assets_def:
            return self
        if self._assets_def is not None:
            raise ExecutionError(
                f"This context is bound to {self._assets_def.node_name} and cannot be passed to "
                f"{assets_def.node_name}. Fix: build one context per asset you call."
            )
        self._assets_def = assets_def
        self._selected = assets_def.keys
        if self._direct_partitions is not None:
            self._partitions = direct_partition_scope(assets_def, *self._direct_partitions)
        return self

    @property
    def resource_values(self) -> Mapping[str, Any]:
        """The resources by key, as a mapping."""
        return self._resource_values

    def __enter__(self) -> AssetExecutionContext:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._exit_stack is not None:
            self._exit_stack.close()
            self._exit_stack = None

    @property
    def asset_key(self) -> AssetKey:
        """The key of the one asset this step computes."""
        self._bound()
        if len(self._selected) != 1:
            names = ", ".join(sorted(k.to_user_string() for k in self._selected))
            raise ExecutionError(
                f"context.asset_key needs a step of exactly one asset; this step computes "
                f"{names}. Fix: use context.selected_asset_keys."
            )
        return next(iter(self._selected))

    @property
    def asset_keys(self) -> frozenset[AssetKey]:
        self._bound()
        return self._selected

    @property
    def selected_asset_keys(self) -> frozenset[AssetKey]:
        """The keys this step must produce (a subset of the definition's when subsetting)."""
        self._bound()
        return self._selected

    @property
    def selected_output_names(self) -> frozenset[str]:
        """The output names of the selected assets (`AssetOut` names for `outs=`)."""
        assets_def = self._bound()
        return frozenset(assets_def.get_output_name_for_asset_key(k) for k in self._selected)

    @property
    def step_key(self) -> str:
        return self._step_key

    @property
    def op_execution_context(self) -> AssetExecutionContext:
        return self

    # Partitions --------------------------------------------------------------
    def _name(self) -> str:
        return ", ".join(sorted(k.to_user_string() for k in self._selected)) or "<unbound>"

    def _scope(self, what: str) -> PartitionScope:
        if self._partitions is None:
            raise ExecutionError(
                f"Asset '{self._name()}' asked for context.{what}, but this step is not "
                "partitioned (the asset has no partitions_def, or the run targets no "
                "partition). Fix: give the asset partitions_def= and run it with "
                "materialize(..., partition_key=...), or check context.has_partition_key first."
            )
        return self._partitions

    @property
    def has_partition_key(self) -> bool:
        """True when the step targets exactly one partition asked for by key."""
        return self._partitions is not None and not self._partitions.is_range

    @property
    def has_partition_key_range(self) -> bool:
        """True when the step targets a range of partitions (Dagster's range run tags)."""
        return self._partitions is not None and self._partitions.is_range

    @property
    def is_partitioned(self) -> bool:
        return self._partitions is not None

    @property
    def partition_key(self) -> str:
        """The partition of this step (a `MultiPartitionKey` for multi definitions)."""
        scope = self._scope("partition_key")
        if scope.is_range:
            raise ExecutionError(
                f"Asset '{self._name()}' asked for context.partition_key, but the run targets "
                f"the range {scope.keys[0]}...{scope.keys[-1]}. Fix: read "
                "context.partition_key_range or context.partition_keys instead."
            )
        return scope.keys[0]

    @property
    def partition_keys(self) -> list[str]:
        return list(self._scope("partition_keys").keys)

    @property
    def partition_key_range(self) -> PartitionKeyRange:
        return self._scope("partition_key_range").key_range

    @property
    def asset_partition_key_range(self) -> PartitionKeyRange:
        return self.partition_key_range

    @property
    def partition_time_window(self) -> TimeWindow:
        return self._scope("partition_time_window").time_window(self._name())

    @property
    def asset_partitions_def(self) -> PartitionsDefinition:
        return self._scope("asset_partitions_def").partitions_def

    def asset_partition_key_for_output(self, output_name: str = "result") -> str:
        return self._output_scope(output_name, "asset_partition_key_for_output").keys[0]

    def asset_partition_keys_for_output(self, output_name: str = "result") -> list[str]:
        return list(self._output_scope(output_name, "asset_partition_keys_for_output").keys)

    def asset_partition_key_range_for_output(
        self, output_name: str = "result"
    ) -> PartitionKeyRange:
        return self._output_scope(output_name, "asset_partition_key_range_for_output").key_range

    def asset_partitions_time_window_for_output(self, output_name: str = "result") -> TimeWindow:
        scope = self._output_scope(output_name, "asset_partitions_time_window_for_output")
        return scope.time_window(self._name())

    def _output_scope(self, output_name: str, what: str) -> PartitionScope:
        scope = self._scope(what)
        if what == "asset_partition_key_for_output" and len(scope.keys) > 1:
            raise ExecutionError(
                f"Asset '{self._name()}' asked for context.{what}({output_name!r}), but the "
                f"output has the partition range {scope.keys[0]}...{scope.keys[-1]}. Fix: "
                "read context.asset_partition_keys_for_output() instead."
            )
        return scope

    def _input_keys(self, input_name: str, what: str) -> tuple[str, ...]:
        if input_name not in self._input_partitions:
            names = sorted(self._input_partitions)
            raise ExecutionError(
                f"Asset '{self._name()}' asked for context.{what}({input_name!r}), but it has "
                f"no partitioned input of that name (its partitioned inputs: {names}). Fix: "
                "pass the name of a parameter whose upstream asset is partitioned."
            )
        keys = self._input_partitions[input_name]
        assert keys is not None
        return keys

    def asset_partition_key_for_input(self, input_name: str) -> str:
        keys = self._input_keys(input_name, "asset_partition_key_for_input")
        if len(keys) != 1:
            raise ExecutionError(
                f"Asset '{self._name()}' asked for context.asset_partition_key_for_input("
                f"{input_name!r}), but the input reads {len(keys)} partitions "
                f"({keys[0]}...{keys[-1]}). Fix: read "
                "context.asset_partition_keys_for_input() instead."
            )
        return keys[0]

    def asset_partition_keys_for_input(self, input_name: str) -> list[str]:
        return list(self._input_keys(input_name, "asset_partition_keys_for_input"))

    def asset_partition_key_range_for_input(self, input_name: str) -> PartitionKeyRange:
        keys = self._input_keys(input_name, "asset_partition_key_range_for_input")
        return PartitionKeyRange(keys[0], keys[-1])

    def add_output_metadata(
        self,
        metadata: Mapping[str, Any],
        output_name: str | None = None,
        asset_key: Any = None,
    ) -> None:
        """Attach metadata to the materialization of an asset of this step."""
        if asset_key is not None:
            key = coerce_key(asset_key)
        elif output_name is not None:
            key = self._bound().get_asset_key_for_output_name(output_name)
        else:
            key = self.asset_key
        self.output_metadata.setdefault(key, {}).update(metadata)

    def add_asset_metadata(self, metadata: Mapping[str, Any], asset_key: Any = None) -> None:
        self.add_output_metadata(metadata, asset_key=asset_key)


def build_asset_context(
    resources: Mapping[str, Any] | None = None,
    resources_config: Mapping[str, Any] | None = None,
    asset_config: Mapping[str, Any] | None = None,
    instance: Instance | None = None,
    partition_key: str | None = None,
    partition_key_range: Any = None,
    run_tags: Mapping[str, str] | None = None,
    event_loop: Any = None,
) -> AssetExecutionContext:
    """A context for calling an asset function directly, as in a unit test.

    `ConfigurableResource`s are set up as in a run; use the context in a `with` block
    to tear them down again. `context.instance` is the given instance, else an
    ephemeral one.

    Example:
        >>> from sheer import asset
        >>> @asset
        ... def orders(context):
        ...     return context.run_id
        >>> orders(build_asset_context())
        'EPHEMERAL'
    """
    unsupported = {
        "resources_config": resources_config,
        "asset_config": asset_config,
        "event_loop": event_loop,
    }
    given = sorted(name for name, value in unsupported.items() if value is not None)
    if given:
        raise ExecutionError(
            f"build_asset_context() got {', '.join(given)}, which Sheer does not support yet "
            "(no run config or async assets in direct calls). Fix: leave "
            f"{' and '.join(given)} out; configure resources by constructing them, "
            "and pass them in resources=."
        )
    from sheer.definitions.resources import ConfigurableResource

    stack = ExitStack()
    live = {}
    for name, res in (resources or {}).items():
        if isinstance(res, ConfigurableResource):
            live[name] = stack.enter_context(res.yield_for_execution(None))
        else:
            live[name] = res
    cached: list[Instance] = []

    def get_instance() -> Instance:
        if instance is not None:
            return instance
        if not cached:
            from sheer.instance import Instance

            cached.append(Instance.ephemeral())
        return cached[0]

    context = AssetExecutionContext(
        assets_def=None,
        selected_asset_keys=frozenset(),
        run_id=DIRECT_RUN_ID,
        step_key="direct",
        instance=get_instance,
        resources=live,
        run_tags=run_tags,
        direct=True,
    )
    context._exit_stack = stack
    if partition_key is not None or partition_key_range is not None:
        context._direct_partitions = _direct_partitions(partition_key, partition_key_range)
        context._partitions = _unbound_scope(*context._direct_partitions)
    return context


def _direct_partitions(
    partition_key: str | None, partition_key_range: Any
) -> tuple[str | None, PartitionKeyRange | None]:
    if partition_key is not None and partition_key_range is not None:
        raise ExecutionError(
            "build_asset_context() got both partition_key and partition_key_range. Fix: pass "
            "one: partition_key= for one partition, partition_key_range= for a range."
        )
    if partition_key is not None:
        if not isinstance(partition_key, str) or not partition_key:
            raise ExecutionError(
                f"build_asset_context(partition_key={partition_key!r}): a partition key is a "
                "non-empty string. Fix: pass a key such as '2026-01-02'."
            )
        return partition_key, None
    if not isinstance(partition_key_range, PartitionKeyRange):
        try:
            start, end = partition_key_range
        except (TypeError, ValueError):
            raise ExecutionError(
                f"build_asset_context(partition_key_range={partition_key_range!r}): expected "
                "a PartitionKeyRange. Fix: pass PartitionKeyRange(start, end)."
            ) from None
        partition_key_range = PartitionKeyRange(start, end)
    return None, partition_key_range


class _KeysOnly(PartitionsDefinition):
    """The partitions of a direct call whose context is not bound to an asset yet: just the
    keys it was given (Dagster answers `partition_key` before knowing the asset)."""

    def __init__(self, keys: tuple[str, ...]) -> None:
        self._keys = keys

    def get_partition_keys(
        self, current_time: Any = None, dynamic_partitions_store: Any = None
    ) -> list[str]:
        return list(self._keys)

    def __repr__(self) -> str:
        return f"<the keys given to build_asset_context: {', '.join(self._keys)}>"


def _unbound_scope(key: str | None, key_range: PartitionKeyRange | None) -> PartitionScope:
    if key is not None:
        return PartitionScope(partitions_def=_KeysOnly((key,)), keys=(key,))
    assert key_range is not None
    keys = tuple(dict.fromkeys(key_range))
    return PartitionScope(partitions_def=_KeysOnly(keys), keys=keys, is_range=True)


def direct_partition_scope(
    assets_def: AssetsDefinition, key: str | None, key_range: PartitionKeyRange | None
) -> PartitionScope:
    """The scope of a direct call for the partition (or range) given to
    build_asset_context(), checked against the asset's partitions definition."""
    name = ", ".join(sorted(k.to_user_string() for k in assets_def.keys))
    pdef = assets_def.partitions_def
    asked = f"partition_key={key!r}" if key is not None else f"partition_key_range={key_range}"
    if pdef is None:
        raise ExecutionError(
            f"Asset '{name}' was called with a context built with {asked}, but it has no "
            "partitions_def. Fix: give the asset partitions_def=, or build the context "
            "without a partition."
        )

    def checked(k: str) -> str:
        if not pdef.has_partition_key(k):
            known = pdef.get_partition_keys()
            span = f"from '{known[0]}' to '{known[-1]}'" if known else "none"
            raise ExecutionError(
                f"Asset '{name}' was called with a context built with {asked}, but '{k}' is "
                f"not a partition of {pdef!r} (its keys: {span}). Fix: pass one of its keys."
            )
        from_str = getattr(pdef, "get_partition_key_from_str", None)
        if from_str is None:
            return k
        spelled: str = from_str(k)  # a MultiPartitionKey for multi definitions
        return spelled

    if key is not None:
        return PartitionScope(partitions_def=pdef, keys=(checked(key),))
    assert key_range is not None
    start, end = checked(key_range.start), checked(key_range.end)
    try:
        keys = pdef.get_partition_keys_in_range(PartitionKeyRange(start, end))
    except DefinitionError as exc:
        raise ExecutionError(f"Asset '{name}': {exc}") from None
    return PartitionScope(partitions_def=pdef, keys=tuple(keys), is_range=True)
