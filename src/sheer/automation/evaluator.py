"""One automation tick: evaluate every asset's condition over the graph.

Storage is read up front in a few batched queries (see `TickContext`). Assets are then
evaluated in batches: the assets that share a condition and sit at the same depth of
the graph (so none is upstream of another) are evaluated together, over sets, and the
batches run in depth order, so `will_be_requested()` of every dependency is known when
an asset is evaluated. A batch that raises is evaluated again asset by asset, so a bad
condition fails only its own asset's evaluation (so does one nested deeper than
`MAX_EVALUATION_DEPTH`, before anything is evaluated). Explanation trees are rebuilt on
demand from what the tick recorded. The new `AutomationCursor` carries what the next
tick needs.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sheer.automation.conditions import AutomationCondition, NodeResult
from sheer.automation.context import TickContext
from sheer.automation.cursor import AutomationCursor
from sheer.automation.entities import EntityTickContext
from sheer.automation.index import GraphIndex
from sheer.errors import DefinitionError
from sheer.graph import AssetGraph
from sheer.keys import AssetKey, coerce_key
from sheer.selection import AssetSelection

__all__ = [
    "AssetEvaluation",
    "AutomationCursor",
    "AutomationTickResult",
    "evaluate_automation_conditions",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class AssetEvaluation:
    """One asset's evaluation on a tick: the value, whether it was requested, and why.

    `tree` (which sub-condition was true, for which dependency) is rebuilt from the
    tick's records on first access.
    """

    key: AssetKey
    value: bool
    requested: bool
    error: str | None = None
    # the partitions requested ({None} for an unpartitioned asset that is requested)
    requested_partitions: frozenset[str | None] = frozenset()
    explainer: _Explainer | None = field(default=None, repr=False, compare=False)

    @property
    def tree(self) -> NodeResult | None:
        if self.explainer is None or self.error is not None:
            return None
        return self.explainer.tree(self.key)

    def to_json(self) -> dict[str, Any]:
        tree = self.tree
        return {
            "key": self.key.to_user_string(),
            "value": self.value,
            "requested": self.requested,
            "requested_partitions": sorted(
                (p for p in self.requested_partitions if p is not None), key=str
            ),
            "error": self.error,
            "tree": tree.to_json() if tree is not None else None,
        }


class _Explainer:
    """Builds (once) each asset's explanation tree from a finished tick's context."""

    def __init__(self, ctx: TickContext) -> None:
        self._ctx = ctx
        self._trees: dict[AssetKey, NodeResult | None] = {}

    def fingerprints(self) -> dict[AssetKey, str]:
        keys = self._ctx.ix.keys
        return {keys[r]: digest for r, digest in self._ctx.fingerprints().items()}

    def tree(self, key: AssetKey) -> NodeResult | None:
        if key not in self._trees:
            gc_was_enabled = gc.isenabled()
            gc.disable()  # a tree is many small objects and no cycles (see below)
            try:
                self._trees[key] = self._ctx.explain(key)
            finally:
                if gc_was_enabled:
                    gc.enable()
        return self._trees[key]


class AutomationTickResult:
    """What `evaluate_automation_conditions` returns."""

    def __init__(
        self,
        evaluations: Mapping[AssetKey, AssetEvaluation],
        cursor: AutomationCursor,
        evaluation_time: float,
        explainer: _Explainer | None = None,
    ) -> None:
        self.results = dict(evaluations)
        self.cursor = cursor
        self.evaluation_time = evaluation_time
        self._explainer = explainer

    def fingerprints(self) -> dict[AssetKey, str]:
        """A digest of each evaluated asset's explanation tree, without building the trees:
        what the daemon compares to record only the evaluations that changed."""
        return {} if self._explainer is None else self._explainer.fingerprints()

    @property
    def total_requested(self) -> int:
        """The entities requested: each requested partition counts, as in Dagster."""
        return sum(len(e.requested_partitions) for e in self.results.values() if e.requested)

    def get_num_requested(self, key: Any) -> int:
        """How many entities of the asset are requested (1 for an unpartitioned asset)."""
        e = self.results.get(coerce_key(key))
        return len(e.requested_partitions) if e is not None and e.requested else 0

    def get_requested_partitions(self, key: Any) -> set[str | None]:
        """The requested partition keys of the asset; `{None}` for a requested
        unpartitioned asset, as in Dagster."""
        e = self.results.get(coerce_key(key))
        return set(e.requested_partitions) if e is not None and e.requested else set()

    def get_requested_keys(self) -> frozenset[AssetKey]:
        return frozenset(k for k, e in self.results.items() if e.requested)

    def get_evaluation(self, key: Any) -> AssetEvaluation | None:
        return self.results.get(coerce_key(key))

    @property
    def errors(self) -> dict[AssetKey, str]:
        return {k: e.error for k, e in self.results.items() if e.error}


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
    # A tick allocates many small objects and creates no cycles: the cyclic garbage
    # collector would only rescan them over and over.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        context = EntityTickContext if graph.has_partitions else TickContext
        ctx = context(graph, instance, cursor, now)
        ix = ctx.ix
        targets = _targets(graph, ix, asset_selection)
        values: dict[int, bool] = {}
        errors: dict[int, str] = {}
        ids = _condition_ids(ix, targets, errors)
        for roots, condition in _batches(ix, [i for i in targets if i in ids], ids):
            _evaluate_batch(ctx, roots, condition, values, errors)
        explainer = _Explainer(ctx)
        requested_assets = {ctx.ix.index[k] for k in ctx.requested}
        evaluations = {
            ix.keys[i]: AssetEvaluation(
                key=ix.keys[i],
                value=values.get(i, False),
                requested=i in requested_assets,
                requested_partitions=ctx.requested_partition_keys(i),
                error=errors.get(i),
                explainer=explainer,
            )
            for i in targets
        }
    finally:
        if gc_was_enabled:
            gc.enable()
    new_cursor = AutomationCursor(
        evaluation_id=(cursor.evaluation_id + 1) if cursor else 1,
        evaluation_time=now,
        last_event_id=max(ctx.max_event_id, cursor.last_event_id if cursor else 0),
        requested=frozenset(ctx.requested),
        code_versions={ix.keys[i]: ix.code_versions[i] for i in targets},
        condition_ids={ix.keys[i]: ids.get(i) or ix.conditions[i].unique_id for i in targets},
        state=ctx.state,
        data_versions={ix.keys[i]: v for i, v in ctx.data_versions.items()},
        requested_partitions=(
            {k: tuple(v) for k, v in ctx.requested_partitions.items()}
            if isinstance(ctx, EntityTickContext)
            else {}
        ),
        partition_versions=(ctx.partition_versions if isinstance(ctx, EntityTickContext) else {}),
    )
    return AutomationTickResult(evaluations, new_cursor, now, explainer)


def _evaluate_batch(
    ctx: TickContext,
    roots: list[int],
    condition: AutomationCondition,
    values: dict[int, bool],
    errors: dict[int, str],
) -> None:
    root, condition_id = condition.compiled()
    try:
        true = ctx.evaluate_roots(roots, root, condition_id)
    except Exception as exc:  # one bad condition fails its asset, not the tick
        if len(roots) > 1:  # find which assets fail, one by one
            for r in roots:
                _evaluate_batch(ctx, [r], condition, values, errors)
            return
        (r,) = roots
        ctx.forget(r)
        errors[r] = (
            f"Evaluating the automation condition of '{ctx.ix.names[r]}' "
            f"failed: {type(exc).__name__}: {exc}"
        )
        return
    materializable = ctx.ix.materializable
    for r in roots:
        value = values[r] = r in true
        if value and r in materializable:
            ctx.mark_requested(r)


def _condition_ids(ix: GraphIndex, targets: list[int], errors: dict[int, str]) -> dict[int, str]:
    """Each target's condition id, from its compiled tree; a condition that cannot be
    compiled (nested too deep) is the target's error instead."""
    ids: dict[int, str] = {}
    for i in targets:
        try:
            ids[i] = ix.conditions[i].compiled()[1]
        except DefinitionError as exc:
            errors[i] = (
                f"Evaluating the automation condition of '{ix.names[i]}' "
                f"failed: {type(exc).__name__}: {exc}"
            )
    return ids


def _batches(
    ix: GraphIndex, targets: list[int], ids: dict[int, str]
) -> Iterator[tuple[list[int], AutomationCondition]]:
    """The targets grouped by depth and condition (equal conditions share a batch):
    shallowest first, and in each batch no asset is upstream of another."""
    groups: dict[tuple[int, str], list[int]] = {}
    for i in targets:  # topological order, so each group's first is its earliest
        groups.setdefault((ix.depth[i], ids[i]), []).append(i)
    for depth_and_id in sorted(groups, key=lambda g: (g[0], groups[g][0])):
        roots = groups[depth_and_id]
        yield roots, ix.conditions[roots[0]]


def _targets(graph: AssetGraph, ix: GraphIndex, selection: Any) -> list[int]:
    """The indices of the assets to evaluate (those with a condition), in order."""
    chosen = (
        None if selection is None else (AssetSelection.from_coercible(selection).resolve(graph))
    )
    return [
        i
        for i, c in enumerate(ix.conditions)
        if isinstance(c, AutomationCondition) and (chosen is None or ix.keys[i] in chosen)
    ]


def _timestamp(value: datetime | float | None) -> float:
    if value is None:
        return time.time()
    if isinstance(value, datetime):
        return value.timestamp()
    return float(value)
