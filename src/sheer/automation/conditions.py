"""AutomationCondition: immutable trees of operands and operators, with Dagster's names.

A tick evaluates a condition for many assets at once, as Dagster does for the
partitions of one asset: each node's `evaluate(ctx, candidates, node)` takes a set of
candidates and returns the subset for which it is true. A candidate is an (asset
being evaluated, target) pair, encoded by the `TickContext` as one int; the target
is the asset itself, or under `any_deps_match` / `all_deps_match` one of its
dependencies. `node` is the condition's place in its root's compiled tree (`EvalNode`:
label and state path, worked out once per condition). The context records what each
node found true, and rebuilds one asset's `NodeResult` tree from that on demand.
What the nodes read (records, runs, the previous tick) comes from the tick's
`TickContext`, loaded in a few batched queries before evaluation.
`.resolve_through_virtual()` makes dependency operators look through virtual
parents to the nearest non-virtual ancestors; on `&`, `|`, `~` and `since` it applies
to every dependency operator inside.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, NamedTuple

from croniter import croniter

from sheer.errors import DefinitionError
from sheer.keys import AssetKey

if TYPE_CHECKING:
    from sheer.automation.evaluator import TickContext
    from sheer.selection import AssetSelection


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


def _compile(cond: AutomationCondition, path: str) -> EvalNode:
    children = tuple(_compile(c, f"{path}.{i}") for i, c in enumerate(cond.children))
    return EvalNode(cond, str(cond), path, children)


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
    # True for the dependency operators: their operand's targets are the dependencies.
    over_dependencies = False

    # Evaluation ------------------------------------------------------------------
    @abstractmethod
    def evaluate(self, ctx: TickContext, candidates: set[int], node: EvalNode) -> set[int]:
        """The candidates for which this is true; `node` is its place in the root's tree.

        Children are evaluated through `ctx.evaluate(child_node, candidates)`, which
        records their results for explanations. Every child is evaluated on every
        candidate (no short-circuit), so state inside stays current. `candidates` is
        shared with siblings: never modify it, return a new set.
        """

    def compiled(self) -> tuple[EvalNode, str]:
        """This condition as the root of a tree: its compiled nodes and its `unique_id`."""
        try:
            return self._compiled  # type: ignore[no-any-return]
        except AttributeError:
            value = (_compile(self, "r"), self.unique_id)
            object.__setattr__(self, "_compiled", value)
            return value

    @property
    def children(self) -> tuple[AutomationCondition, ...]:
        return ()

    @abstractmethod
    def describe(self) -> str:
        """The node's own text when it has no label."""

    def get_label(self) -> str | None:
        return self.label

    def __str__(self) -> str:
        return self.label or self.describe()

    @property
    def unique_id(self) -> str:
        """Changes whenever the tree changes: a changed condition starts from scratch."""
        return hashlib.sha1(repr(self).encode()).hexdigest()[:16]

    def with_label(self, label: str | None) -> AutomationCondition:
        return replace(self, label=label)  # type: ignore[type-var]

    def resolve_through_virtual(self) -> AutomationCondition:
        """Dependency operators inside look through virtual parents to non-virtual ancestors."""
        resolved = self._map_deps(lambda d: replace(d, through_virtual=True))
        suffix = " (through virtual)"
        if (
            resolved.label
            and not isinstance(resolved, DepsCondition)
            and not resolved.label.endswith(suffix)
        ):
            resolved = resolved.with_label(f"{resolved.label}{suffix}")
        return resolved

    def _map_deps(self, fn: Any) -> AutomationCondition:
        return self

    def replace(
        self, old: AutomationCondition | str, new: AutomationCondition
    ) -> AutomationCondition:
        """Replace every sub-condition equal to `old` (or labelled `old`) with `new`."""
        if old == self or (isinstance(old, str) and old == self.label):
            return new
        return self._replace_children(old, new)

    def _replace_children(self, old: Any, new: AutomationCondition) -> AutomationCondition:
        return self

    # Operators -------------------------------------------------------------------
    def __and__(self, other: AutomationCondition) -> AutomationCondition:
        return AndCondition(operands=(*_flat(self, AndCondition), *_flat(other, AndCondition)))

    def __or__(self, other: AutomationCondition) -> AutomationCondition:
        return OrCondition(operands=(*_flat(self, OrCondition), *_flat(other, OrCondition)))

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
        return Operand(kind="missing")

    @staticmethod
    def newly_updated() -> AutomationCondition:
        """Materialized (or, if external, observed) since the previous tick."""
        return Operand(kind="newly_updated")

    @staticmethod
    def in_progress() -> AutomationCondition:
        """Part of a run that has not finished."""
        return Operand(kind="in_progress")

    @staticmethod
    def run_in_progress() -> AutomationCondition:
        return Operand(kind="in_progress", label="run_in_progress")

    @staticmethod
    def execution_failed() -> AutomationCondition:
        """The latest run that targeted it failed before materializing it."""
        return Operand(kind="execution_failed")

    @staticmethod
    def newly_requested() -> AutomationCondition:
        """Requested on the previous tick."""
        return Operand(kind="newly_requested")

    @staticmethod
    def will_be_requested() -> AutomationCondition:
        """Requested on this tick (known for assets evaluated before, i.e. upstream)."""
        return Operand(kind="will_be_requested")

    @staticmethod
    def code_version_changed() -> AutomationCondition:
        """Its code version differs from the previous tick's."""
        return Operand(kind="code_version_changed")

    @staticmethod
    def initial_evaluation() -> AutomationCondition:
        """The first evaluation of this condition (or of a changed one) for the asset."""
        return Operand(kind="initial_evaluation")

    @staticmethod
    def in_latest_time_window(lookback_delta: Any = None) -> AutomationCondition:
        """True for unpartitioned assets (partitions come later)."""
        return Operand(kind="in_latest_time_window")

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
        return Operand(kind="executed_with_root_target")

    @staticmethod
    def newly_missing() -> AutomationCondition:
        return AutomationCondition.missing().newly_true().with_label("newly_missing")

    # Dependency operators ----------------------------------------------------------
    @staticmethod
    def any_deps_match(condition: AutomationCondition) -> DepsCondition:
        """True if the condition holds for at least one dependency."""
        return DepsCondition(operand=condition, mode="any")

    @staticmethod
    def all_deps_match(condition: AutomationCondition) -> DepsCondition:
        """True if the condition holds for every dependency."""
        return DepsCondition(operand=condition, mode="all")

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
    def eager() -> AutomationCondition:
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
        ).with_label("eager")

    @staticmethod
    def on_cron(cron_schedule: str, cron_timezone: str = "UTC") -> AutomationCondition:
        """Request once per cron tick, after every dependency updated since that tick."""
        return (
            AutomationCondition.in_latest_time_window()
            & AutomationCondition.cron_tick_passed(
                cron_schedule, cron_timezone
            ).since_last_handled()
            & AutomationCondition.all_deps_updated_since_cron(cron_schedule, cron_timezone)
        ).with_label(f"on_cron({cron_schedule}, {cron_timezone})")

    @staticmethod
    def on_missing() -> AutomationCondition:
        """Request an asset that goes missing after the condition is applied, once its
        dependencies are present."""
        return (
            AutomationCondition.in_latest_time_window()
            & AutomationCondition.missing()
            .newly_true()
            .since_last_handled()
            .with_label("missing_since_last_handled")
            & ~AutomationCondition.any_deps_missing()
        ).with_label("on_missing")


