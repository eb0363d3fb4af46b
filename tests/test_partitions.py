"""Partitions definitions: static, multi and dynamic, each read beside Dagster 1.13's answer.

Each comparison runs the same calls on `dagster` (imported here only, and skipped with a
reason when it is not installed) and on Sheer's classes, and compares the results.
"""

from __future__ import annotations

import pickle
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from sheer.errors import DefinitionError, MultipleDefinitionErrors
from sheer.partitions.base import PartitionKeyRange
from sheer.partitions.dynamic import DynamicPartitionsDefinition, InMemoryDynamicPartitions
from sheer.partitions.multi import (
    MultiPartitionKey,
    MultiPartitionsDefinition,
    PartitionDimensionDefinition,
    PartitionDimensionKey,
)
from sheer.partitions.static import StaticPartitionsDefinition

try:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import dagster
except ImportError:  # the bench extra is not installed
    dagster = None

needs_dagster = pytest.mark.skipif(
    dagster is None, reason="dagster is not installed (bench extra): nothing to compare with"
)

try:
    from sheer.partitions import time_window
except ImportError:  # written beside this module (issue 14, item 1)
    time_window = None  # type: ignore[assignment]

needs_time_window = pytest.mark.skipif(
    time_window is None or not hasattr(time_window, "DailyPartitionsDefinition"),
    reason="sheer.partitions.time_window (DailyPartitionsDefinition) is not there yet",
)


def outcome(call: Callable[[], Any]) -> tuple[str, Any]:
    """('ok', value) or ('raises', None): what a call did, to compare two libraries."""
    try:
        return ("ok", call())
    except Exception:
        return ("raises", None)


# ---- static ------------------------------------------------------------------------------

OCEANS = ["arctic", "atlantic", "indian", "pacific", "southern"]


def both_static(keys: list[str]) -> tuple[Any, StaticPartitionsDefinition]:
    return dagster.StaticPartitionsDefinition(keys), StaticPartitionsDefinition(keys)


@needs_dagster
def test_static_reads_match_dagster():
    theirs, ours = both_static(OCEANS)
    assert ours.get_partition_keys() == theirs.get_partition_keys()
    assert ours.get_first_partition_key() == theirs.get_first_partition_key()
    assert ours.get_last_partition_key() == theirs.get_last_partition_key()
    assert ours.get_num_partitions() == theirs.get_num_partitions()
    for key in [*OCEANS, "baltic", "", "Arctic", "arctic "]:
        assert ours.has_partition_key(key) == theirs.has_partition_key(key), key


@needs_dagster
def test_an_empty_static_definition_matches_dagster():
    theirs, ours = both_static([])
    assert ours.get_partition_keys() == theirs.get_partition_keys() == []
    assert ours.get_first_partition_key() is theirs.get_first_partition_key() is None
    assert ours.get_last_partition_key() is theirs.get_last_partition_key() is None
    assert ours.get_num_partitions() == theirs.get_num_partitions() == 0


@needs_dagster
@pytest.mark.parametrize(
    ("start", "end"),
    [("arctic", "arctic"), ("arctic", "southern"), ("atlantic", "pacific"), ("indian", "southern")],
)
def test_static_ranges_include_both_ends_as_dagster(start, end):
    theirs, ours = both_static(OCEANS)
    key_range = PartitionKeyRange(start, end)
    expected = theirs.get_partition_keys_in_range(dagster.PartitionKeyRange(start, end))
    assert ours.get_partition_keys_in_range(key_range) == expected


@needs_dagster
@pytest.mark.parametrize(("start", "end"), [("arctic", "baltic"), ("baltic", "arctic")])
def test_a_static_range_with_an_unknown_end_is_refused_as_dagster(start, end):
    theirs, ours = both_static(OCEANS)
    assert (
        outcome(lambda: theirs.get_partition_keys_in_range(dagster.PartitionKeyRange(start, end)))[
            0
        ]
        == "raises"
    )
    with pytest.raises(DefinitionError) as err:
        ours.get_partition_keys_in_range(PartitionKeyRange(start, end))
    assert str(err.value) == (
        f"Partition range {start}...{end} is not a range of StaticPartitionsDefinition("
        f"partition_keys={OCEANS}): 'baltic' is not one of its keys. Fix: use keys it has "
        "(its first is 'arctic', its last 'southern')."
    )


