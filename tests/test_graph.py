"""Tests for sheer.graph: nodes, indexing, order, closures and resolution through virtual assets."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sheer as dg
from sheer.errors import (
    CycleError,
    DefinitionError,
    DuplicateKeyError,
    MultipleDefinitionErrors,
    UnknownAssetError,
    UnresolvedInputError,
    VirtualInputError,
)
from sheer.graph import AssetGraph

CYCLE_FIX = (
    "An asset cannot depend on itself through its descendants. Fix: remove one of these "
    "dependencies (a parameter, an ins= entry or a deps= entry)."
)


def build(
    *assets: dg.AssetSpec | dg.AssetsDefinition,
    resources: Mapping | None = None,
) -> AssetGraph:
    return dg.Definitions(assets=list(assets), resources=resources).resolve_asset_graph()


def keys(*names: str) -> frozenset[dg.AssetKey]:
    return frozenset(dg.AssetKey(n) for n in names)


def names(found: Iterable[dg.AssetKey]) -> list[str]:
    return [k.to_user_string() for k in found]


@pytest.fixture
def chain() -> AssetGraph:
    """The spec's picture: A -> B -> C -> D with B and C virtual."""
    return build(
        dg.AssetSpec("A"),
        dg.AssetSpec("B", deps=["A"], is_virtual=True),
        dg.AssetSpec("C", deps=["B"], is_virtual=True),
        dg.AssetSpec("D", deps=["C"]),
    )


@pytest.fixture
def mixed() -> dg.Definitions:
    """One asset of each kind: external, materializable, virtual with and without a function."""
    raw = dg.AssetSpec("raw", description="landed by a loader")

    @dg.asset(code_version="1", group_name="staging")
    def orders(raw):
        return raw

    @dg.asset(is_virtual=True, code_version="v7")
    def orders_view(orders):
        return orders

    lineage = dg.AssetSpec("orders_lineage", deps=["orders"], is_virtual=True)

    @dg.asset(key=["marts", "revenue"], group_name="marts", deps=[lineage])
    def revenue(orders_view):
        return orders_view

    return dg.Definitions(assets=[raw, orders, orders_view, lineage, revenue])


# Building and looking up ---------------------------------------------------------


def test_resolve_asset_graph_builds_the_graph_once(mixed):
    graph = mixed.resolve_asset_graph()
    assert isinstance(graph, AssetGraph)
    assert mixed.resolve_asset_graph() is graph


def test_materializable_asset_node_attributes(mixed):
    node = mixed.resolve_asset_graph().get("orders")
    assert node.key == dg.AssetKey("orders")
    assert not node.is_virtual
    assert not node.is_external
    assert node.is_materializable
    assert node.parent_keys == keys("raw")
    assert node.child_keys == keys("orders_view", "orders_lineage")
    assert node.code_version == "1"
    assert node.group_name == "staging"
    assert node.assets_def is not None
    assert node.input_params == {"raw": dg.AssetKey("raw")}


def test_virtual_asset_with_a_function_is_virtual_and_materializable(mixed):
    node = mixed.resolve_asset_graph().get("orders_view")
    assert node.is_virtual
    assert node.is_materializable
    assert not node.is_external
    assert node.code_version == "v7"
    assert node.parent_keys == keys("orders")
    assert node.child_keys == {dg.AssetKey(["marts", "revenue"])}


def test_virtual_spec_without_function_is_neither_materializable_nor_external(mixed):
    node = mixed.resolve_asset_graph().get("orders_lineage")
    assert node.is_virtual
    assert not node.is_materializable
    assert not node.is_external
    assert node.assets_def is None


def test_spec_without_function_is_an_external_asset(mixed):
    node = mixed.resolve_asset_graph().get("raw")
    assert node.is_external
    assert not node.is_virtual
    assert not node.is_materializable
    assert node.parent_keys == frozenset()
    assert node.child_keys == keys("orders")
    assert node.description == "landed by a loader"


def test_group_name_defaults_to_default(mixed):
    graph = mixed.resolve_asset_graph()
    assert graph.get("raw").group_name == "default"
    assert graph.get("marts/revenue").group_name == "marts"
    assert graph.group_names == {"default", "staging", "marts"}


def test_code_version_is_none_when_not_given(mixed):
    assert mixed.resolve_asset_graph().get("raw").code_version is None


