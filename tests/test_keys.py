"""AssetKey: construction, user strings, ordering, immutability, and coercion."""

import pickle

import pytest

import sheer as dg
from sheer.errors import DefinitionError, InvalidKeyError
from sheer.keys import coerce_key, coerce_keys, is_interned

COMPONENT_RULE = (
    "must be a non-empty string of letters, digits, '_', '-' or '.', not starting with "
    "'-' or '.'. Fix: rename it, e.g. 'daily_revenue', or split a path into a list: "
    "AssetKey(['schema', 'table'])."
)


def test_a_string_without_slash_is_a_one_component_key():
    assert dg.AssetKey("a").path == ["a"]


def test_a_list_is_a_multi_component_key():
    assert dg.AssetKey(["s", "t"]).path == ["s", "t"]


def test_a_tuple_is_accepted_like_a_list():
    assert dg.AssetKey(("s", "t")) == dg.AssetKey(["s", "t"])


def test_a_slashed_string_splits_into_components():
    assert dg.AssetKey("s/t") == dg.AssetKey(["s", "t"])


def test_from_user_string_parses_slashes():
    assert dg.AssetKey.from_user_string("raw/orders") == dg.AssetKey(["raw", "orders"])


def test_to_user_string_joins_with_slash():
    assert dg.AssetKey(["raw", "orders"]).to_user_string() == "raw/orders"


def test_user_string_round_trips():
    key = dg.AssetKey(["a", "b.c", "d-e"])
    assert dg.AssetKey.from_user_string(key.to_user_string()) == key


def test_path_is_a_fresh_list():
    key = dg.AssetKey(["s", "t"])
    path = key.path
    assert isinstance(path, list)
    path.append("u")
    assert key.path == ["s", "t"]


def test_name_is_the_last_component():
    assert dg.AssetKey(["s", "t"]).name == "t"


def test_str_and_repr():
    key = dg.AssetKey(["s", "t"])
    assert str(key) == "s/t"
    assert repr(key) == "AssetKey(['s', 't'])"


def test_equal_keys_hash_equal_and_work_as_dict_keys():
    lookup = {dg.AssetKey(["s", "t"]): 1}
    assert lookup[dg.AssetKey("s/t")] == 1
    assert len({dg.AssetKey("a"), dg.AssetKey(["a"]), dg.AssetKey("b")}) == 2


def test_a_key_is_not_equal_to_its_string():
    assert dg.AssetKey("a") != "a"


def test_keys_sort_by_path():
    keys = [dg.AssetKey("b"), dg.AssetKey(["a", "z"]), dg.AssetKey("a"), dg.AssetKey("a/b")]
    assert [k.to_user_string() for k in sorted(keys)] == ["a", "a/b", "a/z", "b"]


def test_comparison_operators_follow_the_path():
    a, b = dg.AssetKey("a"), dg.AssetKey("b")
    assert a < b
    assert a <= a
    assert b > a
    assert b >= b


def test_comparing_a_key_with_a_string_raises_type_error():
    with pytest.raises(TypeError):
        _ = dg.AssetKey("a") < "b"


def test_setting_an_attribute_raises():
    key = dg.AssetKey("a")
    with pytest.raises(AttributeError, match="AssetKey is immutable"):
        key._parts = ("b",)
    with pytest.raises(AttributeError, match="AssetKey is immutable"):
        key.extra = 1
    assert key.path == ["a"]


def test_deleting_an_attribute_raises():
    key = dg.AssetKey("a")
    with pytest.raises(AttributeError, match="AssetKey is immutable"):
        del key._parts
    assert key.to_user_string() == "a"


def test_pickling_round_trips():
    key = dg.AssetKey(["s", "t"])
    copy = pickle.loads(pickle.dumps(key))
    assert copy == key
    assert hash(copy) == hash(key)


def test_with_prefix_and_has_prefix():
    key = dg.AssetKey("t").with_prefix("s")
    assert key == dg.AssetKey(["s", "t"])
    assert key.has_prefix(["s"])
    assert not key.has_prefix(["t"])


def test_to_python_identifier():
    assert dg.AssetKey(["s", "t-1.x"]).to_python_identifier() == "s__t_1_x"


