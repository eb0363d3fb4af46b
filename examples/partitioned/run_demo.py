"""The partitioned example, end to end: a daily table, a daily view on it, a rolling
total downstream; one day corrected; exactly the days that read it go stale, and one
automation tick requests the latest of them. Runs on an ephemeral instance.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

home = Path(tempfile.mkdtemp(prefix="sheer-partitioned-"))
os.environ["PARTITIONED_ORDERS"] = str(home / "orders.json")
sys.path.insert(0, str(Path(__file__).parent))

from defs import DAYS, defs  # noqa: E402

import sheer as dg  # noqa: E402

ORDERS = {
    day: [[100.0 + i, "complete"], [50.0, "cancelled"], [10.0 * i, "complete"]]
    for i, day in enumerate(DAYS.get_partition_keys(), start=1)
}


def main() -> None:
    (home / "orders.json").write_text(json.dumps(ORDERS))
    instance = dg.Instance.ephemeral()
    days = DAYS.get_partition_keys()
    print(f"==> materialize orders and revenue_3d for {days[0]}...{days[-1]}")
    for day in days:
        dg.materialize(
            list(defs.assets), instance=instance, partition_key=day, selection=["orders"]
        )
    for day in days:
        result = dg.materialize(
            list(defs.assets), instance=instance, partition_key=day, selection=["revenue_3d"]
        )
        print(f"  revenue_3d[{day}] = {result.asset_value('revenue_3d'):.2f}")
    report(instance)
    when = _after(days)
    tick = dg.evaluate_automation_conditions(defs, instance, evaluation_time=when)

    corrected = days[2]
    print(f"\n==> correct {corrected} of orders (one more completed order) and reload that day")
    correct(instance, corrected)
    report(instance)
    tick = dg.evaluate_automation_conditions(
        defs, instance, evaluation_time=when, cursor=tick.cursor
    )
    print("  automation (eager through the view) requests: " + requested(tick))

    print(f"\n==> correct {days[-1]}, the latest day, which eager watches")
    correct(instance, days[-1])
    tick = dg.evaluate_automation_conditions(
        defs, instance, evaluation_time=when, cursor=tick.cursor
    )
    print("  automation (eager through the view) requests: " + requested(tick))


def correct(instance: dg.Instance, day: str) -> None:
    ORDERS[day].append([1000.0, "complete"])
    (home / "orders.json").write_text(json.dumps(ORDERS))
    dg.materialize(list(defs.assets), instance=instance, partition_key=day, selection=["orders"])


def requested(tick: Any) -> str:
    parts = sorted(str(p) for p in tick.get_requested_partitions("revenue_3d"))
    return ", ".join(f"revenue_3d[{p}]" for p in parts) or "nothing"


def report(instance: dg.Instance) -> None:
    resolver = dg.StaleStatusResolver(instance, defs)
    counts = resolver.get_status_counts("revenue_3d")
    print(
        "  revenue_3d: "
        + " / ".join(f"{s.value.lower()} {counts.get(s, 0)}" for s in dg.StaleStatus)
    )
    for day, status in resolver.get_statuses("revenue_3d").items():
        if status is dg.StaleStatus.STALE:
            (cause,) = resolver.get_stale_root_causes("revenue_3d", partition_key=day)
            print(f"  revenue_3d[{day}] is stale: {cause}")


def _after(days: list[str]) -> datetime:
    """The end of the last day: when every day of the definition exists."""
    return datetime.fromisoformat(days[-1]).replace(tzinfo=UTC) + timedelta(days=1)


if __name__ == "__main__":
    main()
