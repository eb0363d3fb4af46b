"""Time-window partitions: one partition per tick of a cron schedule, keyed by its start.

`TimeWindowPartitionsDefinition` and its daily, hourly, weekly and monthly forms have
Dagster's arguments, keys and answers, DST included. Underneath, the ticks of a schedule are
a *grid*: tick number `g` is computed from `g` and `g` from a time, in O(1) for hourly-like
(fixed seconds), daily, weekly and monthly schedules, so counting, membership, ranges and the
last key never list keys. Other cron strings step croniter over a cached tick list, bounded by
the ticks asked about. Exclusions remove ticks from the grid; a partition's *index* is its
position among the remaining ticks from the first one, what `index_of` / `key_at` give.
This module reads no storage and knows no assets.
"""

from __future__ import annotations

import bisect
import itertools
import re
import time
import zoneinfo
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta, tzinfo
from enum import Enum
from functools import cache, cached_property
from typing import NamedTuple

from croniter import croniter

from sheer.errors import DefinitionError, did_you_mean
from sheer.partitions.base import DynamicPartitionsStore, PartitionKeyRange, PartitionsDefinition

_HOUR = 3600
_DST_HOURS = (1, 2, 3)  # Dagster adjusts a missing or doubled time only in these hours


class TimeWindow(NamedTuple):
    """An interval of time, closed at `start` and open at `end` (tz-aware datetimes)."""

    start: datetime
    end: datetime


class TimestampWithTimezone(NamedTuple):
    """A point in time and the time zone it is read in (Dagster's shape, for exclusions)."""

    timestamp: float
    timezone: str


class ScheduleType(Enum):
    """The cadence of a time-window partitions definition."""

    HOURLY = "HOURLY"
    DAILY = "DAILY"
    WEEKLY = "WEEKLY"
    MONTHLY = "MONTHLY"


class InvalidPartitionKeyError(DefinitionError, ValueError):
    """A string that does not parse as a key of a time-window definition (a ValueError too,
    as Dagster raises one)."""


# ---- time zones, parsing and formatting (Dagster's DST rules) ------------------------------


@cache
def get_timezone(name: str) -> tzinfo:
    """The tzinfo of an IANA name ('UTC' is `UTC`, as in Dagster)."""
    if name in ("UTC", "utc"):
        return UTC
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise DefinitionError(
            f"Unknown timezone {name!r}: it is not an IANA time zone name."
            f"{did_you_mean(name, zoneinfo.available_timezones(), n=1)} Fix: pass an IANA "
            "name such as 'UTC', 'America/New_York' or 'Europe/Berlin'."
        ) from None


def _exists(naive: datetime, tz: tzinfo) -> bool:
    aware = naive.replace(tzinfo=tz)
    return aware.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == naive


def _ambiguous(naive: datetime, tz: tzinfo) -> bool:
    return naive.replace(tzinfo=tz, fold=0).utcoffset() != naive.replace(
        tzinfo=tz, fold=1
    ).utcoffset() and _exists(naive, tz)


def _wall_to_instants(
    naive: datetime, tz: tzinfo, hourly: bool, hours: Sequence[int]
) -> list[datetime]:
    """The instants a wall-clock tick stands for: none when missing (hourly), the time after
    the gap when missing (others), both when doubled (hourly) or the later one (others)."""
    if naive.hour in hours and not _exists(naive, tz):
        if hourly:
            return []
        before = naive.replace(tzinfo=tz, fold=0).utcoffset() or timedelta()
        after = naive.replace(tzinfo=tz, fold=1).utcoffset() or timedelta()
        naive = naive.replace(minute=0, second=0, microsecond=0) + abs(after - before)
    if naive.hour in hours and _ambiguous(naive, tz):
        later = naive.replace(tzinfo=tz, fold=1)
        return [naive.replace(tzinfo=tz, fold=0), later] if hourly else [later]
    return [naive.replace(tzinfo=tz)]


def parse_key(key: str, fmt: str, tz: tzinfo) -> datetime:
    """A key (or start/end string) as a datetime in `tz`, as Dagster's dst_safe_strptime."""
    try:
        parsed = datetime.strptime(key, fmt)
    except ValueError:
        parsed = datetime.strptime(key, fmt if "%z" in fmt else fmt + "%z")
    if parsed.tzinfo is not None:
        return datetime.fromtimestamp(parsed.timestamp(), tz)
    return parsed.replace(tzinfo=tz, fold=0)


def _format_key(moment: datetime, fmt: str, repeats_hourly: bool) -> str:
    """Dagster's dst_safe_strftime: the second of two equal wall times gets its UTC offset."""
    if "%z" in fmt or not repeats_hourly or moment.fold == 0:
        return moment.strftime(fmt)
    first = moment.replace(fold=0).utcoffset()
    second = moment.utcoffset()
    if first is not None and second is not None and first > second:
        return moment.strftime(fmt + "%z")
    return moment.strftime(fmt)


# ---- grids: tick number <-> time ---------------------------------------------------------


