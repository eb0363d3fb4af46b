"""`any_downstream_conditions()`: the conditions of the assets downstream, evaluated here.

For a target X, the distinct automation conditions of every asset downstream of X
(children, their children, ...) are each evaluated as if they were X's own; the node
is true where any of them is. As in Dagster, a nested `any_downstream_conditions()`
inside an unlabelled `&` / `|` of a downstream condition is read as false (the outer
one already covers what it would add), and a condition that is already one of the
node's ancestors in the tree being evaluated is skipped, so expansion stops.

The children of this node depend on the target, so they are compiled on demand by
`DownstreamNodes` (one per tick), each under a `DownstreamCondition` that names the
assets carrying it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from sheer.automation.conditions import AutomationCondition, compile_tree
from sheer.automation.operators import AndCondition, OrCondition
from sheer.keys import AssetKey

if TYPE_CHECKING:
    from sheer.automation.conditions import EvalNode
    from sheer.automation.context import TickContext
    from sheer.automation.index import GraphIndex


@dataclass(frozen=True, slots=True)
class AnyDownstreamConditions(AutomationCondition):
    """True where any distinct condition of the assets downstream of the target is."""

    label: str | None = None
    name = "ANY_DOWNSTREAM_CONDITIONS"

    def evaluate(self, ctx: TickContext, candidates: set[int], node: EvalNode) -> set[int]:
        groups: dict[int, tuple[EvalNode, set[int]]] = {}
        for pair in candidates:
            for child in ctx.downstream_nodes(node, pair):
                groups.setdefault(id(child), (child, set()))[1].add(pair)
        true: set[int] = set()
        for child, pairs in groups.values():
            true |= ctx.evaluate(child, pairs)
        return true

    def explained_children(
        self, ctx: TickContext, node: EvalNode, pair: int
    ) -> list[tuple[EvalNode, int]]:
        return [(child, pair) for child in ctx.downstream_nodes(node, pair)]

    def describe(self) -> str:
        return "any_downstream_conditions"


@dataclass(frozen=True, slots=True)
class DownstreamCondition(AutomationCondition):
    """One downstream condition under `any_downstream_conditions()`, named after the
    assets that carry it; true where the condition is."""

    keys: tuple[AssetKey, ...]
    operand: AutomationCondition
    label: str | None = None

    @property
    def children(self) -> tuple[AutomationCondition, ...]:
        return (self.operand,)

    def _rebuild(self, children: tuple[AutomationCondition, ...]) -> AutomationCondition:
        return DownstreamCondition(keys=self.keys, operand=children[0], label=self.label)

    def evaluate(self, ctx: TickContext, candidates: set[int], node: EvalNode) -> set[int]:
        return ctx.evaluate(node.children[0], candidates)

    def describe(self) -> str:
        return ", ".join(k.to_user_string() for k in self.keys)


def without_nested(cond: AutomationCondition) -> AutomationCondition | None:
    """`cond` with each `any_downstream_conditions()` under unlabelled `&` / `|` read as
    false and the operators collapsed; None when the whole condition is false.
    Labelled sub-conditions are kept whole, so explanations keep their labels."""
    todo: list[tuple[AutomationCondition, bool]] = [(cond, False)]
    done: list[AutomationCondition | None] = []
    while todo:
        c, children_done = todo.pop()
        if not children_done:
            if c.label is not None:
                done.append(c)
            elif isinstance(c, AnyDownstreamConditions):
                done.append(None)
            elif isinstance(c, (AndCondition, OrCondition)):
                todo.append((c, True))
                todo.extend((o, False) for o in reversed(c.operands))
            else:
                done.append(c)
            continue
        count = len(c.children)
        kids = done[len(done) - count :]
        del done[len(done) - count :]
        if all(new is old for new, old in zip(kids, c.children, strict=True)):
            done.append(c)
        elif isinstance(c, AndCondition) and any(k is None for k in kids):
            done.append(None)  # false & anything is false
        else:
            kept = tuple(k for k in kids if k is not None)
            if not kept:
                done.append(None)
            else:
                rebuilt = replace(c, operands=kept)  # type: ignore[type-var]
                done.append(kept[0] if len(kept) == 1 else rebuilt)
    return done[0]


class DownstreamNodes:
    """For one tick: the nodes compiled under `any_downstream_conditions()` nodes, per
    target, and each target's distinct downstream conditions."""

    def __init__(self, ix: GraphIndex) -> None:
        self.ix = ix
        self._children: list[list[int]] | None = None  # the graph's children, by index
        self._by_target: dict[int, list[tuple[AutomationCondition, tuple[AssetKey, ...]]]] = {}
        self._by_path: dict[str, EvalNode] = {}  # the nodes compiled here, by path
        self._compiled: dict[tuple[int, int, int], list[EvalNode]] = {}

    def children(self, root: EvalNode, node: EvalNode, t: int) -> list[EvalNode]:
        """The children of `node` (in the tree of `root`) for target `t`: one per distinct
        condition downstream of `t`, minus those already above the node in the tree,
        ordered by the assets that carry them (as Dagster orders them)."""
        memo_key = (id(root), id(node), t)
        found = self._compiled.get(memo_key)
        if found is None:
            above = self._conditions_above(root, node.path)
            found = []
            for cond, keys in self._downstream_conditions(t):
                if cond in above:
                    continue
                path = f"{node.path}.d{cond.unique_id}"
                wrapper = compile_tree(DownstreamCondition(keys=keys, operand=cond), path)
                self._by_path[path] = wrapper
                found.append(wrapper)
            self._compiled[memo_key] = found
        return found

    def _conditions_above(self, root: EvalNode, path: str) -> set[AutomationCondition]:
        """The conditions of the nodes from `root` down to the node at `path`."""
        node, at = root, "r"
        above = {node.cond}
        for step in path.split(".")[1:]:
            at = f"{at}.{step}"
            node = self._by_path[at] if step.startswith("d") else node.children[int(step)]
            above.add(node.cond)
        return above

    def _downstream_conditions(
        self, t: int
    ) -> list[tuple[AutomationCondition, tuple[AssetKey, ...]]]:
        """The distinct conditions of the assets downstream of `t` (nested
        `any_downstream_conditions()` read as false), with the assets carrying each."""
        found = self._by_target.get(t)
        if found is not None:
            return found
        ix = self.ix
        if self._children is None:
            children: list[list[int]] = [[] for _ in ix.keys]
            for child, parents in enumerate(ix.parents):
                for p in parents:
                    children[p].append(child)
            self._children = children
        seen, todo = {t}, list(self._children[t])
        carried: dict[AutomationCondition, set[AssetKey]] = {}
        while todo:
            d = todo.pop()
            if d in seen:
                continue
            seen.add(d)
            todo.extend(self._children[d])
            cond = ix.conditions[d]
            kept = without_nested(cond) if isinstance(cond, AutomationCondition) else None
            if kept is not None:
                carried.setdefault(kept, set()).add(ix.keys[d])
        found = sorted(
            ((cond, tuple(sorted(keys))) for cond, keys in carried.items()),
            key=lambda item: [k.parts for k in item[1]],
        )
        self._by_target[t] = found
        return found