@dataclass(frozen=True, slots=True)
class Operand(AutomationCondition):
    """A fact about the target read from the tick context (`kind` names which)."""

    kind: str
    label: str | None = None

    def evaluate(self, ctx: TickContext, candidates: set[int], node: EvalNode) -> set[int]:
        return ctx.operand(self.kind, candidates)

    def describe(self) -> str:
        return self.kind


@dataclass(frozen=True, slots=True)
class CronTickPassed(AutomationCondition):
    cron_schedule: str
    cron_timezone: str = "UTC"
    label: str | None = None

    def evaluate(self, ctx: TickContext, candidates: set[int], node: EvalNode) -> set[int]:
        passed = ctx.cron_tick_passed(self.cron_schedule, self.cron_timezone)
        return set(candidates) if passed else set()

    def describe(self) -> str:
        return f"cron_tick_passed({self.cron_schedule}, {self.cron_timezone})"


class _Parent(AutomationCondition):
    """Shared behaviour of nodes with sub-conditions."""

    __slots__ = ()

    def _map_deps(self, fn: Any) -> AutomationCondition:
        return self._rebuild(tuple(c._map_deps(fn) for c in self.children))

    def _replace_children(self, old: Any, new: AutomationCondition) -> AutomationCondition:
        return self._rebuild(tuple(c.replace(old, new) for c in self.children))

    @abstractmethod
    def _rebuild(self, children: tuple[AutomationCondition, ...]) -> AutomationCondition: ...


