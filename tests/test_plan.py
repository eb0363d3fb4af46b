"""Tests for sheer.execution.plan: steps and their order, through unselected virtual assets."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterable, Mapping

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sheer as dg
from sheer.errors import ExecutionError
from sheer.execution import ExecutionPlan, build_plan
from sheer.graph import AssetGraph


def node(name: str, deps: Iterable[str] = (), *, virtual: bool = False) -> dg.AssetsDefinition:
    """An asset with a function that only declares its parents (no data inputs)."""
    return dg.asset(name=name, deps=list(deps), is_virtual=virtual)(lambda: None)


def graph_of(*assets: dg.AssetsDefinition | dg.AssetSpec) -> AssetGraph:
    return dg.Definitions(assets=list(assets)).resolve_asset_graph()


def plan_for(graph: AssetGraph, *selected: str) -> ExecutionPlan:
    return build_plan(graph, [dg.AssetKey(s) for s in selected])


def step_keys(plan: ExecutionPlan) -> list[str]:
    return [s.key for s in plan.steps]


def deps_of(plan: ExecutionPlan) -> dict[str, set[str]]:
    return {k: set(v) for k, v in plan.step_deps.items()}


@pytest.fixture
def seed_chain() -> AssetGraph:
    """The seed's picture A -> B -> C -> D, with names that sort against the lineage."""
    return graph_of(
        node("z_up"),
        node("b", ["z_up"], virtual=True),
        node("c", ["b"], virtual=True),
        node("a_down", ["c"]),
    )


# Ordering through virtual assets --------------------------------------------------------


def test_selected_assets_on_both_sides_of_a_virtual_chain_are_ordered_through_it(seed_chain):
    plan = plan_for(seed_chain, "z_up", "a_down")

    assert step_keys(plan) == ["z_up", "a_down"]
    assert deps_of(plan) == {"z_up": set(), "a_down": {"z_up"}}
    assert plan.asset_order[dg.AssetKey("a_down")] == {
        dg.AssetKey("z_up"): (dg.AssetKey("b"), dg.AssetKey("c"))
    }


def test_the_seed_chain_does_not_run_the_unselected_virtual_assets(seed_chain):
    plan = plan_for(seed_chain, "z_up", "a_down")

    assert plan.selected_keys == {dg.AssetKey("z_up"), dg.AssetKey("a_down")}
    assert [s.asset_keys for s in plan.steps] == [(dg.AssetKey("z_up"),), (dg.AssetKey("a_down"),)]


def test_an_unselected_non_virtual_parent_adds_no_ordering():
    graph = graph_of(node("z_up"), node("m", ["z_up"]), node("a_down", ["m"]))

    plan = plan_for(graph, "z_up", "a_down")

    # a_down reads m's stored value, so it waits for nothing and sorts first by name.
    assert step_keys(plan) == ["a_down", "z_up"]
    assert deps_of(plan) == {"a_down": set(), "z_up": set()}


def test_ordering_stops_at_an_unselected_non_virtual_asset_inside_a_virtual_chain():
    graph = graph_of(
        node("z_up"),
        node("v1", ["z_up"], virtual=True),
        node("m", ["v1"]),
        node("v2", ["m"], virtual=True),
        node("a_down", ["v2"]),
    )

    plan = plan_for(graph, "z_up", "a_down")

    assert deps_of(plan) == {"a_down": set(), "z_up": set()}
    assert step_keys(plan) == ["a_down", "z_up"]


def test_ordering_resumes_at_a_selected_asset_inside_a_virtual_chain():
    graph = graph_of(
        node("z_up"),
        node("v1", ["z_up"], virtual=True),
        node("m", ["v1"]),
        node("v2", ["m"], virtual=True),
        node("a_down", ["v2"]),
    )

    plan = plan_for(graph, "z_up", "m", "a_down")

    assert step_keys(plan) == ["z_up", "m", "a_down"]
    assert deps_of(plan) == {"z_up": set(), "m": {"z_up"}, "a_down": {"m"}}


def test_a_selected_virtual_asset_is_a_step_ordered_directly():
    graph = graph_of(
        node("z_up"),
        node("b", ["z_up"], virtual=True),
        node("c", ["b"], virtual=True),
        node("a_down", ["c"]),
    )

    plan = plan_for(graph, "z_up", "b", "a_down")

    assert step_keys(plan) == ["z_up", "b", "a_down"]
    assert deps_of(plan) == {"z_up": set(), "b": {"z_up"}, "a_down": {"b"}}
    assert plan.asset_order[dg.AssetKey("a_down")] == {dg.AssetKey("b"): (dg.AssetKey("c"),)}


