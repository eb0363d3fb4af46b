"""Running a selection: plan it, record the run, drive an executor, record every event.

The coordinator (`_Recorder`) is the only writer: it writes STEP_START when a step
is handed to the executor, and one transaction per finished step with its
materializations (data version, code version, provenance), log lines and the step's
end. Versions of everything the run reads are fetched in one batched query first.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sheer.definitions.assets import AssetsDefinition
from sheer.definitions.definitions import Definitions
from sheer.definitions.specs import AssetSpec
from sheer.errors import ExecutionError, StepExecutionError
from sheer.events import (
    AssetMaterialization,
    EventRecord,
    EventType,
    RunStatus,
    metadata_event_data,
)
from sheer.execution.context import StepLog
from sheer.execution.executors import Executor, coerce_executor, in_process_executor
from sheer.execution.io_managers import (
    FilesystemIOManager,
    InMemoryIOManager,
    InputContext,
    IOManager,
    validate_stored_assets,
)
from sheer.execution.partition_versions import PartitionVersions
from sheer.execution.plan import ExecutionPlan, Step, build_plan
from sheer.execution.run_partitions import (
    PARTITION_TAG,
    check_upstream_partitions,
    resolve_run_partitions,
)
from sheer.execution.step import StepOutcome, StepRunner, TeardownFailure, io_manager_key_of
from sheer.graph import AssetGraph
from sheer.instance import Instance
from sheer.keys import AssetKey, coerce_key
from sheer.selection import AssetSelection, KeysSelection, OrSelection
from sheer.storage import NewEvent
from sheer.versioning import (
    VersionView,
    derived_data_version,
    stored_version,
    unique_data_version,
)


class ExecutionResult:
    """What `materialize` returns: success, the run id, events and the values computed."""

    def __init__(
        self,
        *,
        run_id: str,
        success: bool,
        instance: Instance,
        graph: AssetGraph,
        runner: StepRunner,
        outcomes: Mapping[str, StepOutcome],
        plan: ExecutionPlan,
    ) -> None:
        self.run_id = run_id
        self.success = success
        self._instance = instance
        self._graph = graph
        self._runner = runner
        self._outcomes = dict(outcomes)
        self._plan = plan

    @property
    def instance(self) -> Instance:
        return self._instance

    @property
    def all_events(self) -> list[EventRecord]:
        return self._instance.get_event_records(run_id=self.run_id)

    def get_asset_materialization_events(self) -> list[EventRecord]:
        return self._instance.get_event_records(EventType.ASSET_MATERIALIZATION, run_id=self.run_id)

    def get_step_failure_events(self) -> list[EventRecord]:
        return self._instance.get_event_records(EventType.STEP_FAILURE, run_id=self.run_id)

    def get_step_skipped_events(self) -> list[EventRecord]:
        return self._instance.get_event_records(EventType.STEP_SKIPPED, run_id=self.run_id)

    @property
    def failed_step_keys(self) -> list[str]:
        return sorted(k for k, o in self._outcomes.items() if not o.success)

    def asset_value(self, asset_key: Any) -> Any:
        """The value an asset of this run produced (loaded through its IO manager if needed)."""
        key = coerce_key(asset_key)
        if key in self._runner.values:
            return self._runner.values[key]
        if key not in self._plan.selected_keys:
            raise ExecutionError(
                f"Asset '{key.to_user_string()}' was not part of run {self.run_id[:8]}. "
                "Fix: ask for one of the assets the run materialized.",
                key=key,
            )
        node = self._graph.get(key)
        scope = self._runner._scope_of(node.spec.partitions_def)
        keys = scope.keys if scope is not None else None
        if node.is_virtual:
            self._runner.open()
            try:
                return self._runner.input_value(key, key, "result", _NullLog(), keys)
            finally:
                self._runner.close()
        self._runner.open()
        try:
            return self._runner.io_manager_for(key).load_input(
                InputContext(
                    asset_key=key,
                    downstream_asset_key=None,
                    run_id=self.run_id,
                    name="result",
                    asset_partition_keys=keys or (),
                    asset_partitions_def=node.spec.partitions_def if keys else None,
                )
            )
        finally:
            self._runner.close()

    def asset_materializations_for_node(self, node_name: str) -> list[AssetMaterialization]:
        """The materializations a step of this run recorded, typed as Dagster's are
        (`.metadata["rows"].value`), by the definition's node name."""
        keys = {
            k for s in self._plan.steps if s.assets_def.node_name == node_name for k in s.asset_keys
        }
        return [
            mat
            for record in self.get_asset_materialization_events()
            if record.asset_key in keys and (mat := record.asset_materialization) is not None
        ]

    def output_for_node(self, node_str: str, output_name: str = "result") -> Any:
        """The value of one output of a step, by the definition's node name."""
        for step in self._plan.steps:
            if step.assets_def.node_name == node_str:
                if output_name == "result" and len(step.assets_def.specs) == 1:
                    return self.asset_value(step.assets_def.specs[0].key)
                return self.asset_value(step.assets_def.get_asset_key_for_output_name(output_name))
        names = sorted({s.assets_def.node_name for s in self._plan.steps})
        raise ExecutionError(
            f"No step named {node_str!r} in run {self.run_id[:8]}; steps: {names}."
        )

    def __repr__(self) -> str:
        return f"<ExecutionResult {self.run_id[:8]} success={self.success}>"


