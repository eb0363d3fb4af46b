"""`TimeWindowPartitionMapping`: time windows to the time windows they overlap, with offsets.

Dagster's rule, computed on index intervals (one step per interval, never per key):

* Upstream (downstream -> upstream): each downstream interval's start is moved
  `start_offset` downstream partitions and its end `end_offset` downstream partitions, kept
  inside the upstream's existing windows when an offset pushes it out, then widened to the
  upstream windows it overlaps (hourly -> daily takes the whole day; daily -> hourly the
  24 hours).
* Downstream (upstream -> downstream): the interval is first widened to the downstream
  windows it overlaps, then moved by `-end_offset` (start) and `-start_offset` (end)
  downstream partitions, kept inside the downstream's existing windows.
* What falls outside the target's existing windows is dropped; upstream, it is reported in
  `required_but_nonexistent_subset` unless `allow_nonexistent_upstream_partitions`. As in
  Dagster, an interval that overhangs both ends is reported whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sheer.errors import DefinitionError
from sheer.partitions.base import DynamicPartitionsStore, PartitionsDefinition
from sheer.partitions.mappings import (
    PartitionMapping,
    UpstreamPartitionsResult,
    _given,
    _kind,
)
from sheer.partitions.subset import (
    Interval,
    PartitionsSubset,
    TimeWindowPartitionsSubset,
    same_time_shape,
    subset_with_indices,
    subset_with_partition_keys,
)
from sheer.partitions.time_window import TimeWindowPartitionsDefinition


@dataclass(frozen=True, slots=True)
class TimeWindowPartitionMapping(PartitionMapping):
    """Each downstream window reads the upstream windows it overlaps, shifted by offsets
    counted in downstream partitions.

    Example:
        >>> TimeWindowPartitionMapping(start_offset=-1) == TimeWindowPartitionMapping(-1, 0)
        True
    """

    start_offset: int = 0
    end_offset: int = 0
    allow_nonexistent_upstream_partitions: bool = False

    def __post_init__(self) -> None:
        for name in ("start_offset", "end_offset"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise DefinitionError(
                    f"TimeWindowPartitionMapping {name} must be an integer number of "
                    f"partitions, got {value!r}. Fix: pass an int such as -1."
                )

    def problem(
        self,
        downstream_partitions_def: PartitionsDefinition | None,
        upstream_partitions_def: PartitionsDefinition | None,
    ) -> str | None:
        for side, definition in (
            ("downstream", downstream_partitions_def),
            ("upstream", upstream_partitions_def),
        ):
            if not isinstance(definition, TimeWindowPartitionsDefinition):
                return (
                    f"TimeWindowPartitionMapping needs time window partitions on both sides, "
                    f"the {side} is {_kind(definition)}. Fix: give both assets time window "
                    "partitions (Daily/Hourly/...PartitionsDefinition), or use another "
                    "partition_mapping (IdentityPartitionMapping, StaticPartitionMapping)."
                )
        assert isinstance(downstream_partitions_def, TimeWindowPartitionsDefinition)
        assert isinstance(upstream_partitions_def, TimeWindowPartitionsDefinition)
        if downstream_partitions_def.timezone != upstream_partitions_def.timezone:
            return (
                f"the downstream partitions are in timezone "
                f"{downstream_partitions_def.timezone!r} and the upstream ones in "
                f"{upstream_partitions_def.timezone!r}. Fix: give both the same timezone."
            )
        return None

    def get_upstream_mapped_partitions_result_for_partitions(
        self,
        downstream_partitions_subset: PartitionsSubset | None,
        downstream_partitions_def: PartitionsDefinition | None,
        upstream_partitions_def: PartitionsDefinition | None,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> UpstreamPartitionsResult:
        source, target = self._checked(downstream_partitions_def, upstream_partitions_def)
        subset = _intervals_of(
            _given(downstream_partitions_subset, source, current_time, dynamic_partitions_store),
            source,
        )
        return self._map(
            source, target, subset, self.start_offset, self.end_offset, True, current_time
        )

    def get_downstream_partitions_for_partitions(
        self,
        upstream_partitions_subset: PartitionsSubset,
        upstream_partitions_def: PartitionsDefinition | None,
        downstream_partitions_def: PartitionsDefinition | None,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> PartitionsSubset:
        target, source = self._checked(downstream_partitions_def, upstream_partitions_def)
        subset = _intervals_of(
            _given(upstream_partitions_subset, source, current_time, dynamic_partitions_store),
            source,
        )
        mapped = self._map(
            source, target, subset, -self.end_offset, -self.start_offset, False, current_time
        )
        return mapped.partitions_subset

    def _checked(
        self,
        downstream_partitions_def: PartitionsDefinition | None,
        upstream_partitions_def: PartitionsDefinition | None,
    ) -> tuple[TimeWindowPartitionsDefinition, TimeWindowPartitionsDefinition]:
        why = self.problem(downstream_partitions_def, upstream_partitions_def)
        if why is not None:
            raise DefinitionError(f"{self!r} cannot map these partitions: {why}")
        assert isinstance(downstream_partitions_def, TimeWindowPartitionsDefinition)
        assert isinstance(upstream_partitions_def, TimeWindowPartitionsDefinition)
        return downstream_partitions_def, upstream_partitions_def

    def _map(
        self,
        source: TimeWindowPartitionsDefinition,
        target: TimeWindowPartitionsDefinition,
        subset: TimeWindowPartitionsSubset,
        start_offset: int,
        end_offset: int,
        upward: bool,
        current_time: datetime | None,
    ) -> UpstreamPartitionsResult:
        if subset.is_empty or (start_offset == end_offset == 0 and source == target):
            return UpstreamPartitionsResult(subset, subset_with_indices(target, ()))
        if start_offset == end_offset == 0 and _kept_whole(source, target, subset, current_time):
            moved = [_overlapped(target, *_window(source, lo, hi)) for lo, hi in subset.intervals]
            return UpstreamPartitionsResult(
                subset_with_indices(target, moved), subset_with_indices(target, ())
            )
        last = target.last_index(current_time)
        bounds = None
        if last >= 0:
            bounds = (target.time_window_at(0).start, target.time_window_at(last).end)
        windows: list[Interval] = []
        for lo, hi in subset.intervals:
            if upward:
                start = _clamped(
                    source.time_window_at(lo + start_offset).start, start_offset, bounds
                )
                end = _clamped(source.time_window_at(hi - 1 + end_offset).end, end_offset, bounds)
                s, e = _overlapped(target, start, end)
            else:
                s, e = _overlapped(target, *_window(source, lo, hi))
                s, e = _shift(s, start_offset, last), _shift(e, end_offset, last)
            if s < e:
                windows.append((s, e))
        kept: list[Interval] = []
        missing: list[Interval] = []
        for s, e in windows:
            if last >= 0 and s <= last and e >= 1:
                kept.append((max(s, 0), min(e, last + 1)))
            if self.allow_nonexistent_upstream_partitions:
                continue
            if last < 0 or (s < 0 and e > last + 1):
                missing.append((s, e))
            elif s < 0:
                missing.append((s, min(e, 0)))
            elif e > last + 1:
                missing.append((max(s, last + 1), e))
        return UpstreamPartitionsResult(
            subset_with_indices(target, kept), subset_with_indices(target, missing)
        )


def _intervals_of(
    subset: PartitionsSubset, partitions_def: TimeWindowPartitionsDefinition
) -> TimeWindowPartitionsSubset:
    if isinstance(subset, TimeWindowPartitionsSubset):
        return subset
    converted = subset_with_partition_keys(partitions_def, subset.get_partition_keys())
    assert isinstance(converted, TimeWindowPartitionsSubset)
    return converted


def _window(
    partitions_def: TimeWindowPartitionsDefinition, lo: int, hi: int
) -> tuple[datetime, datetime]:
    return partitions_def.time_window_at(lo).start, partitions_def.time_window_at(hi - 1).end


def _kept_whole(
    source: TimeWindowPartitionsDefinition,
    target: TimeWindowPartitionsDefinition,
    subset: TimeWindowPartitionsSubset,
    current_time: datetime | None,
) -> bool:
    """Dagster's shortcuts without offsets, whose windows are carried over as they are (not
    cut to the target's existing windows): the same shape of definition, or basic daily to
    basic hourly, when the target covers the source."""
    begins = source.start_timestamp >= target.start_timestamp or (
        source.time_window_at(subset.intervals[0][0]).start.timestamp() >= target.start_timestamp
    )
    if not begins:
        return False
    if same_time_shape(source, target):
        ends = target.end_timestamp
        return ends is None or (source.end_timestamp is not None and ends >= source.end_timestamp)
    basic = not source.exclusions and not target.exclusions
    if basic and (source.cron_schedule, target.cron_schedule) == ("0 0 * * *", "0 * * * *"):
        s_last, t_last = source.last_index(current_time), target.last_index(current_time)
        return (
            s_last >= 0
            and t_last >= 0
            and source.time_window_at(s_last).end.timestamp()
            <= target.time_window_at(t_last).end.timestamp()
        )
    return False


def _clamped(moment: datetime, offset: int, bounds: tuple[datetime, datetime] | None) -> float:
    """Dagster's bound: an offset may not push a window edge past the target's windows."""
    ts = moment.timestamp()
    if bounds is not None and offset < 0:
        ts = max(ts, bounds[0].timestamp())
    if bounds is not None and offset > 0:
        ts = min(ts, bounds[1].timestamp())
    return ts


def _overlapped(
    target: TimeWindowPartitionsDefinition, start: datetime | float, end: datetime | float
) -> Interval:
    """The indices of the target windows overlapping [start, end)."""
    s_ts = start.timestamp() if isinstance(start, datetime) else start
    e_ts = end.timestamp() if isinstance(end, datetime) else end
    s = target.index_for_timestamp(s_ts)
    e = target.index_for_timestamp(e_ts, end_closed=True) + 1
    return s, e


def _shift(index: int, offset: int, last: int) -> int:
    """A window edge moved `offset` target partitions, kept inside the existing ones."""
    moved = index + offset
    if last >= 0 and offset < 0:
        moved = max(moved, 0)
    if last >= 0 and offset > 0:
        moved = min(moved, last + 1)
    return moved