def test_ordering_passes_through_virtual_parents_with_several_parents():
    graph = graph_of(
        node("p1"),
        node("p2"),
        node("p3"),
        node("v1", ["p1"], virtual=True),
        node("v2", ["v1", "p2"], virtual=True),
        node("x", ["v2", "p3"]),
    )

    plan = plan_for(graph, "p1", "p2", "x")

    assert deps_of(plan) == {"p1": set(), "p2": set(), "x": {"p1", "p2"}}
    assert step_keys(plan) == ["p1", "p2", "x"]


def test_a_diamond_whose_branches_pass_through_different_virtual_chains():
    graph = graph_of(
        node("top"),
        node("x1", ["top"], virtual=True),
        node("x2", ["x1"], virtual=True),
        node("y1", ["top"], virtual=True),
        node("mid", ["y1"]),
        node("y2", ["mid"], virtual=True),
        node("y3", ["y2"], virtual=True),
        node("bottom", ["x2", "y3"]),
    )

    plan = plan_for(graph, "top", "mid", "bottom")

    assert step_keys(plan) == ["top", "mid", "bottom"]
    assert deps_of(plan) == {"top": set(), "mid": {"top"}, "bottom": {"top", "mid"}}
    k = dg.AssetKey
    assert plan.asset_order[k("bottom")] == {
        k("top"): (k("x1"), k("x2")),
        k("mid"): (k("y2"), k("y3")),
    }
    assert plan.asset_order[k("mid")] == {k("top"): (k("y1"),)}


def test_a_diamond_of_virtual_chains_orders_its_ends_once():
    graph = graph_of(
        node("top"),
        node("l1", ["top"], virtual=True),
        node("l2", ["l1"], virtual=True),
        node("r1", ["top"], virtual=True),
        node("bottom", ["l2", "r1"]),
    )

    plan = plan_for(graph, "top", "bottom")

    assert deps_of(plan) == {"top": set(), "bottom": {"top"}}
    assert list(plan.asset_order[dg.AssetKey("bottom")]) == [dg.AssetKey("top")]


# Collapsing to steps: multi_assets ---------------------------------------------------------


def _pair(*, can_subset: bool, m2_deps: list[str]) -> dg.AssetsDefinition:
    @dg.multi_asset(
        name="pair",
        specs=[dg.AssetSpec("m1"), dg.AssetSpec("m2", deps=m2_deps)],
        can_subset=can_subset,
    )
    def pair(context):
        for key in sorted(context.selected_asset_keys):
            yield dg.MaterializeResult(asset_key=key)

    return pair


def test_a_virtual_asset_between_two_outputs_of_a_multi_asset_makes_no_step_cycle():
    graph = graph_of(_pair(can_subset=True, m2_deps=["v"]), node("v", ["m1"], virtual=True))

    plan = plan_for(graph, "m1", "m2")

    assert step_keys(plan) == ["pair"]
    assert deps_of(plan) == {"pair": set()}  # the self-edge m1 -> v -> m2 is dropped
    assert plan.steps[0].asset_keys == (dg.AssetKey("m1"), dg.AssetKey("m2"))
    assert not plan.steps[0].is_subset


def test_a_virtual_output_between_two_outputs_of_the_same_multi_asset_makes_no_step_cycle():
    @dg.multi_asset(
        name="trio",
        specs=[
            dg.AssetSpec("m1"),
            dg.AssetSpec("mv", deps=["m1"], is_virtual=True),
            dg.AssetSpec("m2", deps=["mv"]),
        ],
        can_subset=True,
    )
    def trio(context):
        for key in sorted(context.selected_asset_keys):
            yield dg.MaterializeResult(asset_key=key)

    plan = plan_for(graph_of(trio), "m1", "m2")

    assert step_keys(plan) == ["trio[m1,m2]"]
    assert plan.steps[0].is_subset
    assert deps_of(plan) == {"trio[m1,m2]": set()}


def test_a_subset_of_a_subsettable_multi_asset_is_one_step_named_after_the_subset():
    graph = graph_of(_pair(can_subset=True, m2_deps=[]), node("down", ["m2"]))

    plan = plan_for(graph, "m2", "down")

    assert step_keys(plan) == ["pair[m2]", "down"]
    assert deps_of(plan) == {"pair[m2]": set(), "down": {"pair[m2]"}}
    assert plan.steps[0].is_subset