class _NullLog(StepLog):
    """A step log that keeps and emits nothing (reading a virtual asset's value again)."""

    def __init__(self) -> None:
        super().__init__("")

    def _log(self, level: int, msg: str, *args: Any) -> None:
        pass

    def __getattr__(self, name: str) -> Any:  # any other logger call is a no-op too
        return lambda *a, **k: None


class RunListener:
    """Told about a run's progress after each event is recorded (e.g. a progress display).

    Override what you need; every method does nothing by default.
    """

    def run_started(self, run_id: str, plan: ExecutionPlan) -> None:
        """The run was recorded and its plan is about to execute."""

    def step_started(self, step: Step) -> None:
        """A step was handed to the executor."""

    def step_finished(self, step: Step, outcome: StepOutcome) -> None:
        """A step succeeded or failed (`outcome.success`)."""

    def step_skipped(self, step: Step) -> None:
        """A step was skipped because an upstream step failed."""


class _Recorder:
    """Records a run's steps as the executor reports them."""

    def __init__(
        self,
        instance: Instance,
        graph: AssetGraph,
        run_id: str,
        versions: VersionView,
        listener: RunListener | None = None,
    ) -> None:
        self.instance = instance
        self.graph = graph
        self.run_id = run_id
        self.versions = versions
        self.listener = listener or RunListener()
        self.outcomes: dict[str, StepOutcome] = {}
        self.partition_versions = PartitionVersions(graph, instance, versions)

    def _step_event(
        self, step: Step, event_type: EventType, message: str, data: Mapping[str, Any]
    ) -> NewEvent:
        """A step event; single-asset steps carry their asset key."""
        return NewEvent(
            event_type=event_type,
            run_id=self.run_id,
            timestamp=time.time(),
            asset_key=step.asset_keys[0] if len(step.asset_keys) == 1 else None,
            step_key=step.key,
            message=message,
            data=data,
        )

    def on_step_start(self, step: Step) -> None:
        names = [k.to_user_string() for k in step.asset_keys]
        message = f"Step {step.key} started ({', '.join(names)})."
        self.instance.store_events(
            [self._step_event(step, EventType.STEP_START, message, {"asset_keys": names})]
        )
        self.listener.step_started(step)

    def on_step_done(self, step: Step, outcome: StepOutcome) -> None:
        self.outcomes[step.key] = outcome
        events = [self._log_event(step, line) for line in outcome.logs]
        timing = {
            "started_at": outcome.started_at,
            "finished_at": outcome.finished_at,
            "duration": outcome.finished_at - outcome.started_at,
        }
        if outcome.success:
            events += [
                self._materialization(step, out, partition)
                for out in outcome.outputs
                for partition in out.partitions
            ]
            message = f"Step {step.key} succeeded in {timing['duration']:.3f}s."
            events.append(self._step_event(step, EventType.STEP_SUCCESS, message, timing))
        else:
            assert outcome.error is not None
            names = ", ".join(k.to_user_string() for k in step.asset_keys)
            message = f"Step {step.key} failed for {names}: {outcome.error.one_line()}"
            data = {**timing, "error": outcome.error.to_json()}
            events.append(self._step_event(step, EventType.STEP_FAILURE, message, data))
        events += [self._teardown_event(f, step.key) for f in outcome.teardown_failures]
        self.instance.store_events(events)
        self.listener.step_finished(step, outcome)

    def on_teardown_failed(self, failure: TeardownFailure) -> None:
        self.instance.store_events([self._teardown_event(failure, None)])

    def _teardown_event(self, failure: TeardownFailure, step_key: str | None) -> NewEvent:
        """A warning, as Dagster's engine event "Teardown of resources [x] failed.": the
        steps are done, so it changes no step's outcome."""
        return NewEvent(
            event_type=EventType.LOG_MESSAGE,
            run_id=self.run_id,
            timestamp=time.time(),
            step_key=step_key,
            message=failure.message,
            data={
                "level": "WARNING",
                "resource": failure.resource,
                "error": failure.error.to_json(),
            },
        )

    def on_step_skipped(self, step: Step, failed_upstream: str) -> None:
        self.outcomes[step.key] = StepOutcome(
            step_key=step.key, success=False, started_at=0.0, finished_at=0.0
        )
        message = f"Step {step.key} skipped: upstream step {failed_upstream} failed."
        data = {"failed_upstream": failed_upstream}
        self.instance.store_events([self._step_event(step, EventType.STEP_SKIPPED, message, data)])
        self.listener.step_skipped(step)

    def _log_event(self, step: Step, line: Mapping[str, Any]) -> NewEvent:
        return NewEvent(
            event_type=EventType.LOG_MESSAGE,
            run_id=self.run_id,
            timestamp=line["timestamp"],
            step_key=step.key,
            message=line["message"],
            data={"level": line["level"]},
        )

    def _materialization(self, step: Step, out: Any, partition: str | None) -> NewEvent:
        key = out.asset_key
        node = self.graph.get(key)
        # Read now, not at step start: the step's earlier outputs (in topological order)
        # have updated their versions, so an output that depends on a sibling records the
        # sibling's new version. Nothing else it reads can change while its step runs:
        # every selected asset it reads, directly or through virtual assets, ran before.
        entities = self.partition_versions
        prov = (
            entities.provenance(key, partition)
            if partition is not None or entities.reads_partitions(key)
            else self.versions.provenance(key)
        )
        if node.is_virtual and (partition is not None or entities.reads_partitions(key)):
            version = entities.version_of_virtual(key, partition)
        elif node.is_virtual:
            version = self.versions.version(key)  # a view's version is its inputs' and code's
        elif out.data_version is not None:
            version = out.data_version
        elif node.code_version is not None:
            version = derived_data_version(node.code_version, prov.input_versions)
        else:
            version = unique_data_version()
        if not node.is_virtual and partition is None:
            # The version view holds unpartitioned entities; a partition's version is
            # recorded on its event and read back per entity by the resolvers.
            self.versions.update(key, version)
        elif not node.is_virtual and partition is not None:
            entities.update(key, partition, version)
        return NewEvent(
            event_type=EventType.ASSET_MATERIALIZATION,
            run_id=self.run_id,
            timestamp=time.time(),
            asset_key=key,
            partition=partition,
            step_key=step.key,
            message=f"Materialized '{key.to_user_string()}'"
            + (f" [{partition}]" if partition is not None else "")
            + (" (virtual)" if node.is_virtual else ""),
            data={
                **metadata_event_data(out.metadata),
                "data_version": version,
                "code_version": node.code_version,
                "provenance": prov.to_json(),
                "tags": dict(out.tags),
                "is_virtual": node.is_virtual,
                "stored": out.stored,
                "user_data_version": out.data_version is not None,
            },
        )


