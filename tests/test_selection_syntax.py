"""Tests for sheer.selection_syntax: the selection strings users type."""

from __future__ import annotations

import sys
from collections.abc import Iterable

import pytest

import sheer as dg
from sheer.errors import SelectionError, SelectionSyntaxError, UnknownAssetError
from sheer.graph import AssetGraph
from sheer.selection import AllSelection, KeyWildcardSelection, KindOfNodeSelection
from sheer.selection_syntax import parse_selection

AS = dg.AssetSelection

FIX = (
    "Fix: write keys, attributes like group:name, kind:view, tag:k=v or is:virtual, joined by "
    "and / or / not, with + for upstream/downstream (+x, x+, 2+x)."
)


def syntax_message(text: str, pos: int, why: str) -> str:
    head = f"Cannot parse the selection {text!r}: {why} at position {pos}."
    return "\n".join([head, f"  {text}", "  " + " " * pos + "^", FIX])


def names(found: Iterable[dg.AssetKey]) -> set[str]:
    return {k.to_user_string() for k in found}


@pytest.fixture(scope="module")
def graph() -> AssetGraph:
    """raw (external) -> a -> b (virtual) -> c (virtual, no function) -> d -> s/t;
    a -> e;  prefix_one -> prefix_two."""
    raw = dg.AssetSpec("raw", group_name="ingest", kinds={"s3"})

    @dg.asset(group_name="ingest", kinds={"table"}, tags={"tier": "bronze"}, owners=["team:data"])
    def a(raw):
        return raw

    @dg.asset(is_virtual=True, group_name="marts", kinds={"view"})
    def b(a):
        return a

    c = dg.AssetSpec("c", deps=[b], is_virtual=True, group_name="marts", kinds={"view"})

    @dg.asset(deps=[c], group_name="marts", tags={"tier": "gold"}, owners=["alice@example.com"])
    def d():
        pass

    @dg.asset(key=["s", "t"], tags={"pii": "yes", "tier": "gold plated"})
    def st(d):
        return d

    @dg.asset
    def e(a):
        return a

    @dg.asset(group_name="misc")
    def prefix_one():
        pass

    @dg.asset(group_name="misc")
    def prefix_two(prefix_one):
        return prefix_one

    assets = [raw, a, b, c, d, st, e, prefix_one, prefix_two]
    return dg.Definitions(assets=assets).resolve_asset_graph()


EVERYTHING = {"raw", "a", "b", "c", "d", "s/t", "e", "prefix_one", "prefix_two"}


def select(graph: AssetGraph, text: str) -> set[str]:
    return names(AS.from_string(text).resolve(graph))