class _Grid:
    """The ticks of one cron schedule in one zone, numbered by integers in time order."""

    tz: tzinfo

    def tick(self, g: int) -> datetime:
        raise NotImplementedError

    def ceil(self, ts: float) -> int:
        """The number of the first tick at or after `ts`."""
        raise NotImplementedError

    def floor(self, ts: float) -> int:
        """The number of the last tick at or before `ts`."""
        g = self.ceil(ts)
        return g if self.tick(g).timestamp() == ts else g - 1

    def has_tick_at(self, ts: float) -> bool:
        return self.tick(self.ceil(ts)).timestamp() == ts


class _FixedGrid(_Grid):
    """Ticks a fixed number of seconds apart in absolute time (hourly, every n minutes)."""

    def __init__(self, period: int, phase: int, tz: tzinfo) -> None:
        self.period, self.phase, self.tz = period, phase, tz

    def tick(self, g: int) -> datetime:
        return datetime.fromtimestamp(self.phase + g * self.period, self.tz)

    def ceil(self, ts: float) -> int:
        return -int((self.phase - ts) // self.period)


class _WallGrid(_Grid):
    """Ticks at one wall-clock time on a calendar step: every n days, or every month."""

    def __init__(self, tz: tzinfo, hour: int, minute: int) -> None:
        self.tz, self.hour, self.minute = tz, hour, minute

    def day(self, g: int) -> date:
        raise NotImplementedError

    def number_near(self, day: date) -> int:
        raise NotImplementedError

    def tick(self, g: int) -> datetime:
        d = self.day(g)
        naive = datetime(d.year, d.month, d.day, self.hour, self.minute)
        return _wall_to_instants(naive, self.tz, False, _DST_HOURS)[0]

    def ceil(self, ts: float) -> int:
        g = self.number_near(datetime.fromtimestamp(ts, self.tz).date()) - 1
        while self.tick(g).timestamp() >= ts:
            g -= 1
        while self.tick(g).timestamp() < ts:
            g += 1
        return g


class _DayGrid(_WallGrid):
    """Daily (step 1) or weekly (step 7, on one crontab weekday, 0 = Sunday) ticks."""

    def __init__(self, tz: tzinfo, hour: int, minute: int, step: int, weekday: int) -> None:
        super().__init__(tz, hour, minute)
        self.step, self.rest = step, weekday % step  # ordinal 7 is a Sunday

    def day(self, g: int) -> date:
        return date.fromordinal(g * self.step + self.rest)

    def number_near(self, day: date) -> int:
        return (day.toordinal() - self.rest) // self.step


class _MonthGrid(_WallGrid):
    """Ticks on one day (1-28) of every month."""

    def __init__(self, tz: tzinfo, hour: int, minute: int, day: int) -> None:
        super().__init__(tz, hour, minute)
        self.day_of_month = day

    def day(self, g: int) -> date:
        year, month = divmod(g, 12)
        return date(year, month + 1, self.day_of_month)

    def number_near(self, day: date) -> int:
        return day.year * 12 + day.month - 1


class _CronGrid(_Grid):
    """Any other cron string: croniter stepped over wall-clock time with Dagster's DST rules,
    the ticks cached around an anchor, so each call costs the ticks it moves over."""

    def __init__(self, cron: str, tz: tzinfo, anchor: float) -> None:
        self.cron, self.tz = cron, tz
        self.hourly = _repeats_hourly(cron)
        self.hours: Sequence[int] = range(24) if self.hourly else _DST_HOURS
        self.up = self._walk(anchor, True)
        self.down = self._walk(anchor, False)
        self.ahead: list[datetime] = [next(self.up)]  # tick 0 is the first at or after anchor
        self.ahead_ts: list[float] = [self.ahead[0].timestamp()]
        self.behind: list[datetime] = []  # tick -1, -2, ...
        self.behind_ts: list[float] = []  # negated, so that it ascends
        for moment in self.down:
            if moment.timestamp() < self.ahead_ts[0]:
                self.behind.append(moment)
                self.behind_ts.append(-moment.timestamp())
                break

    def _walk(self, ts: float, up: bool) -> Iterator[datetime]:
        """Every tick at or after (`up`) or at or before `ts`, in time order. Wall ticks map to
        instants out of order only around a DST change, so an instant is let out once a wall
        tick three hours past it has been seen."""
        sign = 1 if up else -1
        start = datetime.fromtimestamp(ts, self.tz).replace(tzinfo=None)
        steps = croniter(self.cron, start - sign * timedelta(hours=3))
        pending: list[datetime] = []
        last: float | None = None
        while True:
            wall = steps.get_next(datetime) if up else steps.get_prev(datetime)
            pending += _wall_to_instants(wall, self.tz, self.hourly, self.hours)
            pending.sort(key=lambda m: sign * m.timestamp())
            safe = sign * wall.replace(tzinfo=self.tz).timestamp() - 3 * _HOUR
            while pending and sign * pending[0].timestamp() < safe:
                moment = pending.pop(0)
                at = moment.timestamp()
                if sign * (at - ts) >= 0 and (last is None or sign * (at - last) > 0):
                    last = at
                    yield moment

    def _extend(self, ahead: bool) -> None:
        if ahead:
            moment = next(self.up)
            self.ahead.append(moment)
            self.ahead_ts.append(moment.timestamp())
        else:
            moment = next(m for m in self.down if m.timestamp() < -self.behind_ts[-1])
            self.behind.append(moment)
            self.behind_ts.append(-moment.timestamp())

    def tick(self, g: int) -> datetime:
        if g >= 0:
            while g >= len(self.ahead):
                self._extend(True)
            return self.ahead[g]
        while -g > len(self.behind):
            self._extend(False)
        return self.behind[-g - 1]

    def ceil(self, ts: float) -> int:
        if ts > self.ahead_ts[0]:
            while self.ahead_ts[-1] < ts:
                self._extend(True)
            return bisect.bisect_left(self.ahead_ts, ts)
        while -self.behind_ts[-1] >= ts:
            self._extend(False)
        return -bisect.bisect_right(self.behind_ts, -ts)


def _expand(cron: str) -> tuple[list[list[int | str]], dict[int, object]]:
    parts, nth, *_ = croniter.expand(cron)
    return parts, nth  # type: ignore[return-value]


def _repeats_hourly(cron: str) -> bool:
    return _expand(cron)[0][1] == ["*"]


def is_valid_cron(cron: str) -> bool:
    """A five-field cron string croniter reads, and not February 30 or 31 (as Dagster)."""
    if not isinstance(cron, str) or not croniter.is_valid(cron):
        return False
    parts = _expand(cron)[0]
    return len(parts) == 5 and not (parts[3] == [2] and parts[2] in ([30], [31]))


def _fixed_minutes(minutes: list[int | str]) -> int | None:
    """The minutes between ticks when they are evenly spaced around the hour, else None."""
    if minutes == ["*"]:
        return 1
    ints = sorted(m for m in minutes if isinstance(m, int))
    if len(ints) != len(minutes):
        return None
    gaps = {b - a for a, b in itertools.pairwise(ints)} | {60 - ints[-1] + ints[0]}
    return gaps.pop() if len(gaps) == 1 else None


def make_grid(cron: str, tz: tzinfo, anchor: float) -> _Grid:
    """The fastest grid that gives exactly the ticks of `cron` in `tz` (Dagster's ticks)."""
    (minute, hour, dom, month, dow), nth = _expand(cron)

    def one(field: list[int | str]) -> int | None:
        return field[0] if len(field) == 1 and isinstance(field[0], int) else None

    stars = [f == ["*"] for f in (hour, dom, month, dow)]
    m, h, d, w = one(minute), one(hour), one(dom), one(dow)
    if not nth and all(stars):
        gap = _fixed_minutes(minute)
        if gap is not None:
            offset = datetime.fromtimestamp(anchor, tz).utcoffset() or timedelta()
            first = 0 if minute == ["*"] else int(minute[0])
            period = gap * 60
            return _FixedGrid(period, int(first * 60 - offset.total_seconds()) % period, tz)
    if not nth and m is not None and h is not None and stars[2]:
        if stars[1] and stars[3]:
            return _DayGrid(tz, h, m, 1, 0)
        if stars[1] and w is not None:
            return _DayGrid(tz, h, m, 7, w % 7)
        if d is not None and d <= 28 and stars[3]:
            return _MonthGrid(tz, h, m, d)
    return _CronGrid(cron, tz, anchor)


# ---- exclusions: ticks removed from the grid ---------------------------------------------


class _Exclusions:
    """The excluded ticks, as numbers relative to the first tick (j = 0), kept sorted.

    Excluded datetimes are placed once; excluded cron strings are walked lazily, over the
    stretch of the grid asked about so far (growing by doubling), on their own grids."""

    def __init__(self, grid: _Grid, g0: int, stamps: Sequence[float], crons: Sequence[str]):
        self.grid, self.g0 = grid, g0
        self.cron_grids = [make_grid(c, grid.tz, grid.tick(g0).timestamp()) for c in crons]
        self.found = sorted({grid.ceil(ts) - g0 for ts in stamps if grid.has_tick_at(ts)})
        self.lo = self.hi = 0

    def _cover(self, lo: int, hi: int) -> None:
        if not self.cron_grids or (self.lo <= lo and hi <= self.hi):
            return
        size = max(1024, self.hi - self.lo)
        new_lo = min(lo, self.lo - size) if lo < self.lo else self.lo
        new_hi = max(hi, self.hi + size) if hi > self.hi else self.hi
        spans = [(new_lo, self.lo), (self.hi, new_hi)] if self.hi > self.lo else [(new_lo, new_hi)]
        added = set(self.found)
        for a, b in spans:
            t_a = self.grid.tick(self.g0 + a).timestamp()
            t_b = self.grid.tick(self.g0 + b).timestamp()
            for cg in self.cron_grids:
                e = cg.ceil(t_a)
                while (ts := cg.tick(e).timestamp()) < t_b:
                    if self.grid.has_tick_at(ts):
                        added.add(self.grid.ceil(ts) - self.g0)
                    e += 1
        self.found = sorted(added)
        self.lo, self.hi = new_lo, new_hi

    def count(self, a: int, b: int) -> int:
        """How many ticks in [a, b) are excluded."""
        if a >= b:
            return 0
        self._cover(a, b)
        return bisect.bisect_left(self.found, b) - bisect.bisect_left(self.found, a)

    def excluded(self, j: int) -> bool:
        return self.count(j, j + 1) == 1

    def kept_before(self, j: int) -> int:
        """The index of tick j among the kept ticks (negative before the first tick)."""
        return j - self.count(0, j) if j >= 0 else j + self.count(j, 0)

    def kept_at(self, k: int) -> int:
        """The tick number j of the k-th kept tick (k may be negative)."""
        if not self.found and not self.cron_grids:
            return k
        if k >= 0:
            lo, hi = k, 2 * k + 1024
            while hi - self.count(0, hi) <= k:
                lo, hi = hi, 2 * hi
                _refuse_runaway(hi)
            while lo < hi:  # smallest j with k + 1 kept ticks in [0, j]
                mid = (lo + hi) // 2
                lo, hi = (mid + 1, hi) if mid + 1 - self.count(0, mid + 1) <= k else (lo, mid)
            return lo
        lo, hi = 2 * k - 1024, k
        while -lo - self.count(lo, 0) < -k:
            lo, hi = 2 * lo, lo
            _refuse_runaway(-lo)
        while lo < hi:  # largest j with -k kept ticks in [j, 0)
            mid = (lo + hi + 1) // 2
            lo, hi = (mid, hi) if -mid - self.count(mid, 0) >= -k else (lo, mid - 1)
        return lo

    def kept_from(self, j: int, step: int) -> int:
        """The first kept tick at or after j (step 1) or at or before j (step -1)."""
        start = j
        while self.excluded(j):
            j += step
            _refuse_runaway(abs(j - start))
        return j


def _refuse_runaway(n: int) -> None:
    if n > 10**8:
        raise DefinitionError(
            "The exclusions of a time-window partitions definition exclude (nearly) every tick "
            "of its schedule. Fix: exclude fewer times, or use a sparser cron_schedule."
        )


# ---- the definitions ---------------------------------------------------------------------

DEFAULT_DATE_FORMAT = "%Y-%m-%d"
DEFAULT_HOURLY_FORMAT = "%Y-%m-%d-%H:%M"
_CRON_OF_TYPE = {
    ScheduleType.HOURLY: "{m} * * * *",
    ScheduleType.DAILY: "{m} {h} * * *",
    ScheduleType.WEEKLY: "{m} {h} * * {d}",
    ScheduleType.MONTHLY: "{m} {h} {d} * *",
}
_TYPE_OF_CRON = [
    (re.compile(r"\d+ \* \* \* \*"), ScheduleType.HOURLY),
    (re.compile(r"\d+ \d+ \* \* \*"), ScheduleType.DAILY),
    (re.compile(r"\d+ \d+ \* \* \d+"), ScheduleType.WEEKLY),
    (re.compile(r"\d+ \d+ \d+ \* \*"), ScheduleType.MONTHLY),
]
_OFFSET_FIELDS = {  # offset name: (cron field, pattern the cron must match)
    "minute": (0, r"(\d+) (\d+|\*) (\d+|\*) (\d+|\*) (\d+|\*)"),
    "hour": (1, r"(\d+|\*) (\d+) (\d+|\*) (\d+|\*) (\d+|\*)"),
    "weekday": (4, r"(\d+|\*) (\d+|\*) (\d+|\*) (\d+|\*) (\d+)"),
    "day": (2, r"(\d+|\*) (\d+|\*) (\d+) (\d+|\*) (\d+|\*)"),
}


def _to_time(value: datetime | str, fmt: str, tz: tzinfo, what: str) -> datetime:
    """A start, end or excluded time as Dagster reads it: a string parsed with fmt, a
    datetime's wall-clock fields read in the definition's zone (its own tzinfo dropped)."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=tz)
    if not isinstance(value, str):
        raise DefinitionError(
            f"The {what} {value!r} of a time-window partitions definition is a "
            f"{type(value).__name__}. Fix: pass a datetime or a string in the format {fmt!r}."
        )
    try:
        return parse_key(value, fmt, tz)
    except ValueError:
        raise DefinitionError(
            f"The {what} {value!r} of a time-window partitions definition does not match its "
            f"format {fmt!r}. Fix: write it in that format (e.g. "
            f"{datetime(2026, 1, 2).strftime(fmt)!r}) or pass fmt= that matches it."
        ) from None


class TimeWindowPartitionsDefinition(PartitionsDefinition):
    r"""Partitions that are the windows between the ticks of a cron schedule.

    Each key is the start of its window formatted with `fmt`. The first partition starts at
    the first tick at or after `start`; the last one ends at or before the current time
    (`end_offset` partitions more, or fewer when negative) and at or before `end`.

    Example:
        >>> days = TimeWindowPartitionsDefinition(
        ...     start="2026-01-01", fmt="%Y-%m-%d", cron_schedule="0 0 * * *", end="2026-01-04"
        ... )
        >>> days.get_partition_keys()
        ['2026-01-01', '2026-01-02', '2026-01-03']
        >>> days.time_window_for_partition_key("2026-01-02").end.isoformat()
        '2026-01-03T00:00:00+00:00'
    """

    def __init__(
        self,
        start: datetime | str,
        fmt: str,
        end: datetime | str | None = None,
        schedule_type: ScheduleType | None = None,
        timezone: str | None = None,
        end_offset: int = 0,
        minute_offset: int | None = None,
        hour_offset: int | None = None,
        day_offset: int | None = None,
        cron_schedule: str | None = None,
        exclusions: Sequence[str | datetime | TimestampWithTimezone] | None = None,
    ) -> None:
        self._timezone = timezone or "UTC"
        tz = self._tz = get_timezone(self._timezone)
        self._fmt = fmt
        self._start_ts = _to_time(start, fmt, tz, "start").timestamp()
        self._end_ts = _to_time(end, fmt, tz, "end").timestamp() if end else None
        if self._end_ts is not None and self._end_ts < self._start_ts:
            raise DefinitionError(
                f"The end {end!r} of a time-window partitions definition is before its start "
                f"{start!r}, so it would have no partitions. Fix: pass an end after the start "
                "(the end is exclusive), or no end."
            )
        self._cron = _cron_schedule(
            schedule_type, cron_schedule, minute_offset, hour_offset, day_offset
        )
        self._end_offset = end_offset
        self._exclusions = _clean_exclusions(exclusions, tz, self._timezone)
        self._grid = make_grid(self._cron, tz, self._start_ts)
        self._g0 = self._grid.ceil(self._start_ts)
        self._hourly = _repeats_hourly(self._cron)
        stamps = [e.timestamp for e in self._exclusions if isinstance(e, TimestampWithTimezone)]
        crons = [e for e in self._exclusions if isinstance(e, str)]
        self._excl = _Exclusions(self._grid, self._g0, stamps, crons)

    # -- Dagster's attributes
    @property
    def timezone(self) -> str:
        return self._timezone

    @property
    def fmt(self) -> str:
        return self._fmt

    @property
    def cron_schedule(self) -> str:
        return self._cron

    @property
    def end_offset(self) -> int:
        return self._end_offset

    @property
    def exclusions(self) -> list[str | TimestampWithTimezone] | None:
        return list(self._exclusions) or None

    @property
    def start_timestamp(self) -> float:
        return self._start_ts

    @property
    def end_timestamp(self) -> float | None:
        return self._end_ts

    @cached_property
    def start(self) -> datetime:
        """The start given (not necessarily a tick), in the definition's zone."""
        return datetime.fromtimestamp(self._start_ts, self._tz)

    @cached_property
    def end(self) -> datetime | None:
        """The exclusive end given, or None when the partitions go on with time."""
        return None if self._end_ts is None else datetime.fromtimestamp(self._end_ts, self._tz)

    @property
    def schedule_type(self) -> ScheduleType | None:
        return next((t for r, t in _TYPE_OF_CRON if r.fullmatch(self._cron)), None)

    @property
    def minute_offset(self) -> int:
        return self._cron_field("minute")

    @property
    def hour_offset(self) -> int:
        return self._cron_field("hour")

    @property
    def day_offset(self) -> int:
        weekly = self.schedule_type == ScheduleType.WEEKLY
        return self._cron_field("weekday" if weekly else "day")

    def _cron_field(self, name: str) -> int:
        i, pattern = _OFFSET_FIELDS[name]
        match = re.fullmatch(pattern, self._cron)
        if match is None:
            raise DefinitionError(
                f"The cron schedule {self._cron!r} has no fixed {name} field, so it has no "
                f"{name} offset. Fix: read offsets only of partitions that have one."
            )
        return int(match.group(i + 1))

    # -- the symbolic layer: key index <-> tick <-> time
    def _tick(self, j: int) -> datetime:
        return self._grid.tick(self._g0 + j)

    def _format(self, moment: datetime) -> str:
        return _format_key(moment, self._fmt, self._hourly)

    def _j_of(self, k: int) -> int:
        return self._excl.kept_at(k)

    def _first_index_from(self, ts: float) -> int:
        """The index of the first partition starting at or after `ts`."""
        j = self._excl.kept_from(self._grid.ceil(ts) - self._g0, 1)
        return self._excl.kept_before(j)

    def _last_index_ending_by(self, ts: float) -> int:
        """The index of the last partition ending at or before `ts`."""
        j = self._excl.kept_from(self._grid.floor(ts) - self._g0 - 1, -1)
        return self._excl.kept_before(j)

    def key_at(self, index: int) -> str:
        """The key at position `index` (0 is the first partition; any integer works)."""
        return self._format(self._tick(self._j_of(index)))

    def time_window_at(self, index: int) -> TimeWindow:
        j = self._j_of(index)
        return TimeWindow(self._tick(j), self._tick(j + 1))

    def index_of(self, partition_key: str) -> int | None:
        """The position of a key, or None when it does not parse, is not the start of a
        window or is excluded; not checked against the first and last partitions."""
        try:
            parsed = parse_key(partition_key, self._fmt, self._tz)
        except ValueError:
            return None
        j = self._grid.ceil(parsed.timestamp()) - self._g0
        if self._excl.excluded(j) or self._format(self._tick(j)) != partition_key:
            return None
        return self._excl.kept_before(j)

    def indices_in_time_window(self, time_window: TimeWindow) -> range:
        """The positions of the partitions whose start is in the window."""
        first = self._first_index_from(time_window.start.timestamp())
        return range(first, max(first, self._first_index_from(time_window.end.timestamp())))

    def index_for_timestamp(self, timestamp: float, end_closed: bool = False) -> int:
        """The position of the partition whose window holds `timestamp`."""
        j = self._grid.floor(timestamp) - self._g0
        if end_closed and self._tick(j).timestamp() == timestamp:
            j -= 1
        return self._excl.kept_before(self._excl.kept_from(j, -1))

    def _now(self, current_time: datetime | None) -> float:
        if current_time is None:
            return time.time()
        if current_time.tzinfo is None:  # a naive time is read in the definition's zone
            current_time = current_time.replace(tzinfo=self._tz)
        return current_time.timestamp()

    def last_index(self, current_time: datetime | None = None) -> int:
        """The position of the last partition as of `current_time`; -1 when there is none."""
        now, k = self._now(current_time), self._end_offset
        if self._end_ts is not None and self._end_ts <= self._start_ts:
            return -1
        zero = self._last_index_ending_by(now)
        exists = self._first_index_from(now) + k >= 1 if k > 0 else zero + k >= 0
        if not exists:
            return -1
        last = zero + k
        by_end = None if self._end_ts is None else self._last_index_ending_by(self._end_ts)
        if by_end is not None and (k == 0 or by_end <= last):
            last = min(last, by_end)
        elif k != 0 and last < 0:  # Dagster's floor: the first partition
            last = 0
        return last if last >= 0 else -1

    # -- Dagster's reads
    def get_partition_keys(
        self,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> list[str]:
        """Every key, in time order, as of `current_time` (now when None)."""
        last = self.last_index(current_time)
        if last < 0:
            return []
        top = self._j_of(last)
        skip = set(self._excl.found) if self._excl.count(0, top + 1) else set()
        return [self._format(self._tick(j)) for j in range(top + 1) if j not in skip]

    def get_num_partitions(
        self,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> int:
        return self.last_index(current_time) + 1

    def get_first_partition_key(
        self,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> str | None:
        return self.key_at(0) if self.last_index(current_time) >= 0 else None

    def get_last_partition_key(
        self,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> str | None:
        last = self.last_index(current_time)
        return self.key_at(last) if last >= 0 else None

    def get_first_partition_window(self, current_time: datetime | None = None) -> TimeWindow | None:
        return self.time_window_at(0) if self.last_index(current_time) >= 0 else None

    def get_last_partition_window(self, current_time: datetime | None = None) -> TimeWindow | None:
        last = self.last_index(current_time)
        return self.time_window_at(last) if last >= 0 else None

    def has_partition_key(
        self,
        partition_key: str,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> bool:
        """Whether the key parses, starts a window and is between the first and last now."""
        index = self.index_of(partition_key)
        return index is not None and 0 <= index <= self.last_index(current_time)

    def validate_partition_key(
        self,
        partition_key: str,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> None:
        index = self.index_of(partition_key)
        if index is not None and 0 <= index <= self.last_index(current_time):
            return
        if index is not None:
            why = "it is outside the partitions that exist now"
        else:
            try:
                parse_key(partition_key, self._fmt, self._tz)
                why = f"it is not the start of a window of the schedule '{self._cron}'"
            except ValueError:
                why = f"it does not match the format '{self._fmt}'"
        first = self.get_first_partition_key(current_time)
        last = self.get_last_partition_key(current_time)
        raise InvalidPartitionKeyError(
            f"Partition key {partition_key!r} is not a key of {self!r}: {why}. Fix: use a key "
            f"from {first!r} to {last!r}, formatted '{self._fmt}'."
        )

    def _parse(self, partition_key: str) -> datetime:
        try:
            return parse_key(partition_key, self._fmt, self._tz)
        except ValueError:
            raise InvalidPartitionKeyError(
                f"Partition key {partition_key!r} does not match the format '{self._fmt}' of "
                f"{self!r}. Fix: format the key like {self.key_at(0)!r}."
            ) from None

    def time_window_for_partition_key(self, partition_key: str) -> TimeWindow:
        """The window of the partition that starts at, or first after, the key's time."""
        return self.time_window_at(self._first_index_from(self._parse(partition_key).timestamp()))

    def start_time_for_partition_key(self, partition_key: str) -> datetime:
        return self.time_window_for_partition_key(partition_key).start

    def end_time_for_partition_key(self, partition_key: str) -> datetime:
        return self.time_window_for_partition_key(partition_key).end

    def get_partition_keys_in_time_window(self, time_window: TimeWindow) -> list[str]:
        """The keys of the partitions whose start is in the window (bounds not applied)."""
        return [self.key_at(i) for i in self.indices_in_time_window(time_window)]

    def get_partition_key_for_timestamp(self, timestamp: float, end_closed: bool = False) -> str:
        """The key of the partition whose window holds `timestamp` (seconds since the epoch)."""
        return self.key_at(self.index_for_timestamp(timestamp, end_closed))

    def get_partition_key_range_for_time_window(self, time_window: TimeWindow) -> PartitionKeyRange:
        """The first and last keys of the partitions in the window."""
        start = self.index_for_timestamp(time_window.start.timestamp())
        end = self._last_index_ending_by(time_window.end.timestamp())
        return PartitionKeyRange(self.key_at(start), self.key_at(end))

    def get_partition_keys_in_range(
        self,
        partition_key_range: PartitionKeyRange,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> list[str]:
        """The keys from `partition_key_range.start` to `.end`, both included."""
        start_key, end_key = partition_key_range
        first = self._first_index_from(self._parse(start_key).timestamp())
        last = self._first_index_from(self._parse(end_key).timestamp())
        if self.time_window_at(first).start.timestamp() < self._start_ts:
            raise DefinitionError(
                f"Partition range {start_key}...{end_key} starts before {self!r} does. "
                f"Fix: start the range at {self.key_at(0)!r} or later."
            )
        if self._end_ts is not None and self.time_window_at(last).end.timestamp() > self._end_ts:
            raise DefinitionError(
                f"Partition range {start_key}...{end_key} ends after {self!r} does. Fix: end the "
                f"range at {self.key_at(self._last_index_ending_by(self._end_ts))!r} or earlier."
            )
        if first > last:
            raise DefinitionError(
                f"Partition range {start_key}...{end_key} ends before it starts. Fix: put the "
                f"earlier key first: {end_key}...{start_key}."
            )
        return [self.key_at(i) for i in range(first, last + 1)]

    # -- identity (Dagster's: a daily definition equals the same TimeWindowPartitionsDefinition)
    def _identity(self) -> tuple[object, ...]:
        head = (self._start_ts, self._end_ts, self._timezone, self._fmt, self._end_offset)
        return (*head, self._cron, self._exclusions)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TimeWindowPartitionsDefinition) and (
            self._identity() == other._identity()
        )

    def __hash__(self) -> int:
        return hash(repr(self))

    def __repr__(self) -> str:
        exclusions = f", exclusions={list(self._exclusions)}" if self._exclusions else ""
        return (
            f"TimeWindowPartitionsDefinition(start={self._start_ts}, end={self._end_ts}, "
            f"timezone='{self._timezone}', fmt='{self._fmt}', end_offset={self._end_offset}, "
            f"cron_schedule='{self._cron}')"
        ) + exclusions

    def __str__(self) -> str:
        kind = self.schedule_type
        text = f"{kind.value.capitalize() if kind else self._cron}, starting "
        text += f"{self._format(self.start)} {self._timezone}."
        if self._end_offset:
            s = "" if self._end_offset == 1 else "s"
            text += f" End offsetted by {self._end_offset} partition{s}."
        return text


def _cron_schedule(
    schedule_type: ScheduleType | str | None,
    cron_schedule: str | None,
    minute_offset: int | None,
    hour_offset: int | None,
    day_offset: int | None,
) -> str:
    if cron_schedule is not None:
        if schedule_type is not None or minute_offset or hour_offset or day_offset:
            raise DefinitionError(
                f"A time-window partitions definition got cron_schedule={cron_schedule!r} and "
                "also schedule_type or an offset, which the cron string already fixes. Fix: "
                "pass either cron_schedule alone, or schedule_type with its offsets."
            )
        cron = cron_schedule
    elif schedule_type is None:
        raise DefinitionError(
            "A time-window partitions definition needs a schedule. Fix: pass "
            "cron_schedule='0 0 * * *' (say), or schedule_type=ScheduleType.DAILY."
        )
    else:
        kind = ScheduleType(getattr(schedule_type, "value", schedule_type))
        default_day = 1 if kind is ScheduleType.MONTHLY else 0
        cron = _CRON_OF_TYPE[kind].format(
            m=minute_offset or 0, h=hour_offset or 0, d=day_offset or default_day
        )
    if not is_valid_cron(cron):
        raise DefinitionError(
            f"Found invalid cron schedule {cron!r} for a time-window partitions definition. "
            "Fix: pass five cron fields (minute hour day-of-month month day-of-week), e.g. "
            "'0 0 * * *' for daily at midnight."
        )
    return cron


def _clean_exclusions(
    exclusions: Sequence[str | datetime | TimestampWithTimezone] | None, tz: tzinfo, name: str
) -> tuple[str | TimestampWithTimezone, ...]:
    cleaned: list[str | TimestampWithTimezone] = []
    bad: list[object] = []
    for e in [exclusions] if isinstance(exclusions, str) else exclusions or ():
        if (isinstance(e, str) and is_valid_cron(e)) or isinstance(e, TimestampWithTimezone):
            cleaned.append(e)
        elif isinstance(e, datetime):
            cleaned.append(TimestampWithTimezone(e.replace(tzinfo=tz).timestamp(), name))
        else:
            bad.append(e)
    if bad:
        raise DefinitionError(
            f"Found invalid exclusion(s) {', '.join(repr(e) for e in bad)} for a time-window "
            "partitions definition. Fix: give cron strings (e.g. '0 0 * * 6' for Saturdays) "
            "or datetimes."
        )
    return tuple(cleaned)


class DailyPartitionsDefinition(TimeWindowPartitionsDefinition):
    """One partition per day, keyed like '2026-01-02'.

    Example:
        >>> DailyPartitionsDefinition("2026-01-01", end_date="2026-01-03").get_partition_keys()
        ['2026-01-01', '2026-01-02']
    """

    def __init__(
        self,
        start_date: datetime | str,
        end_date: datetime | str | None = None,
        minute_offset: int = 0,
        hour_offset: int = 0,
        timezone: str | None = None,
        fmt: str | None = None,
        end_offset: int = 0,
        exclusions: Sequence[str | datetime | TimestampWithTimezone] | None = None,
    ) -> None:
        super().__init__(
            start_date, fmt or DEFAULT_DATE_FORMAT, end_date, ScheduleType.DAILY, timezone,
            end_offset, minute_offset, hour_offset, exclusions=exclusions,
        )  # fmt: skip


class HourlyPartitionsDefinition(TimeWindowPartitionsDefinition):
    """One partition per hour, keyed like '2026-01-02-13:00'.

    Example:
        >>> HourlyPartitionsDefinition("2026-01-01-00:00", "2026-01-01-02:00").get_partition_keys()
        ['2026-01-01-00:00', '2026-01-01-01:00']
    """

    def __init__(
        self,
        start_date: datetime | str,
        end_date: datetime | str | None = None,
        minute_offset: int = 0,
        timezone: str | None = None,
        fmt: str | None = None,
        end_offset: int = 0,
        exclusions: Sequence[str | datetime | TimestampWithTimezone] | None = None,
    ) -> None:
        super().__init__(
            start_date, fmt or DEFAULT_HOURLY_FORMAT, end_date, ScheduleType.HOURLY, timezone,
            end_offset, minute_offset, exclusions=exclusions,
        )  # fmt: skip


class WeeklyPartitionsDefinition(TimeWindowPartitionsDefinition):
    """One partition per week from weekday `day_offset` (0 is Sunday), keyed by its first day.

    Example:
        >>> WeeklyPartitionsDefinition("2026-01-04", "2026-01-18").get_partition_keys()
        ['2026-01-04', '2026-01-11']
    """

    def __init__(
        self,
        start_date: datetime | str,
        end_date: datetime | str | None = None,
        minute_offset: int = 0,
        hour_offset: int = 0,
        day_offset: int = 0,
        timezone: str | None = None,
        fmt: str | None = None,
        end_offset: int = 0,
        exclusions: Sequence[str | datetime | TimestampWithTimezone] | None = None,
    ) -> None:
        super().__init__(
            start_date, fmt or DEFAULT_DATE_FORMAT, end_date, ScheduleType.WEEKLY, timezone,
            end_offset, minute_offset, hour_offset, day_offset, exclusions=exclusions,
        )  # fmt: skip


class MonthlyPartitionsDefinition(TimeWindowPartitionsDefinition):
    """One partition per month from day `day_offset` (1 by default), keyed by its first day.

    Example:
        >>> MonthlyPartitionsDefinition("2026-01-01", "2026-03-01").get_partition_keys()
        ['2026-01-01', '2026-02-01']
    """

    def __init__(
        self,
        start_date: datetime | str,
        end_date: datetime | str | None = None,
        minute_offset: int = 0,
        hour_offset: int = 0,
        day_offset: int = 1,
        timezone: str | None = None,
        fmt: str | None = None,
        end_offset: int = 0,
        exclusions: Sequence[str | datetime | TimestampWithTimezone] | None = None,
    ) -> None:
        super().__init__(
            start_date, fmt or DEFAULT_DATE_FORMAT, end_date, ScheduleType.MONTHLY, timezone,
            end_offset, minute_offset, hour_offset, day_offset, exclusions=exclusions,
        )  # fmt: skip