def test_get_accepts_a_user_string_a_list_or_a_key(mixed):
    graph = mixed.resolve_asset_graph()
    node = graph.get("marts/revenue")
    assert graph.get(["marts", "revenue"]) is node
    assert graph.get(dg.AssetKey(["marts", "revenue"])) is node
    assert node.parent_keys == keys("orders_view", "orders_lineage")


def test_get_unknown_key_raises_with_did_you_mean(mixed):
    graph = mixed.resolve_asset_graph()
    with pytest.raises(UnknownAssetError) as info:
        graph.get("orderz")
    assert str(info.value) == (
        "No asset named 'orderz' in the definitions. Did you mean 'orders'? "
        "Fix: use one of the 5 defined keys (`sheer list defs` lists them)."
    )
    assert info.value.key == dg.AssetKey("orderz")


def test_get_unknown_key_without_close_name_gives_no_suggestion(mixed):
    with pytest.raises(UnknownAssetError) as info:
        mixed.resolve_asset_graph().get("zzzzzz")
    assert str(info.value) == (
        "No asset named 'zzzzzz' in the definitions. "
        "Fix: use one of the 5 defined keys (`sheer list defs` lists them)."
    )


def test_unknown_asset_error_is_a_key_error(mixed):
    with pytest.raises(KeyError):
        mixed.resolve_asset_graph().get("nope")


def test_has_contains_and_len(mixed):
    graph = mixed.resolve_asset_graph()
    assert graph.has("orders")
    assert graph.has(["marts", "revenue"])
    assert not graph.has("nope")
    assert dg.AssetKey("orders") in graph
    assert "orders" not in graph  # membership is by AssetKey only
    assert len(graph) == 5


def test_get_all_asset_keys_lists_every_node(mixed):
    graph = mixed.resolve_asset_graph()
    expected = keys("raw", "orders", "orders_view", "orders_lineage") | {
        dg.AssetKey(["marts", "revenue"])
    }
    assert graph.get_all_asset_keys() == expected
    assert graph.all_asset_keys == expected


def test_kind_sets_partition_the_nodes(mixed):
    graph = mixed.resolve_asset_graph()
    assert graph.external_asset_keys == keys("raw")
    assert graph.virtual_asset_keys == keys("orders_view", "orders_lineage")
    assert graph.materializable_asset_keys == keys("orders", "orders_view") | {
        dg.AssetKey(["marts", "revenue"])
    }


def test_parents_and_children_are_stored_on_the_node_not_recomputed(chain):
    node = chain.get("B")
    assert "parent_keys" in type(node).__slots__
    assert "child_keys" in type(node).__slots__
    assert node.parent_keys is chain.get("B").parent_keys
    assert node.child_keys is chain.get("B").child_keys
    assert isinstance(node.parent_keys, frozenset)
    assert isinstance(node.child_keys, frozenset)


def test_children_are_the_inverse_of_parents_on_a_wide_graph():
    hub = dg.AssetSpec("hub")
    leaves = [dg.AssetSpec(f"leaf_{i:04d}", deps=["hub"]) for i in range(2000)]
    graph = build(hub, *leaves)
    assert len(graph.get("hub").child_keys) == 2000
    assert graph.get("leaf_1234").parent_keys == keys("hub")


def test_resource_parameter_is_not_a_parent():
    @dg.asset
    def report(warehouse, orders):
        return orders

    graph = build(dg.AssetSpec("orders"), report, resources={"warehouse": object()})
    node = graph.get("report")
    assert node.parent_keys == keys("orders")
    assert node.resource_params == ("warehouse",)
    assert node.input_params == {"orders": dg.AssetKey("orders")}
    assert not graph.has("warehouse")


def test_ins_map_a_parameter_to_another_key():
    @dg.asset(ins={"source": dg.AssetIn(key="s/t")})
    def copy(source):
        return source

    graph = build(dg.AssetSpec(["s", "t"]), copy)
    assert graph.get("copy").parent_keys == {dg.AssetKey(["s", "t"])}
    assert graph.get("copy").input_params == {"source": dg.AssetKey(["s", "t"])}
    assert graph.get("s/t").child_keys == keys("copy")


def test_multi_asset_nodes_share_one_definition_and_may_mix_virtual():
    specs = [dg.AssetSpec("table"), dg.AssetSpec("view", deps=["table"], is_virtual=True)]

    @dg.multi_asset(specs=specs)
    def table_and_view():
        pass

    graph = build(table_and_view)
    table, view = graph.get("table"), graph.get("view")
    assert table.assets_def is view.assets_def is table_and_view
    assert view.is_virtual and view.is_materializable
    assert not table.is_virtual and table.is_materializable
    assert view.parent_keys == keys("table")


