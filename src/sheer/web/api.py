"""The UI's JSON payloads: pure functions of (definitions, instance) -> dicts.

Each payload is built with batched reads (the whole graph with statuses is one read
of the latest records plus one of the unfinished runs), so the server stays a thin
router over this module and the library.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from sheer.backfills.progress import backfill_json, progress_of
from sheer.definitions.definitions import Definitions
from sheer.events import EventRecord, EventType, RunRecord, RunStatus
from sheer.graph import AssetGraph, AssetNode
from sheer.instance import Instance
from sheer.keys import AssetKey
from sheer.selection import AssetSelection
from sheer.staleness import StaleCause, StaleStatus, StaleStatusResolver
from sheer.storage.automation import TickRecord

_RECENT_RUNS = 200


def redact_url(url: str) -> str:
    """The instance URL as the UI and the banner show it: the password, in the user
    part or as a `password=` query parameter, replaced by ***."""
    try:
        parsed = make_url(url)
    except ArgumentError:  # not a URL we can take apart: show only its scheme
        return url.split("://", 1)[0] + "://***" if "://" in url else "***"
    if "password" in parsed.query:
        parsed = parsed.update_query_dict({"password": "***"})
    return parsed.render_as_string(hide_password=True)


def session_payload(
    defs: Definitions, instance: Instance, *, auth_required: bool
) -> dict[str, Any]:
    """What the page's header shows: the instance (password hidden) and the asset count."""
    return {
        "instance": redact_url(instance.url),
        "assets": len(defs.resolve_asset_graph()),
        "auth_required": auth_required,
    }


def _name(key: AssetKey) -> str:
    return key.to_user_string()


def _condition(node: AssetNode) -> str | None:
    return str(node.automation_condition) if node.automation_condition is not None else None


def _run_states(graph: AssetGraph, instance: Instance) -> dict[AssetKey, str]:
    """'running' for assets of unfinished runs; 'failed' where the latest run that
    targeted an asset failed without materializing it."""
    states: dict[AssetKey, str] = {}
    seen: set[AssetKey] = set()
    failed_in: dict[AssetKey, str] = {}  # asset -> the failed run that targeted it last
    for run in instance.get_runs(limit=_RECENT_RUNS):  # newest first
        for key in run.asset_selection:
            if key in seen or key not in graph:
                continue
            seen.add(key)
            if not run.is_finished:
                states[key] = "running"
            elif run.status is RunStatus.FAILURE:
                failed_in[key] = run.run_id
    # One batched read, of only the assets whose latest run failed: did it materialize them?
    records = instance.get_latest_records(failed_in) if failed_in else {}
    for key, run_id in failed_in.items():
        r = records.get(key)
        if r is None or r.last_run_id != run_id:
            states[key] = "failed"
    return states


def cause_json(cause: StaleCause, asked: AssetKey) -> dict[str, Any]:
    """A cause in Dagster's shape (`key` the entity it is about, `dependency` the one
    it points at), plus `path`: the changed asset, the virtual assets the change was
    seen through, then the asset asked about (empty for an asset's own change)."""
    changed = cause.dependency_asset_key or (cause.asset_key if cause.asset_key != asked else None)
    path = [] if changed is None else [changed, *reversed(cause.via), asked]
    dependency = cause.dependency_asset_key
    return {
        "text": str(cause),
        "category": cause.category.value,
        "reason": cause.reason,
        "key": _name(cause.asset_key),
        "partition": cause.partition_key,
        "dependency": _name(dependency) if dependency is not None else None,
        "via": [_name(k) for k in cause.via],
        "path": [_name(k) for k in path],
    }


def graph_payload(defs: Definitions, instance: Instance) -> dict[str, Any]:
    """Every asset with its definition summary, status, root causes and run state; a
    partitioned asset adds its partition counts by status (`partitions`), all from the
    resolver's one read."""
    graph = defs.resolve_asset_graph()
    resolver = StaleStatusResolver(instance, defs)
    statuses = resolver.get_all()
    states = _run_states(graph, instance)
    assets = []
    for node in graph:
        status = statuses[node.key]
        partitions = None
        if node.spec.partitions_def is not None:
            counts = resolver.get_status_counts(node.key)
            status = partitioned_status(counts)
            partitions = _counts_json(counts)
        stale = status is StaleStatus.STALE and partitions is None
        causes = resolver.get_stale_root_causes(node.key) if stale else []
        assets.append(
            {
                "key": _name(node.key),
                "group": node.group_name,
                "kinds": sorted(node.kinds),
                "is_virtual": node.is_virtual,
                "is_external": node.is_external,
                "is_materializable": node.is_materializable,
                "deps": [_name(k) for k in sorted(node.parent_keys)],
                "code_version": node.code_version,
                "description": node.description,
                "automation_condition": _condition(node),
                "status": status.value,
                "run_state": states.get(node.key),
                "root_causes": [str(c) for c in causes],
                "partitions": partitions,
            }
        )
    edges = [[_name(p), _name(n.key)] for n in graph for p in sorted(n.parent_keys)]
    return {
        "assets": assets,
        "edges": edges,
        "groups": sorted(graph.group_names),
        "generated_at": time.time(),
    }