def _version_keys(graph: AssetGraph, selected: Iterable[AssetKey]) -> set[AssetKey]:
    """Every non-virtual asset whose version the run's provenance may need: the nearest
    non-virtual ancestors of each selected asset (a selected virtual asset's too)."""
    needed: set[AssetKey] = set()
    for key in selected:
        needed |= graph.non_virtual_ancestors(key)
    return needed


def _is_explicit(selection: Any) -> bool:
    """Whether `selection` only names keys (keys, or unions of keys): iteratively, as a
    union of 50,000 keys is a chain that deep."""
    todo = [selection]
    while todo:
        item = todo.pop()
        if isinstance(item, OrSelection):
            todo.extend((item.left, item.right))
        elif not isinstance(item, KeysSelection):
            return False
    return True


def resolve_run_selection(graph: AssetGraph, selection: Any) -> frozenset[AssetKey]:
    """The executable keys a run targets; naming a lineage-only asset explicitly is an error."""
    if selection is None:
        return graph.materializable_asset_keys
    sel = AssetSelection.from_coercible(selection)
    keys = sel.resolve(graph)
    not_runnable = sorted(k for k in keys if not graph.get(k).is_materializable)
    if not_runnable and _is_explicit(sel):
        k = not_runnable[0]
        node = graph.get(k)
        if node.is_virtual:
            what = "a virtual asset with no function (an AssetSpec): it is a lineage node only"
            then = "select the assets around it and Sheer orders them through it"
        elif node.is_observable:
            what = (
                "an observable source asset: it is observed, not materialized (use sheer.observe)"
            )
            then = "the assets that read it use its stored value"
        else:
            what = (
                "an external asset (an AssetSpec with no function): it is updated by "
                "reports and observations, not runs"
            )
            then = "the assets that read it use its stored value"
        raise ExecutionError(
            f"Asset '{k.to_user_string()}' cannot be materialized: it is {what}. Fix: leave it "
            f"out of the selection; {then}.",
            key=k,
        )
    return frozenset(k for k in keys if graph.get(k).is_materializable)


