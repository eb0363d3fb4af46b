"""Operators: the inner nodes of an `AutomationCondition`, and the one walk that rewrites trees.

Boolean operators, `since`, `newly_true`, the dependency operators (`any_deps_match`,
`all_deps_match`) and `asset_matches`. Each evaluates its children through the tick
context and combines their true candidates. `rewrite` is the only walk that builds
a changed copy of a tree (`replace`, `.allow()` / `.ignore()`,
`.resolve_through_virtual()`): iterative, so a deep condition cannot exhaust the stack,
and sharing every unchanged subtree.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from sheer.automation.conditions import AutomationCondition
from sheer.automation.operands import StoredEnum
from sheer.errors import DefinitionError
from sheer.keys import AssetKey

if TYPE_CHECKING:
    from sheer.automation.conditions import EvalNode
    from sheer.automation.context import TickContext
    from sheer.selection import AssetSelection

Visit = Callable[[AutomationCondition], AutomationCondition | None]


def rewrite(
    root: AutomationCondition,
    *,
    pre: Visit | None = None,
    post: Callable[[AutomationCondition], AutomationCondition] | None = None,
) -> AutomationCondition:
    """A copy of `root` with nodes rewritten, parents after their children.

    `pre(node)` is asked first: a condition it returns takes the node's place whole
    (its subtree is not visited); None goes on into the node's children. `post(node)`
    then rewrites each node, once its children are rebuilt. Unchanged subtrees are
    kept as they are (same objects).
    """
    todo: list[tuple[AutomationCondition, bool]] = [(root, False)]
    done: list[AutomationCondition] = []  # rewritten nodes, in the order of the walk
    while todo:
        node, children_done = todo.pop()
        if children_done:
            count = len(node.children)
            kids = tuple(done[len(done) - count :])
            del done[len(done) - count :]
            if any(new is not old for new, old in zip(kids, node.children, strict=True)):
                node = node._rebuild(kids)
            done.append(post(node) if post is not None else node)
            continue
        whole = pre(node) if pre is not None else None
        if whole is not None:
            done.append(whole)
        elif node.children:
            todo.append((node, True))
            todo.extend((child, False) for child in reversed(node.children))
        else:
            done.append(post(node) if post is not None else node)
    (out,) = done
    return out


class _Parent(AutomationCondition):
    """A node with sub-conditions; `.allow()` / `.ignore()` reach the dependency
    operators inside (not those nested in a dependency operator's condition, whose
    dependencies are a level further up, nor inside `asset_matches`), as in Dagster."""

    __slots__ = ()

    @abstractmethod
    def _rebuild(self, children: tuple[AutomationCondition, ...]) -> AutomationCondition: ...

    def allow(self, selection: AssetSelection) -> AutomationCondition:
        """Every dependency operator inside considers only dependencies in `selection`."""
        return self._push(lambda deps: deps.allow(selection))

    def ignore(self, selection: AssetSelection) -> AutomationCondition:
        """Every dependency operator inside disregards dependencies in `selection`."""
        return self._push(lambda deps: deps.ignore(selection))

    def _push(self, fn: Callable[[DepsCondition], DepsCondition]) -> AutomationCondition:
        def pre(c: AutomationCondition) -> AutomationCondition | None:
            if isinstance(c, DepsCondition):
                return fn(c)
            return c if isinstance(c, AssetMatches) else None

        return rewrite(self, pre=pre)


@dataclass(frozen=True, slots=True)
class AndCondition(_Parent):
    operands: tuple[AutomationCondition, ...]
    label: str | None = None
    name = "AND"

    @property
    def children(self) -> tuple[AutomationCondition, ...]:
        return self.operands

    def _rebuild(self, children: tuple[AutomationCondition, ...]) -> AutomationCondition:
        return replace(self, operands=children)

    def without(self, condition: AutomationCondition) -> AndCondition:
        """A copy without the operand equal to `condition` (at least two must remain).

        Example:
            >>> from sheer.automation.conditions import AutomationCondition as AC
            >>> str(AC.eager().without(~AC.any_deps_missing()))
            'eager'
        """
        kept = tuple(o for o in self.operands if o != condition)
        if len(kept) == len(self.operands):
            listed = ", ".join(str(o) for o in self.operands)
            raise DefinitionError(
                f"without({condition}): it is not one of the operands of {self} ({listed}). "
                "Fix: pass one of those operands, built the same way."
            )
        if len(kept) < 2:
            raise DefinitionError(
                f"without({condition}) would leave {self} with fewer than two operands. "
                "Fix: use the remaining operand itself instead."
            )
        return replace(self, operands=kept)

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
    name = "OR"

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
    name = "NOT"

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
    name = "SINCE"

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
    name = "NEWLY_TRUE"

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


class DepsMode(StoredEnum):
    """Whether a dependency operator needs its condition true for any or all dependencies."""

    ANY = "any"
    ALL = "all"


@dataclass(frozen=True, slots=True)
class DepsCondition(AutomationCondition):
    """`any_deps_match` / `all_deps_match`: the operand evaluated for each dependency.

    By default the dependencies are the direct parents, virtual ones included. With
    `through_virtual`, each virtual parent is replaced by its nearest non-virtual
    ancestors (`AssetGraph.non_virtual_ancestors`). `allow_selection` keeps only the
    dependencies it selects, `ignore_selection` drops those it selects.
    """

    operand: AutomationCondition
    mode: DepsMode
    through_virtual: bool = False
    allow_selection: AssetSelection | None = None
    ignore_selection: AssetSelection | None = None
    label: str | None = None

    @property
    def name(self) -> str:
        return f"{self.mode.value.upper()}_DEPS_MATCH"

    @property
    def children(self) -> tuple[AutomationCondition, ...]:
        return (self.operand,)

    def _rebuild(self, children: tuple[AutomationCondition, ...]) -> AutomationCondition:
        return replace(self, operand=children[0])

    def explained_children(
        self, ctx: TickContext, node: EvalNode, pair: int
    ) -> list[tuple[EvalNode, int]]:
        return [(node.children[0], dep) for dep in ctx.dependency_pairs(pair, self)]

    def allow(self, selection: AssetSelection) -> DepsCondition:
        """Only consider dependencies in `selection`; allowing twice allows either, as in
        Dagster (the newer selection first)."""
        prior = self.allow_selection
        return replace(self, allow_selection=selection if prior is None else selection | prior)

    def ignore(self, selection: AssetSelection) -> DepsCondition:
        """Do not consider dependencies in `selection`; ignoring twice ignores both."""
        prior = self.ignore_selection
        return replace(self, ignore_selection=selection if prior is None else selection | prior)

    def evaluate(self, ctx: TickContext, candidates: set[int], node: EvalNode) -> set[int]:
        groups, dep_candidates = ctx.expand_to_dependencies(candidates, self)
        dep_true = ctx.evaluate(node.children[0], dep_candidates)
        if self.mode is DepsMode.ANY:
            return {pair for pair, deps in groups if not dep_true.isdisjoint(deps)}
        return {pair for pair, deps in groups if dep_true.issuperset(deps)}

    def describe(self) -> str:
        text = f"{self.mode.value}_deps_match({self.operand})"
        if self.allow_selection is not None:
            text += f".allow({self.allow_selection})"
        if self.ignore_selection is not None:
            text += f".ignore({self.ignore_selection})"
        return text

    def __str__(self) -> str:
        base = self.label or self.describe()
        return f"{base} (through virtual)" if self.through_virtual else base


@dataclass(frozen=True, slots=True)
class AssetMatches(AutomationCondition):
    """`asset_matches(key, condition)`: the condition evaluated for another asset, `key`;
    true for every candidate when it holds there."""

    key: AssetKey
    operand: AutomationCondition
    label: str | None = None

    @property
    def name(self) -> str:
        return self.key.to_user_string()

    @property
    def children(self) -> tuple[AutomationCondition, ...]:
        return (self.operand,)

    def _rebuild(self, children: tuple[AutomationCondition, ...]) -> AutomationCondition:
        return replace(self, operand=children[0])

    def explained_children(
        self, ctx: TickContext, node: EvalNode, pair: int
    ) -> list[tuple[EvalNode, int]]:
        return [(node.children[0], ctx.retarget(pair, self.key))]

    def evaluate(self, ctx: TickContext, candidates: set[int], node: EvalNode) -> set[int]:
        by_target = {pair: ctx.retarget(pair, self.key) for pair in candidates}
        there = ctx.evaluate(node.children[0], set(by_target.values()))
        return {pair for pair, other in by_target.items() if other in there}

    def describe(self) -> str:
        return f"asset_matches({self.key.to_user_string()}, {self.operand})"


def flat(c: AutomationCondition, kind: type) -> tuple[AutomationCondition, ...]:
    """The operands of an unlabelled `kind` (so `a & b & c` is one node), else `c` itself."""
    return c.operands if isinstance(c, kind) and c.label is None else (c,)  # type: ignore[attr-defined]


def _paren(c: AutomationCondition) -> str:
    text = str(c)
    return f"({text})" if isinstance(c, (AndCondition, OrCondition)) and c.label is None else text