def partitioned_status(counts: Mapping[StaleStatus, int]) -> StaleStatus:
    """A partitioned asset's status as a whole, as `sheer status` shows it: STALE if any
    partition is, else MISSING if any is, else FRESH (the resolver answers FRESH for a
    partitioned asset asked without a key, as Dagster)."""
    for status in (StaleStatus.STALE, StaleStatus.MISSING):
        if counts.get(status):
            return status
    return StaleStatus.FRESH


def _counts_json(counts: Mapping[StaleStatus, int]) -> dict[str, Any]:
    return {
        "total": sum(counts.values()),
        "counts": {status.value: counts.get(status, 0) for status in StaleStatus},
    }


def asset_payload(defs: Definitions, instance: Instance, key: AssetKey) -> dict[str, Any]:
    """One asset: definition, status and why, and its latest materializations."""
    graph = defs.resolve_asset_graph()
    node = graph.get(key)  # unknown keys raise UnknownAssetError (404)
    resolver = StaleStatusResolver(instance, defs)
    status = resolver.get_status(key)
    version = resolver.get_current_data_version(key)
    partitions_def = node.spec.partitions_def
    partitions = None
    if partitions_def is not None:
        statuses = resolver.get_statuses(key)
        partitions = [{"key": pk, "status": st.value} for pk, st in statuses.items()]
        status = partitioned_status(resolver.get_status_counts(key))
    materializations = [_materialization_json(r) for r in instance.fetch_materializations(key, 10)]
    evaluations = instance.automation.get_evaluations(asset_key=key, limit=1)
    return {
        "key": _name(key),
        "group": node.group_name,
        "kinds": sorted(node.kinds),
        "description": node.description,
        "is_virtual": node.is_virtual,
        "is_external": node.is_external,
        "is_materializable": node.is_materializable,
        "code_version": node.code_version,
        "automation_condition": _condition(node),
        "deps": [_name(k) for k in sorted(node.parent_keys)],
        "children": [_name(k) for k in sorted(node.child_keys)],
        "non_virtual_ancestors": [_name(k) for k in sorted(graph.non_virtual_ancestors(key))],
        "metadata": {k: _plain(v) for k, v in node.metadata.items()},
        "status": status.value,
        "data_version": version.value if version else None,
        "stale_causes": [cause_json(c, key) for c in resolver.get_stale_causes(key)],
        "root_causes": [cause_json(c, key) for c in resolver.get_stale_root_causes(key)],
        "partitions_def": str(partitions_def) if partitions_def is not None else None,
        "partitions": partitions,
        "materializations": materializations,
        "latest_evaluation": (
            {
                "tick_id": evaluations[0].tick_id,
                "value": evaluations[0].value,
                "requested": evaluations[0].requested,
                "error": evaluations[0].error,
                "tree": evaluations[0].tree,
            }
            if evaluations
            else None
        ),
    }


def partition_payload(
    defs: Definitions, instance: Instance, key: AssetKey, partition_key: str
) -> dict[str, Any]:
    """One partition of an asset: its status, data version and why it is stale. A key
    the asset does not have (or any key, for an unpartitioned asset) raises a
    DefinitionError naming the asset and the key (400)."""
    defs.resolve_asset_graph().get(key)  # unknown keys raise UnknownAssetError (404)
    resolver = StaleStatusResolver(instance, defs)
    status = resolver.get_status(key, partition_key=partition_key)
    version = resolver.get_current_data_version(key, partition_key=partition_key)
    causes = resolver.get_stale_causes(key, partition_key=partition_key)
    roots = resolver.get_stale_root_causes(key, partition_key=partition_key)
    return {
        "key": _name(key),
        "partition": partition_key,
        "status": status.value,
        "data_version": version.value if version else None,
        "stale_causes": [cause_json(c, key) for c in causes],
        "root_causes": [cause_json(c, key) for c in roots],
    }


def _plain(value: Any) -> Any:
    plain = (str, int, float, bool, type(None), list, dict)
    return value if isinstance(value, plain) else str(value)


def _materialization_json(r: EventRecord) -> dict[str, Any]:
    prov = r.provenance
    return {
        "storage_id": r.storage_id,
        "run_id": r.run_id,
        "partition": r.partition,
        "timestamp": r.timestamp,
        "data_version": r.data.get("data_version"),
        "code_version": r.code_version,
        "metadata": r.metadata,
        "is_virtual": r.data.get("is_virtual", False),
        "provenance": prov.to_json() if prov else None,
    }


def select_payload(defs: Definitions, text: str) -> dict[str, Any]:
    """The keys a selection string names (bad selections raise SelectionError: 400)."""
    keys = AssetSelection.from_string(text).resolve(defs.resolve_asset_graph())
    return {"selection": text, "keys": sorted(_name(k) for k in keys)}