def test_a_static_range_that_ends_before_it_starts_is_refused():
    # Dagster returns [] here; Sheer refuses, as the base definition does (see the report)
    with pytest.raises(DefinitionError) as err:
        StaticPartitionsDefinition(OCEANS).get_partition_keys_in_range(
            PartitionKeyRange("pacific", "atlantic")
        )
    assert str(err.value) == (
        "Partition range pacific...atlantic ends before it starts. Fix: put the earlier key "
        "first: atlantic...pacific."
    )


def test_validate_partition_key_names_the_key():
    ours = StaticPartitionsDefinition(OCEANS)
    ours.validate_partition_key("indian")
    with pytest.raises(DefinitionError, match=r"'baltic' is not a key of .*Fix:"):
        ours.validate_partition_key("baltic")


# Dagster 1.13.28 refuses "..." and the control characters \a \b \f \n \r \t \v \0 in a
# static key, and duplicates; it accepts ",", "[", "]", "*", "|", spaces at either end and "".
REFUSED_KEYS = ["a...b", "...", "a\tb", "a\nb", "a\rb", "a\0b", "a\ab", "a\bb", "a\fb", "a\vb"]
ACCEPTED_KEYS = ["a,b", "a[b]", "a*", "a|b", " a", "a ", "a b", "", "a/b", "é", "2026-01-01"]


@needs_dagster
@pytest.mark.parametrize("key", REFUSED_KEYS)
def test_static_keys_dagster_refuses_are_refused(key):
    assert outcome(lambda: dagster.StaticPartitionsDefinition([key]))[0] == "raises"
    with pytest.raises(DefinitionError) as err:
        StaticPartitionsDefinition(["ok", key])
    message = str(err.value)
    assert repr(key) in message and "Fix:" in message


@needs_dagster
@pytest.mark.parametrize("key", ACCEPTED_KEYS)
def test_static_keys_dagster_accepts_are_accepted(key):
    theirs, ours = both_static([key, "other"])
    assert ours.get_partition_keys() == theirs.get_partition_keys()
    assert ours.has_partition_key(key) and theirs.has_partition_key(key)


def test_a_range_separator_in_a_static_key_is_refused_word_for_word():
    with pytest.raises(DefinitionError) as err:
        StaticPartitionsDefinition(["2026-01...02"])
    assert str(err.value) == (
        "Partition key '2026-01...02' contains '...', which a partition key may not contain "
        "('...' separates the ends of a range; control characters do not display). Fix: "
        "remove or replace them, e.g. '2026-01_02'."
    )


@needs_dagster
def test_duplicate_static_keys_are_refused_as_dagster():
    assert outcome(lambda: dagster.StaticPartitionsDefinition(["a", "b", "a"]))[0] == "raises"
    with pytest.raises(DefinitionError) as err:
        StaticPartitionsDefinition(["a", "b", "a", "b", "a"])
    assert str(err.value) == (
        "Partition keys must be unique; duplicated: 'a', 'b'. Fix: list each key once."
    )


def test_every_static_key_problem_is_reported_at_once():
    with pytest.raises(MultipleDefinitionErrors) as err:
        StaticPartitionsDefinition(["a...b", 3, "c", "c"])  # type: ignore[list-item]
    assert len(err.value.errors) == 3
    assert (
        "Partition key 3 is a int, not a string. Fix: give the key as a string, e.g. '3'."
        in str(err.value)
    )


def test_a_single_string_is_refused_with_the_list_it_needs():
    # Dagster takes the string itself as the key list; Sheer says what to write instead
    with pytest.raises(DefinitionError) as err:
        StaticPartitionsDefinition("arctic")
    assert str(err.value) == (
        "StaticPartitionsDefinition got the string 'arctic' where it needs a list of keys. "
        "Fix: wrap it in a list: ['arctic']."
    )


