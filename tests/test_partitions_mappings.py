"""Partition mappings beside Dagster 1.13.28: the same keys mapped up and down through each
mapping, nonexistent upstream partitions, inference, validation messages, and interval
subsets that stay intervals through many hops."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from sheer.errors import DefinitionError
from sheer.partitions.base import PartitionsDefinition
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
) -> UpstreamPartitionsResult:
    """Map `keys` of the downstream upward in both libraries and assert the same answer."""
    assert dagster is not None
    ours = mapping.get_upstream_mapped_partitions_result_for_partitions(
        subset_with_partition_keys(downstream, keys), downstream, upstream, current_time=NOW
    )
    d_down, d_up = _dagster_def(downstream), _dagster_def(upstream)
    theirs = _dagster_mapping(mapping).get_upstream_mapped_partitions_result_for_partitions(
        d_down.empty_subset().with_partition_keys(keys), d_down, d_up, current_time=NOW
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
) -> Any:
    assert dagster is not None
    ours = mapping.get_downstream_partitions_for_partitions(
        subset_with_partition_keys(upstream, keys), upstream, downstream, current_time=NOW
    )
    d_down, d_up = _dagster_def(downstream), _dagster_def(upstream)
    theirs = _dagster_mapping(mapping).get_downstream_partitions_for_partitions(
        d_up.empty_subset().with_partition_keys(keys), d_up, d_down, current_time=NOW
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