def run_json(run: RunRecord) -> dict[str, Any]:
    return {
        "run_id": run.run_id,
        "status": run.status.value,
        "created_at": run.created_at,
        "started_at": run.started_at,
        "ended_at": run.ended_at,
        "duration": run.duration,
        "assets": [_name(k) for k in run.asset_selection],
        "tags": dict(run.tags),
        "executor": run.executor,
        "error": run.error,
    }


def runs_payload(instance: Instance, limit: int) -> dict[str, Any]:
    return {"runs": [run_json(r) for r in instance.get_runs(limit=limit)]}


def run_payload(instance: Instance, run: RunRecord) -> dict[str, Any]:
    """A run with its steps (timings, status, error) and every event."""
    events = instance.get_event_records(run_id=run.run_id)
    return {
        "run": run_json(run),
        "steps": _steps(events),
        "events": [_event_json(e) for e in events],
    }


def _event_json(e: EventRecord) -> dict[str, Any]:
    out: dict[str, Any] = {
        "storage_id": e.storage_id,
        "timestamp": e.timestamp,
        "type": e.event_type.value,
        "step": e.step_key,
        "asset": _name(e.asset_key) if e.asset_key else None,
        "message": e.message,
    }
    if e.error:
        out["error"] = _error_json(e.error)
    if e.event_type is EventType.LOG_MESSAGE:
        out["level"] = e.data.get("level")
    return out


def _error_json(error: Any) -> dict[str, Any]:
    """A step's error is a mapping (class, message, traceback); a run's is its text."""
    return dict(error) if isinstance(error, Mapping) else {"message": str(error)}


def _steps(events: Iterable[EventRecord]) -> list[dict[str, Any]]:
    steps: dict[str, dict[str, Any]] = {}
    ends = {
        EventType.STEP_SUCCESS: "success",
        EventType.STEP_FAILURE: "failure",
        EventType.STEP_SKIPPED: "skipped",
    }
    for e in events:
        if e.step_key is None:
            continue
        step = steps.setdefault(
            e.step_key,
            {
                "step": e.step_key,
                "status": "running",
                "started_at": None,
                "finished_at": None,
                "duration": None,
                "assets": [],
                "error": None,
            },
        )
        if e.event_type is EventType.STEP_START:
            step["started_at"] = e.timestamp
            step["assets"] = list(e.data.get("asset_keys", []))
        elif e.event_type in ends:
            step["status"] = ends[e.event_type]
            step["finished_at"] = e.timestamp
            step["duration"] = e.data.get("duration")
            if e.error:
                step["error"] = _error_json(e.error)
    return list(steps.values())


def _tick_json(t: TickRecord) -> dict[str, Any]:
    return {
        "tick_id": t.tick_id,
        "timestamp": t.timestamp,
        "status": t.status,
        "evaluation_id": t.evaluation_id,
        "requested": [_name(k) for k in t.requested],
        "run_ids": list(t.run_ids),
        "error": t.error,
        "duration": t.duration,
    }


def ticks_payload(instance: Instance, limit: int) -> dict[str, Any]:
    ticks = instance.automation.get_ticks(limit=limit)
    return {"ticks": [_tick_json(t) for t in ticks]}


def tick_payload(instance: Instance, tick_id: int, limit: int) -> dict[str, Any] | None:
    """One tick and its recorded evaluations; None when there is no such tick."""
    found = instance.automation.get_ticks(limit=1, before_id=tick_id + 1)
    if not found or found[0].tick_id != tick_id:
        return None
    return {
        "tick": _tick_json(found[0]),
        **evaluations_payload(instance, tick_id=tick_id, limit=limit),
    }


def evaluations_payload(
    instance: Instance,
    *,
    tick_id: int | None = None,
    asset_key: AssetKey | None = None,
    limit: int = 100,
) -> dict[str, Any]:
    evaluations = instance.automation.get_evaluations(
        tick_id=tick_id, asset_key=asset_key, limit=limit
    )
    return {
        "evaluations": [
            {
                "tick_id": e.tick_id,
                "key": _name(e.asset_key),
                "value": e.value,
                "requested": e.requested,
                "error": e.error,
                "tree": e.tree,
            }
            for e in evaluations
        ]
    }


def backfills_payload(instance: Instance, limit: int) -> dict[str, Any]:
    """The newest backfills with their progress: two queries however many there are
    (the backfills, then every one's counts at once)."""
    records = instance.backfills.get_backfills(limit=limit)
    counts = instance.backfills.count_entities([r.backfill_id for r in records])
    return {"backfills": [backfill_json(r, progress_of(r, counts[r.backfill_id])) for r in records]}


def backfill_payload(instance: Instance, backfill_id: str) -> dict[str, Any] | None:
    """One backfill with its progress per asset; None when there is no such backfill."""
    record = instance.backfills.get_backfill(backfill_id)
    if record is None:
        return None
    counts = instance.backfills.count_entities([backfill_id])[backfill_id]
    return backfill_json(record, progress_of(record, counts))
