"""Operators: the inner nodes of an `AutomationCondition`, and the one walk that rewrites trees.

Boolean operators, `since`, `newly_true`, the dependency operators (`any_deps_match`,
`all_deps_match`) and `asset_matches`. Each evaluates its children through the tick
context and combines their true candidates. `rewrite` is the only walk that builds
a changed copy of a tree (`replace`, `.allow()` / `.ignore()`,
`.resolve_through_virtual()`): iterative, so a deep condition cannot exhaust the stack,
and sharing every unchanged subtree.

Operators evaluate as generators (`steps()`), which the tick context runs from one
explicit stack. `&` and `|` gather their operands lazily (`joined_operands`), so a
chain built one operator at a time in a loop costs its length once, not its square.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Self

from sheer.automation.conditions import AutomationCondition, Steps, render
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

    def describe(self) -> str:
        return render(self._describe_pieces())

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


class _Chain(_Parent):
    """`&` and `|`: operands in one flat tuple, as in Dagster (each side that is an
    unlabelled node of the same kind brings its operands rather than itself).

    `a & b` only records its two sides (`_joined`); the tuple is gathered on first read
    of `operands`, walking through the sides that were themselves joined and not read.
    Copying the operands on every `&` would make a chain built in a loop quadratic.
    """

    __slots__ = ("_joined",)
    _joined: tuple[AutomationCondition, AutomationCondition] | None  # unset: not joined
    operands: tuple[AutomationCondition, ...]
    label: str | None

    @classmethod
    def join(cls, left: AutomationCondition, right: AutomationCondition) -> Self:
        node = object.__new__(cls)
        object.__setattr__(node, "label", None)
        object.__setattr__(node, "_joined", (left, right))
        return node

    if not TYPE_CHECKING:  # for mypy, `operands` is the field it is

        def __getattr__(self, name: str) -> Any:
            # Called only for an attribute that is not set: `operands` of a joined node.
            if name != "operands" or getattr(self, "_joined", None) is None:
                raise AttributeError(
                    f"{type(self).__name__!r} object has no attribute {name!r}", name=name
                )
            operands = joined_operands(self)
            object.__setattr__(self, "operands", operands)
            object.__setattr__(self, "_joined", None)  # the sides are no longer needed
            return operands

    def _describe_pieces(self) -> Sequence[str | AutomationCondition]:
        pieces: list[str | AutomationCondition] = []
        for i, o in enumerate(self.operands):
            if i:
                pieces.append(self._symbol)
            pieces.extend(_paren(o))
        return pieces

    _symbol = ""


def joined_operands(node: _Chain) -> tuple[AutomationCondition, ...]:
    """The operands of a node made by `&` / `|`: both sides' operands, flattened as
    Dagster does, gathered with a stack through the joined nodes never read."""
    kind, sides = type(node), node._joined
    assert sides is not None, "only the operands of a joined node are gathered"
    out: list[AutomationCondition] = []
    stack: list[AutomationCondition] = [sides[1], sides[0]]
    while stack:
        c = stack.pop()
        if not isinstance(c, kind) or c.label is not None:
            out.append(c)
            continue
        joined = getattr(c, "_joined", None)
        if joined is None:
            out.extend(c.operands)
        else:
            stack.extend(reversed(joined))
    return tuple(out)


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class AndCondition(_Chain):
    operands: tuple[AutomationCondition, ...]
    label: str | None = None
    name = "AND"
    _symbol = " & "

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

    def steps(self, ctx: TickContext, candidates: set[int], node: EvalNode) -> Steps:
        true = set(candidates)
        for child in node.children:
            true &= yield child, candidates
        return true


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class OrCondition(_Chain):
    operands: tuple[AutomationCondition, ...]
    label: str | None = None
    name = "OR"
    _symbol = " | "

    @property
    def children(self) -> tuple[AutomationCondition, ...]:
        return self.operands

    def _rebuild(self, children: tuple[AutomationCondition, ...]) -> AutomationCondition:
        return replace(self, operands=children)

    def steps(self, ctx: TickContext, candidates: set[int], node: EvalNode) -> Steps:
        true: set[int] = set()
        for child in node.children:
            true |= yield child, candidates
        return true


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class NotCondition(_Parent):
    operand: AutomationCondition
    label: str | None = None
    name = "NOT"

    @property
    def children(self) -> tuple[AutomationCondition, ...]:
        return (self.operand,)

    def _rebuild(self, children: tuple[AutomationCondition, ...]) -> AutomationCondition:
        return replace(self, operand=children[0])

    def steps(self, ctx: TickContext, candidates: set[int], node: EvalNode) -> Steps:
        return set(candidates) - (yield node.children[0], candidates)

    def _describe_pieces(self) -> Sequence[str | AutomationCondition]:
        return ["~", *_paren(self.operand)]


@dataclass(frozen=True, slots=True, eq=False, repr=False)
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

    def steps(self, ctx: TickContext, candidates: set[int], node: EvalNode) -> Steps:
        trigger = yield node.children[0], candidates
        reset = yield node.children[1], candidates
        true = (ctx.previous_state(node.path, candidates) | trigger) - reset
        ctx.set_state(node.path, true)
        return true

    def _describe_pieces(self) -> Sequence[str | AutomationCondition]:
        return ["(", self.trigger, ") since (", self.reset, ")"]


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class NewlyTrueCondition(_Parent):
    operand: AutomationCondition
    label: str | None = None
    name = "NEWLY_TRUE"

    @property
    def children(self) -> tuple[AutomationCondition, ...]:
        return (self.operand,)

    def _rebuild(self, children: tuple[AutomationCondition, ...]) -> AutomationCondition:
        return replace(self, operand=children[0])

    def steps(self, ctx: TickContext, candidates: set[int], node: EvalNode) -> Steps:
        now = yield node.children[0], candidates
        true = now - ctx.previous_state(node.path, candidates)
        ctx.set_state(node.path, now)  # the state is the operand's value, not this node's
        return true

    def _describe_pieces(self) -> Sequence[str | AutomationCondition]:
        return ["(", self.operand, ").newly_true()"]


class DepsMode(StoredEnum):
    """Whether a dependency operator needs its condition true for any or all dependencies."""

    ANY = "any"
    ALL = "all"


@dataclass(frozen=True, slots=True, eq=False, repr=False)
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

    def steps(self, ctx: TickContext, candidates: set[int], node: EvalNode) -> Steps:
        groups, dep_candidates = ctx.expand_to_dependencies(candidates, self)
        dep_true = yield node.children[0], dep_candidates
        if self.mode is DepsMode.ANY:
            return {pair for pair, deps in groups if not dep_true.isdisjoint(deps)}
        return {pair for pair, deps in groups if dep_true.issuperset(deps)}

    def describe(self) -> str:
        return render(self._describe_pieces())

    def _describe_pieces(self) -> Sequence[str | AutomationCondition]:
        pieces: list[str | AutomationCondition] = [f"{self.mode.value}_deps_match(", self.operand]
        tail = ")"
        if self.allow_selection is not None:
            tail += f".allow({self.allow_selection})"
        if self.ignore_selection is not None:
            tail += f".ignore({self.ignore_selection})"
        return [*pieces, tail]

    def _str_pieces(self) -> Sequence[str | AutomationCondition]:
        pieces = [self.label] if self.label else self._describe_pieces()
        return [*pieces, " (through virtual)"] if self.through_virtual else pieces


@dataclass(frozen=True, slots=True, eq=False, repr=False)
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

    def steps(self, ctx: TickContext, candidates: set[int], node: EvalNode) -> Steps:
        by_target = {pair: ctx.retarget(pair, self.key) for pair in candidates}
        there = yield node.children[0], set(by_target.values())
        return {pair for pair, other in by_target.items() if other in there}

    def describe(self) -> str:
        return render(self._describe_pieces())

    def _describe_pieces(self) -> Sequence[str | AutomationCondition]:
        return [f"asset_matches({self.key.to_user_string()}, ", self.operand, ")"]


def _paren(c: AutomationCondition) -> list[str | AutomationCondition]:
    """`c` as a piece of its parent's text: in parentheses if an unlabelled `&` / `|`."""
    return ["(", c, ")"] if isinstance(c, _Chain) and c.label is None else [c]