def test_asset_node_repr_names_its_kind(mixed):
    graph = mixed.resolve_asset_graph()
    assert repr(graph.get("orders")) == "<AssetNode orders (asset)>"
    assert repr(graph.get("orders_view")) == "<AssetNode orders_view (virtual)>"
    assert repr(graph.get("raw")) == "<AssetNode raw (external)>"


# Dependencies nothing defines ---------------------------------------------------


def test_dependency_that_nothing_defines_becomes_an_external_node():
    graph = build(dg.AssetSpec("b", deps=["a"]))
    a = graph.get("a")
    assert a.is_external
    assert not a.is_virtual
    assert a.assets_def is None
    assert a.parent_keys == frozenset()
    assert a.child_keys == keys("b")
    assert a.group_name == "default"
    assert graph.get_all_asset_keys() == keys("a", "b")
    assert graph.toposorted_asset_keys == (dg.AssetKey("a"), dg.AssetKey("b"))


def test_undefined_dependency_shared_by_several_assets_is_one_node():
    @dg.asset(deps=["raw/events"])
    def sessions():
        pass

    @dg.asset(deps=[["raw", "events"]], is_virtual=True)
    def events_view():
        pass

    graph = build(sessions, events_view)
    events = graph.get("raw/events")
    assert events.is_external
    assert events.child_keys == keys("sessions", "events_view")
    assert len(graph) == 3


def test_undefined_dependency_of_a_virtual_spec_is_external():
    graph = build(dg.AssetSpec("v", deps=["upstream_table"], is_virtual=True))
    assert graph.get("upstream_table").is_external
    assert graph.external_asset_keys == keys("upstream_table")


# Topological order --------------------------------------------------------------


def test_topological_order_breaks_ties_by_key_not_by_name_order():
    graph = build(
        dg.AssetSpec("a_down", deps=["b"]),
        dg.AssetSpec("b", deps=["z_up"]),
        dg.AssetSpec("z_up"),
        dg.AssetSpec("m_alone"),
    )
    assert names(graph.toposorted_asset_keys) == ["m_alone", "z_up", "b", "a_down"]


def test_topological_order_picks_the_smallest_ready_key_each_time():
    graph = build(
        dg.AssetSpec("z"),
        dg.AssetSpec("y", deps=["z"]),
        dg.AssetSpec("a", deps=["y"]),
        dg.AssetSpec("x"),
        dg.AssetSpec("c", deps=["x", "z"]),
    )
    assert names(graph.toposorted_asset_keys) == ["x", "z", "c", "y", "a"]


def test_topological_order_compares_keys_by_path_components():
    # As strings "a-b" < "a/c" ('-' sorts before '/'); as paths ("a", "c") < ("a-b",).
    graph = build(dg.AssetSpec("a-b"), dg.AssetSpec(["a", "c"]), dg.AssetSpec("a"))
    assert names(graph.toposorted_asset_keys) == ["a", "a/c", "a-b"]


def test_topological_order_does_not_depend_on_definition_order():
    specs = [
        dg.AssetSpec("a_down", deps=["b", "c"]),
        dg.AssetSpec("b", deps=["z_up"]),
        dg.AssetSpec("c", deps=["z_up"], is_virtual=True),
        dg.AssetSpec("z_up"),
    ]
    first = build(*specs).toposorted_asset_keys
    assert build(*reversed(specs)).toposorted_asset_keys == first
    assert names(first) == ["z_up", "b", "c", "a_down"]


def test_iteration_and_asset_nodes_follow_the_topological_order(chain):
    assert [n.key for n in chain] == list(chain.toposorted_asset_keys)
    assert [n.key for n in chain.asset_nodes] == list(chain.toposorted_asset_keys)
    assert names(chain.toposorted_asset_keys) == ["A", "B", "C", "D"]


def test_toposort_orders_a_subset_by_the_graph_order(chain):
    assert names(chain.toposort(keys("D", "A", "C"))) == ["A", "C", "D"]
    assert chain.topo_index[dg.AssetKey("B")] == 1