@needs_dagster
def test_static_equality_hash_repr_and_str_as_dagster():
    theirs, ours = both_static(["a", "b", "c"])
    assert (
        repr(ours) == repr(theirs) == "StaticPartitionsDefinition(partition_keys=['a', 'b', 'c'])"
    )
    assert str(ours) == str(theirs) == "'a', 'b', 'c'"
    same, other = (
        StaticPartitionsDefinition(["a", "b", "c"]),
        StaticPartitionsDefinition(["c", "b", "a"]),
    )
    assert ours == same and hash(ours) == hash(same)
    assert ours != other and (theirs != dagster.StaticPartitionsDefinition(["c", "b", "a"]))
    assert ours != DynamicPartitionsDefinition(name="a")
    assert len({ours, same, other}) == 2


def test_the_returned_key_list_is_the_callers_to_change():
    ours = StaticPartitionsDefinition(["a", "b"])
    ours.get_partition_keys().append("c")
    assert ours.get_partition_keys() == ["a", "b"] and not ours.has_partition_key("c")


class CountingKeys(tuple):  # type: ignore[type-arg]
    """A key tuple that counts every whole-sequence walk (iteration, `in`, index, count)."""

    walks = 0

    def __iter__(self) -> Iterator[str]:
        type(self).walks += 1
        return super().__iter__()

    def __contains__(self, item: object) -> bool:
        type(self).walks += 1
        return super().__contains__(item)

    def index(self, *args: Any) -> int:
        type(self).walks += 1
        return super().index(*args)

    def count(self, value: Any) -> int:
        type(self).walks += 1
        return super().count(value)


def test_50000_static_keys_answer_membership_and_ranges_without_walking_the_keys():
    keys = [f"k{i:05d}" for i in range(50_000)]
    ours = StaticPartitionsDefinition(keys)
    index = ours._index
    ours._keys = CountingKeys(ours._keys)
    CountingKeys.walks = 0
    for i in range(0, 50_000, 97):
        assert ours.has_partition_key(keys[i])
        assert ours.get_partition_key_index(keys[i]) == i
        assert not ours.has_partition_key(keys[i] + "x")
        ours.validate_partition_key(keys[i])
        assert ours.get_partition_keys_in_range(PartitionKeyRange(keys[i], keys[i])) == [keys[i]]
    got = ours.get_partition_keys_in_range(PartitionKeyRange("k10000", "k10004"))
    assert got == ["k10000", "k10001", "k10002", "k10003", "k10004"]
    assert ours.get_first_partition_key() == "k00000"
    assert ours.get_last_partition_key() == "k49999"
    assert ours.get_num_partitions() == 50_000
    assert CountingKeys.walks == 0  # no read scanned the keys
    assert ours._index is index  # and the dict was built once, at construction


# ---- multi -------------------------------------------------------------------------------


def both_multi(spec: dict[str, list[str]]) -> tuple[Any, MultiPartitionsDefinition]:
    theirs = dagster.MultiPartitionsDefinition(
        {name: dagster.StaticPartitionsDefinition(keys) for name, keys in spec.items()}
    )
    ours = MultiPartitionsDefinition(
        {name: StaticPartitionsDefinition(keys) for name, keys in spec.items()}
    )
    return theirs, ours


# "z" given first: the dimensions are sorted by name, so "b" comes first in every key
SPEC = {"z": ["a", "b", "c"], "b": ["x", "y"]}


@needs_dagster
def test_multi_keys_and_their_order_match_dagster():
    theirs, ours = both_multi(SPEC)
    assert ours.get_partition_keys() == theirs.get_partition_keys()
    assert ours.get_partition_keys() == ["x|a", "x|b", "x|c", "y|a", "y|b", "y|c"]
    assert ours.get_first_partition_key() == theirs.get_first_partition_key() == "x|a"
    assert ours.get_last_partition_key() == theirs.get_last_partition_key() == "y|c"
    assert ours.get_num_partitions() == theirs.get_num_partitions() == 6
    assert [type(k) for k in ours.get_partition_keys()] == [MultiPartitionKey] * 6
    assert ours.partition_dimension_names == theirs.partition_dimension_names == ["b", "z"]


