"""Tests for sheer.selection: AssetSelection builders, operators and resolution."""

from __future__ import annotations

import dataclasses
import functools
import operator
import sys
from collections.abc import Iterable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sheer as dg
from sheer.errors import SelectionError, UnknownAssetError
from sheer.graph import AssetGraph
from sheer.selection import resolve_selection

AS = dg.AssetSelection


def names(found: Iterable[dg.AssetKey]) -> set[str]:
    return {k.to_user_string() for k in found}


def make_assets() -> list:
    """raw (external) -> orders -> orders_view (virtual) -> marts/revenue;
    orders -> marts/customers; orders -> orders_lineage (virtual, no function);
    marts/archive (external, no edges)."""
    raw = dg.AssetSpec("raw", group_name="ingest", kinds={"s3"}, tags={"tier": "bronze"})

    @dg.asset(
        group_name="ingest",
        kinds={"table"},
        tags={"tier": "bronze", "pii": "yes"},
        owners=["team:data"],
    )
    def orders(raw):
        return raw

    @dg.asset(is_virtual=True, group_name="marts", kinds={"view"}, tags={"tier": "silver"})
    def orders_view(orders):
        return orders

    @dg.asset(
        key=["marts", "revenue"],
        group_name="marts",
        kinds={"table"},
        tags={"tier": "gold"},
        owners=["alice@example.com", "team:finance"],
    )
    def revenue(orders_view):
        return orders_view

    @dg.asset(key=["marts", "customers"], group_name="marts", deps=["orders"])
    def customers():
        pass

    lineage = dg.AssetSpec("orders_lineage", deps=["orders"], is_virtual=True, group_name="marts")
    archive = dg.AssetSpec(["marts", "archive"], group_name="marts")
    return [raw, orders, orders_view, revenue, customers, lineage, archive]


@pytest.fixture
def assets() -> list:
    return make_assets()


@pytest.fixture
def defs(assets) -> dg.Definitions:
    return dg.Definitions(assets=assets)


@pytest.fixture
def graph(defs) -> AssetGraph:
    return defs.resolve_asset_graph()


@pytest.fixture
def line() -> AssetGraph:
    """a -> b -> c -> d, a -> e, f alone."""
    return dg.Definitions(
        assets=[
            dg.AssetSpec("a"),
            dg.AssetSpec("b", deps=["a"]),
            dg.AssetSpec("c", deps=["b"]),
            dg.AssetSpec("d", deps=["c"]),
            dg.AssetSpec("e", deps=["a"]),
            dg.AssetSpec("f"),
        ]
    ).resolve_asset_graph()


ALL = {
    "raw",
    "orders",
    "orders_view",
    "marts/revenue",
    "marts/customers",
    "orders_lineage",
    "marts/archive",
}


# Builders -----------------------------------------------------------------------


def test_all_leaves_out_external_assets_by_default_as_dagster_does(graph):
    assert names(AS.all().resolve(graph)) == ALL - {"raw", "marts/archive"}


def test_all_with_external_assets(graph):
    assert names(AS.all(include_external_assets=True).resolve(graph)) == ALL


def test_assets_takes_definitions_specs_and_keys(assets, graph):
    raw, orders, *_ = assets
    selection = AS.assets(orders, raw, "marts/revenue", dg.AssetKey("orders_view"))
    assert names(selection.resolve(graph)) == {"raw", "orders", "marts/revenue", "orders_view"}


def test_assets_expands_a_multi_asset_to_all_its_keys():
    @dg.multi_asset(specs=[dg.AssetSpec("t1"), dg.AssetSpec("v1", deps=["t1"], is_virtual=True)])
    def both():
        pass

    assert names(AS.assets(both).resolve([both])) == {"t1", "v1"}


@pytest.mark.parametrize(
    "key",
    ["marts/revenue", ["marts", "revenue"], dg.AssetKey(["marts", "revenue"])],
    ids=["user-string", "list", "asset-key"],
)
def test_keys_accepts_strings_lists_and_asset_keys(graph, key):
    assert AS.keys(key).resolve(graph) == {dg.AssetKey(["marts", "revenue"])}


