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

Nothing here recurses over the tree: `str()`, `repr()`, `==` and `hash()` walk it with
explicit stacks (the methods dataclasses generate recurse once per level), so a
condition 100,000 levels deep, or a chain of 50,000 `&` built in a loop, prints,
compares and hashes. Evaluation goes as deep as `MAX_EVALUATION_DEPTH` and refuses
deeper conditions with a `DefinitionError`.
"""

from __future__ import annotations

import functools
import hashlib
from abc import ABC, abstractmethod
from collections.abc import Generator, Mapping, Sequence, Set
from dataclasses import fields, replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any, NamedTuple, Self, TypeAlias

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
    partition: str | None = None  # the target's partition, for a partitioned target

    def to_json(self) -> dict[str, Any]:
        """The tree as nested dicts, built with a stack (each child's dict is placed in
        its parent's list before it is filled in)."""
        root: dict[str, Any] = {}
        todo: list[tuple[NodeResult, dict[str, Any]]] = [(self, root)]
        while todo:
            result, out = todo.pop()
            out["label"] = result.label
            out["value"] = result.value
            if result.target is not None:
                out["target"] = result.target.to_user_string()
            if result.note:
                out["note"] = result.note
            if result.partition is not None:
                out["partition"] = result.partition
            if result.children:
                kids: list[dict[str, Any]] = [{} for _ in result.children]
                out["children"] = kids
                todo.extend(zip(result.children, kids, strict=True))
        return root


# Evaluation goes no deeper: the daemon stores each explanation tree as nested JSON (two
# levels of nesting per node, and JSON's encoder stops near 1,000), and every node's
# label repeats the text of the nodes below it, so labels grow with the depth squared.
MAX_EVALUATION_DEPTH = 300


class EvalNode(NamedTuple):
    """A condition's place in a compiled tree: what evaluation needs, computed once."""

    cond: AutomationCondition
    label: str
    path: str  # where the node's state lives in the cursor ("r.1.0")
    children: tuple[EvalNode, ...]


# What an operator's `steps()` yields: a child node and the candidates to evaluate it
# on; it is sent back the child's true candidates, and returns its own.
Steps: TypeAlias = Generator[tuple["EvalNode", set[int]], set[int], set[int]]


def compile_tree(cond: AutomationCondition, path: str) -> EvalNode:
    """The tree of `EvalNode`s under `cond`, built bottom-up without recursion.

    Raises:
        DefinitionError: `cond` is nested deeper than `MAX_EVALUATION_DEPTH`.
    """
    todo: list[tuple[AutomationCondition, str, int, bool]] = [(cond, path, 1, False)]
    done: list[EvalNode] = []
    while todo:
        c, at, depth, children_done = todo.pop()
        if children_done:
            count = len(c.children)
            kids = tuple(done[len(done) - count :]) if count else ()
            del done[len(done) - count :]
            done.append(EvalNode(c, str(c), at, kids))
            continue
        if depth > MAX_EVALUATION_DEPTH:  # before any label of this path is built
            raise too_deep_error(cond)
        todo.append((c, at, depth, True))
        todo.extend(
            (child, f"{at}.{i}", depth + 1, False)
            for i, child in reversed(list(enumerate(c.children)))
        )
    return done[0]


def depth_of(cond: AutomationCondition) -> int:
    """The number of nodes on the longest path from `cond` down to a leaf."""
    deepest = 0
    todo = [(cond, 1)]
    while todo:
        c, depth = todo.pop()
        deepest = max(deepest, depth)
        todo.extend((child, depth + 1) for child in c.children)
    return deepest


def too_deep_error(cond: AutomationCondition) -> DefinitionError:
    return DefinitionError(
        f"This automation condition is nested {depth_of(cond):,} levels deep, more than "
        f"the {MAX_EVALUATION_DEPTH:,} levels an evaluation goes (its explanation tree is "
        "stored as nested JSON, and each level's label repeats the text of the levels "
        "below it). Fix: nest less: combine many sub-conditions with one chain of `&` or "
        "`|` rather than nesting them, and drop double negations (`~~c` is `c`)."
    )


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
    def evaluate(self, ctx: TickContext, candidates: set[int], node: EvalNode) -> set[int]:
        """The candidates for which this is true; `node` is its place in the root's tree.

        Leaves define it. Operators define `steps()` instead, and this runs them. A node
        may also evaluate its children itself, through `ctx.evaluate(child_node,
        candidates)`, which records their results for explanations. Every child is
        evaluated on every candidate (no short-circuit), so state inside stays current.
        `candidates` is shared with siblings: never modify it, return a new set.
        """
        steps = self.steps(ctx, candidates, node)
        if steps is None:
            raise NotImplementedError(f"{type(self).__name__} defines neither evaluate nor steps")
        return ctx.run_steps(steps)

    def steps(self, ctx: TickContext, candidates: set[int], node: EvalNode) -> Steps | None:
        """An operator's evaluation as a generator (None for a leaf, which `evaluate`s).

        It yields `(child_node, child_candidates)` for each child it needs, is sent back
        the child's true candidates, and returns its own. The tick context runs the
        generators of a whole tree from one explicit stack, so evaluation does not
        recurse, however deep the condition.
        """
        return None

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

    def _describe_pieces(self) -> Sequence[str | AutomationCondition]:
        """The text of `describe()`: literal pieces, and sub-conditions whose `str()`
        goes in their place (an operator's `describe()` joins these)."""
        return [self.describe()]

    def _str_pieces(self) -> Sequence[str | AutomationCondition]:
        """The text of `str()`, as pieces: the label, else what `describe()` says."""
        return [self.label] if self.label else self._describe_pieces()

    @property
    def name(self) -> str:
        """Dagster's name for the node: an operator's kind ("AND"), an operand's text."""
        return self.describe()

    def get_label(self) -> str | None:
        return self.label

    def __str__(self) -> str:
        return render(self._str_pieces())

    def __repr__(self) -> str:
        # Exactly the repr dataclasses generate (`unique_id` hashes it, and cursors store
        # that), built from a stack of pieces.
        out: list[str] = []
        stack: list[object] = [self]
        while stack:
            item = stack.pop()
            if isinstance(item, str):
                out.append(item)
            elif type(item) is tuple:
                inner = [p for i, v in enumerate(item) for p in (", " if i else "", _shown(v))]
                stack.extend(reversed(["(", *inner, "," if len(item) == 1 else "", ")"]))
            elif isinstance(item, AutomationCondition) and _walks(item, "__repr__"):
                pieces: list[object] = [f"{type(item).__qualname__}("]
                for i, name in enumerate(_field_names(type(item), "repr")):
                    pieces += [f"{', ' if i else ''}{name}=", _shown(getattr(item, name))]
                pieces.append(")")
                stack.extend(reversed(pieces))
            else:
                out.append(repr(item))
        return "".join(out)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        pairs: list[tuple[object, object]] = [(self, other)]
        while pairs:
            a, b = pairs.pop()
            if a is b:
                continue
            if isinstance(a, AutomationCondition) and _walks(a, "__eq__"):
                if type(a) is not type(b):
                    return False
                pairs.extend(
                    (getattr(a, name), getattr(b, name))
                    for name in _field_names(type(a), "compare")
                )
            elif type(a) is tuple and type(b) is tuple:
                if len(a) != len(b):
                    return False
                pairs.extend(zip(a, b, strict=True))
            elif a != b:
                return False
        return True

    def __hash__(self) -> int:
        # The pre-order of (kind, plain values, tuple lengths) identifies the tree.
        flat: list[object] = []
        stack: list[object] = [self]
        while stack:
            item = stack.pop()
            if isinstance(item, AutomationCondition) and _walks(item, "__hash__"):
                flat.append(type(item))
                names = _field_names(type(item), "hash")
                stack.extend(getattr(item, name) for name in reversed(names))
            elif type(item) is tuple:
                flat += [tuple, len(item)]
                stack.extend(reversed(item))
            else:
                flat.append(item)
        return hash(tuple(flat))

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
        return AndCondition.join(self, other)

    def __or__(self, other: AutomationCondition) -> AutomationCondition:
        return OrCondition.join(self, other)

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
        """True for the partitions in the latest time window of a time-partitioned asset
        (with `lookback_delta`, a `timedelta`: those within it of the window's end); true
        for every partition of an asset without a time dimension, and for an
        unpartitioned asset."""
        from sheer.automation.operands import InLatestTimeWindow

        if lookback_delta is None or not lookback_delta:
            return Operand(kind=OperandKind.IN_LATEST_TIME_WINDOW)
        if not isinstance(lookback_delta, timedelta):
            raise DefinitionError(
                f"in_latest_time_window(lookback_delta={lookback_delta!r}): expected a "
                "datetime.timedelta. Fix: pass e.g. lookback_delta=timedelta(days=2)."
            )
        return InLatestTimeWindow(lookback_delta=lookback_delta)

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


def render(pieces: Sequence[str | AutomationCondition]) -> str:
    """The text of `pieces`, each sub-condition's own pieces expanded with a stack."""
    out: list[str] = []
    stack: list[str | AutomationCondition] = list(reversed(pieces))
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            out.append(item)
        elif type(item).__str__ is AutomationCondition.__str__:
            stack.extend(reversed(item._str_pieces()))
        else:  # a class with its own __str__
            out.append(str(item))
    return "".join(out)


def _walks(c: AutomationCondition, method: str) -> bool:
    """Whether `c`'s class uses the base's iterative `method` (the operators do; leaves
    keep the dataclass-generated one, which does not recurse into conditions)."""
    return getattr(type(c), method) is getattr(AutomationCondition, method)


@functools.cache
def _field_names(cls: type, use: str) -> tuple[str, ...]:
    """The names of the dataclass fields of `cls` that take part in its repr, its
    equality or its hash (`use`), in order, as the generated methods see them."""
    chosen = []
    for f in fields(cls):
        if use == "repr":
            kept = f.repr
        elif use == "compare":
            kept = f.compare
        else:
            kept = f.hash if f.hash is not None else f.compare
        if kept:
            chosen.append(f.name)
    return tuple(chosen)


def _shown(value: object) -> object:
    """A field value as a piece of `repr()`: kept for the walk if it may hold
    conditions, else its repr."""
    return value if isinstance(value, (AutomationCondition, tuple)) else repr(value)


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
    rewrite,
)

__all__ = [
    "MAX_EVALUATION_DEPTH",
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