def _validate_io_managers(graph: AssetGraph, resources: Mapping[str, Any]) -> None:
    """Let each IO manager check the assets it stores (e.g. two keys, one table)."""
    validate_stored_assets(graph, resources)


def plan_selection(defs: Definitions, selection: Any = None) -> ExecutionPlan:
    """The plan a run of `selection` would execute (for dry runs)."""
    graph = defs.resolve_asset_graph()
    chosen = resolve_run_selection(graph, selection)
    if not chosen:
        raise ExecutionError(
            "The selection contains no asset that can be materialized. "
            "Fix: select assets defined with @asset or @multi_asset."
        )
    return build_plan(graph, chosen)


def execute_selection(
    defs: Definitions,
    selection: Any = None,
    *,
    instance: Instance | None = None,
    resources: Mapping[str, Any] | None = None,
    executor: Executor | str | None = None,
    raise_on_error: bool = True,
    tags: Mapping[str, str] | None = None,
    run_id: str | None = None,
    listener: RunListener | None = None,
    partition_key: str | None = None,
) -> ExecutionResult:
    """Plan and run `selection` of `defs`, recording everything in `instance`.

    `partition_key=` (or the tag `dagster/partition`) runs every selected partitioned
    asset for that partition; the tags `dagster/asset_partition_range_start` / `_end`
    run them for a range, both ends included, in one step each."""
    instance = instance if instance is not None else Instance.ephemeral()
    graph = defs.resolve_asset_graph()
    chosen = resolve_run_selection(graph, selection)
    if not chosen:
        raise ExecutionError(
            "The selection contains no asset that can be materialized. "
            "Fix: select assets defined with @asset or @multi_asset."
        )
    plan = build_plan(graph, chosen)
    scope = resolve_run_partitions(
        graph,
        chosen,
        partition_key=partition_key,
        tags=tags or {},
        dynamic_partitions_store=instance,
    )
    if scope is not None:
        check_upstream_partitions(graph, chosen, scope, _stored_partitions(instance))
        if not scope.is_range:
            tags = {**(tags or {}), PARTITION_TAG: scope.keys[0]}
    exe = coerce_executor(executor if executor is not None else defs.executor)
    all_resources = {
        "io_manager": FilesystemIOManager(base_dir=str(instance.storage_directory)),
        **defs.resources,
        **(resources or {}),
    }
    exe.check(all_resources)
    _validate_io_managers(graph, all_resources)
    records = instance.get_latest_records(_version_keys(graph, chosen))

    def stored(key: AssetKey) -> str | None:
        r = records.get(key)
        return (
            stored_version(r.materialization, r.observation, graph.get(key).is_external)
            if r
            else None
        )

    existing = instance.get_run(run_id) if run_id is not None else None
    if existing is not None and existing.status is RunStatus.QUEUED:
        # reserved by a launcher (the automation daemon)
        run = instance.claim_run(existing.run_id)
    else:
        run = instance.create_run(chosen, tags=tags, executor=exe.name, run_id=run_id)
    versions = VersionView(graph, stored)
    recorder = _Recorder(instance, graph, run.run_id, versions, listener)
    recorder.listener.run_started(run.run_id, plan)
    url = instance.url
    factory = (
        (lambda: instance)
        if exe.runs_in_process
        else (None if instance.is_in_memory else (lambda: Instance.from_url(url)))
    )
    runner = StepRunner(
        graph=graph,
        run_id=run.run_id,
        resources=all_resources,
        instance_factory=factory,
        keep_values=exe.runs_in_process,
        run_tags=run.tags,
        run_asset_selection=frozenset(chosen),
        partitions=scope,
    )
    try:
        exe.execute(plan, runner, recorder)
    except BaseException as exc:
        instance.finish_run(run.run_id, False, f"The run stopped: {type(exc).__name__}: {exc}")
        raise
    failed = [
        recorder.outcomes[s.key]
        for s in plan.steps
        if s.key in recorder.outcomes and recorder.outcomes[s.key].error is not None
    ]
    success = not failed and len(recorder.outcomes) == len(plan.steps)
    error = _run_error(plan, failed, run.run_id) if failed else None
    instance.finish_run(run.run_id, success, error.message if error else None)
    result = ExecutionResult(
        run_id=run.run_id,
        success=success,
        instance=instance,
        graph=graph,
        runner=runner,
        outcomes=recorder.outcomes,
        plan=plan,
    )
    if error is not None and raise_on_error:
        cause = failed[0].exception
        if cause is not None:
            raise error from cause
        raise error
    return result