# What each form selects -----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # keys
        ("a", {"a"}),
        ("key:a", {"a"}),
        ('key:"s/t"', {"s/t"}),
        ("key:s/t", {"s/t"}),
        ("s/t", {"s/t"}),
        ('"s/t"', {"s/t"}),
        ("  a  ", {"a"}),
        # traversals
        ("a+", {"a", "b", "c", "d", "s/t", "e"}),
        ("+d", {"raw", "a", "b", "c", "d"}),
        ("2+d", {"b", "c", "d"}),
        ("1+d", {"c", "d"}),
        ("0+d", {"d"}),
        ("a+2", {"a", "b", "c", "e"}),
        ("a+1", {"a", "b", "e"}),
        ("+d+", {"raw", "a", "b", "c", "d", "s/t"}),
        ("1+b+1", {"a", "b", "c"}),
        ("*d", {"raw", "a", "b", "c", "d"}),
        ("d*", {"d", "s/t"}),
        ("*d*", {"raw", "a", "b", "c", "d", "s/t"}),
        ("*", EVERYTHING),
        ('*"s/t"', {"raw", "a", "b", "c", "d", "s/t"}),
        ('"s/t"+', {"s/t"}),
        ('+"s/t"', {"raw", "a", "b", "c", "d", "s/t"}),
        ("key:d+", {"d", "s/t"}),
        ("+key:b", {"raw", "a", "b"}),
        ("2+key:d", {"b", "c", "d"}),
        ("*(d)", {"raw", "a", "b", "c", "d"}),
        ("(d)*", {"d", "s/t"}),
        ("+(d)", {"raw", "a", "b", "c", "d"}),
        ("(b)+1", {"b", "c"}),
        ("(a or prefix_one)+1", {"a", "b", "e", "prefix_one", "prefix_two"}),
        # key wildcards
        ("key:prefix_*", {"prefix_one", "prefix_two"}),
        ("key:*_two", {"prefix_two"}),
        ('key:"s/*"', {"s/t"}),
        ("key:*", EVERYTHING),
        ("key:nothing_*", set()),
        # attributes
        ("group:marts", {"b", "c", "d"}),
        ("group:ingest", {"a"}),  # raw is external: groups hold what can run
        ("group:default", {"s/t", "e"}),
        ("group:nope", set()),
        ("kind:view", {"b", "c"}),
        ("kind:table", {"a"}),
        ("kind:s3", {"raw"}),
        ("tag:tier=gold", {"d"}),
        ("tag:tier", {"a", "d", "s/t"}),
        ("tag:pii", {"s/t"}),
        ('tag:"tier"="gold"', {"d"}),
        ('tag:tier="gold plated"', {"s/t"}),
        ('tag:"tier"="gold plated"', {"s/t"}),
        ("owner:team:data", {"a"}),
        ('owner:"team:data"', {"a"}),
        ('owner:"alice@example.com"', {"d"}),
        ("is:virtual", {"b", "c"}),
        ("is:external", {"raw"}),
        ("is:materializable", {"a", "b", "d", "s/t", "e", "prefix_one", "prefix_two"}),
        # boolean operators
        ("a and b", set()),
        ("+d and is:virtual", {"b", "c"}),
        ("+d and not is:virtual", {"raw", "a", "d"}),
        ("a or d", {"a", "d"}),
        ("a OR d", {"a", "d"}),
        ("+d AND NOT is:virtual", {"raw", "a", "d"}),
        ("not is:materializable", {"raw", "c"}),
        ("not not a", {"a"}),
        ("not (a or b)", EVERYTHING - {"a", "b"}),
        ("(a or b) and not b", {"a"}),
        ("a or d and is:virtual", {"a"}),  # and binds tighter than or
        ("(a or d) and is:virtual", set()),
        ("not a and is:external", {"raw"}),  # not binds tighter than and
        ("group:marts and kind:view and not key:c", {"b"}),
        # lists
        ("a, d", {"a", "d"}),
        ("a,d", {"a", "d"}),
        ("a d", {"a", "d"}),
        ("a d, e", {"a", "d", "e"}),
        ("a+1 prefix_one", {"a", "b", "e", "prefix_one"}),
        ('"s/t" raw', {"s/t", "raw"}),
        # functions
        ("roots(+d)", {"raw"}),
        ("sinks(a+)", {"s/t", "e"}),
        ("roots(is:virtual)", {"b"}),
        ("sinks(is:virtual)", {"c"}),
        ("roots(*)", {"raw", "prefix_one"}),
        ("sinks(*)", {"s/t", "e", "prefix_two"}),
        ("roots(+d)+1", {"raw", "a"}),
        ("sinks(group:marts) or roots(group:misc)", {"d", "prefix_one"}),
    ],
)
def test_selection_string_selects(graph, text, expected):
    assert select(graph, text) == expected


def test_both_ways_takes_ancestors_and_descendants_not_siblings(graph):
    # e is a child of a, an ancestor of d: it is neither upstream nor downstream of d.
    assert "e" not in select(graph, "+d+")
    assert select(graph, "+d+") == select(graph, "+d or d+")


