"""One automation tick: evaluate every asset's condition over the graph.

Storage is read up front in a few batched queries (the latest records of every
asset, the unfinished runs, and only when a condition needs them, the runs behind
recent updates or failures); conditions are then evaluated in topological order so
`will_be_requested()` of a parent is known when its children are evaluated. The
`AutomationCursor` carries what the next tick needs: the newest event id seen, what
was requested, code versions, condition ids and the state of `since` / `newly_true`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from croniter import croniter

from sheer.automation.conditions import AutomationCondition, DepsCondition, NodeResult
from sheer.events import RunStatus
from sheer.graph import AssetGraph
from sheer.keys import AssetKey, coerce_key
from sheer.selection import AssetSelection
from sheer.storage import LatestRecords

_RECENT_RUNS = 1000  # how far back execution_failed() looks for an asset's latest run


@dataclass(frozen=True, slots=True, kw_only=True)
class AutomationCursor:
    """What one tick hands the next; JSON-serializable (`to_json` / `from_json`)."""

    evaluation_id: int = 0
    evaluation_time: float | None = None
    last_event_id: int = 0
    requested: frozenset[AssetKey] = frozenset()
    code_versions: Mapping[AssetKey, str | None] = field(default_factory=dict)
    condition_ids: Mapping[AssetKey, str] = field(default_factory=dict)
    state: Mapping[str, Mapping[str, bool]] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps({
            "evaluation_id": self.evaluation_id,
            "evaluation_time": self.evaluation_time,
            "last_event_id": self.last_event_id,
            "requested": sorted(k.to_user_string() for k in self.requested),
            "code_versions": {k.to_user_string(): v for k, v in self.code_versions.items()},
            "condition_ids": {k.to_user_string(): v for k, v in self.condition_ids.items()},
            "state": self.state,
        }, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | None) -> AutomationCursor | None:
        if not text:
            return None
        raw = json.loads(text)
        return cls(
            evaluation_id=raw["evaluation_id"],
            evaluation_time=raw["evaluation_time"],
            last_event_id=raw["last_event_id"],
            requested=frozenset(AssetKey(k) for k in raw["requested"]),
            code_versions={AssetKey(k): v for k, v in raw["code_versions"].items()},
            condition_ids={AssetKey(k): v for k, v in raw["condition_ids"].items()},
            state=raw["state"],
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class AssetEvaluation:
    """One asset's evaluation on a tick: the value, whether it was requested, and why."""

    key: AssetKey
    value: bool
    requested: bool
    tree: NodeResult | None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key.to_user_string(), "value": self.value,
                "requested": self.requested, "error": self.error,
                "tree": self.tree.to_json() if self.tree is not None else None}


class AutomationTickResult:
    """What `evaluate_automation_conditions` returns."""

    def __init__(self, evaluations: Mapping[AssetKey, AssetEvaluation], cursor: AutomationCursor,
                 evaluation_time: float) -> None:
        self.results = dict(evaluations)
        self.cursor = cursor
        self.evaluation_time = evaluation_time

    @property
    def total_requested(self) -> int:
        return sum(1 for e in self.results.values() if e.requested)

    def get_num_requested(self, key: Any) -> int:
        e = self.results.get(coerce_key(key))
        return 1 if e is not None and e.requested else 0

    def get_requested_keys(self) -> frozenset[AssetKey]:
        return frozenset(k for k, e in self.results.items() if e.requested)

    def get_evaluation(self, key: Any) -> AssetEvaluation | None:
        return self.results.get(coerce_key(key))

    @property
    def errors(self) -> dict[AssetKey, str]:
        return {k: e.error for k, e in self.results.items() if e.error}


