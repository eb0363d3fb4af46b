"""Partition mappings beside Dagster 1.13.28: the same keys mapped up and down through each
mapping, nonexistent upstream partitions, inference, validation messages, and interval
subsets that stay intervals through many hops."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from sheer.errors import DefinitionError
from sheer.partitions.base import PartitionKeyRange, PartitionsDefinition
from sheer.partitions.dynamic import DynamicPartitionsDefinition, InMemoryDynamicPartitions
from sheer.partitions.mappings import (
    AllPartitionMapping,
    DimensionPartitionMapping,
    IdentityPartitionMapping,
    LastPartitionMapping,
    MultiPartitionMapping,
    MultiToSingleDimensionPartitionMapping,
    PartitionMapping,
    SpecificPartitionsPartitionMapping,
    StaticPartitionMapping,
    TimeWindowPartitionMapping,
    UpstreamPartitionsResult,
    infer_partition_mapping,
    validate_partition_mapping,
)
from sheer.partitions.multi import MultiPartitionsDefinition
from sheer.partitions.static import StaticPartitionsDefinition
from sheer.partitions.subset import (
    AllPartitionsSubset,
    MultiPartitionsProductSubset,
    TimeWindowPartitionsSubset,
    UnpartitionedSubset,
    all_partitions_subset,
    subset_with_partition_keys,
)
from sheer.partitions.time_window import (
    DailyPartitionsDefinition,
    HourlyPartitionsDefinition,
    MonthlyPartitionsDefinition,
    WeeklyPartitionsDefinition,
)

try:
    import dagster
except ImportError:  # pragma: no cover - the bench extra is not installed
    dagster = None

needs_dagster = pytest.mark.skipif(
    dagster is None, reason="dagster is not installed (bench extra): nothing to compare with"
)

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def _dagster_def(ours: PartitionsDefinition) -> Any:
    """The Dagster definition equal to one of ours (the few kinds these tests use)."""
    assert dagster is not None
    if isinstance(ours, MultiPartitionsDefinition):
        return dagster.MultiPartitionsDefinition(
            {dim.name: _dagster_def(dim.partitions_def) for dim in ours.partitions_defs}
        )
    if isinstance(ours, StaticPartitionsDefinition):
        return dagster.StaticPartitionsDefinition(list(ours.get_partition_keys()))
    return dagster.TimeWindowPartitionsDefinition(
        start=ours.start,
        end=ours.end,
        cron_schedule=ours.cron_schedule,
        fmt=ours.fmt,  # type: ignore[attr-defined]
        timezone=ours.timezone,  # type: ignore[attr-defined]
    )


def _dagster_mapping(ours: PartitionMapping) -> Any:
    assert dagster is not None
    if isinstance(ours, TimeWindowPartitionMapping):
        return dagster.TimeWindowPartitionMapping(
            start_offset=ours.start_offset,
            end_offset=ours.end_offset,
            allow_nonexistent_upstream_partitions=ours.allow_nonexistent_upstream_partitions,
        )
    if isinstance(ours, StaticPartitionMapping):
        return dagster.StaticPartitionMapping(
            dict(ours.downstream_partition_keys_by_upstream_partition_key)
        )
    if isinstance(ours, SpecificPartitionsPartitionMapping):
        return dagster.SpecificPartitionsPartitionMapping(list(ours.partition_keys))
    if isinstance(ours, MultiToSingleDimensionPartitionMapping):
        return dagster.MultiToSingleDimensionPartitionMapping(ours.partition_dimension_name)
    if isinstance(ours, MultiPartitionMapping):
        return dagster.MultiPartitionMapping(
            {
                up: dagster.DimensionPartitionMapping(
                    m.dimension_name, _dagster_mapping(m.partition_mapping)
                )
                for up, m in ours.downstream_mappings_by_upstream_dimension.items()
            }
        )
    return getattr(dagster, type(ours).__name__)()


def _compare_up(
    mapping: PartitionMapping,
    downstream: PartitionsDefinition,
    upstream: PartitionsDefinition,
    keys: Sequence[str],
    now: datetime = NOW,
) -> UpstreamPartitionsResult:
    """Map `keys` of the downstream upward in both libraries and assert the same answer."""
    assert dagster is not None
    ours = mapping.get_upstream_mapped_partitions_result_for_partitions(
        subset_with_partition_keys(downstream, keys), downstream, upstream, current_time=now
    )
    d_down, d_up = _dagster_def(downstream), _dagster_def(upstream)
    theirs = _dagster_mapping(mapping).get_upstream_mapped_partitions_result_for_partitions(
        d_down.empty_subset().with_partition_keys(keys), d_down, d_up, current_time=now
    )
    assert sorted(ours.partitions_subset.get_partition_keys()) == sorted(
        theirs.partitions_subset.get_partition_keys()
    )
    assert sorted(ours.required_but_nonexistent_subset.get_partition_keys()) == sorted(
        theirs.required_but_nonexistent_subset.get_partition_keys()
    )
    return ours


def _compare_down(
    mapping: PartitionMapping,
    downstream: PartitionsDefinition,
    upstream: PartitionsDefinition,
    keys: Sequence[str],
    now: datetime = NOW,
) -> Any:
    assert dagster is not None
    ours = mapping.get_downstream_partitions_for_partitions(
        subset_with_partition_keys(upstream, keys), upstream, downstream, current_time=now
    )
    d_down, d_up = _dagster_def(downstream), _dagster_def(upstream)
    theirs = _dagster_mapping(mapping).get_downstream_partitions_for_partitions(
        d_up.empty_subset().with_partition_keys(keys), d_up, d_down, current_time=now
    )
    assert sorted(ours.get_partition_keys()) == sorted(theirs.get_partition_keys())
    return ours


DAILY = DailyPartitionsDefinition(start_date="2026-01-01")
DAILY_LATE = DailyPartitionsDefinition(start_date="2026-01-10")
HOURLY = HourlyPartitionsDefinition(start_date="2026-01-01-00:00")
WEEKLY = WeeklyPartitionsDefinition(start_date="2026-01-04")
MONTHLY = MonthlyPartitionsDefinition(start_date="2026-01-01")
COLORS = StaticPartitionsDefinition(["red", "green", "blue"])
SHADES = StaticPartitionsDefinition(["warm", "cool"])
MULTI = MultiPartitionsDefinition({"date": DAILY, "color": COLORS})

TIME_CASES = [
    ("identity days", TimeWindowPartitionMapping(), DAILY, DAILY, ["2026-01-05", "2026-01-07"]),
    ("minus one", TimeWindowPartitionMapping(-1, -1), DAILY, DAILY, ["2026-01-01", "2026-01-05"]),
    ("window back", TimeWindowPartitionMapping(start_offset=-3), DAILY, DAILY, ["2026-01-02"]),
    ("plus one", TimeWindowPartitionMapping(1, 1), DAILY, DAILY, ["2026-02-27", "2026-02-28"]),
    (
        "late upstream",
        TimeWindowPartitionMapping(),
        DAILY,
        DAILY_LATE,
        ["2026-01-08", "2026-01-11"],
    ),
    (
        "late allowed",
        TimeWindowPartitionMapping(allow_nonexistent_upstream_partitions=True),
        DAILY,
        DAILY_LATE,
        ["2026-01-08", "2026-01-11"],
    ),
    ("daily of hours", TimeWindowPartitionMapping(), DAILY, HOURLY, ["2026-01-03", "2026-01-04"]),
    ("hours of a day", TimeWindowPartitionMapping(), HOURLY, DAILY, ["2026-01-03-05:00"]),
    ("hour minus one", TimeWindowPartitionMapping(-1, -1), HOURLY, DAILY, ["2026-01-03-00:00"]),
    ("daily to monthly", TimeWindowPartitionMapping(), MONTHLY, DAILY, ["2026-01-01"]),
    ("month back", TimeWindowPartitionMapping(-1, -1), MONTHLY, DAILY, ["2026-02-01"]),
    ("days of a week", TimeWindowPartitionMapping(), WEEKLY, DAILY, ["2026-01-11"]),
    ("week of days", TimeWindowPartitionMapping(), DAILY, WEEKLY, ["2026-01-13", "2026-01-20"]),
    ("day back weekly", TimeWindowPartitionMapping(-1, 0), DAILY, WEEKLY, ["2026-01-11"]),
]


@needs_dagster
@pytest.mark.parametrize(
    ("mapping", "downstream", "upstream", "keys"),
    [case[1:] for case in TIME_CASES],
    ids=[case[0] for case in TIME_CASES],
)
def test_time_window_mapping_upward_matches_dagster(
    mapping: PartitionMapping,
    downstream: PartitionsDefinition,
    upstream: PartitionsDefinition,
    keys: list[str],
) -> None:
    result = _compare_up(mapping, downstream, upstream, keys)
    assert isinstance(result.partitions_subset, TimeWindowPartitionsSubset)


@needs_dagster
@pytest.mark.parametrize(
    ("mapping", "downstream", "upstream", "keys"),
    [case[1:] for case in TIME_CASES],
    ids=[case[0] for case in TIME_CASES],
)
def test_time_window_mapping_downward_matches_dagster(
    mapping: PartitionMapping,
    downstream: PartitionsDefinition,
    upstream: PartitionsDefinition,
    keys: list[str],
) -> None:
    up_keys = mapping.get_upstream_mapped_partitions_result_for_partitions(
        subset_with_partition_keys(downstream, keys), downstream, upstream, current_time=NOW
    ).partitions_subset.get_partition_keys()
    _compare_down(mapping, downstream, upstream, up_keys[:3] or keys)


def test_missing_upstream_days_are_reported_unless_allowed() -> None:
    keys = ["2026-01-08", "2026-01-09", "2026-01-10", "2026-01-11"]
    strict = TimeWindowPartitionMapping().get_upstream_mapped_partitions_result_for_partitions(
        subset_with_partition_keys(DAILY, keys), DAILY, DAILY_LATE, current_time=NOW
    )
    assert strict.partitions_subset.get_partition_keys() == ["2026-01-10", "2026-01-11"]
    assert strict.required_but_nonexistent_subset.get_partition_keys() == [
        "2026-01-08",
        "2026-01-09",
    ]
    allowed = TimeWindowPartitionMapping(allow_nonexistent_upstream_partitions=True)
    result = allowed.get_upstream_mapped_partitions_result_for_partitions(
        subset_with_partition_keys(DAILY, keys), DAILY, DAILY_LATE, current_time=NOW
    )
    assert result.required_but_nonexistent_subset.is_empty


STATIC_MAPPING = StaticPartitionMapping({"red": "warm", "green": "cool", "blue": ["cool", "warm"]})

KEY_CASES: list[
    tuple[str, PartitionMapping, PartitionsDefinition, PartitionsDefinition, list[str]]
] = [
    ("identity static", IdentityPartitionMapping(), COLORS, COLORS, ["red", "blue"]),
    (
        "identity other keys",
        IdentityPartitionMapping(),
        StaticPartitionsDefinition(["red", "pink"]),
        COLORS,
        ["red", "pink"],
    ),
    ("static many to one", STATIC_MAPPING, SHADES, COLORS, ["cool"]),
    ("static both", STATIC_MAPPING, SHADES, COLORS, ["warm", "cool"]),
    ("last static", LastPartitionMapping(), SHADES, COLORS, ["warm"]),
    ("last daily", LastPartitionMapping(), COLORS, DAILY, ["red"]),
    ("all", AllPartitionMapping(), SHADES, COLORS, ["warm"]),
    ("all daily", AllPartitionMapping(), COLORS, DAILY, ["red"]),
    ("specific", SpecificPartitionsPartitionMapping(["green", "blue"]), SHADES, COLORS, ["cool"]),
    ("specific daily", SpecificPartitionsPartitionMapping(["2026-01-02"]), COLORS, DAILY, ["red"]),
    ("multi to single up", MultiToSingleDimensionPartitionMapping(), COLORS, MULTI, ["red"]),
    (
        "single to multi up",
        MultiToSingleDimensionPartitionMapping(),
        MULTI,
        COLORS,
        ["red|2026-01-02", "blue|2026-01-03"],
    ),
    (
        "multi date dimension",
        MultiToSingleDimensionPartitionMapping("date"),
        DAILY,
        MULTI,
        ["2026-01-02"],
    ),
    (
        "multi to multi",
        MultiPartitionMapping(
            {
                "date": DimensionPartitionMapping("date", TimeWindowPartitionMapping(-1, 0)),
                "color": DimensionPartitionMapping("color", IdentityPartitionMapping()),
            }
        ),
        MULTI,
        MULTI,
        ["red|2026-01-05", "blue|2026-01-09"],
    ),
    (
        "multi to multi one dimension",
        MultiPartitionMapping(
            {"date": DimensionPartitionMapping("date", TimeWindowPartitionMapping(-1, -1))}
        ),
        MULTI,
        MULTI,
        ["red|2026-01-05", "blue|2026-01-01"],
    ),
]


@needs_dagster
@pytest.mark.parametrize(
    ("mapping", "downstream", "upstream", "keys"),
    [case[1:] for case in KEY_CASES],
    ids=[case[0] for case in KEY_CASES],
)
def test_mapping_upward_matches_dagster(
    mapping: PartitionMapping,
    downstream: PartitionsDefinition,
    upstream: PartitionsDefinition,
    keys: list[str],
) -> None:
    _compare_up(mapping, downstream, upstream, keys)


@needs_dagster
@pytest.mark.parametrize(
    ("mapping", "downstream", "upstream", "keys"),
    [case[1:] for case in KEY_CASES],
    ids=[case[0] for case in KEY_CASES],
)
def test_mapping_downward_matches_dagster(
    mapping: PartitionMapping,
    downstream: PartitionsDefinition,
    upstream: PartitionsDefinition,
    keys: list[str],
) -> None:
    up_keys = mapping.get_upstream_mapped_partitions_result_for_partitions(
        subset_with_partition_keys(downstream, keys), downstream, upstream, current_time=NOW
    ).partitions_subset.get_partition_keys()
    _compare_down(mapping, downstream, upstream, sorted(up_keys)[:4])


def test_a_year_through_fifty_offset_hops_stays_one_interval(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    year = DailyPartitionsDefinition(start_date="2025-01-01", end_date="2026-01-01")
    listed: list[int] = []
    real = year.key_at

    def spy(index: int) -> str:
        listed.append(index)
        return real(index)

    monkeypatch.setattr(year, "key_at", spy)
    subset = all_partitions_subset(year, current_time=NOW)
    mapping = TimeWindowPartitionMapping(start_offset=-1, end_offset=-1)
    for _ in range(50):
        result = mapping.get_upstream_mapped_partitions_result_for_partitions(
            subset, year, year, current_time=NOW
        )
        subset = result.partitions_subset
    assert isinstance(subset, TimeWindowPartitionsSubset)
    assert subset.intervals == ((0, 365 - 50),)
    assert listed == []


def test_hourly_to_daily_over_a_year_is_one_interval_per_interval() -> None:
    hours = HourlyPartitionsDefinition(start_date="2025-01-01-00:00", end_date="2026-01-01-00:00")
    days = DailyPartitionsDefinition(start_date="2025-01-01", end_date="2026-01-01")
    every_hour = all_partitions_subset(hours, current_time=NOW)
    result = TimeWindowPartitionMapping().get_upstream_mapped_partitions_result_for_partitions(
        every_hour, hours, days, current_time=NOW
    )
    assert isinstance(result.partitions_subset, TimeWindowPartitionsSubset)
    assert result.partitions_subset.intervals == ((0, 365),)


def test_multi_to_single_over_a_year_and_a_hundred_regions_is_a_product() -> None:
    year = DailyPartitionsDefinition(start_date="2025-01-01", end_date="2026-01-01")
    regions = StaticPartitionsDefinition([f"r{i}" for i in range(100)])
    multi = MultiPartitionsDefinition({"date": year, "region": regions})
    days = subset_with_partition_keys(year, []).with_partition_key_range(
        year,
        PartitionKeyRange("2025-02-01", "2025-11-30"),
    )
    mapping = MultiToSingleDimensionPartitionMapping()
    result = mapping.get_upstream_mapped_partitions_result_for_partitions(
        days, year, multi, current_time=NOW
    )
    product = result.partitions_subset
    assert isinstance(product, MultiPartitionsProductSubset)
    assert len(product) == 303 * 100
    assert "2025-03-01|r42" in product and "2025-01-01|r42" not in product
    down = MultiToSingleDimensionPartitionMapping().get_downstream_partitions_for_partitions(
        product, multi, year, current_time=NOW
    )
    assert isinstance(down, TimeWindowPartitionsSubset) and down.intervals == ((31, 334),)


def test_unpartitioned_ends_read_everything_through_the_inferred_mapping() -> None:
    assert infer_partition_mapping(None, DAILY, None) == AllPartitionMapping()
    assert infer_partition_mapping(None, None, DAILY) == AllPartitionMapping()
    mapping = AllPartitionMapping()
    up = mapping.get_upstream_mapped_partitions_result_for_partitions(
        subset_with_partition_keys(DAILY, ["2026-01-02"]), DAILY, None, current_time=NOW
    )
    assert up.partitions_subset == UnpartitionedSubset(True)
    from_unpartitioned = mapping.get_upstream_mapped_partitions_result_for_partitions(
        UnpartitionedSubset(True), None, DAILY, current_time=NOW
    )
    assert isinstance(from_unpartitioned.partitions_subset, AllPartitionsSubset)
    assert len(from_unpartitioned.partitions_subset) == 59
    down = mapping.get_downstream_partitions_for_partitions(
        UnpartitionedSubset(True), None, DAILY, current_time=NOW
    )
    assert len(down) == 59
    assert mapping.get_downstream_partitions_for_partitions(
        subset_with_partition_keys(DAILY, ["2026-01-02"]), DAILY, None
    ) == UnpartitionedSubset(True)
    assert mapping.get_downstream_partitions_for_partitions(
        subset_with_partition_keys(DAILY, []), DAILY, None
    ) == UnpartitionedSubset(False)


@pytest.mark.parametrize(
    ("downstream", "upstream", "expected"),
    [
        (DAILY, DAILY, TimeWindowPartitionMapping()),
        (HOURLY, DAILY, TimeWindowPartitionMapping()),
        (COLORS, COLORS, IdentityPartitionMapping()),
        (COLORS, SHADES, IdentityPartitionMapping()),
        (MULTI, COLORS, MultiToSingleDimensionPartitionMapping()),
        (DAILY, MULTI, MultiToSingleDimensionPartitionMapping()),
        (MULTI, MULTI, IdentityPartitionMapping()),
        (None, COLORS, AllPartitionMapping()),
        (COLORS, None, AllPartitionMapping()),
    ],
)
def test_infer_partition_mapping_as_dagster(
    downstream: PartitionsDefinition | None,
    upstream: PartitionsDefinition | None,
    expected: PartitionMapping,
) -> None:
    assert infer_partition_mapping(None, downstream, upstream) == expected
    given = LastPartitionMapping()
    assert infer_partition_mapping(given, downstream, upstream) is given
    if dagster is not None:
        from dagster._core.definitions.partitions.utils.mapping import (
            infer_partition_mapping as dagster_infer,
        )

        theirs = dagster_infer(
            None,
            None if downstream is None else _dagster_def(downstream),
            None if upstream is None else _dagster_def(upstream),
        )
        assert type(theirs).__name__ == type(expected).__name__


def test_time_window_mapping_between_static_definitions_is_refused_by_name() -> None:
    with pytest.raises(DefinitionError) as caught:
        validate_partition_mapping(
            TimeWindowPartitionMapping(),
            COLORS,
            SHADES,
            asset="AssetKey(['orders'])",
            dep="AssetKey(['raw'])",
        )
    assert str(caught.value) == (
        "Asset AssetKey(['orders']) cannot read its dependency AssetKey(['raw']) through "
        "TimeWindowPartitionMapping(start_offset=0, end_offset=0, "
        "allow_nonexistent_upstream_partitions=False): TimeWindowPartitionMapping needs time "
        "window partitions on both sides, the downstream is StaticPartitionsDefinition. Fix: "
        "give both assets time window partitions (Daily/Hourly/...PartitionsDefinition), or use "
        "another partition_mapping (IdentityPartitionMapping, StaticPartitionMapping)."
    )


@pytest.mark.parametrize(
    ("mapping", "downstream", "upstream", "words"),
    [
        (IdentityPartitionMapping(), COLORS, DAILY, "same kind of partitions on both sides"),
        (StaticPartitionMapping({"pink": "warm"}), SHADES, COLORS, "upstream keys ['pink']"),
        (StaticPartitionMapping({"red": "hot"}), SHADES, COLORS, "downstream keys ['hot']"),
        (StaticPartitionMapping({"red": "warm"}), DAILY, COLORS, "the downstream is Daily"),
        (
            MultiToSingleDimensionPartitionMapping("size"),
            COLORS,
            MULTI,
            "'size' is not a dimension",
        ),
        (MultiToSingleDimensionPartitionMapping(), SHADES, MULTI, "0 dimension(s)"),
        (MultiToSingleDimensionPartitionMapping(), MULTI, MULTI, "got 2 multi-partitioned"),
        (
            MultiPartitionMapping(
                {"day": DimensionPartitionMapping("date", IdentityPartitionMapping())}
            ),
            MULTI,
            MULTI,
            "upstream dimension 'day' is not a dimension",
        ),
        (MultiPartitionMapping({}), COLORS, MULTI, "multi-partitioned assets on both sides"),
        (LastPartitionMapping(), COLORS, None, "needs a partitioned upstream asset"),
        (
            TimeWindowPartitionMapping(),
            DAILY,
            DailyPartitionsDefinition(start_date="2026-01-01", timezone="Europe/Paris"),
            "Fix: give both the same timezone.",
        ),
    ],
)
def test_mappings_that_cannot_apply_say_why_and_the_fix(
    mapping: PartitionMapping,
    downstream: PartitionsDefinition | None,
    upstream: PartitionsDefinition | None,
    words: str,
) -> None:
    with pytest.raises(DefinitionError) as caught:
        validate_partition_mapping(mapping, downstream, upstream, asset="a", dep="b")
    assert words in str(caught.value)
    assert str(caught.value).startswith("Asset a cannot read its dependency b through ")
    assert "Fix:" in str(caught.value)


def test_mapping_through_a_refused_pair_raises_the_same_reason() -> None:
    with pytest.raises(DefinitionError, match="needs time window partitions on both sides"):
        TimeWindowPartitionMapping().get_upstream_mapped_partitions_result_for_partitions(
            subset_with_partition_keys(COLORS, ["red"]), COLORS, SHADES
        )


def test_mappings_compare_and_hash_by_value() -> None:
    pairs: list[tuple[Callable[[], PartitionMapping], Callable[[], PartitionMapping]]] = [
        (lambda: TimeWindowPartitionMapping(-1, 0), lambda: TimeWindowPartitionMapping(-2, 0)),
        (
            lambda: StaticPartitionMapping({"a": ["x", "y"]}),
            lambda: StaticPartitionMapping({"a": "x"}),
        ),
        (
            lambda: SpecificPartitionsPartitionMapping(["a"]),
            lambda: SpecificPartitionsPartitionMapping(["b"]),
        ),
        (
            lambda: MultiToSingleDimensionPartitionMapping("date"),
            lambda: MultiToSingleDimensionPartitionMapping(),
        ),
        (
            lambda: MultiPartitionMapping(
                {"date": DimensionPartitionMapping("date", IdentityPartitionMapping())}
            ),
            lambda: MultiPartitionMapping(
                {"date": DimensionPartitionMapping("day", IdentityPartitionMapping())}
            ),
        ),
        (IdentityPartitionMapping, AllPartitionMapping),
        (LastPartitionMapping, IdentityPartitionMapping),
    ]
    for make, other in pairs:
        assert make() == make() and hash(make()) == hash(make())
        assert make() != other()
    assert repr(SpecificPartitionsPartitionMapping(["a"])) == (
        "SpecificPartitionsPartitionMapping(partition_keys=('a',))"
    )
    assert repr(MultiToSingleDimensionPartitionMapping("date")) == (
        "MultiToSingleDimensionPartitionMapping(partition_dimension_name='date')"
    )


def test_specific_partitions_refuses_a_single_string() -> None:
    with pytest.raises(DefinitionError, match=r"Fix: pass a list, \['abc'\]"):
        SpecificPartitionsPartitionMapping("abc")  # type: ignore[arg-type]


RANDOM_POOL: list[PartitionsDefinition] = [
    DAILY,
    DailyPartitionsDefinition(start_date="2026-01-10", end_date="2026-02-10"),
    HourlyPartitionsDefinition(start_date="2026-02-20-00:00"),
    WEEKLY,
    MonthlyPartitionsDefinition(start_date="2025-11-01"),
    DailyPartitionsDefinition(start_date="2026-01-01", hour_offset=6),
]
AFTER_DST = datetime(2026, 3, 12, tzinfo=UTC)  # New York moved its clocks on 2026-03-08
NEW_YORK: list[PartitionsDefinition] = [
    DailyPartitionsDefinition(start_date="2026-03-01", timezone="America/New_York"),
    HourlyPartitionsDefinition(start_date="2026-03-07-00:00", timezone="America/New_York"),
]


@needs_dagster
@pytest.mark.parametrize("seed", range(4))
def test_random_time_window_mappings_match_dagster(seed: int) -> None:
    """Random pairs of definitions (across a DST change too), offsets and key sets."""
    rng = random.Random(seed)
    for _ in range(40):
        group = RANDOM_POOL if rng.random() < 0.8 else NEW_YORK
        downstream, upstream = rng.choice(group), rng.choice(group)
        mapping = TimeWindowPartitionMapping(
            rng.randint(-3, 2), rng.randint(-2, 3), rng.random() < 0.3
        )
        keys = downstream.get_partition_keys(current_time=AFTER_DST)
        picked = rng.sample(keys, min(len(keys), rng.randint(1, 6)))
        start = rng.randrange(len(keys))
        picked += keys[start : start + rng.randint(1, 20)]
        _compare_up(mapping, downstream, upstream, picked, AFTER_DST)
        up_keys = upstream.get_partition_keys(current_time=AFTER_DST)
        some = rng.sample(up_keys, min(len(up_keys), 6))
        _compare_down(mapping, downstream, upstream, some, AFTER_DST)


@needs_dagster
@pytest.mark.parametrize(
    ("downstream", "upstream", "keys"),
    [
        (DAILY, DAILY_LATE, ["2026-01-08", "2026-01-09", "2026-01-12"]),
        (DAILY_LATE, DAILY, ["2026-01-10", "2026-01-20"]),
        (
            DailyPartitionsDefinition(start_date="2026-01-01", end_date="2026-01-15"),
            DAILY,
            ["2026-01-14"],
        ),
    ],
)
def test_identity_between_shifted_days_matches_dagster_on_intervals(
    downstream: PartitionsDefinition, upstream: PartitionsDefinition, keys: list[str]
) -> None:
    result = _compare_up(IdentityPartitionMapping(), downstream, upstream, keys)
    assert isinstance(result.partitions_subset, TimeWindowPartitionsSubset)
    up_keys = result.partitions_subset.get_partition_keys()
    assert isinstance(
        _compare_down(IdentityPartitionMapping(), downstream, upstream, up_keys),
        TimeWindowPartitionsSubset,
    )


def test_the_mapping_method_checks_as_dagster_upstream_first() -> None:
    TimeWindowPartitionMapping().validate_partition_mapping(DAILY, HOURLY)
    with pytest.raises(DefinitionError, match="the upstream is StaticPartitionsDefinition"):
        TimeWindowPartitionMapping().validate_partition_mapping(COLORS, DAILY)


SIZES = StaticPartitionsDefinition(["s", "m", "l"])
SHORT_DAYS = DailyPartitionsDefinition(start_date="2026-01-01", end_date="2026-01-08")
DAYS_BY_SIZE = MultiPartitionsDefinition({"date": SHORT_DAYS, "size": SIZES})
DAYS_BY_COLOR = MultiPartitionsDefinition({"date": SHORT_DAYS, "color": COLORS})


@needs_dagster
@pytest.mark.parametrize("seed", range(3))
def test_random_multi_mappings_match_dagster(seed: int) -> None:
    rng = random.Random(seed)
    cases: list[tuple[PartitionMapping, PartitionsDefinition, PartitionsDefinition]] = [
        (MultiToSingleDimensionPartitionMapping(), SHORT_DAYS, DAYS_BY_SIZE),
        (MultiToSingleDimensionPartitionMapping(), DAYS_BY_SIZE, SHORT_DAYS),
        (MultiToSingleDimensionPartitionMapping("size"), DAYS_BY_SIZE, SIZES),
        (MultiToSingleDimensionPartitionMapping("size"), SIZES, DAYS_BY_SIZE),
        (
            MultiPartitionMapping(
                {
                    "date": DimensionPartitionMapping(
                        "date", TimeWindowPartitionMapping(rng.randint(-2, 0), rng.randint(0, 1))
                    ),
                    "size": DimensionPartitionMapping(
                        "color",
                        StaticPartitionMapping({"s": "red", "m": ["red", "green"], "l": "blue"}),
                    ),
                }
            ),
            DAYS_BY_COLOR,
            DAYS_BY_SIZE,
        ),
        (
            MultiPartitionMapping(
                {"date": DimensionPartitionMapping("date", TimeWindowPartitionMapping(-1, 0))}
            ),
            DAYS_BY_COLOR,
            DAYS_BY_SIZE,
        ),
    ]
    for mapping, downstream, upstream in cases:
        for _ in range(5):
            keys = downstream.get_partition_keys(current_time=NOW)
            picked = rng.sample(keys, rng.randint(1, min(len(keys), 8)))
            _compare_up(mapping, downstream, upstream, picked)
            up_keys = upstream.get_partition_keys(current_time=NOW)
            _compare_down(
                mapping,
                downstream,
                upstream,
                rng.sample(up_keys, rng.randint(1, min(len(up_keys), 8))),
            )


@needs_dagster
def test_dynamic_partitions_map_as_dagster_with_a_store() -> None:
    assert dagster is not None
    store = InMemoryDynamicPartitions()
    store.add_dynamic_partitions("files", ["a.csv", "b.csv", "c.csv"])
    instance = dagster.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("files", ["a.csv", "b.csv", "c.csv"])
    ours_def = DynamicPartitionsDefinition(name="files")
    theirs_def = dagster.DynamicPartitionsDefinition(name="files")
    picked = ["b.csv"]
    for mapping in (IdentityPartitionMapping(), LastPartitionMapping(), AllPartitionMapping()):
        ours = mapping.get_upstream_mapped_partitions_result_for_partitions(
            subset_with_partition_keys(ours_def, picked), ours_def, ours_def, NOW, store
        )
        theirs = _dagster_mapping(mapping).get_upstream_mapped_partitions_result_for_partitions(
            theirs_def.empty_subset().with_partition_keys(picked),
            theirs_def,
            theirs_def,
            NOW,
            instance,
        )
        assert sorted(ours.partitions_subset.get_partition_keys()) == sorted(
            theirs.partitions_subset.get_partition_keys()
        )
    for mapping in (LastPartitionMapping(), AllPartitionMapping()):
        down = mapping.get_downstream_partitions_for_partitions(
            subset_with_partition_keys(ours_def, ["c.csv"]), ours_def, COLORS, NOW, store
        )
        d_down = _dagster_mapping(mapping).get_downstream_partitions_for_partitions(
            theirs_def.empty_subset().with_partition_keys(["c.csv"]),
            theirs_def,
            _dagster_def(COLORS),
            NOW,
            instance,
        )
        assert sorted(down.get_partition_keys()) == sorted(d_down.get_partition_keys())


def test_an_empty_multi_subset_maps_to_nothing() -> None:
    empty = subset_with_partition_keys(DAYS_BY_SIZE, [])
    mapping = MultiToSingleDimensionPartitionMapping()
    result = mapping.get_upstream_mapped_partitions_result_for_partitions(
        empty, DAYS_BY_SIZE, SHORT_DAYS, current_time=NOW
    )
    assert result.partitions_subset.is_empty