def test_keys_takes_several_keys(graph):
    assert names(AS.keys("orders", "marts/customers").resolve(graph)) == {
        "orders",
        "marts/customers",
    }


def test_keys_with_no_key_selects_nothing(graph):
    assert AS.keys().resolve(graph) == frozenset()


def test_unknown_key_raises_with_did_you_mean(graph):
    with pytest.raises(UnknownAssetError) as info:
        AS.keys("orderz").resolve(graph)
    assert str(info.value) == (
        "No asset named 'orderz' in the definitions. Did you mean 'orders'? "
        "Fix: use one of the 7 defined keys (`sheer list defs` lists them)."
    )
    assert info.value.key == dg.AssetKey("orderz")
    assert isinstance(info.value, SelectionError)


def test_unknown_prefixed_key_suggests_the_user_string(graph):
    with pytest.raises(UnknownAssetError) as info:
        AS.keys("marts/revenu").resolve(graph)
    assert str(info.value) == (
        "No asset named 'marts/revenu' in the definitions. "
        "Did you mean 'marts/revenue' or 'marts/archive'? "
        "Fix: use one of the 7 defined keys (`sheer list defs` lists them)."
    )


def test_unknown_key_inside_a_combination_still_raises(graph):
    with pytest.raises(UnknownAssetError):
        (AS.all() - AS.keys("nope")).resolve(graph)


def test_groups_select_non_external_assets_of_the_groups(graph):
    assert names(AS.groups("marts").resolve(graph)) == {
        "orders_view",
        "marts/revenue",
        "marts/customers",
        "orders_lineage",
    }
    assert names(AS.groups("ingest").resolve(graph)) == {"orders"}
    assert names(AS.groups("ingest", "marts").resolve(graph)) == names(
        (AS.groups("ingest") | AS.groups("marts")).resolve(graph)
    )


def test_groups_include_external_assets_when_asked(graph):
    assert names(AS.groups("ingest", include_sources=True).resolve(graph)) == {"raw", "orders"}
    assert "marts/archive" in names(AS.groups("marts", include_sources=True).resolve(graph))


def test_unknown_group_selects_nothing(graph):
    assert AS.groups("nope").resolve(graph) == frozenset()


def test_default_group_holds_assets_without_a_group():
    defs = dg.Definitions(assets=[dg.AssetSpec("x", is_virtual=True), dg.AssetSpec("y")])
    assert names(AS.groups("default").resolve(defs)) == {"x"}


@pytest.mark.parametrize("prefix", ["marts", ["marts"], ("marts",)])
def test_key_prefixes_select_keys_under_the_prefix(graph, prefix):
    assert names(AS.key_prefixes(prefix).resolve(graph)) == {"marts/revenue", "marts/customers"}


def test_key_prefixes_include_external_assets_when_asked(graph):
    assert names(AS.key_prefixes("marts", include_sources=True).resolve(graph)) == {
        "marts/revenue",
        "marts/customers",
        "marts/archive",
    }


def test_key_prefix_matches_whole_components(graph):
    assert names(AS.key_prefixes("marts/revenue").resolve(graph)) == {"marts/revenue"}
    assert names(AS.key_prefixes(["marts", "revenue"]).resolve(graph)) == {"marts/revenue"}
    assert AS.key_prefixes("mart").resolve(graph) == frozenset()
    assert names(AS.key_prefixes("orders").resolve(graph)) == {"orders"}


def test_key_substring(graph):
    assert names(AS.key_substring("orders_").resolve(graph)) == {"orders_view", "orders_lineage"}


def test_kind(graph):
    assert names(AS.kind("table").resolve(graph)) == {"orders", "marts/revenue"}
    assert names(AS.kind("view").resolve(graph)) == {"orders_view"}
    assert names(AS.kind("s3").resolve(graph)) == {"raw"}
    assert AS.kind("dbt").resolve(graph) == frozenset()