def test_a_non_subsettable_multi_asset_fed_back_through_a_selected_asset_is_a_clear_error():
    graph = graph_of(_pair(can_subset=False, m2_deps=["x"]), node("x", ["m1"]))

    with pytest.raises(ExecutionError) as info:
        plan_for(graph, "m1", "m2", "x")

    assert str(info.value) == (
        "The selected steps wait on each other in a cycle: x (x) -> pair (m1, m2) -> x (x). "
        "A multi_asset's outputs feed another selected asset that feeds the same multi_asset "
        "back. Fix: make the multi_asset subsettable (can_subset=True) so Sheer can run its "
        "outputs as separate steps, or leave one asset of the cycle out of the selection."
    )
    assert info.value.key == dg.AssetKey("x")


def test_a_cycle_through_a_virtual_chain_names_the_steps_and_assets_involved():
    graph = graph_of(
        _pair(can_subset=False, m2_deps=["v2"]),
        node("v1", ["m1"], virtual=True),
        node("x", ["v1"]),
        node("v2", ["x"], virtual=True),
    )

    with pytest.raises(ExecutionError) as info:
        plan_for(graph, "m1", "m2", "x")

    assert "in a cycle: x (x) -> pair (m1, m2) -> x (x)." in str(info.value)


def test_a_subsettable_multi_asset_fed_back_through_a_selected_asset_is_split_into_steps():
    graph = graph_of(_pair(can_subset=True, m2_deps=["x"]), node("x", ["m1"]))

    plan = plan_for(graph, "m1", "m2", "x")

    assert step_keys(plan) == ["pair[m1]", "x", "pair[m2]"]
    assert deps_of(plan) == {"pair[m1]": set(), "x": {"pair[m1]"}, "pair[m2]": {"x"}}


def test_the_split_multi_asset_runs_each_output_in_its_own_step():
    assets = [_pair(can_subset=True, m2_deps=["x"]), node("x", ["m1"])]

    result = dg.materialize(assets)

    assert result.success
    assert [
        (e.step_key, e.asset_key.to_user_string())
        for e in result.get_asset_materialization_events()
    ] == [
        ("pair[m1]", "m1"),
        ("x", "x"),
        ("pair[m2]", "m2"),
    ]


def test_leaving_out_an_output_of_a_non_subsettable_multi_asset_is_an_error():
    graph = graph_of(_pair(can_subset=False, m2_deps=[]))

    with pytest.raises(ExecutionError) as info:
        plan_for(graph, "m1")

    assert str(info.value) == (
        "pair computes m1, m2 together, but the selection leaves out m2. Fix: select all of "
        "them, or make the multi_asset subsettable (can_subset=True)."
    )


def test_selecting_an_asset_without_a_function_is_an_error():
    graph = graph_of(dg.AssetSpec("raw"), node("x", ["raw"]))

    with pytest.raises(ExecutionError) as info:
        plan_for(graph, "raw", "x")

    assert str(info.value) == (
        "Asset 'raw' has no function, so it cannot run. Fix: leave it out of the selection."
    )


# describe() -------------------------------------------------------------------------------


def test_describe_lists_steps_and_the_orderings_through_virtual_assets():
    graph = graph_of(
        node("top"),
        node("x1", ["top"], virtual=True),
        node("x2", ["x1"], virtual=True),
        node("y1", ["top"], virtual=True),
        node("mid", ["y1"]),
        node("bottom", ["x2", "mid"]),
    )

    assert plan_for(graph, "top", "mid", "bottom").describe() == [
        "1. top (top) after nothing",
        "2. mid (mid) after top",
        "3. bottom (bottom) after mid, top",
        "   ordering through virtual assets: top -> x1 -> x2 -> bottom",
        "   ordering through virtual assets: top -> y1 -> mid",
    ]


def test_describe_of_the_seed_chain(seed_chain):
    assert plan_for(seed_chain, "z_up", "a_down").describe() == [
        "1. z_up (z_up) after nothing",
        "2. a_down (a_down) after z_up",
        "   ordering through virtual assets: z_up -> b -> c -> a_down",
    ]


# Property: the plan respects the transitive ordering through unselected virtual assets ----


NAMES = [f"n{i}" for i in range(10)]


@st.composite
def graphs_and_selections(draw: st.DrawFn) -> tuple[dict[str, list[str]], set[str], set[str]]:
    """(parents by name, virtual names, selected names); the names are shuffled so their
    alphabetical order says nothing about the lineage."""
    n = draw(st.integers(min_value=1, max_value=len(NAMES)))
    names = draw(st.permutations(NAMES))[:n]
    parents: dict[str, list[str]] = {}
    for j, name in enumerate(names):
        picks = draw(st.lists(st.booleans(), min_size=j, max_size=j))
        parents[name] = [names[i] for i, on in enumerate(picks) if on]
    virtual = {name for name in names if draw(st.booleans())}
    selected = {name for name in names if draw(st.booleans())}
    return parents, virtual, selected


