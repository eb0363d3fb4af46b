"""Partition subsets: interval arithmetic for time windows, key sets, `All`, products and
the unpartitioned entity, with the keys compared to Dagster 1.13.28's subsets."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

import pytest

from sheer.errors import DefinitionError
from sheer.partitions.base import PartitionKeyRange
from sheer.partitions.dynamic import DynamicPartitionsDefinition, InMemoryDynamicPartitions
from sheer.partitions.multi import MultiPartitionKey, MultiPartitionsDefinition
from sheer.partitions.static import StaticPartitionsDefinition
from sheer.partitions.subset import (
    AllPartitionsSubset,
    DefaultPartitionsSubset,
    MultiPartitionsProductSubset,
    TimeWindowPartitionsSubset,
    UnpartitionedSubset,
    all_partitions_subset,
    empty_subset,
    intersect_intervals,
    subset_with_partition_keys,
    subtract_intervals,
)
from sheer.partitions.time_window import DailyPartitionsDefinition, HourlyPartitionsDefinition

try:
    import dagster
except ImportError:  # pragma: no cover - the bench extra is not installed
    dagster = None

needs_dagster = pytest.mark.skipif(
    dagster is None, reason="dagster is not installed (bench extra): nothing to compare with"
)

YEAR = DailyPartitionsDefinition(start_date="2026-01-01", end_date="2027-01-01")
NOW = datetime(2026, 6, 1, tzinfo=UTC)
LATER = datetime(2027, 6, 1, tzinfo=UTC)


def test_a_year_minus_one_day_is_two_intervals() -> None:
    year = all_partitions_subset(YEAR, current_time=LATER).resolved()
    rest = year - subset_with_partition_keys(YEAR, ["2026-03-01"])
    assert isinstance(rest, TimeWindowPartitionsSubset)
    assert rest.intervals == ((0, 59), (60, 365))
    assert len(rest) == 364
    assert "2026-03-01" not in rest and "2026-03-02" in rest
    assert rest.get_partition_key_ranges() == [
        PartitionKeyRange("2026-01-01", "2026-02-28"),
        PartitionKeyRange("2026-03-02", "2026-12-31"),
    ]


def test_interval_union_intersection_difference_never_list_keys(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(*_: Any) -> str:
        raise AssertionError("a key was materialised")

    a = subset_with_partition_keys(YEAR, ["2026-01-01"]).with_partition_key_range(
        YEAR, PartitionKeyRange("2026-02-01", "2026-11-30")
    )
    b = subset_with_partition_keys(YEAR, []).with_partition_key_range(
        YEAR, PartitionKeyRange("2026-06-01", "2026-12-31")
    )
    monkeypatch.setattr(YEAR, "key_at", refuse)
    union, both, only_a = a | b, a & b, a - b
    assert isinstance(union, TimeWindowPartitionsSubset)
    assert union.intervals == ((0, 1), (31, 365))
    assert isinstance(both, TimeWindowPartitionsSubset)
    assert both.intervals == ((151, 334),)
    assert isinstance(only_a, TimeWindowPartitionsSubset)
    assert only_a.intervals == ((0, 1), (31, 151))
    assert len(union) == 335


@pytest.mark.parametrize(
    ("a", "b", "both", "a_minus_b"),
    [
        ([(0, 5), (10, 15)], [(3, 12)], [(3, 5), (10, 12)], [(0, 3), (12, 15)]),
        ([(0, 10)], [(2, 3), (5, 6)], [(2, 3), (5, 6)], [(0, 2), (3, 5), (6, 10)]),
        ([(0, 3)], [(3, 6)], [], [(0, 3)]),
        ([(4, 6)], [(0, 10)], [(4, 6)], []),
    ],
)
def test_interval_operations(
    a: list[tuple[int, int]],
    b: list[tuple[int, int]],
    both: list[tuple[int, int]],
    a_minus_b: list[tuple[int, int]],
) -> None:
    assert list(intersect_intervals(a, b)) == both
    assert list(subtract_intervals(a, b)) == a_minus_b


def test_touching_keys_merge_into_one_interval() -> None:
    subset = subset_with_partition_keys(YEAR, ["2026-01-03", "2026-01-01", "2026-01-02"])
    assert isinstance(subset, TimeWindowPartitionsSubset)
    assert subset.intervals == ((0, 3),)


def test_all_stays_symbolic_and_evaluates_at_current_time() -> None:
    days = DailyPartitionsDefinition(start_date="2026-01-01")
    every = all_partitions_subset(days, current_time=NOW)
    assert isinstance(every, AllPartitionsSubset)
    assert (every | subset_with_partition_keys(days, ["2026-01-05"])) is every
    assert len(every) == 151
    assert "2026-05-31" in every and "2026-06-01" not in every
    resolved = every.resolved()
    assert isinstance(resolved, TimeWindowPartitionsSubset)
    assert resolved.intervals == ((0, 151),)


def test_all_of_a_dynamic_definition_reads_the_store() -> None:
    store = InMemoryDynamicPartitions()
    store.add_dynamic_partitions("files", ["a", "b"])
    files = DynamicPartitionsDefinition(name="files")
    every = all_partitions_subset(files, dynamic_partitions_store=store)
    assert sorted(every.get_partition_keys()) == ["a", "b"]
    assert (every - subset_with_partition_keys(files, ["a"])).get_partition_keys() == ["b"]


def test_static_subsets_are_key_sets() -> None:
    colors = StaticPartitionsDefinition(["red", "green", "blue"])
    a = subset_with_partition_keys(colors, ["red", "blue"])
    assert isinstance(a, DefaultPartitionsSubset)
    assert (a | empty_subset(colors).with_partition_keys(["green"])).get_partition_keys() == [
        "blue",
        "green",
        "red",
    ]
    assert a.get_partition_key_ranges(colors) == [
        PartitionKeyRange("red", "red"),
        PartitionKeyRange("blue", "blue"),
    ]
    assert empty_subset(colors).is_empty and not a.is_empty


def test_product_subset_counts_without_listing() -> None:
    regions = StaticPartitionsDefinition([f"r{i}" for i in range(100)])
    multi = MultiPartitionsDefinition({"date": YEAR, "region": regions})
    product = MultiPartitionsProductSubset(
        multi,
        {
            "date": all_partitions_subset(YEAR, current_time=LATER).resolved(),
            "region": subset_with_partition_keys(regions, ["r1", "r7"]),
        },
    )
    assert len(product) == 730
    assert MultiPartitionKey({"date": "2026-04-04", "region": "r7"}) in product
    assert "2026-04-04|r7" in product and "2026-04-04|r8" not in product
    picked = product & subset_with_partition_keys(multi, ["2026-04-04|r7", "2026-04-04|r8"])
    assert picked.get_partition_keys() == ["2026-04-04|r7"]


def test_unpartitioned_entity_is_one_or_none() -> None:
    one = all_partitions_subset(None)
    assert one == UnpartitionedSubset(True) and len(one) == 1 and None in one
    assert (one - one).is_empty and (empty_subset(None) | one) == one


def test_subsets_of_different_definitions_do_not_combine() -> None:
    colors = StaticPartitionsDefinition(["red"])
    with pytest.raises(DefinitionError) as caught:
        _ = subset_with_partition_keys(colors, ["red"]) | empty_subset(YEAR)
    assert "Fix: map one onto the other's definition first" in str(caught.value)


def test_a_key_that_is_not_a_window_start_is_refused() -> None:
    with pytest.raises(DefinitionError) as caught:
        subset_with_partition_keys(YEAR, ["2026-13-01"])
    assert str(caught.value).startswith("Partition key '2026-13-01' is not a partition of")
    assert "Fix: write it as the definition's format '%Y-%m-%d'" in str(caught.value)


def test_keys_for_an_unpartitioned_asset_are_refused() -> None:
    with pytest.raises(DefinitionError, match="given for an unpartitioned asset"):
        subset_with_partition_keys(None, ["a"])


@needs_dagster
def test_operations_match_dagster_on_hourly_windows() -> None:
    assert dagster is not None
    ours = HourlyPartitionsDefinition(start_date="2026-01-01-00:00", end_date="2026-01-03-00:00")
    theirs = dagster.HourlyPartitionsDefinition(
        start_date="2026-01-01-00:00", end_date="2026-01-03-00:00"
    )
    first = ["2026-01-01-03:00", "2026-01-01-04:00", "2026-01-02-10:00", "2026-01-02-23:00"]
    second = ["2026-01-01-04:00", "2026-01-01-05:00", "2026-01-02-23:00"]
    a, b = (subset_with_partition_keys(ours, k) for k in (first, second))
    da, db = (theirs.empty_subset().with_partition_keys(k) for k in (first, second))
    for mine, dagsters in ((a | b, da | db), (a & b, da & db), (a - b, da - db)):
        assert sorted(mine.get_partition_keys()) == sorted(dagsters.get_partition_keys())
        assert mine.get_partition_key_ranges(ours) == [
            PartitionKeyRange(r.start, r.end) for r in dagsters.get_partition_key_ranges(theirs)
        ]
        assert len(mine) == len(dagsters)


def test_products_combine_as_their_key_sets() -> None:
    rng = random.Random(7)
    sizes = StaticPartitionsDefinition(["s", "m", "l"])
    days = DailyPartitionsDefinition(start_date="2026-01-01", end_date="2026-01-06")
    multi = MultiPartitionsDefinition({"date": days, "size": sizes})
    day_keys, size_keys = days.get_partition_keys(), sizes.get_partition_keys()

    def product() -> MultiPartitionsProductSubset:
        return MultiPartitionsProductSubset(
            multi,
            {
                "date": subset_with_partition_keys(days, rng.sample(day_keys, rng.randint(0, 5))),
                "size": subset_with_partition_keys(sizes, rng.sample(size_keys, rng.randint(0, 3))),
            },
        )

    for _ in range(300):
        a, b = product(), product()
        if rng.random() < 0.4:  # the same in one dimension, so the result stays a product
            b = MultiPartitionsProductSubset(
                multi, {**b.subsets_by_dimension, "size": a.subsets_by_dimension["size"]}
            )
        ka, kb = set(a.get_partition_keys()), set(b.get_partition_keys())
        assert set((a | b).get_partition_keys()) == ka | kb
        assert set((a & b).get_partition_keys()) == ka & kb
        assert set((a - b).get_partition_keys()) == ka - kb
        listed = subset_with_partition_keys(multi, sorted(kb))
        assert set((a - listed).get_partition_keys()) == ka - kb
        assert set((listed - a).get_partition_keys()) == kb - ka


def test_a_product_minus_a_day_stays_a_product() -> None:
    regions = StaticPartitionsDefinition([f"r{i}" for i in range(100)])
    multi = MultiPartitionsDefinition({"date": YEAR, "region": regions})
    every = all_partitions_subset(multi, current_time=LATER).resolved()
    one_day = MultiPartitionsProductSubset(
        multi,
        {
            "date": subset_with_partition_keys(YEAR, ["2026-03-01"]),
            "region": all_partitions_subset(regions).resolved(),
        },
    )
    rest = every - one_day
    assert isinstance(rest, MultiPartitionsProductSubset)
    assert len(rest) == 364 * 100
    date_part = rest.subsets_by_dimension["date"]
    assert isinstance(date_part, TimeWindowPartitionsSubset)
    assert date_part.intervals == ((0, 59), (60, 365))


def test_overlapping_intervals_are_refused_with_the_builder_to_use() -> None:
    with pytest.raises(ValueError, match=r"Fix: build the subset with subset_with_indices\(\)"):
        TimeWindowPartitionsSubset(YEAR, ((0, 5), (5, 7)))