class TickContext:
    """Everything conditions read during one tick, loaded in batches."""

    def __init__(self, graph: AssetGraph, instance: Any, previous: AutomationCursor | None,
                 evaluation_time: float) -> None:
        self.graph = graph
        self.instance = instance
        self.previous = previous
        self.time = evaluation_time
        self.records: dict[AssetKey, LatestRecords] = instance.get_latest_records(None)
        self.requested: set[AssetKey] = set()
        self.root: AssetKey | None = None
        self.root_condition_id: str | None = None
        self.state: dict[str, dict[str, bool]] = {}
        self._in_progress: set[AssetKey] | None = None
        self._run_selections: dict[str, frozenset[AssetKey]] = {}
        self._failed: set[AssetKey] | None = None
        self._selections: dict[int, frozenset[AssetKey]] = {}
        self._missing: dict[AssetKey, bool] = {}
        self.max_event_id = max((self._event_id(r) for r in self.records.values()), default=0)

    @staticmethod
    def _event_id(r: LatestRecords) -> int:
        ids = [x.storage_id for x in (r.materialization, r.observation) if x is not None]
        return max(ids, default=0)

    # Operands --------------------------------------------------------------------
    def operand(self, kind: str, target: AssetKey, path: str) -> bool:
        return getattr(self, f"_op_{kind}")(target)

    def _op_missing(self, key: AssetKey) -> bool:
        known = self._missing.get(key)
        if known is not None:
            return known
        node = self.graph.get(key)
        if node.is_virtual:  # exactly what StaleStatus.MISSING means for a virtual asset
            ancestors = self.graph.non_virtual_ancestors(key)
            if ancestors:
                value = all(self._op_missing(a) for a in ancestors)
            else:
                value = self._latest_update(key, include_observations=False) == 0
        else:
            value = self._latest_update(key, include_observations=node.is_external) == 0
        self._missing[key] = value
        return value

    def _latest_update(self, key: AssetKey, *, include_observations: bool) -> int:
        r = self.records.get(key)
        if r is None:
            return 0
        ids = [r.materialization.storage_id] if r.materialization is not None else []
        if include_observations and r.observation is not None:
            ids.append(r.observation.storage_id)
        return max(ids, default=0)

    def _op_newly_updated(self, key: AssetKey) -> bool:
        if self.previous is None:
            return False
        latest = self._latest_update(key, include_observations=self.graph.get(key).is_external)
        return latest > self.previous.last_event_id

    def _op_in_progress(self, key: AssetKey) -> bool:
        if self._in_progress is None:
            keys: set[AssetKey] = set()
            for status in (RunStatus.QUEUED, RunStatus.STARTED):
                for run in self.instance.get_runs(status=status):
                    keys.update(run.asset_selection)
            self._in_progress = keys
        return key in self._in_progress

    def _op_execution_failed(self, key: AssetKey) -> bool:
        if self._failed is None:
            failed: set[AssetKey] = set()
            seen: set[AssetKey] = set()
            for run in self.instance.get_runs(limit=_RECENT_RUNS):  # newest first
                if not run.is_finished:
                    continue
                for k in run.asset_selection:
                    if k in seen:
                        continue
                    seen.add(k)
                    r = self.records.get(k)
                    updated = r is not None and r.last_run_id == run.run_id
                    if run.status is RunStatus.FAILURE and not updated:
                        failed.add(k)
            self._failed = failed
        return key in self._failed

    def _op_newly_requested(self, key: AssetKey) -> bool:
        return self.previous is not None and key in self.previous.requested

    def _op_will_be_requested(self, key: AssetKey) -> bool:
        return key in self.requested

    def _op_code_version_changed(self, key: AssetKey) -> bool:
        if self.previous is None or key not in self.previous.code_versions:
            return False
        return self.previous.code_versions[key] != self.graph.get(key).code_version

    def _op_initial_evaluation(self, key: AssetKey) -> bool:
        if self.previous is None or self.root is None:
            return True
        return self.previous.condition_ids.get(self.root) != self.root_condition_id

    def _op_in_latest_time_window(self, key: AssetKey) -> bool:
        return True

    def _op_executed_with_root_target(self, key: AssetKey) -> bool:
        r = self.records.get(key)
        if r is None or r.last_run_id is None or self.root is None:
            return False
        run_id = r.last_run_id
        if run_id not in self._run_selections:
            run = self.instance.get_run(run_id)
            self._run_selections[run_id] = frozenset(run.asset_selection) if run else frozenset()
        return self.root in self._run_selections[run_id]

    def cron_tick_passed(self, schedule: str, tz: str) -> bool:
        if self.previous is None or self.previous.evaluation_time is None:
            return False
        zone = ZoneInfo(tz) if tz != "UTC" else timezone.utc
        start = datetime.fromtimestamp(self.previous.evaluation_time, zone)
        nxt = croniter(schedule, start).get_next(datetime)
        return nxt.timestamp() <= self.time

    # Dependencies and state --------------------------------------------------------
    def dependencies(self, target: AssetKey, cond: DepsCondition) -> list[AssetKey]:
        node = self.graph.get(target)
        deps = self.graph.non_virtual_ancestors(target) if cond.through_virtual else node.parent_keys
        if cond.allow_selection is not None:
            deps = deps & self._resolve(cond.allow_selection)
        if cond.ignore_selection is not None:
            deps = deps - self._resolve(cond.ignore_selection)
        return sorted(deps)

    def _resolve(self, selection: AssetSelection) -> frozenset[AssetKey]:
        cached = self._selections.get(id(selection))
        if cached is None:
            cached = selection.resolve(self.graph)
            self._selections[id(selection)] = cached
        return cached

    def previous_state(self, path: str, target: AssetKey) -> bool:
        if self.previous is None or self.root is None:
            return False
        if self.previous.condition_ids.get(self.root) != self.root_condition_id:
            return False  # the condition changed: its old state means nothing
        per_root = self.previous.state.get(self.root.to_user_string(), {})
        return per_root.get(f"{path}@{target.to_user_string()}", False)

    def set_state(self, path: str, target: AssetKey, value: bool) -> None:
        if value and self.root is not None:
            self.state.setdefault(self.root.to_user_string(), {})[
                f"{path}@{target.to_user_string()}"] = True


