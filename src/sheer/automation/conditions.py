"""AutomationCondition: immutable trees of operands and operators, with Dagster's names.

This module holds the base class and its builders (`eager()`, `on_cron()`, ...); the
leaves are in `operands.py`, the inner nodes in `operators.py` (and
`any_downstream_conditions()` in `downstream.py`).

A tick evaluates a condition for many assets at once, as Dagster does for the
partitions of one asset: each node's `evaluate(ctx, candidates, node)` takes a set of
candidates and returns the subset for which it is true. A candidate is an (asset
being evaluated, target) pair, encoded by the `TickContext` as one int; the target
is the asset itself, or under `any_deps_match` / `all_deps_match` one of its
dependencies (under `asset_matches(key, ...)`, the asset `key`). `node` is the
condition's place in its root's compiled tree (`EvalNode`: label and state path,
worked out once per condition). The context records what each node found true, and
rebuilds one asset's `NodeResult` tree from that on demand. What the nodes read
(records, runs, the previous tick) comes from the tick's `TickContext`, loaded in a
few batched queries before evaluation.

`.resolve_through_virtual()` makes dependency operators look through virtual parents
to the nearest non-virtual ancestors; on any operator it applies to every dependency
operator inside. `.allow()` / `.ignore()` on `&`, `|`, `~`, `since` and `newly_true`
(and so on every builder made of them) reach the dependency operators inside, as in
Dagster; the two commute. Trees are rewritten by one iterative walk
(`operators.rewrite`), never recursively.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Mapping, Set
from dataclasses import replace
from typing import TYPE_CHECKING, Any, NamedTuple, Self

from croniter import croniter

from sheer.errors import DefinitionError
from sheer.keys import AssetKey, CoercibleToAssetKey, coerce_key

if TYPE_CHECKING:
    from sheer.automation.context import TickContext


# An explanation has one NodeResult per node and per dependency (a whole tick's trees
# are about 700,000 at 20k assets), so results are named tuples: immutable, and
# several times cheaper to create than frozen dataclasses.
class NodeResult(NamedTuple):
    """One node's outcome for one target: the explanation tree of an evaluation."""

    label: str
    value: bool
    children: tuple[NodeResult, ...] = ()
    target: AssetKey | None = None
    note: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"label": self.label, "value": self.value}
        if self.target is not None:
            out["target"] = self.target.to_user_string()
        if self.note:
            out["note"] = self.note
        if self.children:
            out["children"] = [c.to_json() for c in self.children]
        return out


class EvalNode(NamedTuple):
    """A condition's place in a compiled tree: what evaluation needs, computed once."""

    cond: AutomationCondition
    label: str
    path: str  # where the node's state lives in the cursor ("r.1.0")
    children: tuple[EvalNode, ...]


def compile_tree(cond: AutomationCondition, path: str) -> EvalNode:
    """The tree of `EvalNode`s under `cond`, built bottom-up without recursion."""
    todo: list[tuple[AutomationCondition, str, bool]] = [(cond, path, False)]
    done: list[EvalNode] = []
    while todo:
        c, at, children_done = todo.pop()
        if children_done:
            count = len(c.children)
            kids = tuple(done[len(done) - count :]) if count else ()
            del done[len(done) - count :]
            done.append(EvalNode(c, str(c), at, kids))
        else:
            todo.append((c, at, True))
            todo.extend(
                (child, f"{at}.{i}", False) for i, child in reversed(list(enumerate(c.children)))
            )
    return done[0]