def reference_order(
    parents: Mapping[str, list[str]], virtual: set[str], selected: set[str]
) -> dict[str, set[str]]:
    """By brute force: X waits for every selected P with a path P -> v1 -> ... -> X whose
    intermediate nodes are all unselected virtual assets."""
    out: dict[str, set[str]] = {}
    for x in selected:
        found: set[str] = set()
        stack = list(parents[x])
        seen: set[str] = set()
        while stack:
            p = stack.pop()
            if p in seen:
                continue
            seen.add(p)
            if p in selected:
                found.add(p)
            elif p in virtual:
                stack.extend(parents[p])
        out[x] = found
    return out


@settings(max_examples=200, deadline=None)
@given(graphs_and_selections())
def test_plan_order_matches_the_transitive_ordering_through_unselected_virtual_assets(case):
    parents, virtual, selected = case
    graph = graph_of(*(node(n, ps, virtual=n in virtual) for n, ps in parents.items()))
    expected = reference_order(parents, virtual, selected)

    if not selected:
        return
    plan = plan_for(graph, *selected)

    assert deps_of(plan) == expected
    position = {key: i for i, key in enumerate(step_keys(plan))}
    assert set(position) == selected
    for x, ups in expected.items():
        for p in ups:
            assert position[p] < position[x], (p, x)


@st.composite
def multi_asset_cases(
    draw: st.DrawFn,
) -> tuple[dict[str, list[str]], set[str], set[str], list[int]]:
    parents, virtual, selected = draw(graphs_and_selections())
    groups = [draw(st.integers(min_value=0, max_value=2)) for _ in parents]
    return parents, virtual, selected, groups


@settings(max_examples=120, deadline=None)
@given(multi_asset_cases())
def test_subsettable_multi_assets_never_make_a_step_cycle_and_keep_the_ordering(case):
    parents, virtual, selected, groups = case
    by_group: dict[int, list[str]] = {}
    for name, group in zip(parents, groups, strict=True):
        by_group.setdefault(group, []).append(name)
    assets = []
    for group, members in by_group.items():
        specs = [dg.AssetSpec(m, deps=parents[m], is_virtual=m in virtual) for m in members]
        assets.append(
            dg.multi_asset(name=f"g{group}", specs=specs, can_subset=True)(lambda context: None)
        )
    graph = graph_of(*assets)
    expected = reference_order(parents, virtual, selected)

    if not selected:
        return
    plan = plan_for(graph, *selected)

    owner = {k.to_user_string(): i for i, s in enumerate(plan.steps) for k in s.asset_keys}
    assert set(owner) == selected
    for x, ups in expected.items():
        for p in ups:
            assert owner[p] <= owner[x], (p, x)
            if owner[p] != owner[x]:
                assert plan.steps[owner[p]].key in plan.step_deps[plan.steps[owner[x]].key]


def test_planning_the_two_ends_of_a_long_virtual_chain_is_linear_in_memory():
    # Each view used to memoize its whole path to the start: 20,000 views made ~1.5 GB.
    n = 20_000
    views = [node("v0", ["start"], virtual=True)]
    views += [node(f"v{i}", [f"v{i - 1}"], virtual=True) for i in range(1, n)]
    graph = graph_of(node("start"), *views, node("end", [f"v{n - 1}"]))
    tracemalloc.start()
    try:
        plan = plan_for(graph, "start", "end")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert step_keys(plan) == ["start", "end"]
    via = plan.asset_order[dg.AssetKey("end")][dg.AssetKey("start")]
    assert [k.to_user_string() for k in via] == [f"v{i}" for i in range(n)]
    assert peak < 100 * 1024 * 1024


def test_a_run_selection_of_a_50000_key_union_is_checked_without_recursion():
    import functools
    import inspect
    import operator
    import sys

    from sheer.execution.run import resolve_run_selection

    graph = dg.Definitions(
        assets=[dg.AssetSpec(f"a{i}") for i in range(50_000)]
    ).resolve_asset_graph()
    union = functools.reduce(
        operator.or_, [dg.AssetSelection.assets(f"a{i}") for i in range(50_000)]
    )
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(len(inspect.stack()) + 200)
    try:
        with pytest.raises(ExecutionError) as info:  # names an external asset explicitly
            resolve_run_selection(graph, union)
    finally:
        sys.setrecursionlimit(limit)
    assert info.value.message.startswith("Asset 'a0' cannot be materialized: it is an external")