def test_resolve_all_asset_keys_is_the_topological_order(mixed):
    graph = mixed.resolve_asset_graph()
    assert mixed.resolve_all_asset_keys() == list(graph.toposorted_asset_keys)


def test_root_and_sink_keys():
    graph = build(
        dg.AssetSpec("a"),
        dg.AssetSpec("b", deps=["a"]),
        dg.AssetSpec("c", deps=["b"]),
        dg.AssetSpec("lonely"),
    )
    assert graph.root_keys == keys("a", "lonely")
    assert graph.sink_keys == keys("c", "lonely")


# Closures -----------------------------------------------------------------------


@pytest.fixture
def tree() -> AssetGraph:
    """a -> b -> c -> d, a -> x, y -> c."""
    return build(
        dg.AssetSpec("a"),
        dg.AssetSpec("b", deps=["a"]),
        dg.AssetSpec("c", deps=["b", "y"]),
        dg.AssetSpec("d", deps=["c"]),
        dg.AssetSpec("x", deps=["a"]),
        dg.AssetSpec("y"),
    )


@pytest.mark.parametrize(
    ("start", "depth", "expected"),
    [
        ("d", None, {"a", "b", "c", "d", "y"}),
        ("d", 0, {"d"}),
        ("d", 1, {"c", "d"}),
        ("d", 2, {"b", "c", "d", "y"}),
        ("d", 3, {"a", "b", "c", "d", "y"}),
        ("d", 10, {"a", "b", "c", "d", "y"}),
        ("a", None, {"a"}),
    ],
)
def test_upstream_keys_with_depth(tree, start, depth, expected):
    assert tree.upstream_keys([dg.AssetKey(start)], depth) == keys(*expected)


@pytest.mark.parametrize(
    ("start", "depth", "expected"),
    [
        ("a", None, {"a", "b", "c", "d", "x"}),
        ("a", 0, {"a"}),
        ("a", 1, {"a", "b", "x"}),
        ("a", 2, {"a", "b", "c", "x"}),
        ("y", None, {"y", "c", "d"}),
        ("d", None, {"d"}),
    ],
)
def test_downstream_keys_with_depth(tree, start, depth, expected):
    assert tree.downstream_keys([dg.AssetKey(start)], depth) == keys(*expected)


def test_closures_of_several_keys_are_the_union(tree):
    assert tree.upstream_keys(keys("x", "c"), 1) == keys("a", "b", "c", "x", "y")
    assert tree.downstream_keys(keys("b", "y")) == keys("b", "c", "d", "y")


def test_ancestor_and_descendant_keys_exclude_the_key_itself(tree):
    assert tree.get_ancestor_asset_keys("c") == keys("a", "b", "y")
    assert tree.get_descendant_asset_keys("b") == keys("c", "d")
    assert tree.get_ancestor_asset_keys("a") == set()


# Resolution through virtual assets ----------------------------------------------


def test_non_virtual_ancestors_of_the_chain(chain):
    assert chain.non_virtual_ancestors("D") == keys("A")
    assert chain.non_virtual_ancestors("C") == keys("A")
    assert chain.non_virtual_ancestors("B") == keys("A")
    assert chain.non_virtual_ancestors("A") == frozenset()


def test_non_virtual_ancestors_keeps_non_virtual_parents_as_they_are():
    graph = build(
        dg.AssetSpec("a"),
        dg.AssetSpec("b", deps=["a"]),
        dg.AssetSpec("c", deps=["b"]),
    )
    assert graph.non_virtual_ancestors("c") == keys("b")


def test_non_virtual_ancestors_stop_at_the_first_non_virtual_asset():
    # D's virtual parent C reads B, which is not virtual: B is the nearest, not A.
    graph = build(
        dg.AssetSpec("A"),
        dg.AssetSpec("B", deps=["A"]),
        dg.AssetSpec("C", deps=["B"], is_virtual=True),
        dg.AssetSpec("D", deps=["C"]),
    )
    assert graph.non_virtual_ancestors("D") == keys("B")


def test_virtual_root_contributes_nothing():
    graph = build(
        dg.AssetSpec("v", is_virtual=True),
        dg.AssetSpec("w", deps=["v"], is_virtual=True),
        dg.AssetSpec("p"),
        dg.AssetSpec("x", deps=["w", "p"]),
        dg.AssetSpec("only_virtual", deps=["v"]),
    )
    assert graph.non_virtual_ancestors("x") == keys("p")
    assert graph.non_virtual_ancestors("only_virtual") == frozenset()
    assert graph.non_virtual_ancestors("w") == frozenset()