def _stored_partitions(instance: Instance) -> Any:
    """`is_stored(pairs)` for `check_upstream_partitions`: which (asset, partition) pairs
    have a materialization, in one indexed read."""

    def is_stored(pairs: Sequence[tuple[AssetKey, str]]) -> set[tuple[AssetKey, str]]:
        records = instance.get_latest_partition_records(
            {k for k, _ in pairs}, {p for _, p in pairs}
        )
        return {pair for pair, r in records.items() if r.materialization}

    return is_stored


def _run_error(
    plan: ExecutionPlan, failed: Sequence[StepOutcome], run_id: str
) -> StepExecutionError:
    first = failed[0]
    assert first.error is not None
    step = next(s for s in plan.steps if s.key == first.step_key)
    names = ", ".join(f"'{k.to_user_string()}'" for k in step.asset_keys)
    more = f" ({len(failed) - 1} more steps failed)" if len(failed) > 1 else ""
    return StepExecutionError(
        f"Asset {names} failed in step {step.key}: {first.error.one_line()}{more}\n"
        f"{first.error.traceback}".rstrip(),
        key=step.asset_keys[0],
        run_id=run_id,
        user_traceback=first.error.traceback,
    )


def materialize(
    assets: Sequence[AssetsDefinition | AssetSpec],
    *,
    instance: Instance | None = None,
    resources: Mapping[str, Any] | None = None,
    selection: Any = None,
    executor: Executor | str | None = None,
    raise_on_error: bool = True,
    tags: Mapping[str, str] | None = None,
    partition_key: str | None = None,
) -> ExecutionResult:
    """Materialize assets, as Dagster's `materialize` does.

    `instance=None` runs on an ephemeral instance. `selection` (keys, a selection or
    a selection string) narrows what runs; the other assets are still in the graph,
    so their stored values are read and virtual ones computed on the fly.

    Example:
        >>> from sheer import asset
        >>> @asset
        ... def a():
        ...     return 1
        >>> materialize([a]).asset_value("a")
        1
    """
    defs = Definitions(assets=list(assets), resources=resources)
    return execute_selection(
        defs,
        selection,
        instance=instance,
        executor=executor,
        raise_on_error=raise_on_error,
        tags=tags,
        partition_key=partition_key,
    )


def materialize_to_memory(
    assets: Sequence[AssetsDefinition | AssetSpec],
    run_config: Any = None,
    instance: Instance | None = None,
    resources: Mapping[str, Any] | None = None,
    partition_key: str | None = None,
    raise_on_error: bool = True,
    tags: Mapping[str, str] | None = None,
    selection: Any = None,
) -> ExecutionResult:
    """Materialize assets in this process, keeping every value in memory, as Dagster's
    `materialize_to_memory` does: each IO manager key the assets use is served by one
    in-memory IO manager, so nothing is written to disk. For tests.

    Example:
        >>> from sheer import asset
        >>> @asset
        ... def a():
        ...     return 1
        >>> materialize_to_memory([a]).asset_value("a")
        1
    """
    if run_config:
        raise ExecutionError(
            "materialize_to_memory got run_config, which Sheer does not support (no run "
            "config). Fix: leave run_config out; configure resources by constructing them."
        )
    defs = Definitions(assets=list(assets), resources=resources)
    graph = defs.resolve_asset_graph()
    io_keys = {"io_manager"} | {io_manager_key_of(n) for n in graph}
    for key in sorted(io_keys):
        if isinstance((resources or {}).get(key), IOManager):
            raise ExecutionError(
                f"materialize_to_memory got an IO manager for '{key}' in resources=, but it "
                "serves every IO manager key from memory, so yours would never be used. "
                "Fix: leave IO managers out of resources=, or use materialize() to run with them."
            )
    memory = InMemoryIOManager()
    return execute_selection(
        defs,
        selection,
        instance=instance,
        resources={key: memory for key in io_keys},
        executor=in_process_executor,
        raise_on_error=raise_on_error,
        tags=tags,
        partition_key=partition_key,
    )
