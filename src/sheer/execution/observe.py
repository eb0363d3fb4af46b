"""`observe()`: run the observation functions of observable source assets.

Each observation is a step of a run that records an ASSET_OBSERVATION event with the
data version the function saw. Downstream assets go stale when that version changes.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from sheer.definitions.assets import AssetsDefinition
from sheer.definitions.definitions import Definitions
from sheer.definitions.specs import AssetSpec
from sheer.errors import ExecutionError
from sheer.events import EventType, metadata_event_data
from sheer.execution.context import StepLog
from sheer.execution.io_managers import FilesystemIOManager
from sheer.execution.results import ObserveResult
from sheer.execution.step import StepRunner, _error_info
from sheer.instance import Instance
from sheer.selection import AssetSelection
from sheer.storage import NewEvent
from sheer.versioning import DataVersion


def observe(
    assets: Sequence[AssetsDefinition | AssetSpec],
    *,
    instance: Instance | None = None,
    resources: Mapping[str, Any] | None = None,
    selection: Any = None,
    raise_on_error: bool = True,
    tags: Mapping[str, str] | None = None,
) -> bool:
    """Observe the observable source assets among `assets`; returns True on success.

    Example:
        >>> # observe([raw_file], instance=instance)
    """
    defs = Definitions(assets=list(assets), resources=resources)
    return observe_definitions(
        defs, selection, instance=instance, raise_on_error=raise_on_error, tags=tags
    )


def observe_definitions(
    defs: Definitions,
    selection: Any = None,
    *,
    instance: Instance | None = None,
    raise_on_error: bool = True,
    tags: Mapping[str, str] | None = None,
) -> bool:
    instance = instance if instance is not None else Instance.ephemeral()
    graph = defs.resolve_asset_graph()
    keys = (
        AssetSelection.from_coercible(selection).resolve(graph)
        if selection is not None
        else graph.get_all_asset_keys()
    )
    targets = [k for k in graph.toposort(keys) if graph.get(k).is_observable]
    if not targets:
        raise ExecutionError(
            "Nothing to observe: the selection has no observable source asset. "
            "Fix: define one with @observable_source_asset."
        )
    run = instance.create_run(targets, tags=tags, executor="in_process")
    resources_all = {
        "io_manager": FilesystemIOManager(base_dir=str(instance.storage_directory)),
        **defs.resources,
    }
    runner = StepRunner(
        graph=graph,
        run_id=run.run_id,
        resources=resources_all,
        instance_factory=lambda: instance,
        keep_values=False,
    )
    failures: list[str] = []
    runner.open()
    try:
        for key in targets:
            failure = _observe_one(instance, runner, graph.get(key).assets_def, key, run.run_id)
            if failure:
                failures.append(failure)
    finally:
        runner.close()
    instance.finish_run(run.run_id, not failures, failures[0] if failures else None)
    if failures and raise_on_error:
        raise ExecutionError(failures[0])
    return not failures


def _observe_one(
    instance: Instance, runner: StepRunner, assets_def: Any, key: Any, run_id: str
) -> str | None:
    step_key = assets_def.node_name
    name = key.to_user_string()
    instance.store_events(
        [
            NewEvent(
                event_type=EventType.STEP_START,
                run_id=run_id,
                timestamp=time.time(),
                asset_key=key,
                step_key=step_key,
                message=f"Step {step_key} started (observe {name}).",
            )
        ]
    )
    log = StepLog(step_key)
    try:
        result = runner.call_function(assets_def, key, step_key, log)
        version, metadata = _observed(result, name)
    except Exception as exc:
        info = _error_info(exc)
        message = f"Observing '{name}' failed: {info.one_line()}\n{info.traceback}".rstrip()
        instance.store_events(
            [
                NewEvent(
                    event_type=EventType.STEP_FAILURE,
                    run_id=run_id,
                    timestamp=time.time(),
                    asset_key=key,
                    step_key=step_key,
                    message=message,
                    data={"error": info.to_json()},
                )
            ]
        )
        return message
    instance.store_events(
        [
            NewEvent(
                event_type=EventType.ASSET_OBSERVATION,
                run_id=run_id,
                timestamp=time.time(),
                asset_key=key,
                step_key=step_key,
                message=f"Observed '{name}'.",
                data={"data_version": version, **metadata_event_data(metadata)},
            ),
            NewEvent(
                event_type=EventType.STEP_SUCCESS,
                run_id=run_id,
                timestamp=time.time(),
                asset_key=key,
                step_key=step_key,
                message=f"Step {step_key} succeeded.",
            ),
        ]
    )
    return None


def _observed(result: Any, name: str) -> tuple[str | None, Mapping[str, Any]]:
    if isinstance(result, DataVersion):
        return result.value, {}
    if isinstance(result, ObserveResult):
        return (result.data_version.value if result.data_version else None), result.metadata
    if isinstance(result, str) and result:
        return result, {}
    raise ExecutionError(
        f"The observation function of '{name}' returned {type(result).__name__}. Fix: return "
        "DataVersion('...') or ObserveResult(data_version='...', metadata={...})."
    )