def test_non_virtual_ancestors_of_a_diamond_through_different_virtual_chains():
    # A -> V1(v) -> D;  A, B -> V2(v) -> V3(v) -> D;  V1(v) -> E -> D.
    graph = build(
        dg.AssetSpec("A"),
        dg.AssetSpec("B"),
        dg.AssetSpec("V1", deps=["A"], is_virtual=True),
        dg.AssetSpec("V2", deps=["A", "B"], is_virtual=True),
        dg.AssetSpec("V3", deps=["V2"], is_virtual=True),
        dg.AssetSpec("E", deps=["V1"]),
        dg.AssetSpec("D", deps=["V1", "V3", "E"]),
    )
    assert graph.non_virtual_ancestors("D") == keys("A", "B", "E")
    assert graph.non_virtual_ancestors("E") == keys("A")
    assert graph.non_virtual_ancestors("V3") == keys("A", "B")


def test_non_virtual_ancestor_may_be_both_direct_and_behind_a_virtual_asset():
    graph = build(
        dg.AssetSpec("A"),
        dg.AssetSpec("V", deps=["A"], is_virtual=True),
        dg.AssetSpec("D", deps=["A", "V"]),
    )
    assert graph.non_virtual_ancestors("D") == keys("A")


def test_non_virtual_ancestors_reach_external_assets_behind_virtual_ones():
    graph = build(
        dg.AssetSpec("view", deps=["warehouse/orders"], is_virtual=True),
        dg.AssetSpec("report", deps=["view"]),
    )
    assert graph.non_virtual_ancestors("report") == {dg.AssetKey(["warehouse", "orders"])}


def test_non_virtual_ancestors_through_virtual_assets_with_functions(mixed):
    graph = mixed.resolve_asset_graph()
    assert graph.non_virtual_ancestors(["marts", "revenue"]) == keys("orders")
    assert graph.non_virtual_ancestors(dg.AssetKey("orders_view")) == keys("orders")


def test_non_virtual_ancestors_of_unknown_key_raises(chain):
    with pytest.raises(UnknownAssetError) as info:
        chain.non_virtual_ancestors("E")
    assert str(info.value) == (
        "No asset named 'E' in the definitions. "
        "Fix: use one of the 4 defined keys (`sheer list defs` lists them)."
    )


def test_virtual_paths_through_the_chain_are_listed_child_side_first(chain):
    assert chain.virtual_paths("D", "A") == [(dg.AssetKey("C"), dg.AssetKey("B"))]
    assert chain.virtual_paths("C", "A") == [(dg.AssetKey("B"),)]


def test_virtual_paths_of_a_direct_parent_is_one_empty_path(chain):
    assert chain.virtual_paths("B", "A") == [()]
    assert chain.virtual_paths("D", "C") == [()]


def test_virtual_paths_of_a_diamond_shortest_first():
    graph = build(
        dg.AssetSpec("A"),
        dg.AssetSpec("V2", deps=["A"], is_virtual=True),
        dg.AssetSpec("V1", deps=["A"], is_virtual=True),
        dg.AssetSpec("W", deps=["V2"], is_virtual=True),
        dg.AssetSpec("D", deps=["A", "V1", "W", "V2"]),
    )
    k = dg.AssetKey
    assert graph.virtual_paths("D", "A") == [(), (k("V1"),), (k("V2"),), (k("W"), k("V2"))]


def test_virtual_paths_do_not_pass_through_non_virtual_assets():
    graph = build(
        dg.AssetSpec("A"),
        dg.AssetSpec("B", deps=["A"]),
        dg.AssetSpec("D", deps=["B"]),
        dg.AssetSpec("E"),
    )
    assert graph.virtual_paths("D", "A") == []
    assert graph.virtual_paths("D", "E") == []


def test_virtual_paths_of_unknown_key_raises(chain):
    with pytest.raises(UnknownAssetError) as info:
        chain.virtual_paths("D", "Z")
    assert info.value.key == dg.AssetKey("Z")
    with pytest.raises(UnknownAssetError):
        chain.virtual_paths("Z", "A")


# Cycles and other definition errors ---------------------------------------------