# What each form parses to ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("x", AS.keys("x")),
        ("key:x", AS.keys("x")),
        ('key:"s/t"', AS.keys(["s", "t"])),
        ("s/t", AS.keys("s/t")),
        ("x+", AS.keys("x").downstream()),
        ("+x", AS.keys("x").upstream()),
        ("2+x", AS.keys("x").upstream(depth=2)),
        ("x+2", AS.keys("x").downstream(depth=2)),
        ("*x", AS.keys("x").upstream()),
        ("x*", AS.keys("x").downstream()),
        ("2+x+3", AS.keys("x").upstream(depth=2) | AS.keys("x").downstream(depth=3)),
        ("*", AllSelection(include_external=True)),
        ("key:prefix_*", KeyWildcardSelection(pattern="prefix_*")),
        ("group:g", AS.groups("g")),
        ("kind:k", AS.kind("k")),
        ("tag:k=v", AS.tag("k", "v")),
        ("tag:k", AS.tag("k")),
        ("tag:k=", AS.tag("k", "")),
        ("owner:o", AS.owner("o")),
        ("is:virtual", AS.virtual()),
        ("is:external", KindOfNodeSelection(what="external")),
        ("is:materializable", KindOfNodeSelection(what="materializable")),
        ("x and y", AS.keys("x") & AS.keys("y")),
        ("x or y", AS.keys("x") | AS.keys("y")),
        ("not x", ~AS.keys("x")),
        ("x and not y", AS.keys("x") & ~AS.keys("y")),
        ("x, y", AS.keys("x") | AS.keys("y")),
        ("x y z", AS.keys("x") | AS.keys("y") | AS.keys("z")),
        ("(x or y)+", (AS.keys("x") | AS.keys("y")).downstream()),
        ("roots(x)", AS.keys("x").roots()),
        ("sinks(x)", AS.keys("x").sinks()),
        ("roots", AS.keys("roots")),  # a function name alone is a key
        ("x-y.z", AS.keys("x-y.z")),
        ("x1", AS.keys("x1")),
        ("2024_sales", AS.keys("2024_sales")),
    ],
)
def test_selection_string_parses_to(text, expected):
    assert AS.from_string(text) == expected
    assert parse_selection(text) == expected


def test_parse_does_not_need_the_keys_to_exist():
    # Unknown keys are found when the selection is resolved, not when it is parsed.
    selection = AS.from_string("nothing+")
    assert selection == AS.keys("nothing").downstream()


def test_unknown_key_in_a_string_raises_on_resolve_with_did_you_mean(graph):
    with pytest.raises(UnknownAssetError) as info:
        AS.from_string("rw+").resolve(graph)
    assert str(info.value) == (
        "No asset named 'rw' in the definitions. Did you mean 'raw'? "
        "Fix: use one of the 9 defined keys (`sheer list defs` lists them)."
    )


def test_str_of_a_parsed_selection_parses_back_to_the_same_assets(graph):
    text = "(+d and not is:virtual) or roots(group:misc)+1 or tag:tier=gold"
    selection = AS.from_string(text)
    assert names(AS.from_string(str(selection)).resolve(graph)) == select(graph, text)
    assert select(graph, text) == {"raw", "a", "d", "prefix_one", "prefix_two"}