class AutomationCondition(ABC):
    """When an asset should be requested; combine with `&`, `|`, `~` and the methods below.

    Example:
        >>> cond = AutomationCondition.eager().resolve_through_virtual()
        >>> str(cond)
        'eager (through virtual)'
    """

    # A cache of `compiled()`, kept out of equality, hashing, repr and pickling (the
    # subclasses are dataclasses; this slot is not one of their fields).
    __slots__ = ("_compiled",)
    label: str | None

    # Evaluation ------------------------------------------------------------------
    @abstractmethod
    def evaluate(self, ctx: TickContext, candidates: set[int], node: EvalNode) -> set[int]:
        """The candidates for which this is true; `node` is its place in the root's tree.

        Children are evaluated through `ctx.evaluate(child_node, candidates)`, which
        records their results for explanations. Every child is evaluated on every
        candidate (no short-circuit), so state inside stays current. `candidates` is
        shared with siblings: never modify it, return a new set.
        """

    def explained_children(
        self, ctx: TickContext, node: EvalNode, pair: int
    ) -> list[tuple[EvalNode, int]]:
        """For explanations: which child nodes were evaluated on which candidate for
        `pair` (by default every child, on `pair` itself)."""
        return [(child, pair) for child in node.children]

    def compiled(self) -> tuple[EvalNode, str]:
        """This condition as the root of a tree: its compiled nodes and its `unique_id`."""
        try:
            return self._compiled  # type: ignore[attr-defined,no-any-return]
        except AttributeError:
            value = (compile_tree(self, "r"), self.unique_id)
            object.__setattr__(self, "_compiled", value)
            return value

    @property
    def children(self) -> tuple[AutomationCondition, ...]:
        return ()

    def _rebuild(self, children: tuple[AutomationCondition, ...]) -> AutomationCondition:
        """A copy with these children (for nodes that have children)."""
        raise TypeError(f"{type(self).__name__} has no sub-conditions to replace")

    @abstractmethod
    def describe(self) -> str:
        """The node's own text when it has no label."""

    @property
    def name(self) -> str:
        """Dagster's name for the node: an operator's kind ("AND"), an operand's text."""
        return self.describe()

    def get_label(self) -> str | None:
        return self.label

    def __str__(self) -> str:
        return self.label or self.describe()

    @property
    def unique_id(self) -> str:
        """Changes whenever the tree changes: a changed condition starts from scratch."""
        return hashlib.sha1(repr(self).encode()).hexdigest()[:16]

    def with_label(self, label: str | None) -> Self:
        return replace(self, label=label)  # type: ignore[type-var]

    def resolve_through_virtual(self) -> AutomationCondition:
        """Dependency operators inside look through virtual parents to non-virtual
        ancestors: every one, at any depth (also inside another dependency operator's
        condition and inside `asset_matches`)."""

        def post(c: AutomationCondition) -> AutomationCondition:
            if isinstance(c, DepsCondition) and not c.through_virtual:
                return replace(c, through_virtual=True)
            return c

        resolved = rewrite(self, post=post)
        suffix = " (through virtual)"
        if (
            resolved.label
            and not isinstance(resolved, DepsCondition)
            and not resolved.label.endswith(suffix)
        ):
            resolved = resolved.with_label(f"{resolved.label}{suffix}")
        return resolved

    def replace(
        self, old: AutomationCondition | str, new: AutomationCondition
    ) -> AutomationCondition:
        """Replace every sub-condition equal to `old`, or whose label or name is `old`,
        with `new` (the root included; a replaced node's own sub-conditions are not
        searched)."""
        if isinstance(old, str):

            def matches(c: AutomationCondition) -> bool:
                return old == c.label or old == c.name
        else:

            def matches(c: AutomationCondition) -> bool:
                return c == old

        return rewrite(self, pre=lambda c: new if matches(c) else None)

    # Operators -------------------------------------------------------------------
    def __and__(self, other: AutomationCondition) -> AutomationCondition:
        return AndCondition(operands=(*flat(self, AndCondition), *flat(other, AndCondition)))

    def __or__(self, other: AutomationCondition) -> AutomationCondition:
        return OrCondition(operands=(*flat(self, OrCondition), *flat(other, OrCondition)))

    def __invert__(self) -> AutomationCondition:
        return NotCondition(operand=self)

    def since(self, reset_condition: AutomationCondition) -> AutomationCondition:
        """True once this became true, until `reset_condition` becomes true."""
        return SinceCondition(trigger=self, reset=reset_condition)

    def newly_true(self) -> AutomationCondition:
        """True only on the tick this goes from false to true."""
        return NewlyTrueCondition(operand=self)

    def since_last_handled(self) -> AutomationCondition:
        """True once this became true since the asset was last requested or updated, or
        since this condition was first evaluated."""
        handled = (
            AutomationCondition.newly_requested()
            | AutomationCondition.newly_updated()
            | AutomationCondition.initial_evaluation()
        ).with_label("handled")
        return self.since(handled)

    # Operands --------------------------------------------------------------------
    @staticmethod
    def missing() -> AutomationCondition:
        """Never materialized (for a virtual asset: none of its non-virtual ancestors is)."""
        return Operand(kind=OperandKind.MISSING)

    @staticmethod
    def newly_updated() -> AutomationCondition:
        """Materialized (or, if external, observed) since the previous tick."""
        return Operand(kind=OperandKind.NEWLY_UPDATED)

    @staticmethod
    def in_progress() -> AutomationCondition:
        """Part of a run that has not finished."""
        return Operand(kind=OperandKind.IN_PROGRESS)

    @staticmethod
    def run_in_progress() -> AutomationCondition:
        return Operand(kind=OperandKind.IN_PROGRESS, label="run_in_progress")

    @staticmethod
    def execution_failed() -> AutomationCondition:
        """The latest run that targeted it failed before materializing it."""
        return Operand(kind=OperandKind.EXECUTION_FAILED)

    @staticmethod
    def newly_requested() -> AutomationCondition:
        """Requested on the previous tick."""
        return Operand(kind=OperandKind.NEWLY_REQUESTED)

    @staticmethod
    def will_be_requested() -> AutomationCondition:
        """Requested on this tick (known for assets evaluated before, i.e. upstream)."""
        return Operand(kind=OperandKind.WILL_BE_REQUESTED)

    @staticmethod
    def code_version_changed() -> AutomationCondition:
        """Its code version differs from the previous tick's."""
        return Operand(kind=OperandKind.CODE_VERSION_CHANGED)

    @staticmethod
    def initial_evaluation() -> AutomationCondition:
        """The first evaluation of this condition (or of a changed one) for the asset."""
        return Operand(kind=OperandKind.INITIAL_EVALUATION)

    @staticmethod
    def in_latest_time_window(lookback_delta: Any = None) -> AutomationCondition:
        """True for unpartitioned assets (partitions come later)."""
        return Operand(kind=OperandKind.IN_LATEST_TIME_WINDOW)

    @staticmethod
    def cron_tick_passed(cron_schedule: str, cron_timezone: str = "UTC") -> AutomationCondition:
        """A tick of the cron schedule passed since the previous evaluation."""
        if not croniter.is_valid(cron_schedule):
            raise DefinitionError(
                f"Invalid cron schedule {cron_schedule!r}. Fix: use five fields, e.g. '0 9 * * *'."
            )
        return CronTickPassed(cron_schedule=cron_schedule, cron_timezone=cron_timezone)

    @staticmethod
    def executed_with_root_target() -> AutomationCondition:
        """The run that last updated it also targeted the asset being evaluated."""
        return Operand(kind=OperandKind.EXECUTED_WITH_ROOT_TARGET)

    @staticmethod
    def data_version_changed() -> AutomationCondition:
        """Its data version differs from the previous tick's (never on its first
        evaluation). A virtual asset's version is computed from its definition and what
        is behind it, so a view's changes when an ancestor's does."""
        return Operand(kind=OperandKind.DATA_VERSION_CHANGED)

    @staticmethod
    def executed_with_tags(
        *, tag_keys: Set[str] | None = None, tag_values: Mapping[str, str] | None = None
    ) -> AutomationCondition:
        """The run of its latest materialization carries every key of `tag_keys` and
        every value of `tag_values`.

        Example:
            >>> str(AutomationCondition.executed_with_tags(tag_keys={"nightly"}))
            'executed_with_tags(tag_keys={nightly})'
        """
        return ExecutedWithTags(tags=RunTags.of(tag_keys, tag_values))

    @staticmethod
    def any_new_update_has_run_tags(
        *, tag_keys: Set[str] | None = None, tag_values: Mapping[str, str] | None = None
    ) -> AutomationCondition:
        """Materialized since the previous tick by at least one run with the tags."""
        return NewUpdatesHaveRunTags(match=UpdatesMatch.ANY, tags=RunTags.of(tag_keys, tag_values))

    @staticmethod
    def all_new_updates_have_run_tags(
        *, tag_keys: Set[str] | None = None, tag_values: Mapping[str, str] | None = None
    ) -> AutomationCondition:
        """Materialized since the previous tick, only by runs with the tags."""
        return NewUpdatesHaveRunTags(match=UpdatesMatch.ALL, tags=RunTags.of(tag_keys, tag_values))

    @staticmethod
    def asset_matches(
        key: CoercibleToAssetKey, condition: AutomationCondition
    ) -> AutomationCondition:
        """True when `condition` holds for the asset `key` (rather than for the target).

        Example:
            >>> str(AutomationCondition.asset_matches("raw/orders", AutomationCondition.missing()))
            'asset_matches(raw/orders, missing)'
        """
        return AssetMatches(key=coerce_key(key), operand=condition)

    @staticmethod
    def any_downstream_conditions() -> AutomationCondition:
        """True where any distinct condition of the assets downstream of the target would
        be, evaluated for the target itself (see `sheer.automation.downstream`)."""
        return AnyDownstreamConditions()

    @staticmethod
    def newly_missing() -> AutomationCondition:
        return AutomationCondition.missing().newly_true().with_label("newly_missing")

    # Dependency operators ----------------------------------------------------------
    @staticmethod
    def any_deps_match(condition: AutomationCondition) -> DepsCondition:
        """True if the condition holds for at least one dependency."""
        return DepsCondition(operand=condition, mode=DepsMode.ANY)

    @staticmethod
    def all_deps_match(condition: AutomationCondition) -> DepsCondition:
        """True if the condition holds for every dependency."""
        return DepsCondition(operand=condition, mode=DepsMode.ALL)

    # Builders ----------------------------------------------------------------------
    @staticmethod
    def any_deps_updated() -> DepsCondition:
        updated = (
            AutomationCondition.newly_updated() & ~AutomationCondition.executed_with_root_target()
        ).with_label("newly_updated_without_root")
        return AutomationCondition.any_deps_match(
            updated | AutomationCondition.will_be_requested()
        ).with_label("any_deps_updated")

    @staticmethod
    def any_deps_missing() -> DepsCondition:
        return AutomationCondition.any_deps_match(
            AutomationCondition.missing() & ~AutomationCondition.will_be_requested()
        ).with_label("any_deps_missing")

    @staticmethod
    def any_deps_in_progress() -> DepsCondition:
        return AutomationCondition.any_deps_match(AutomationCondition.in_progress()).with_label(
            "any_deps_in_progress"
        )

    @staticmethod
    def all_deps_updated_since_cron(
        cron_schedule: str, cron_timezone: str = "UTC"
    ) -> DepsCondition:
        tick = AutomationCondition.cron_tick_passed(cron_schedule, cron_timezone)
        return AutomationCondition.all_deps_match(
            AutomationCondition.newly_updated().since(tick)
            | AutomationCondition.will_be_requested()
        ).with_label(f"all_deps_updated_since_cron({cron_schedule}, {cron_timezone})")

    @staticmethod
    def eager() -> AndCondition:
        """Request when any dependency updates (or the asset goes missing), unless a
        dependency is missing or in progress, or the asset is in progress."""
        return (
            AutomationCondition.in_latest_time_window()
            & (
                AutomationCondition.newly_missing() | AutomationCondition.any_deps_updated()
            ).since_last_handled()
            & ~AutomationCondition.any_deps_missing()
            & ~AutomationCondition.any_deps_in_progress()
            & ~AutomationCondition.in_progress()
        ).with_label("eager")  # type: ignore[return-value]

    @staticmethod
    def on_cron(cron_schedule: str, cron_timezone: str = "UTC") -> AndCondition:
        """Request once per cron tick, after every dependency updated since that tick."""
        return (
            AutomationCondition.in_latest_time_window()
            & AutomationCondition.cron_tick_passed(
                cron_schedule, cron_timezone
            ).since_last_handled()
            & AutomationCondition.all_deps_updated_since_cron(cron_schedule, cron_timezone)
        ).with_label(f"on_cron({cron_schedule}, {cron_timezone})")  # type: ignore[return-value]

    @staticmethod
    def on_missing() -> AndCondition:
        """Request an asset that goes missing after the condition is applied, once its
        dependencies are present."""
        return (
            AutomationCondition.in_latest_time_window()
            & AutomationCondition.missing()
            .newly_true()
            .since_last_handled()
            .with_label("missing_since_last_handled")
            & ~AutomationCondition.any_deps_missing()
        ).with_label("on_missing")  # type: ignore[return-value]


# The node classes subclass AutomationCondition, so they are defined after it; the
# builders above use them only when called.
from sheer.automation.downstream import AnyDownstreamConditions  # noqa: E402
from sheer.automation.operands import (  # noqa: E402
    CronTickPassed,
    ExecutedWithTags,
    NewUpdatesHaveRunTags,
    Operand,
    OperandKind,
    RunTags,
    UpdatesMatch,
)
from sheer.automation.operators import (  # noqa: E402
    AndCondition,
    AssetMatches,
    DepsCondition,
    DepsMode,
    NewlyTrueCondition,
    NotCondition,
    OrCondition,
    SinceCondition,
    flat,
    rewrite,
)

__all__ = [
    "AndCondition",
    "AnyDownstreamConditions",
    "AssetMatches",
    "AutomationCondition",
    "CronTickPassed",
    "DepsCondition",
    "DepsMode",
    "EvalNode",
    "ExecutedWithTags",
    "NewUpdatesHaveRunTags",
    "NewlyTrueCondition",
    "NodeResult",
    "NotCondition",
    "Operand",
    "OperandKind",
    "OrCondition",
    "RunTags",
    "SinceCondition",
    "UpdatesMatch",
]