def test_two_asset_cycle_prints_the_cycle():
    with pytest.raises(CycleError) as info:
        build(dg.AssetSpec("a", deps=["b"]), dg.AssetSpec("b", deps=["a"]))
    assert str(info.value) == f"The asset dependencies form a cycle: a -> b -> a. {CYCLE_FIX}"
    assert info.value.cycle == [dg.AssetKey("a"), dg.AssetKey("b")]
    assert info.value.key == dg.AssetKey("a")


def test_cycle_is_printed_parent_to_child_from_its_smallest_key():
    # c depends on b, b on a, a on c: each arrow points from a parent to its child.
    with pytest.raises(CycleError) as info:
        build(
            dg.AssetSpec("b", deps=["a"]),
            dg.AssetSpec("c", deps=["b"]),
            dg.AssetSpec("a", deps=["c"]),
        )
    assert str(info.value) == (
        f"The asset dependencies form a cycle: a -> b -> c -> a. {CYCLE_FIX}"
    )


def test_cycle_message_leaves_out_assets_hanging_off_the_cycle():
    with pytest.raises(CycleError) as info:
        build(
            dg.AssetSpec("root"),
            dg.AssetSpec("m", deps=["n", "root"]),
            dg.AssetSpec("n", deps=["m"]),
            dg.AssetSpec("a_tail", deps=["n"]),
        )
    assert str(info.value) == f"The asset dependencies form a cycle: m -> n -> m. {CYCLE_FIX}"
    assert info.value.cycle == [dg.AssetKey("m"), dg.AssetKey("n")]


def test_cycle_through_function_parameters_and_prefixed_keys():
    @dg.asset(key=["s", "x"], ins={"y": dg.AssetIn(key="s/y")})
    def x(y):
        return y

    @dg.asset(key=["s", "y"], ins={"x": dg.AssetIn(key="s/x")})
    def y(x):
        return x

    with pytest.raises(CycleError) as info:
        build(x, y)
    assert str(info.value) == f"The asset dependencies form a cycle: s/x -> s/y -> s/x. {CYCLE_FIX}"


def test_cycle_error_is_a_definition_error():
    assert issubclass(CycleError, DefinitionError)


def test_duplicate_key_is_reported_with_both_places():
    with pytest.raises(DuplicateKeyError) as info:
        build(dg.AssetSpec("a", source="one.py:1"), dg.AssetSpec("a", source="two.py:9"))
    assert str(info.value) == (
        "Asset 'a' is defined twice: at one.py:1 and at two.py:9. "
        "Fix: remove one of them, or give one another key (name= or key_prefix=)."
    )


def test_parameter_naming_neither_asset_nor_resource_is_reported():
    @dg.asset
    def report(ordrs):
        return ordrs

    with pytest.raises(UnresolvedInputError) as info:
        build(dg.AssetSpec("orders"), report)
    assert str(info.value) == (
        f"Parameter 'ordrs' of asset 'report' (defined at {report.source}) names neither an "
        "asset nor a resource. Did you mean 'orders'? Fix: define an asset named 'ordrs', map "
        "the parameter to another asset with ins={'ordrs': AssetIn(key=...)}, or provide a "
        "resource with Definitions(resources={'ordrs': ...})."
    )


def test_data_input_from_a_virtual_spec_without_function_is_reported():
    lineage = dg.AssetSpec("lineage", is_virtual=True, source="specs.py:3")

    @dg.asset
    def report(lineage):
        return lineage

    with pytest.raises(VirtualInputError) as info:
        build(lineage, report)
    assert str(info.value) == (
        f"Asset 'report' (defined at {report.source}) reads 'lineage' as data (parameter "
        "'lineage'), but 'lineage' is a virtual AssetSpec with no function (defined at "
        "specs.py:3), so it has no value to pass. Fix: define 'lineage' with "
        "@asset(is_virtual=True) and a function that computes its value, or depend on it "
        "without data: remove the parameter and pass deps=['lineage']."
    )


def test_every_definition_problem_is_raised_at_once():
    @dg.asset
    def report(missing_one):
        return missing_one

    with pytest.raises(MultipleDefinitionErrors) as info:
        build(dg.AssetSpec("a", source="one.py:1"), dg.AssetSpec("a", source="two.py:2"), report)
    assert [type(e) for e in info.value.errors] == [DuplicateKeyError, UnresolvedInputError]
    assert str(info.value).startswith("2 problems in the definitions:\n  1. Asset 'a' is defined")


# Property-based: random DAGs against naive references -----------------------------