def evaluate_automation_conditions(
    defs: Any,
    instance: Any,
    asset_selection: Any = None,
    evaluation_time: datetime | float | None = None,
    cursor: AutomationCursor | None = None,
) -> AutomationTickResult:
    """Evaluate every automation condition once (one tick) and say what to request.

    Pass the previous result's `cursor` to the next call. Nothing is launched or
    recorded here; the daemon does that.

    Example:
        >>> # result = evaluate_automation_conditions(defs=defs, instance=instance)
        >>> # result = evaluate_automation_conditions(defs=defs, instance=instance,
        >>> #                                         cursor=result.cursor)
    """
    graph: AssetGraph = defs if isinstance(defs, AssetGraph) else defs.resolve_asset_graph()
    now = _timestamp(evaluation_time)
    ctx = TickContext(graph, instance, cursor, now)
    targets = _targets(graph, asset_selection)
    evaluations: dict[AssetKey, AssetEvaluation] = {}
    condition_ids: dict[AssetKey, str] = {}
    for key in graph.toposorted_asset_keys:
        if key not in targets:
            continue
        node = graph.get(key)
        condition: AutomationCondition = node.automation_condition
        condition_ids[key] = condition.unique_id
        evaluations[key] = _evaluate_one(ctx, key, condition, node.is_materializable)
    new_cursor = AutomationCursor(
        evaluation_id=(cursor.evaluation_id + 1) if cursor else 1,
        evaluation_time=now,
        last_event_id=max(ctx.max_event_id, cursor.last_event_id if cursor else 0),
        requested=frozenset(ctx.requested),
        code_versions={k: graph.get(k).code_version for k in targets},
        condition_ids=condition_ids,
        state=ctx.state,
    )
    return AutomationTickResult(evaluations, new_cursor, now)


def _evaluate_one(ctx: TickContext, key: AssetKey, condition: AutomationCondition,
                  materializable: bool) -> AssetEvaluation:
    ctx.root = key
    ctx.root_condition_id = condition.unique_id
    try:
        tree = condition.evaluate(ctx, key, "r")
    except Exception as exc:  # one bad condition fails its asset, not the tick
        ctx.state.pop(key.to_user_string(), None)
        return AssetEvaluation(key=key, value=False, requested=False, tree=None,
                               error=f"Evaluating the automation condition of "
                                     f"'{key.to_user_string()}' failed: {type(exc).__name__}: {exc}")
    requested = tree.value and materializable
    if requested:
        ctx.requested.add(key)
    return AssetEvaluation(key=key, value=tree.value, requested=requested, tree=tree)


def _targets(graph: AssetGraph, selection: Any) -> set[AssetKey]:
    keys: Iterable[AssetKey] = (graph.get_all_asset_keys() if selection is None
                                else AssetSelection.from_coercible(selection).resolve(graph))
    return {k for k in keys if isinstance(graph.get(k).automation_condition, AutomationCondition)}


def _timestamp(value: datetime | float | None) -> float:
    if value is None:
        return time.time()
    if isinstance(value, datetime):
        return value.timestamp()
    return float(value)