def test_tag_with_a_value(graph):
    assert names(AS.tag("tier", "gold").resolve(graph)) == {"marts/revenue"}
    assert names(AS.tag("tier", "bronze").resolve(graph)) == {"raw", "orders"}
    assert AS.tag("tier", "platinum").resolve(graph) == frozenset()


def test_tag_without_a_value_matches_any_value(graph):
    assert names(AS.tag("tier").resolve(graph)) == {
        "raw",
        "orders",
        "orders_view",
        "marts/revenue",
    }
    assert names(AS.tag("pii").resolve(graph)) == {"orders"}


def test_owner(graph):
    assert names(AS.owner("team:data").resolve(graph)) == {"orders"}
    assert names(AS.owner("alice@example.com").resolve(graph)) == {"marts/revenue"}
    assert AS.owner("bob@example.com").resolve(graph) == frozenset()


def test_virtual(graph):
    assert names(AS.virtual().resolve(graph)) == {"orders_view", "orders_lineage"}


def test_materializable_keeps_assets_with_a_function(graph):
    assert names(AS.all().materializable().resolve(graph)) == {
        "orders",
        "orders_view",
        "marts/revenue",
        "marts/customers",
    }


# Traversals ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("depth", "expected"),
    [
        (None, {"a", "b", "c", "d"}),
        (0, {"d"}),
        (1, {"c", "d"}),
        (2, {"b", "c", "d"}),
        (99, {"a", "b", "c", "d"}),
    ],
)
def test_upstream_with_depth(line, depth, expected):
    assert names(AS.keys("d").upstream(depth=depth).resolve(line)) == expected


@pytest.mark.parametrize(
    ("depth", "expected"),
    [
        (None, {"a", "b", "c", "d", "e"}),
        (0, {"a"}),
        (1, {"a", "b", "e"}),
        (2, {"a", "b", "c", "e"}),
    ],
)
def test_downstream_with_depth(line, depth, expected):
    assert names(AS.keys("a").downstream(depth=depth).resolve(line)) == expected


def test_upstream_and_downstream_without_self(line):
    assert names(AS.keys("c").upstream(include_self=False).resolve(line)) == {"a", "b"}
    assert names(AS.keys("b").downstream(include_self=False).resolve(line)) == {"c", "d"}


def test_upstream_of_several_assets(line):
    assert names(AS.keys("c", "e").upstream(depth=1).resolve(line)) == {"a", "b", "c", "e"}


def test_upstream_passes_through_virtual_assets(graph):
    assert names(AS.keys("marts/revenue").upstream().resolve(graph)) == {
        "raw",
        "orders",
        "orders_view",
        "marts/revenue",
    }


def test_downstream_of_an_external_asset(graph):
    assert names(AS.keys("raw").downstream(depth=2).resolve(graph)) == {
        "raw",
        "orders",
        "orders_view",
        "marts/customers",
        "orders_lineage",
    }


def test_traversals_chain(line):
    # Everything upstream of d, then one step downstream of that: e joins through a.
    assert names(AS.keys("d").upstream().downstream(depth=1).resolve(line)) == {
        "a",
        "b",
        "c",
        "d",
        "e",
    }


def test_roots_and_sinks_are_taken_within_the_selection(line):
    selection = AS.keys("b", "c", "d")
    assert names(selection.roots().resolve(line)) == {"b"}
    assert names(selection.sinks().resolve(line)) == {"d"}
    everything = AS.all(include_external_assets=True)
    assert names(everything.roots().resolve(line)) == {"a", "f"}
    assert names(everything.sinks().resolve(line)) == {"d", "e", "f"}


# Operators ----------------------------------------------------------------------


def test_or_is_the_union(line):
    assert names((AS.keys("a") | AS.keys("d")).resolve(line)) == {"a", "d"}