# Syntax errors --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "pos", "why"),
    [
        ('key:"a', 4, "a quote is never closed"),
        ('"s/t', 0, "a quote is never closed"),
        ("", 0, "the selection is empty"),
        ("   ", 0, "the selection is empty"),
        (
            "grop:x",
            0,
            "unknown attribute 'grop'. Did you mean 'group'? Known: key, group, kind, tag, "
            "owner, is",
        ),
        ("colour:red", 0, "unknown attribute 'colour'. Known: key, group, kind, tag, owner, is"),
        (
            "is:virtul",
            0,
            "is:virtul is not known. Did you mean 'virtual'? Known: is:virtual, is:external, "
            "is:materializable",
        ),
        ("a and", 5, "expected an asset or attribute, found 'the end'"),
        ("a or", 4, "expected an asset or attribute, found 'the end'"),
        ("a,", 2, "expected an asset or attribute, found 'the end'"),
        ("not", 3, "expected an asset or attribute, found 'the end'"),
        ("+", 1, "expected an asset or attribute, found 'the end'"),
        ("and a", 0, "expected an asset or attribute, found 'and'"),
        ("a and or b", 6, "expected an asset or attribute, found 'or'"),
        ("(a", 2, "expected ')' but found 'the end'"),
        ("roots(a", 7, "expected ')' but found 'the end'"),
        ("a)", 1, "unexpected ')'"),
        ("()", 1, "expected an asset or attribute, found ')'"),
        ("key:", 0, "key: needs a value, e.g. key:name"),
        ("group:", 0, "group: needs a value, e.g. group:name"),
        ("a*b", 0, "'a*b' is not a valid asset key"),
        ("a & b", 2, "unexpected character '&'"),
    ],
)
def test_syntax_error_message(text, pos, why):
    with pytest.raises(SelectionSyntaxError) as info:
        AS.from_string(text)
    assert str(info.value) == syntax_message(text, pos, why)


def test_unclosed_quote_message_word_for_word():
    with pytest.raises(SelectionSyntaxError) as info:
        AS.from_string('key:"orders')
    assert str(info.value) == (
        "Cannot parse the selection 'key:\"orders': a quote is never closed at position 4.\n"
        '  key:"orders\n'
        "      ^\n"
        "Fix: write keys, attributes like group:name, kind:view, tag:k=v or is:virtual, "
        "joined by and / or / not, with + for upstream/downstream (+x, x+, 2+x)."
    )


def test_syntax_errors_are_selection_errors_and_value_errors():
    with pytest.raises(SelectionError):
        AS.from_string("a and")
    with pytest.raises(ValueError):
        AS.from_string("a and")


# Long and deep selections: no recursion per key or per level ---------------------


def _with_little_stack(fn):
    """Run `fn` with only 200 frames of recursion left, so a walk per key or per level fails."""
    depth, frame = 0, sys._getframe()
    while frame is not None:
        depth, frame = depth + 1, frame.f_back
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(depth + 200)
    try:
        return fn()
    finally:
        sys.setrecursionlimit(old)


@pytest.fixture(scope="module")
def wide_graph() -> AssetGraph:
    assets = [dg.AssetSpec(f"a{i}") for i in range(50_000)]
    return dg.Definitions(assets=assets).resolve_asset_graph()


@pytest.mark.parametrize("separator", [" or ", " ", ", "])
def test_a_list_of_50_000_keys_parses_and_resolves(wide_graph, separator):
    text = separator.join(f"a{i}" for i in range(50_000))
    found = _with_little_stack(lambda: parse_selection(text).resolve(wide_graph))
    assert found == wide_graph.get_all_asset_keys()


def test_10_000_nested_parentheses_parse(graph):
    text = "(" * 10_000 + "a" + ")" * 10_000 + "+"
    selection = _with_little_stack(lambda: parse_selection(text))
    assert _with_little_stack(lambda: names(selection.resolve(graph))) == select(graph, "a+")


def test_10_000_roots_parse(graph):
    text = "roots(" * 10_000 + "a or e" + ")" * 10_000
    selection = _with_little_stack(lambda: parse_selection(text))
    assert _with_little_stack(lambda: names(selection.resolve(graph))) == {"a"}


def test_10_000_nots_parse(graph):
    selection = _with_little_stack(lambda: parse_selection("not " * 10_000 + "a"))
    assert _with_little_stack(lambda: names(selection.resolve(graph))) == select(graph, "a")
    odd = _with_little_stack(lambda: parse_selection("not " * 10_001 + "a"))
    assert _with_little_stack(lambda: names(odd.resolve(graph))) == select(graph, "not a")