def test_empty_string_is_invalid():
    with pytest.raises(InvalidKeyError) as info:
        dg.AssetKey("")
    assert str(info.value) == f"Invalid asset key '': component '' {COMPONENT_RULE}"
    assert info.value.key == ""


def test_a_space_in_a_key_is_invalid():
    with pytest.raises(InvalidKeyError) as info:
        dg.AssetKey("a b")
    assert str(info.value) == f"Invalid asset key 'a b': component 'a b' {COMPONENT_RULE}"
    assert info.value.key == "a b"


def test_an_empty_component_is_invalid():
    with pytest.raises(InvalidKeyError) as info:
        dg.AssetKey("a//b")
    assert str(info.value) == f"Invalid asset key 'a//b': component '' {COMPONENT_RULE}"


def test_an_empty_list_is_invalid():
    with pytest.raises(InvalidKeyError) as info:
        dg.AssetKey([])
    assert str(info.value) == (
        "Invalid asset key []: a key needs at least one component. "
        "Fix: pass a name such as AssetKey('orders')."
    )


def test_a_non_string_component_is_invalid():
    with pytest.raises(InvalidKeyError) as info:
        dg.AssetKey(["a", 1])
    assert str(info.value) == f"Invalid asset key ['a', 1]: component 1 {COMPONENT_RULE}"


def test_a_number_is_not_a_key():
    with pytest.raises(InvalidKeyError) as info:
        dg.AssetKey(5)
    assert str(info.value) == (
        "Invalid asset key 5: expected a string or a list of strings, got int. "
        "Fix: pass AssetKey('name') or AssetKey(['prefix', 'name'])."
    )


def test_invalid_key_error_is_a_value_error():
    with pytest.raises(ValueError):
        dg.AssetKey("a b")


# Coercion ------------------------------------------------------------------


@pytest.fixture
def single():
    @dg.asset(key_prefix="s")
    def t():
        return 1

    return t


@pytest.fixture
def pair():
    @dg.multi_asset(specs=[dg.AssetSpec("a"), dg.AssetSpec("b")])
    def a_and_b():
        pass

    return a_and_b


@pytest.mark.parametrize(
    "value",
    [
        "s/t",
        ["s", "t"],
        ("s", "t"),
        dg.AssetKey(["s", "t"]),
        dg.AssetSpec(["s", "t"]),
    ],
    ids=["string", "list", "tuple", "key", "spec"],
)
def test_coerce_key_accepts_every_key_like_value(value):
    assert coerce_key(value) == dg.AssetKey(["s", "t"])


def test_coerce_key_accepts_a_single_asset_definition(single):
    assert coerce_key(single) == dg.AssetKey(["s", "t"])


def test_from_coercible_is_coerce_key(single):
    assert dg.AssetKey.from_coercible(single) == dg.AssetKey(["s", "t"])


def test_coerce_key_rejects_a_definition_of_several_assets(pair):
    with pytest.raises(InvalidKeyError) as info:
        coerce_key(pair)
    assert str(info.value) == (
        "<AssetsDefinition a_and_b: a, b> defines 2 assets, so it does not name one key. "
        "Fix: pass one of its keys, e.g. its .keys[0], or the spec of the asset meant."
    )


def test_coerce_key_rejects_other_objects():
    with pytest.raises(InvalidKeyError) as info:
        coerce_key(5)
    assert str(info.value) == (
        "Cannot use 5 (int) as an asset key. Fix: pass a string such as 'orders' or "
        "'raw/orders', a list of strings, an AssetKey, an AssetSpec or an asset definition."
    )


def test_coerce_keys_expands_definitions_in_key_order(pair):
    assert coerce_keys([pair, "x"]) == [dg.AssetKey("a"), dg.AssetKey("b"), dg.AssetKey("x")]


def test_coerce_keys_takes_a_single_string():
    assert coerce_keys("s/t") == [dg.AssetKey(["s", "t"])]
    assert coerce_keys(None) == []


def test_deps_accept_every_key_like_value(single, pair):
    spec = dg.AssetSpec(
        "x",
        deps=[
            "u/v",
            ["l", "m"],
            dg.AssetKey("k"),
            dg.AssetSpec("sp"),
            dg.AssetDep("d"),
            single,
            pair,
        ],
    )
    assert [k.to_user_string() for k in spec.dep_keys] == [
        "u/v",
        "l/m",
        "k",
        "sp",
        "d",
        "s/t",
        "a",
        "b",
    ]