@dataclass(frozen=True, slots=True)
class AndCondition(_Parent):
    operands: tuple[AutomationCondition, ...]
    label: str | None = None

    @property
    def children(self) -> tuple[AutomationCondition, ...]:
        return self.operands

    def _rebuild(self, children: tuple[AutomationCondition, ...]) -> AutomationCondition:
        return replace(self, operands=children)

    def evaluate(self, ctx: TickContext, candidates: set[int], node: EvalNode) -> set[int]:
        true = set(candidates)
        for child in node.children:
            true &= ctx.evaluate(child, candidates)
        return true

    def describe(self) -> str:
        return " & ".join(_paren(o) for o in self.operands)


@dataclass(frozen=True, slots=True)
class OrCondition(_Parent):
    operands: tuple[AutomationCondition, ...]
    label: str | None = None

    @property
    def children(self) -> tuple[AutomationCondition, ...]:
        return self.operands

    def _rebuild(self, children: tuple[AutomationCondition, ...]) -> AutomationCondition:
        return replace(self, operands=children)

    def evaluate(self, ctx: TickContext, candidates: set[int], node: EvalNode) -> set[int]:
        true: set[int] = set()
        for child in node.children:
            true |= ctx.evaluate(child, candidates)
        return true

    def describe(self) -> str:
        return " | ".join(_paren(o) for o in self.operands)


@dataclass(frozen=True, slots=True)
class NotCondition(_Parent):
    operand: AutomationCondition
    label: str | None = None

    @property
    def children(self) -> tuple[AutomationCondition, ...]:
        return (self.operand,)

    def _rebuild(self, children: tuple[AutomationCondition, ...]) -> AutomationCondition:
        return replace(self, operand=children[0])

    def evaluate(self, ctx: TickContext, candidates: set[int], node: EvalNode) -> set[int]:
        return set(candidates) - ctx.evaluate(node.children[0], candidates)

    def describe(self) -> str:
        return f"~{_paren(self.operand)}"


@dataclass(frozen=True, slots=True)
class SinceCondition(_Parent):
    """True from a tick where `trigger` is true until a tick where `reset` is true; a reset
    on the same tick as a trigger wins."""

    trigger: AutomationCondition
    reset: AutomationCondition
    label: str | None = None

    @property
    def children(self) -> tuple[AutomationCondition, ...]:
        return (self.trigger, self.reset)

    def _rebuild(self, children: tuple[AutomationCondition, ...]) -> AutomationCondition:
        return replace(self, trigger=children[0], reset=children[1])

    def evaluate(self, ctx: TickContext, candidates: set[int], node: EvalNode) -> set[int]:
        trigger = ctx.evaluate(node.children[0], candidates)
        reset = ctx.evaluate(node.children[1], candidates)
        true = (ctx.previous_state(node.path, candidates) | trigger) - reset
        ctx.set_state(node.path, true)
        return true

    def describe(self) -> str:
        return f"({self.trigger}) since ({self.reset})"