Dag = tuple[list[str], dict[str, set[str]], dict[str, bool]]
# Names whose order as strings differs from their order as keys, and prefixes of others.
NAMES = (
    "a", "b", "c", "d", "z_up", "a_down", "m", "a-b", "a.b", "a/c", "a/c/d", "s", "s/t",
    "s_x", "t", "x1", "x10", "x2", "y", "b/a",
)  # fmt: skip


@st.composite
def dags(draw: st.DrawFn) -> Dag:
    """Names in creation order (not sorted), each with parents among earlier names."""
    node_names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=14, unique=True))
    parents: dict[str, set[str]] = {}
    virtual: dict[str, bool] = {}
    for i, name in enumerate(node_names):
        earlier = node_names[:i]
        parents[name] = draw(st.sets(st.sampled_from(earlier), max_size=4)) if earlier else set()
        virtual[name] = draw(st.booleans())
    return node_names, parents, virtual


def graph_of(dag: Dag, order: list[str] | None = None) -> AssetGraph:
    node_names, parents, virtual = dag
    return build(
        *(
            dg.AssetSpec(n, deps=sorted(parents[n]), is_virtual=virtual[n])
            for n in (order or node_names)
        )
    )


def naive_non_virtual_ancestors(name: str, parents: dict[str, set[str]], virtual: dict[str, bool]):
    found: set[str] = set()
    for p in parents[name]:
        found |= naive_non_virtual_ancestors(p, parents, virtual) if virtual[p] else {p}
    return found


def naive_closure(start: set[str], step: Callable[[str], set[str]], depth: int | None) -> set[str]:
    reached = set(start)
    hops = 0
    while depth is None or hops < depth:
        grown = reached | {r for k in reached for r in step(k)}
        if grown == reached:
            break
        reached, hops = grown, hops + 1
    return reached


def smallest_key_first_order(parents: dict[str, set[str]]) -> list[dg.AssetKey]:
    placed: list[str] = []
    left = set(parents)
    while left:
        ready = [n for n in left if parents[n] <= set(placed)]
        nxt = min(ready, key=dg.AssetKey)
        placed.append(nxt)
        left.remove(nxt)
    return [dg.AssetKey(n) for n in placed]


@settings(max_examples=100, deadline=None)
@given(dags())
def test_random_dag_order_respects_every_edge_and_breaks_ties_by_key(dag):
    node_names, parents, _ = dag
    graph = graph_of(dag)
    index = graph.topo_index
    assert sorted(graph.toposorted_asset_keys) == sorted(dg.AssetKey(n) for n in node_names)
    for child, ps in parents.items():
        for p in ps:
            assert index[dg.AssetKey(p)] < index[dg.AssetKey(child)]
    assert list(graph.toposorted_asset_keys) == smallest_key_first_order(parents)


@settings(max_examples=100, deadline=None)
@given(dags(), st.randoms(use_true_random=False))
def test_random_dag_order_is_the_same_for_shuffled_inputs(dag, rnd):
    node_names, parents, virtual = dag
    shuffled_names = node_names[:]
    rnd.shuffle(shuffled_names)
    specs = []
    for n in shuffled_names:
        deps = rnd.sample(sorted(parents[n]), k=len(parents[n]))
        specs.append(dg.AssetSpec(n, deps=deps, is_virtual=virtual[n]))
    shuffled = build(*specs)
    assert shuffled.toposorted_asset_keys == graph_of(dag).toposorted_asset_keys


@settings(max_examples=100, deadline=None)
@given(dags())
def test_random_dag_non_virtual_ancestors_match_the_naive_definition(dag):
    node_names, parents, virtual = dag
    graph = graph_of(dag)
    for name in node_names:
        expected = naive_non_virtual_ancestors(name, parents, virtual)
        assert graph.non_virtual_ancestors(name) == keys(*expected)
        # Seen the other way: a non-virtual key is among them exactly when some chain
        # of virtual assets leads from it to `name`.
        reachable = {n for n in node_names if not virtual[n] and graph.virtual_paths(name, n)}
        assert reachable == expected


