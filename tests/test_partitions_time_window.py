"""Time-window partitions, each read beside Dagster 1.13's answer to the same call.

Dagster is imported here only, as an oracle; the comparisons are skipped with a reason when
it is not installed. Every call passes `current_time`, so no test depends on the clock.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from sheer.errors import DefinitionError
from sheer.partitions import time_window as tw
from sheer.partitions.base import PartitionKeyRange

try:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import dagster
except ImportError:  # the bench extra is not installed
    dagster = None

needs_dagster = pytest.mark.skipif(
    dagster is None, reason="dagster is not installed (bench extra): nothing to compare with"
)

NY, BERLIN, SYDNEY = "America/New_York", "Europe/Berlin", "Australia/Sydney"


def outcome(call: Callable[[], Any]) -> tuple[str, Any]:
    """('ok', value) or ('raises', None): what a call did, to compare two libraries."""
    try:
        return ("ok", call())
    except Exception:
        return ("raises", None)


def window(w: Any) -> tuple[float, float, str, str] | None:
    """A time window as plain values (timestamps and wall clocks), comparable across libraries."""
    if w is None:
        return None
    return (w.start.timestamp(), w.end.timestamp(), w.start.isoformat(), w.end.isoformat())


# (class name, args, kwargs, current times): each built in both libraries
CASES: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
    ("DailyPartitionsDefinition", ("2024-01-01",), {}),
    ("DailyPartitionsDefinition", ("2024-01-01",), {"end_date": "2024-02-10"}),
    ("DailyPartitionsDefinition", ("2024-01-01",), {"end_offset": 2}),
    ("DailyPartitionsDefinition", ("2024-01-01",), {"end_offset": -3}),
    ("DailyPartitionsDefinition", ("2024-01-01",), {"end_offset": 1, "end_date": "2024-03-05"}),
    ("DailyPartitionsDefinition", ("2024-01-01",), {"hour_offset": 7, "minute_offset": 15}),
    ("DailyPartitionsDefinition", ("2024-03-01",), {"timezone": NY}),
    ("DailyPartitionsDefinition", ("2024-03-01",), {"timezone": NY, "hour_offset": 2}),
    ("DailyPartitionsDefinition", ("2024-10-20",), {"timezone": NY, "hour_offset": 1}),
    ("DailyPartitionsDefinition", ("2024-03-20",), {"timezone": BERLIN, "hour_offset": 2}),
    ("DailyPartitionsDefinition", ("2024-03-25",), {"timezone": SYDNEY, "hour_offset": 2}),
    ("DailyPartitionsDefinition", ("2024/01/01",), {"fmt": "%Y/%m/%d"}),
    ("DailyPartitionsDefinition", ("20240101",), {"fmt": "%Y%m%d", "end_offset": 1}),
    ("DailyPartitionsDefinition", ("2024-01-01",), {"exclusions": ["0 0 * * 6", "0 0 * * 0"]}),
    (
        "DailyPartitionsDefinition",
        ("2024-01-01",),
        {"exclusions": [datetime(2024, 1, 3), datetime(2024, 2, 1)], "end_offset": 1},
    ),
    ("DailyPartitionsDefinition", ("2024-03-01",), {"timezone": NY, "exclusions": ["0 0 * * 6"]}),
    ("HourlyPartitionsDefinition", ("2024-03-09-00:00",), {}),
    ("HourlyPartitionsDefinition", ("2024-03-09-00:00",), {"timezone": NY}),
    ("HourlyPartitionsDefinition", ("2024-11-02-20:00",), {"timezone": NY}),
    (
        "HourlyPartitionsDefinition",
        ("2024-10-26-20:00",),
        {"timezone": BERLIN, "minute_offset": 30},
    ),
    ("HourlyPartitionsDefinition", ("2024-04-06-20:00",), {"timezone": SYDNEY}),
    ("HourlyPartitionsDefinition", ("2024-10-05-20:00",), {"timezone": SYDNEY, "end_offset": 3}),
    ("HourlyPartitionsDefinition", ("2024-11-02-20:00",), {"timezone": NY, "end_offset": -2}),
    ("HourlyPartitionsDefinition", ("2024-01-01-00:00",), {"exclusions": ["0 3 * * *"]}),
    ("HourlyPartitionsDefinition", ("2024-01-01T00",), {"fmt": "%Y-%m-%dT%H"}),
    ("WeeklyPartitionsDefinition", ("2024-01-01",), {}),
    ("WeeklyPartitionsDefinition", ("2024-01-01",), {"day_offset": 1, "timezone": BERLIN}),
    ("WeeklyPartitionsDefinition", ("2024-01-03",), {"day_offset": 3, "hour_offset": 2}),
    ("WeeklyPartitionsDefinition", ("2024-02-01",), {"timezone": NY, "end_offset": 1}),
    ("MonthlyPartitionsDefinition", ("2023-01-01",), {}),
    ("MonthlyPartitionsDefinition", ("2023-01-15",), {"day_offset": 15, "timezone": SYDNEY}),
    ("MonthlyPartitionsDefinition", ("2023-01-01",), {"end_date": "2024-01-01", "end_offset": 2}),
    ("MonthlyPartitionsDefinition", ("2023-01-01",), {"day_offset": 5, "hour_offset": 2}),
    (
        "TimeWindowPartitionsDefinition",
        (),
        {"start": "2024-01-01-00:00", "fmt": "%Y-%m-%d-%H:%M", "cron_schedule": "0 */6 * * *"},
    ),
    (
        "TimeWindowPartitionsDefinition",
        (),
        {
            "start": "2024-03-09 00:00",
            "fmt": "%Y-%m-%d %H:%M",
            "cron_schedule": "0 9-17 * * 1-5",
            "timezone": NY,
        },
    ),
    (
        "TimeWindowPartitionsDefinition",
        (),
        {
            "start": "2024-11-02-00:00",
            "fmt": "%Y-%m-%d-%H:%M",
            "cron_schedule": "*/15 * * * *",
            "timezone": NY,
        },
    ),
    (
        "TimeWindowPartitionsDefinition",
        (),
        {
            "start": "2024-10-26-12:00",
            "fmt": "%Y-%m-%d-%H:%M",
            "cron_schedule": "0,20 * * * *",
            "timezone": BERLIN,
        },
    ),
    (
        "TimeWindowPartitionsDefinition",
        (),
        {"start": "2023-01-31", "fmt": "%Y-%m-%d", "cron_schedule": "0 0 31 * *"},
    ),
    (
        "TimeWindowPartitionsDefinition",
        (),
        {
            "start": "2024-01-01",
            "fmt": "%Y-%m-%d",
            "schedule_type": "DAILY",
            "end": datetime(2024, 1, 20),
        },
    ),
]

NOWS = [
    datetime(2024, 1, 1, 0, 0),
    datetime(2024, 1, 10, 5, 30),
    datetime(2024, 3, 10, 12, tzinfo=ZoneInfo(NY)),
    datetime(2024, 3, 31, 4, tzinfo=ZoneInfo(BERLIN)),
    datetime(2024, 4, 7, 2, 30, tzinfo=ZoneInfo(SYDNEY)),
    datetime(2024, 10, 6, 8, tzinfo=ZoneInfo(SYDNEY)),
    datetime(2024, 10, 27, 6, tzinfo=UTC),
    datetime(2024, 11, 3, 7, tzinfo=UTC),
    datetime(2024, 11, 3, 6, 10, tzinfo=UTC),
    datetime(2025, 6, 1, 0, 0),
]


def build(lib: Any, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    kwargs = dict(kwargs)
    if lib is dagster and "schedule_type" in kwargs:
        from dagster._core.definitions.partitions.schedule_type import ScheduleType

        kwargs["schedule_type"] = ScheduleType(kwargs["schedule_type"])
    return getattr(lib, name)(*args, **kwargs)


def horizon(now: datetime) -> datetime:
    """A window end far enough out that counting in it stays small."""
    return (now if now.tzinfo else now.replace(tzinfo=UTC)) + timedelta(days=3)


def reads(lib: Any, pd: Any, now: datetime) -> dict[str, Any]:
    """The reads compared, each as plain values; `pd` is `lib`'s definition."""
    keys = pd.get_partition_keys(current_time=now)
    probes = _probes(pd, keys)
    out: dict[str, Any] = {"keys": keys}
    if lib is dagster:
        from dagster._core.definitions.partitions.context import partition_loading_context

        with partition_loading_context(effective_dt=now):
            out["count"] = pd.get_num_partitions()
            out["first"] = pd.get_first_partition_key()
            out["last"] = pd.get_last_partition_key()
            out["first_window"] = window(pd.get_first_partition_window())
            out["last_window"] = window(pd.get_last_partition_window())
            out["has"] = [pd.has_partition_key(p) for p in probes]
    else:
        out["count"] = pd.get_num_partitions(now)
        out["first"] = pd.get_first_partition_key(now)
        out["last"] = pd.get_last_partition_key(now)
        out["first_window"] = window(pd.get_first_partition_window(now))
        out["last_window"] = window(pd.get_last_partition_window(now))
        out["has"] = [pd.has_partition_key(p, now) for p in probes]
    out["windows"] = [window(pd.time_window_for_partition_key(k)) for k in keys[:3] + keys[-3:]]
    if keys:
        ts = pd.time_window_for_partition_key(keys[len(keys) // 2]).start.timestamp()
        out["for_ts"] = [pd.get_partition_key_for_timestamp(ts + d) for d in (-1, 0, 1, 1800)]
        out["for_ts_closed"] = pd.get_partition_key_for_timestamp(ts, end_closed=True)
        start = pd.time_window_for_partition_key(keys[0]).start
        span = lib.TimeWindow(start, horizon(now))
        out["in_window"] = pd.get_partition_keys_in_time_window(span)
        rng = lib.PartitionKeyRange(keys[len(keys) // 3], keys[-1])
        out["range"] = outcome(lambda: pd.get_partition_keys_in_range(rng))
    return out


def _probes(pd: Any, keys: list[str]) -> list[str]:
    """Keys that exist, then ones that do not: before, after, misaligned, unparsable."""
    probes = keys[:2] + keys[-2:]
    if keys:
        first = pd.time_window_for_partition_key(keys[0]).start
        for delta in (-1, 400):
            probes.append((first + timedelta(days=delta)).strftime(pd.fmt))
    return [*probes, "not a key", "2024-13-45", ""]


@needs_dagster
@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_reads_match_dagster(case: tuple[str, tuple[Any, ...], dict[str, Any]]) -> None:
    name, args, kwargs = case
    ours, theirs = build(tw, name, args, kwargs), build(dagster, name, args, kwargs)
    assert repr(ours) == repr(theirs)
    assert str(ours) == str(theirs)
    assert ours.cron_schedule == theirs.cron_schedule
    assert (ours.schedule_type and ours.schedule_type.value) == (
        theirs.schedule_type and theirs.schedule_type.value
    )
    assert ours.start == theirs.start and ours.end == theirs.end
    for now in NOWS:
        got, want = reads(tw, ours, now), reads(dagster, theirs, now)
        assert got == want, f"as of {now}"
        keys = ours.get_partition_keys(now)
        if keys:  # 7 minutes past a start: Dagster's hourly/daily shortcut says True (not a start)
            start = ours.time_window_for_partition_key(keys[0]).start
            off = (start + timedelta(minutes=7)).strftime(ours.fmt)
            assert ours.has_partition_key(off, now) == (off == keys[0])


NOW = datetime(2026, 1, 10, 5, tzinfo=UTC)


def test_a_century_of_hours_is_counted_and_read_without_listing_keys(monkeypatch: Any) -> None:
    hours = tw.HourlyPartitionsDefinition("2000-01-01-00:00", end_date="2100-01-01-00:00")

    def refuse(*_: Any, **__: Any) -> None:
        raise AssertionError("listed every key")

    monkeypatch.setattr(tw.TimeWindowPartitionsDefinition, "get_partition_keys", refuse)
    later = datetime(2200, 1, 1, tzinfo=UTC)
    assert hours.get_num_partitions(later) == 876_600
    assert hours.get_last_partition_key(later) == "2099-12-31-23:00"
    assert hours.has_partition_key("2077-07-04-13:00", later)
    assert not hours.has_partition_key("2100-01-01-00:00", later)
    assert hours.index_of("2000-01-02-00:00") == 24
    assert hours.key_at(876_599) == "2099-12-31-23:00"
    assert hours.get_partition_keys_in_range(
        PartitionKeyRange("2099-12-31-22:00", "2099-12-31-23:00")
    ) == ["2099-12-31-22:00", "2099-12-31-23:00"]


def test_index_and_key_are_inverse_across_dst_in_new_york() -> None:
    hours = tw.HourlyPartitionsDefinition("2024-11-03-00:00", timezone=NY)
    keys = [hours.key_at(i) for i in range(6)]
    assert keys[1:4] == ["2024-11-03-01:00", "2024-11-03-01:00-0500", "2024-11-03-02:00"]
    assert [hours.index_of(k) for k in keys] == list(range(6))
    assert hours.index_of("2024-11-03-00:30") is None  # not the start of a window


def test_exclusions_shift_indices() -> None:
    weekdays = tw.DailyPartitionsDefinition("2024-01-01", exclusions=["0 0 * * 6,0"])  # Mon
    assert [weekdays.key_at(i) for i in (4, 5)] == ["2024-01-05", "2024-01-08"]
    assert weekdays.index_of("2024-01-08") == 5
    assert weekdays.index_of("2024-01-06") is None
    assert weekdays.get_num_partitions(datetime(2024, 1, 15)) == 10


def test_equal_definitions_hash_alike_and_differ_by_any_field() -> None:
    daily = tw.DailyPartitionsDefinition("2024-01-01")
    same = tw.TimeWindowPartitionsDefinition(
        start="2024-01-01", fmt="%Y-%m-%d", cron_schedule="0 0 * * *"
    )
    assert daily == same and hash(daily) == hash(same)
    assert daily != tw.DailyPartitionsDefinition("2024-01-01", timezone=NY)
    assert daily != tw.DailyPartitionsDefinition("2024-01-01", end_offset=1)


def test_a_start_that_does_not_match_fmt_says_the_format() -> None:
    with pytest.raises(DefinitionError) as e:
        tw.DailyPartitionsDefinition("01/02/2024")
    assert str(e.value) == (
        "The start '01/02/2024' of a time-window partitions definition does not match its "
        "format '%Y-%m-%d'. Fix: write it in that format (e.g. '2026-01-02') or pass fmt= "
        "that matches it."
    )


def test_an_end_before_the_start_is_refused() -> None:
    with pytest.raises(DefinitionError) as e:
        tw.DailyPartitionsDefinition("2024-02-01", end_date="2024-01-01")
    assert str(e.value) == (
        "The end '2024-01-01' of a time-window partitions definition is before its start "
        "'2024-02-01', so it would have no partitions. Fix: pass an end after the start "
        "(the end is exclusive), or no end."
    )


def test_an_unknown_timezone_suggests_the_close_name() -> None:
    with pytest.raises(DefinitionError) as e:
        tw.DailyPartitionsDefinition("2024-01-01", timezone="America/New_Yrok")
    assert str(e.value) == (
        "Unknown timezone 'America/New_Yrok': it is not an IANA time zone name. Did you mean "
        "'America/New_York'? Fix: pass an IANA name such as 'UTC', 'America/New_York' or "
        "'Europe/Berlin'."
    )


def test_bad_keys_are_not_keys_and_validate_says_why() -> None:
    days = tw.DailyPartitionsDefinition("2024-01-01 00", hour_offset=6, fmt="%Y-%m-%d %H")
    assert days.has_partition_key("2024-01-03 06", NOW)
    for bad in ("2024-01-03 07", "2023-12-31 06", "2030-01-01 06", "yesterday", ""):
        assert not days.has_partition_key(bad, NOW)
    with pytest.raises(tw.InvalidPartitionKeyError, match="not the start of a window"):
        days.validate_partition_key("2024-01-03 07", NOW)
    with pytest.raises(ValueError, match="does not match the format '%Y-%m-%d %H'"):
        days.validate_partition_key("yesterday", NOW)
    with pytest.raises(DefinitionError, match="outside the partitions that exist now"):
        days.validate_partition_key("2030-01-01 06", NOW)


def test_a_reversed_range_is_refused() -> None:
    days = tw.DailyPartitionsDefinition("2024-01-01")
    with pytest.raises(DefinitionError, match="ends before it starts"):
        days.get_partition_keys_in_range(PartitionKeyRange("2024-01-05", "2024-01-02"))


def test_invalid_cron_and_exclusions_are_refused() -> None:
    with pytest.raises(DefinitionError, match="invalid cron schedule '0 0 30 2 \\*'"):
        tw.TimeWindowPartitionsDefinition(
            start="2024-01-01", fmt="%Y-%m-%d", cron_schedule="0 0 30 2 *"
        )
    with pytest.raises(DefinitionError, match="invalid exclusion"):
        tw.DailyPartitionsDefinition("2024-01-01", exclusions=["every saturday"])