def test_and_is_the_intersection(line):
    assert names((AS.keys("a").downstream() & AS.keys("d").upstream()).resolve(line)) == {
        "a",
        "b",
        "c",
        "d",
    }
    assert (AS.keys("e") & AS.keys("f")).resolve(line) == frozenset()


def test_minus_is_the_difference(line):
    assert names((AS.keys("a").downstream() - AS.keys("c").downstream()).resolve(line)) == {
        "a",
        "b",
        "e",
    }


def test_invert_is_everything_else(line):
    assert names((~AS.keys("a", "f")).resolve(line)) == {"b", "c", "d", "e"}


def test_operators_combine_builders(graph):
    selection = (AS.groups("marts") | AS.kind("s3")) & AS.tag("tier") - AS.virtual()
    assert names(selection.resolve(graph)) == {"raw", "marts/revenue"}


# Resolution targets -------------------------------------------------------------


def test_resolve_against_a_graph_a_definitions_and_a_list_of_assets(assets, defs, graph):
    selection = AS.keys("orders_view").upstream()
    expected = {dg.AssetKey(n) for n in ("raw", "orders", "orders_view")}
    assert selection.resolve(graph) == expected
    assert selection.resolve(defs) == expected
    assert selection.resolve(assets) == expected
    assert selection.resolve(tuple(assets)) == expected


def test_resolve_returns_a_frozenset(graph):
    assert isinstance(AS.all().resolve(graph), frozenset)


def test_resolve_against_something_else_raises():
    with pytest.raises(SelectionError) as info:
        AS.all().resolve({"a": 1})
    assert str(info.value) == (
        "Cannot resolve a selection against dict. "
        "Fix: pass an AssetGraph, a Definitions or a list of asset definitions."
    )


def test_from_coercible(graph):
    selection = AS.keys("orders")
    assert AS.from_coercible(selection) is selection
    downstream = AS.keys("orders").downstream(1)
    assert AS.from_coercible("orders+1").resolve(graph) == downstream.resolve(graph)
    assert AS.from_coercible(dg.AssetKey("orders")) == AS.keys("orders")
    assert names(AS.from_coercible(["orders", "raw"]).resolve(graph)) == {"orders", "raw"}


def test_resolve_selection_takes_strings_selections_and_keys(defs):
    assert names(resolve_selection("is:virtual", defs)) == {"orders_view", "orders_lineage"}
    assert names(resolve_selection(AS.kind("s3"), defs)) == {"raw"}
    assert names(resolve_selection([dg.AssetKey("raw")], defs)) == {"raw"}


# Values -------------------------------------------------------------------------


def test_selections_are_immutable_values():
    selection = AS.keys("a").upstream(2) | AS.groups("g")
    assert selection == AS.keys("a").upstream(2) | AS.groups("g")
    assert hash(selection) == hash(AS.keys("a").upstream(2) | AS.groups("g"))
    assert selection != AS.keys("a").upstream(1) | AS.groups("g")
    with pytest.raises(dataclasses.FrozenInstanceError):
        selection.left = AS.all()  # type: ignore[misc]


def _kinds_of_selection(cls: type) -> list[type]:
    return [cls] + [k for sub in cls.__subclasses__() for k in _kinds_of_selection(sub)]


def test_no_field_of_a_selection_shadows_a_builder_or_modifier():
    # AssetSelection.keys(...) must stay the builder on every kind of selection.
    api = {name for name in vars(AS) if not name.startswith("_")}
    shadowing = {
        f"{cls.__name__}.{f.name}"
        for cls in _kinds_of_selection(AS)
        if dataclasses.is_dataclass(cls)
        for f in dataclasses.fields(cls)
        if f.name in api
    }
    assert shadowing == set()
    assert AS.keys("a").keys is AS.keys
    assert AS.groups("g").groups is AS.groups