@needs_dagster
@pytest.mark.parametrize("key", ["x|a", "y|c", "a|x", "x|q", "q|a", "x", "x|a|b", "", "|", "x|"])
def test_multi_membership_matches_dagster(key):
    theirs, ours = both_multi(SPEC)
    assert ours.has_partition_key(key) == theirs.has_partition_key(key)


@needs_dagster
def test_multi_membership_of_a_multi_partition_key_matches_dagster():
    theirs, ours = both_multi(SPEC)
    assert ours.has_partition_key(MultiPartitionKey({"z": "b", "b": "y"}))
    assert theirs.has_partition_key(dagster.MultiPartitionKey({"z": "b", "b": "y"}))
    # Dagster reads a MultiPartitionKey as its string, whatever its dimension names
    odd = {"z": "b", "other": "y"}
    assert ours.has_partition_key(MultiPartitionKey(odd)) == theirs.has_partition_key(
        dagster.MultiPartitionKey(odd)
    )


def test_multi_membership_asks_each_dimension_without_listing_the_product():
    ours = MultiPartitionsDefinition(
        {
            "a": StaticPartitionsDefinition([str(i) for i in range(1000)]),
            "b": StaticPartitionsDefinition([f"b{i}" for i in range(1000)]),
        }
    )

    def no_listing(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the million keys were listed")

    ours.get_partition_keys = no_listing  # type: ignore[method-assign]
    assert ours.has_partition_key("999|b0") and not ours.has_partition_key("1000|b0")
    assert ours.get_num_partitions() == 1_000_000
    assert ours.get_first_partition_key() == "0|b0" and ours.get_last_partition_key() == "999|b999"


@needs_dagster
@pytest.mark.parametrize(
    ("start", "end"), [("x|a", "y|b"), ("x|b", "x|c"), ("y|a", "y|a"), ("x|a", "y|c")]
)
def test_multi_ranges_are_boxes_as_dagster(start, end):
    theirs, ours = both_multi(SPEC)
    expected = theirs.get_partition_keys_in_range(dagster.PartitionKeyRange(start, end))
    assert ours.get_partition_keys_in_range(PartitionKeyRange(start, end)) == expected


@needs_dagster
@pytest.mark.parametrize(("start", "end"), [("x|a", "y|q"), ("x", "y|a")])
def test_bad_multi_ranges_are_refused_as_dagster(start, end):
    theirs, ours = both_multi(SPEC)
    assert (
        outcome(lambda: theirs.get_partition_keys_in_range(dagster.PartitionKeyRange(start, end)))[
            0
        ]
        == "raises"
    )
    with pytest.raises(DefinitionError, match="Fix:"):
        ours.get_partition_keys_in_range(PartitionKeyRange(start, end))


@needs_dagster
def test_multi_partition_key_matches_dagster():
    theirs = dagster.MultiPartitionKey({"z": "a", "b": "x"})
    ours = MultiPartitionKey({"z": "a", "b": "x"})
    assert str(ours) == str(theirs) == "x|a" and repr(ours) == repr(theirs)
    assert ours == theirs == "x|a" and hash(ours) == hash("x|a")
    assert ours == MultiPartitionKey({"b": "x", "z": "a"})
    assert ours.keys_by_dimension == theirs.keys_by_dimension == {"b": "x", "z": "a"}
    assert [tuple(d) for d in ours.dimension_keys] == [tuple(d) for d in theirs.dimension_keys]
    assert ours.dimension_keys == [PartitionDimensionKey("b", "x"), PartitionDimensionKey("z", "a")]
    assert (
        ours.dimension_keys[0].dimension_name == "b" and ours.dimension_keys[0].partition_key == "x"
    )
    assert isinstance(ours, str) and ours.split("|") == ["x", "a"]


def test_a_multi_partition_key_survives_pickling_with_its_dimensions():
    key = pickle.loads(pickle.dumps(MultiPartitionKey({"date": "2026-01-02", "region": "eu"})))
    assert type(key) is MultiPartitionKey and key == "2026-01-02|eu"
    assert key.keys_by_dimension == {"date": "2026-01-02", "region": "eu"}


@needs_dagster
def test_get_partition_key_from_str_matches_dagster():
    theirs, ours = both_multi(SPEC)
    key = ours.get_partition_key_from_str("y|b")
    assert key.keys_by_dimension == theirs.get_partition_key_from_str("y|b").keys_by_dimension
    assert ours.get_multipartition_key_from_str("y|b") == key
    assert outcome(lambda: theirs.get_partition_key_from_str("y"))[0] == "raises"
    with pytest.raises(DefinitionError) as err:
        ours.get_partition_key_from_str("y")
    assert "Partition key 'y' has 1 part(s)" in str(err.value)
    assert str(err.value).endswith("Fix: write it as <b>|<z>.")


@needs_dagster
def test_multi_dimensions_repr_str_and_equality_as_dagster():
    theirs, ours = both_multi(SPEC)
    assert [(d.name, repr(d.partitions_def)) for d in ours.partitions_defs] == [
        (d.name, repr(d.partitions_def)) for d in theirs.partitions_defs
    ]
    assert ours.partitions_defs[0] == PartitionDimensionDefinition(
        "b", StaticPartitionsDefinition(["x", "y"])
    )
    assert str(ours) == str(theirs)
    assert repr(ours) == repr(theirs) + ")"  # Dagster leaves its parenthesis open
    _, reordered = both_multi({"b": ["x", "y"], "z": ["a", "b", "c"]})
    assert ours == reordered and hash(ours) == hash(reordered)
    _, other = both_multi({"b": ["x", "y"], "z": ["a", "b"]})
    assert ours != other
    assert ours.primary_dimension.name == theirs.primary_dimension.name == "b"
    assert ours.secondary_dimension.name == theirs.secondary_dimension.name == "z"
    assert ours.get_partitions_def_for_dimension("z") == StaticPartitionsDefinition(["a", "b", "c"])
    assert not ours.has_time_window_dimension


@needs_dagster
@pytest.mark.parametrize("names", [["a"], ["a", "b", "c"], []])
def test_multi_with_other_than_two_dimensions_is_refused_as_dagster(names):
    theirs_dims = {n: dagster.StaticPartitionsDefinition(["x"]) for n in names}
    assert outcome(lambda: dagster.MultiPartitionsDefinition(theirs_dims))[0] == "raises"
    with pytest.raises(DefinitionError) as err:
        MultiPartitionsDefinition({n: StaticPartitionsDefinition(["x"]) for n in names})
    assert str(err.value).startswith(
        "A MultiPartitionsDefinition has exactly 2 partitions definitions (Dagster's rule); "
        f"this one has {len(names)}: {sorted(names)}. Fix: give two dimensions"
    )


@needs_dagster
@pytest.mark.parametrize("key", ["p|q", "p,q", "p[q", "p]q"])
def test_multi_refuses_static_keys_with_its_separators_as_dagster(key):
    def theirs() -> Any:
        return dagster.MultiPartitionsDefinition(
            {
                "a": dagster.StaticPartitionsDefinition([key]),
                "b": dagster.StaticPartitionsDefinition(["x"]),
            }
        )

    assert outcome(theirs)[0] == "raises"
    with pytest.raises(DefinitionError) as err:
        MultiPartitionsDefinition(
            {"a": StaticPartitionsDefinition([key]), "b": StaticPartitionsDefinition(["x"])}
        )
    assert f"dimension 'a': {key!r}" in str(err.value) and "Fix:" in str(err.value)


@needs_dagster
def test_a_multi_dimension_cannot_itself_be_multi_as_dagster():
    theirs_inner, ours_inner = both_multi(SPEC)
    assert (
        outcome(
            lambda: dagster.MultiPartitionsDefinition(
                {"a": theirs_inner, "c": dagster.StaticPartitionsDefinition(["x"])}
            )
        )[0]
        == "raises"
    )
    with pytest.raises(DefinitionError) as err:
        MultiPartitionsDefinition({"a": ours_inner, "c": StaticPartitionsDefinition(["x"])})
    assert str(err.value) == (
        "Dimension 'a' of a MultiPartitionsDefinition is a MultiPartitionsDefinition; a "
        "dimension must be a static, time window or dynamic partitions definition. Fix: use "
        "one of those for each dimension."
    )


@needs_dagster
def test_multi_with_a_dynamic_dimension_matches_dagster():
    instance = dagster.DagsterInstance.ephemeral()
    store = InMemoryDynamicPartitions()
    for s in (instance, store):
        s.add_dynamic_partitions("fruits", ["pear", "apple", "fig|x"])
    theirs = dagster.MultiPartitionsDefinition(
        {
            "fruit": dagster.DynamicPartitionsDefinition(name="fruits"),
            "color": dagster.StaticPartitionsDefinition(["red", "green"]),
        }
    )
    ours = MultiPartitionsDefinition(
        {
            "fruit": DynamicPartitionsDefinition(name="fruits"),
            "color": StaticPartitionsDefinition(["red", "green"]),
        }
    )
    with dagster._core.definitions.partitions.context.partition_loading_context(
        dynamic_partitions_store=instance
    ):
        expected = theirs.get_partition_keys()  # "fig|x" makes keys that do not split back
        expected_has = [theirs.has_partition_key(k) for k in ["red|pear", "red|plum", "blue|pear"]]
    assert ours.get_partition_keys(dynamic_partitions_store=store) == expected
    assert [
        ours.has_partition_key(k, dynamic_partitions_store=store)
        for k in ["red|pear", "red|plum", "blue|pear"]
    ] == expected_has
    assert ours.get_first_partition_key(dynamic_partitions_store=store) == expected[0]
    assert ours.get_last_partition_key(dynamic_partitions_store=store) == expected[-1]


@needs_dagster
@needs_time_window
def test_multi_with_a_daily_dimension_matches_dagster():
    theirs = dagster.MultiPartitionsDefinition(
        {
            "date": dagster.DailyPartitionsDefinition("2026-01-01", end_date="2026-01-04"),
            "a": dagster.StaticPartitionsDefinition(["p", "q"]),
        }
    )
    ours = MultiPartitionsDefinition(
        {
            "date": time_window.DailyPartitionsDefinition("2026-01-01", end_date="2026-01-04"),
            "a": StaticPartitionsDefinition(["p", "q"]),
        }
    )
    # keys run in dimension-name order ("a" outermost) even though "date" is primary
    assert ours.get_partition_keys() == theirs.get_partition_keys()
    assert ours.primary_dimension.name == theirs.primary_dimension.name == "date"
    assert ours.secondary_dimension.name == theirs.secondary_dimension.name == "a"
    assert ours.has_time_window_dimension and ours.time_window_dimension.name == "date"
    key_range = ("p|2026-01-01", "q|2026-01-02")
    assert ours.get_partition_keys_in_range(PartitionKeyRange(*key_range)) == (
        theirs.get_partition_keys_in_range(dagster.PartitionKeyRange(*key_range))
    )
    for key in ["p|2026-01-03", "p|2026-01-04", "r|2026-01-01", "2026-01-01|p"]:
        assert ours.has_partition_key(key) == theirs.has_partition_key(key), key


class StandInTimeWindow(StaticPartitionsDefinition):
    """Stands for TimeWindowPartitionsDefinition while time_window.py is being written."""


def test_a_time_dimension_is_primary_whatever_its_name(monkeypatch):
    monkeypatch.setattr("sheer.partitions.multi._time_window_type", lambda: StandInTimeWindow)
    multi = MultiPartitionsDefinition(
        {
            "date": StandInTimeWindow(["2026-01-01", "2026-01-02"]),
            "a": StaticPartitionsDefinition(["p"]),
        }
    )
    assert multi.primary_dimension.name == "date" and multi.secondary_dimension.name == "a"
    assert multi.has_time_window_dimension and multi.time_window_dimension.name == "date"
    assert multi.get_partition_keys() == ["p|2026-01-01", "p|2026-01-02"]  # still name order


def test_two_time_dimensions_leave_the_first_by_name_primary(monkeypatch):
    monkeypatch.setattr("sheer.partitions.multi._time_window_type", lambda: StandInTimeWindow)
    multi = MultiPartitionsDefinition(
        {"z": StandInTimeWindow(["1"]), "b": StandInTimeWindow(["2"])}
    )
    assert multi.primary_dimension.name == "b" and multi.secondary_dimension.name == "z"
    with pytest.raises(DefinitionError, match="has 2 time window dimensions, not exactly one"):
        multi.time_window_dimension  # noqa: B018


# ---- dynamic -----------------------------------------------------------------------------


@needs_dagster
def test_dynamic_repr_str_and_equality_as_dagster():
    theirs, ours = (
        dagster.DynamicPartitionsDefinition(name="fruits"),
        DynamicPartitionsDefinition(name="fruits"),
    )
    assert (
        repr(ours)
        == repr(theirs)
        == "DynamicPartitionsDefinition(partition_fn=None, name='fruits')"
    )
    assert str(ours) == str(theirs) == 'Dynamic partitions: "fruits"'
    assert ours == DynamicPartitionsDefinition(name="fruits")
    assert hash(ours) == hash(DynamicPartitionsDefinition(name="fruits"))
    assert ours != DynamicPartitionsDefinition(name="veg") and ours.name == "fruits"
    assert ours.partition_fn is None


def test_dynamic_without_a_store_says_to_pass_the_instance():
    fruits = DynamicPartitionsDefinition(name="fruits")
    message = (
        "The keys of DynamicPartitionsDefinition(partition_fn=None, name='fruits') live in the "
        "instance, and no instance was given to read them from. Fix: pass "
        "dynamic_partitions_store=instance (in an asset, context.instance)."
    )
    for read in (fruits.get_partition_keys, lambda: fruits.has_partition_key("apple")):
        with pytest.raises(DefinitionError) as err:
            read()
        assert str(err.value) == message


@needs_dagster
def test_dagster_also_refuses_dynamic_reads_without_an_instance():
    fruits = dagster.DynamicPartitionsDefinition(name="fruits")
    assert outcome(fruits.get_partition_keys)[0] == "raises"
    assert outcome(lambda: fruits.has_partition_key("apple"))[0] == "raises"


def test_dynamic_needs_a_name():
    with pytest.raises(DefinitionError) as err:
        DynamicPartitionsDefinition()
    assert str(err.value) == (
        "DynamicPartitionsDefinition needs a non-empty string name, got None. "
        "Fix: DynamicPartitionsDefinition(name='fruits')."
    )


def test_dynamic_name_given_positionally_is_refused_with_the_keyword():
    with pytest.raises(DefinitionError) as err:
        DynamicPartitionsDefinition("fruits")
    assert str(err.value).endswith(
        "Fix: pass the name by keyword: DynamicPartitionsDefinition(name='fruits')."
    )


def test_dynamic_partition_fn_is_refused():
    with pytest.raises(DefinitionError, match=r"partition_fn=\.\.\.\) is not supported.*Fix:"):
        DynamicPartitionsDefinition(partition_fn=lambda _t: ["a"])


@pytest.fixture
def dagster_instance() -> Iterator[Any]:
    if dagster is None:
        pytest.skip("dagster is not installed (bench extra): nothing to compare with")
    with dagster.DagsterInstance.ephemeral() as instance:
        yield instance


def both_stores(dagster_instance: Any) -> list[Any]:
    return [dagster_instance, InMemoryDynamicPartitions()]


def test_dynamic_store_semantics_match_dagsters_instance(dagster_instance):
    """Order of first addition; re-adding does nothing; deleting a missing key does nothing;
    a deleted key added again goes last; an unknown name has no keys."""
    results = []
    for store in both_stores(dagster_instance):
        seen = []
        store.add_dynamic_partitions("fruits", ["pear", "apple"])
        store.add_dynamic_partitions("fruits", ["apple", "fig", "pear"])
        seen.append(store.get_dynamic_partitions("fruits"))
        store.delete_dynamic_partition("fruits", "plum")
        store.delete_dynamic_partition("never", "plum")
        store.delete_dynamic_partition("fruits", "pear")
        seen.append(store.get_dynamic_partitions("fruits"))
        store.add_dynamic_partitions("fruits", ["pear"])
        store.add_dynamic_partitions("fruits", [])
        seen.append(store.get_dynamic_partitions("fruits"))
        seen.append(store.get_dynamic_partitions("never"))
        seen.append([store.has_dynamic_partition("fruits", k) for k in ["pear", "plum"]])
        seen.append(store.has_dynamic_partition("never", "pear"))
        store.add_dynamic_partitions("veg", ["pear"])
        seen.append(store.get_dynamic_partitions("veg"))
        results.append(seen)
    ours, theirs = results[1], results[0]
    assert ours == theirs
    assert ours[2] == ["apple", "fig", "pear"]


def test_dynamic_definition_reads_match_dagster_with_the_store(dagster_instance):
    theirs = dagster.DynamicPartitionsDefinition(name="fruits")
    ours = DynamicPartitionsDefinition(name="fruits")
    store = InMemoryDynamicPartitions()
    for s in (dagster_instance, store):
        s.add_dynamic_partitions("fruits", ["pear", "apple", "fig"])
    assert ours.get_partition_keys(dynamic_partitions_store=store) == theirs.get_partition_keys(
        dynamic_partitions_store=dagster_instance
    )
    for key in ["pear", "plum"]:
        assert ours.has_partition_key(
            key, dynamic_partitions_store=store
        ) == theirs.has_partition_key(key, dynamic_partitions_store=dagster_instance)
    with dagster._core.definitions.partitions.context.partition_loading_context(
        dynamic_partitions_store=dagster_instance
    ):
        expected_range = theirs.get_partition_keys_in_range(
            dagster.PartitionKeyRange("apple", "fig")
        )
        expected_ends = (theirs.get_first_partition_key(), theirs.get_last_partition_key())
        expected_count = theirs.get_num_partitions()
    assert (
        ours.get_partition_keys_in_range(PartitionKeyRange("apple", "fig"), store) == expected_range
    )
    assert (
        ours.get_first_partition_key(dynamic_partitions_store=store),
        ours.get_last_partition_key(dynamic_partitions_store=store),
    ) == expected_ends
    assert ours.get_num_partitions(dynamic_partitions_store=store) == expected_count


def test_a_repeat_within_one_add_is_ignored():
    # Dagster's SQLite instance raises IntegrityError and adds nothing; Sheer adds each once
    store = InMemoryDynamicPartitions()
    store.add_dynamic_partitions("fruits", ["pear", "apple", "pear"])
    assert store.get_dynamic_partitions("fruits") == ["pear", "apple"]


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        (
            ["a...b"],
            "Partition key 'a...b' contains '...', which a partition key may not contain ('...' "
            "separates the ends of a range; control characters do not display). Fix: remove or "
            "replace them, e.g. 'a_b'.",
        ),
        ([1], "Partition key 1 is a int, not a string. Fix: give the key as a string, e.g. '1'."),
        (
            "pear",
            "add_dynamic_partitions got the string 'pear' where it needs a list of keys. Fix: "
            "wrap it in a list: ['pear'].",
        ),
    ],
)
def test_bad_dynamic_keys_are_refused_and_nothing_is_added(keys, message):
    # Dagster's instance stores "a...b" and 1 (as "1") as they come; Sheer refuses them
    store = InMemoryDynamicPartitions()
    with pytest.raises(DefinitionError) as err:
        store.add_dynamic_partitions("fruits", ["ok", *keys] if isinstance(keys, list) else keys)
    assert str(err.value) == message
    assert store.get_dynamic_partitions("fruits") == []


def test_the_store_returns_a_list_the_caller_may_change():
    store = InMemoryDynamicPartitions()
    store.add_dynamic_partitions("fruits", ["pear"])
    store.get_dynamic_partitions("fruits").append("plum")
    assert store.get_dynamic_partitions("fruits") == ["pear"]
