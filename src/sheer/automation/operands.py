"""Operands: the leaves of an `AutomationCondition`, facts about one target on one tick.

An operand reads what the tick's `TickContext` loaded (records, runs, the previous
tick) and says for which candidates it holds. Operands never read storage
themselves and have no children, so `.allow()` / `.ignore()` and
`.resolve_through_virtual()` leave them alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from sheer.automation.conditions import AutomationCondition

if TYPE_CHECKING:
    from sheer.automation.conditions import EvalNode
    from sheer.automation.context import TickContext


class StoredEnum(StrEnum):
    """A string enum whose repr is its plain value.

    A condition's `unique_id` hashes its repr and is stored in the cursor: with the
    value as repr, conditions built with enums keep the ids that earlier releases
    stored with plain strings, so no condition starts from scratch after an upgrade.
    """

    def __repr__(self) -> str:
        return repr(self.value)


class OperandKind(StoredEnum):
    """Which fact an `Operand` reads; the value is the operand's text in explanations."""

    MISSING = "missing"
    NEWLY_UPDATED = "newly_updated"
    IN_PROGRESS = "in_progress"
    EXECUTION_FAILED = "execution_failed"
    NEWLY_REQUESTED = "newly_requested"
    WILL_BE_REQUESTED = "will_be_requested"
    CODE_VERSION_CHANGED = "code_version_changed"
    DATA_VERSION_CHANGED = "data_version_changed"
    INITIAL_EVALUATION = "initial_evaluation"
    IN_LATEST_TIME_WINDOW = "in_latest_time_window"
    EXECUTED_WITH_ROOT_TARGET = "executed_with_root_target"


class UpdatesMatch(StoredEnum):
    """How the runs of a target's new updates must match run tags."""

    ANY = "any_new_update_has_run_tags"
    ALL = "all_new_updates_have_run_tags"


@dataclass(frozen=True, slots=True)
class Operand(AutomationCondition):
    """A fact about the target read from the tick context (`kind` names which)."""

    kind: OperandKind
    label: str | None = None

    def evaluate(self, ctx: TickContext, candidates: set[int], node: EvalNode) -> set[int]:
        return ctx.operand(self.kind, candidates)

    def describe(self) -> str:
        return self.kind.value


@dataclass(frozen=True, slots=True)
class InLatestTimeWindow(AutomationCondition):
    """`in_latest_time_window(lookback_delta=)`: the target's partition is within
    `lookback_delta` of the end of its latest time window (without a lookback, the plain
    `Operand` is used, so conditions keep their ids)."""

    lookback_delta: timedelta
    label: str | None = None

    def evaluate(self, ctx: TickContext, candidates: set[int], node: EvalNode) -> set[int]:
        return ctx.in_latest_time_window(candidates, self.lookback_delta)

    @property
    def name(self) -> str:
        return f"in_latest_time_window(lookback_timedelta={self.lookback_delta})"

    def describe(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class CronTickPassed(AutomationCondition):
    cron_schedule: str
    cron_timezone: str = "UTC"
    label: str | None = None

    def evaluate(self, ctx: TickContext, candidates: set[int], node: EvalNode) -> set[int]:
        passed = ctx.cron_tick_passed(self.cron_schedule, self.cron_timezone)
        return set(candidates) if passed else set()

    @property
    def name(self) -> str:
        return (
            f"cron_tick_passed(cron_schedule={self.cron_schedule}, "
            f"cron_timezone={self.cron_timezone})"
        )

    def describe(self) -> str:
        return f"cron_tick_passed({self.cron_schedule}, {self.cron_timezone})"


@dataclass(frozen=True, slots=True)
class RunTags:
    """Which run tags a run must carry: every key of `keys`, and every (key, value) of
    `values`. Built with `RunTags.of`, which takes Dagster's `tag_keys=` / `tag_values=`."""

    keys: frozenset[str] | None = None
    values: tuple[tuple[str, str], ...] | None = None

    @classmethod
    def of(cls, tag_keys: Set[str] | None, tag_values: Mapping[str, str] | None) -> RunTags:
        if isinstance(tag_keys, str):
            raise TypeError(
                f"tag_keys={tag_keys!r} is a string, not a set of tag keys. "
                f"Fix: pass tag_keys={{{tag_keys!r}}}."
            )
        return cls(
            keys=frozenset(tag_keys) if tag_keys is not None else None,
            values=tuple(sorted(tag_values.items())) if tag_values is not None else None,
        )

    def match(self, tags: Mapping[str, str]) -> bool:
        if self.keys and not all(k in tags for k in self.keys):
            return False
        return not self.values or all(tags.get(k) == v for k, v in self.values)

    def describe(self, name: str) -> str:
        props = []
        if self.keys is not None:
            props.append("tag_keys={" + ",".join(sorted(self.keys)) + "}")
        if self.values is not None:
            props.append("tag_values={" + ",".join(f"{k}:{v}" for k, v in self.values) + "}")
        return f"{name}({', '.join(props)})" if props else name


@dataclass(frozen=True, slots=True)
class ExecutedWithTags(AutomationCondition):
    """The run of the target's latest materialization carries the tags."""

    tags: RunTags
    label: str | None = None

    def evaluate(self, ctx: TickContext, candidates: set[int], node: EvalNode) -> set[int]:
        return ctx.executed_with_tags(self.tags, candidates)

    def describe(self) -> str:
        return self.tags.describe("executed_with_tags")


@dataclass(frozen=True, slots=True)
class NewUpdatesHaveRunTags(AutomationCondition):
    """The target was materialized since the previous tick, and the runs of those new
    materializations carry the tags: at least one of them (`UpdatesMatch.ANY`) or all
    (`UpdatesMatch.ALL`)."""

    match: UpdatesMatch
    tags: RunTags
    label: str | None = None

    def evaluate(self, ctx: TickContext, candidates: set[int], node: EvalNode) -> set[int]:
        return ctx.new_updates_have_run_tags(self.tags, self.match is UpdatesMatch.ALL, candidates)

    def describe(self) -> str:
        return self.tags.describe(self.match.value)