@pytest.mark.parametrize(
    ("selection", "text"),
    [
        (AS.all(), "(* and not is:external)"),
        (AS.all(include_external_assets=True), "*"),
        (AS.keys("a"), "key:a"),
        (AS.keys("s/t", "b"), "(key:s/t or key:b)"),
        (AS.keys("a", "b").upstream(), "+((key:a or key:b))"),
        (~AS.keys("a", "b"), "(* and not (key:a or key:b))"),
        (AS.groups("g", "h"), "(group:g or group:h)"),
        (AS.keys("a-b"), 'key:"a-b"'),
        (AS.keys("a").upstream(), "+(key:a)"),
        (AS.keys("a").upstream(2), "2+(key:a)"),
        (AS.keys("a").downstream(), "(key:a)+"),
        (AS.keys("a").downstream(1), "(key:a)+1"),
        (AS.groups("marts"), "group:marts"),
        (AS.kind("view"), "kind:view"),
        (AS.tag("tier", "gold"), "tag:tier=gold"),
        (AS.tag("tier"), "tag:tier"),
        (AS.owner("team:data"), 'owner:"team:data"'),
        (AS.virtual(), "is:virtual"),
        (AS.keys("a") | AS.keys("b"), "(key:a or key:b)"),
        (AS.keys("a") & AS.keys("b"), "(key:a and key:b)"),
        (AS.keys("a") - AS.keys("b"), "(key:a and not key:b)"),
        (AS.keys("a").roots(), "roots(key:a)"),
        (AS.keys("a").sinks(), "sinks(key:a)"),
    ],
)
def test_str_renders_the_selection_syntax(selection, text):
    assert str(selection) == text


# Property-based: rendering then parsing selects the same assets -------------------

LEAVES = st.sampled_from(
    [
        AS.all(),
        AS.keys("raw"),
        AS.keys("orders"),
        AS.keys("marts/revenue"),
        AS.keys("orders_view", "marts/customers"),
        AS.groups("marts"),
        AS.groups("ingest"),
        AS.kind("table"),
        AS.tag("tier", "bronze"),
        AS.tag("tier"),
        AS.owner("team:data"),
        AS.virtual(),
        AS.key_substring("orders"),
    ]
)
DEPTHS = st.none() | st.integers(min_value=0, max_value=3)


def _extend(children: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(
        st.tuples(children, children).map(lambda p: p[0] | p[1]),
        st.tuples(children, children).map(lambda p: p[0] & p[1]),
        st.tuples(children, children).map(lambda p: p[0] - p[1]),
        st.tuples(children, DEPTHS).map(lambda p: p[0].upstream(p[1])),
        st.tuples(children, DEPTHS).map(lambda p: p[0].downstream(p[1])),
        children.map(lambda s: s.roots()),
        children.map(lambda s: s.sinks()),
        children.map(lambda s: ~s),
    )


SELECTIONS = st.recursive(LEAVES, _extend, max_leaves=6)
PROPERTY_GRAPH = dg.Definitions(assets=make_assets()).resolve_asset_graph()


@settings(max_examples=100, deadline=None)
@given(SELECTIONS)
def test_rendered_selection_parses_back_to_the_same_assets(selection):
    graph = PROPERTY_GRAPH
    reparsed = AS.from_string(str(selection))
    assert reparsed.resolve(graph) == selection.resolve(graph)


def test_a_union_of_50_000_selections_resolves_prints_and_compares():
    graph = dg.Definitions(
        assets=[dg.AssetSpec(f"a{i}") for i in range(50_000)]
    ).resolve_asset_graph()

    def build():
        return functools.reduce(operator.or_, [AS.assets(f"a{i}") for i in range(50_000)])

    selection, same = build(), build()
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(500)
    try:
        assert selection.resolve(graph) == graph.get_all_asset_keys()
        text = str(selection)
        assert selection == same
        assert hash(selection) == hash(same)
        assert selection != build() | AS.assets("a0")
        assert repr(selection).startswith("OrSelection(left=OrSelection(left=")
    finally:
        sys.setrecursionlimit(old)
    assert text == "(" + " or ".join(f"key:a{i}" for i in range(50_000)) + ")"