@settings(max_examples=100, deadline=None)
@given(dags(), st.data())
def test_random_dag_closures_match_a_brute_force_search(dag, data):
    node_names, parents, _ = dag
    children = {n: {c for c, ps in parents.items() if n in ps} for n in node_names}
    graph = graph_of(dag)
    start = data.draw(st.sets(st.sampled_from(node_names), min_size=1, max_size=3))
    depth = data.draw(st.none() | st.integers(min_value=0, max_value=4))
    start_keys = keys(*start)
    up = naive_closure(start, parents.__getitem__, depth)
    down = naive_closure(start, children.__getitem__, depth)
    assert graph.upstream_keys(start_keys, depth) == keys(*up)
    assert graph.downstream_keys(start_keys, depth) == keys(*down)
    for name in node_names:
        node = graph.get(name)
        assert node.parent_keys == keys(*parents[name])
        assert node.child_keys == keys(*children[name])


def test_a_multi_asset_input_naming_one_of_its_assets_is_an_input_of_the_others_only():
    @dg.multi_asset(outs={"a": dg.AssetOut(), "b": dg.AssetOut()})
    def both(a):
        return a, a

    graph = build(dg.AssetSpec("a_source"), both, dg.AssetSpec("c", deps=["b"]))
    assert graph.get("a").input_params == {}
    assert graph.get("b").input_params == {"a": dg.AssetKey("a")}
    assert graph.get("b").parent_keys == keys("a")
    assert graph.get("c").child_keys == frozenset() and graph.get("c").input_params == {}


def test_nodes_are_built_over_keys_given_in_any_order_and_spelling():
    graph = build(
        dg.AssetSpec("z", deps=["m", dg.AssetKey("a")]),
        dg.AssetSpec("m", deps=[["a"]]),
        dg.AssetSpec("a"),
    )
    assert names(graph.toposorted_asset_keys) == ["a", "m", "z"]
    assert graph.get("a").child_keys == keys("m", "z")
    assert graph.get("z").parent_keys == keys("a", "m")


def test_a_parameter_naming_only_a_dependency_nothing_defines_is_unresolved():
    @dg.asset
    def down(ext):
        return ext

    # "first" is linked before "down" is resolved: "ext" is numbered by then, as an
    # external asset, which a parameter does not read.
    with pytest.raises(UnresolvedInputError) as info:
        build(dg.AssetSpec("first", deps=["ext"]), down)
    assert str(info.value).startswith("Parameter 'ext' of asset 'down' (defined at ")
    assert "Did you mean" not in str(info.value)


def test_virtual_walks_live_on_the_graph_and_are_computed_once() -> None:
    """`graph.virtual`: the region behind a view with shortest paths, the non-virtual
    ancestors reached through it, and the views between an asset and those ancestors."""
    from sheer.keys import AssetKey as K

    a = dg.AssetSpec("a")
    b = dg.AssetSpec("b", deps=["a"], is_virtual=True)
    c = dg.AssetSpec("c", deps=["b"], is_virtual=True)
    e = dg.AssetSpec("e")
    d = dg.AssetSpec("d", deps=["c", "e"])
    graph = AssetGraph.from_definitions([a, b, c, e, d])
    walks = graph.virtual
    assert walks is graph.virtual
    assert walks.region(K("c")) == {K("c"): (K("c"),), K("b"): (K("c"), K("b"))}
    assert walks.region(K("c")) is walks.region(K("c"))
    assert walks.ancestors_through(K("c")) == {K("a"): (K("c"), K("b"))}
    assert walks.between(K("d")) == [K("b"), K("c")]


def test_ordering_through_unselected_views_keeps_the_virtual_path() -> None:
    from sheer.graph.virtual import ordering_through_unselected_virtual
    from sheer.keys import AssetKey as K

    a = dg.AssetSpec("a")
    b = dg.AssetSpec("b", deps=["a"], is_virtual=True)
    d = dg.AssetSpec("d", deps=["b"])
    graph = AssetGraph.from_definitions([a, b, d])
    order = ordering_through_unselected_virtual(graph, frozenset({K("a"), K("d")}))
    assert order == {K("a"): {}, K("d"): {K("a"): (K("b"),)}}


def test_the_automation_index_is_built_once_and_cached_on_the_graph(monkeypatch):
    import sheer.automation.index as index_module

    @dg.asset
    def a() -> int:
        return 1

    graph = dg.Definitions(assets=[a]).resolve_asset_graph()
    built = []
    real = index_module.build_index
    monkeypatch.setattr(index_module, "build_index", lambda g: built.append(g) or real(g))
    first = graph.automation_index
    assert graph.automation_index is first
    assert index_module.index_graph(graph) is first
    assert built == [graph]
    assert first.keys == (dg.AssetKey("a"),)