def test_deps_given_as_one_string_is_one_dep():
    assert dg.AssetSpec("x", deps="a/b").dep_keys == (dg.AssetKey(["a", "b"]),)


def test_deps_are_deduplicated():
    spec = dg.AssetSpec("x", deps=["a", dg.AssetKey("a"), dg.AssetSpec("a")])
    assert spec.dep_keys == (dg.AssetKey("a"),)


def test_asset_dep_coerces_its_argument(single):
    assert dg.AssetDep(single).asset_key == dg.AssetKey(["s", "t"])
    assert dg.AssetDep(["s", "t"]).asset_key == dg.AssetKey(["s", "t"])


def test_asset_in_coerces_its_key():
    assert dg.AssetIn("s/t").key == dg.AssetKey(["s", "t"])
    assert dg.AssetIn(asset_key=["s", "t"]).key == dg.AssetKey(["s", "t"])


def test_an_invalid_dep_raises_invalid_key_error():
    with pytest.raises(InvalidKeyError):
        dg.AssetSpec("x", deps=["a b"])


def test_decorator_keys_are_coerced():
    @dg.asset(key="s/t")
    def from_string():
        pass

    @dg.asset(key=dg.AssetKey(["s", "u"]))
    def from_key():
        pass

    assert from_string.key == dg.AssetKey(["s", "t"])
    assert from_key.key == dg.AssetKey(["s", "u"])


def test_graph_lookup_coerces_keys():
    graph = dg.Definitions(assets=[dg.AssetSpec(["s", "t"])]).resolve_asset_graph()
    assert graph.get("s/t") is graph.get(["s", "t"]) is graph.get(dg.AssetKey(["s", "t"]))


@pytest.mark.parametrize("name", ["a\n", "a\nb", "orders\r", "a\x00"])
def test_a_key_component_with_a_line_break_or_control_character_is_refused(name):
    with pytest.raises(InvalidKeyError) as info:
        dg.AssetKey(name)
    assert f"component {name!r} must be a non-empty string of letters" in str(info.value)


class _SubKey(dg.AssetKey):
    __slots__ = ()


def test_keys_of_plain_strings_are_interned_and_keys_of_subclasses_are_not():
    # The deps of specs are deduplicated by the id of interned keys (sheer.definitions.specs):
    # that is only sound if equal interned keys are one object and other keys are not
    # taken for interned.
    assert dg.AssetKey("s/t") is dg.AssetKey(["s", "t"]) is coerce_key("s/t")
    assert is_interned(dg.AssetKey(["s", "t"]))
    sub = _SubKey("s/t")
    assert sub == dg.AssetKey("s/t") and hash(sub) == hash(dg.AssetKey("s/t"))
    assert not is_interned(sub)
    assert pickle.loads(pickle.dumps(sub)) is dg.AssetKey("s/t")


def test_deps_naming_one_key_several_ways_are_one_dep_however_often_they_are_coerced():
    for _ in range(2):  # the second time, from the cached deps
        spec = dg.AssetSpec("x", deps=["a", dg.AssetKey("a"), "b", ["a"], dg.AssetKey("b")])
        assert spec.dep_keys == (dg.AssetKey("a"), dg.AssetKey("b"))
        assert dg.AssetSpec("y", deps=iter(["a", "b", "a"])).dep_keys == spec.dep_keys


def test_a_dep_given_as_a_subclass_key_is_deduplicated_with_its_equal_interned_key():
    spec = dg.AssetSpec("x", deps=["a", _SubKey("a")])
    assert spec.dep_keys == (dg.AssetKey("a"),)
    spec = dg.AssetSpec("x", deps=[_SubKey("a"), "a"])
    assert spec.dep_keys == (dg.AssetKey("a"),)


def test_a_spec_listing_itself_as_a_subclass_key_or_a_string_is_an_error():
    dg.AssetSpec("a")  # cache the dep of 'a'
    dg.AssetSpec("b", deps=["a"])
    for key, deps in [("a", ["a"]), ("a", [_SubKey("a")]), (_SubKey("a"), ["a"])]:
        with pytest.raises(DefinitionError, match="lists itself in deps"):
            dg.AssetSpec(key, deps=deps)