@dataclass(frozen=True, slots=True)
class NewlyTrueCondition(_Parent):
    operand: AutomationCondition
    label: str | None = None

    @property
    def children(self) -> tuple[AutomationCondition, ...]:
        return (self.operand,)

    def _rebuild(self, children: tuple[AutomationCondition, ...]) -> AutomationCondition:
        return replace(self, operand=children[0])

    def evaluate(self, ctx: TickContext, candidates: set[int], node: EvalNode) -> set[int]:
        now = ctx.evaluate(node.children[0], candidates)
        true = now - ctx.previous_state(node.path, candidates)
        ctx.set_state(node.path, now)  # the state is the operand's value, not this node's
        return true

    def describe(self) -> str:
        return f"({self.operand}).newly_true()"


@dataclass(frozen=True, slots=True)
class DepsCondition(_Parent):
    """`any_deps_match` / `all_deps_match`: the operand evaluated for each dependency.

    By default the dependencies are the direct parents, virtual ones included. With
    `through_virtual`, each virtual parent is replaced by its nearest non-virtual
    ancestors (`AssetGraph.non_virtual_ancestors`).
    """

    over_dependencies = True
    operand: AutomationCondition
    mode: str  # "any" or "all"
    through_virtual: bool = False
    allow_selection: AssetSelection | None = None
    ignore_selection: AssetSelection | None = None
    label: str | None = None

    @property
    def children(self) -> tuple[AutomationCondition, ...]:
        return (self.operand,)

    def _rebuild(self, children: tuple[AutomationCondition, ...]) -> AutomationCondition:
        return replace(self, operand=children[0])

    def _map_deps(self, fn: Any) -> AutomationCondition:
        inner = replace(self, operand=self.operand._map_deps(fn))
        return fn(inner)

    def allow(self, selection: AssetSelection) -> DepsCondition:
        """Only consider dependencies in `selection`; allowing twice allows either, as in
        Dagster."""
        prior = self.allow_selection
        return replace(self, allow_selection=selection if prior is None else prior | selection)

    def ignore(self, selection: AssetSelection) -> DepsCondition:
        """Do not consider dependencies in `selection`."""
        prior = self.ignore_selection
        return replace(self, ignore_selection=selection if prior is None else prior | selection)

    def evaluate(self, ctx: TickContext, candidates: set[int], node: EvalNode) -> set[int]:
        groups, dep_candidates = ctx.expand_to_dependencies(candidates, self)
        dep_true = ctx.evaluate(node.children[0], dep_candidates)
        if self.mode == "any":
            return {pair for pair, deps in groups if not dep_true.isdisjoint(deps)}
        return {pair for pair, deps in groups if dep_true.issuperset(deps)}

    def describe(self) -> str:
        text = f"{self.mode}_deps_match({self.operand})"
        if self.allow_selection is not None:
            text += f".allow({self.allow_selection})"
        if self.ignore_selection is not None:
            text += f".ignore({self.ignore_selection})"
        return text

    def __str__(self) -> str:
        base = self.label or self.describe()
        return f"{base} (through virtual)" if self.through_virtual else base


def _flat(c: AutomationCondition, kind: type) -> tuple[AutomationCondition, ...]:
    """The operands of an unlabelled `kind` (so `a & b & c` is one node), else `c` itself."""
    return c.operands if isinstance(c, kind) and c.label is None else (c,)  # type: ignore[attr-defined]


def _paren(c: AutomationCondition) -> str:
    text = str(c)
    return f"({text})" if isinstance(c, (AndCondition, OrCondition)) and c.label is None else text
