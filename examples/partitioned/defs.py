"""A daily-partitioned table, a partitioned view on it, and a rolling total downstream.

    orders (daily table) -> valid_orders (daily view, virtual) -> revenue_3d (daily table)

`valid_orders` is a view: it is never materialized, each day of it is computed from the
same day of `orders` when something reads it. `revenue_3d[d]` reads days d-2, d-1 and d
of the view (`TimeWindowPartitionMapping(start_offset=-2)`), so its input arrives as a
`{partition_key: value}` dict, and a correction to one day of `orders` makes exactly
the three days of `revenue_3d` that read it stale, through the view.

Orders come from `ORDERS_FILE` (JSON: day -> list of [amount, status]), so a demo can
correct a day by rewriting it.

    sheer status -f examples/partitioned/defs.py
    sheer launch -f examples/partitioned/defs.py --assets orders --partition 2026-01-02
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import sheer as dg

DAYS = dg.DailyPartitionsDefinition(start_date="2026-01-01", end_date="2026-01-08")
ORDERS_FILE = Path(os.environ.get("PARTITIONED_ORDERS", Path(__file__).with_name("orders.json")))


def load_orders() -> dict[str, list[list[Any]]]:
    if not ORDERS_FILE.exists():
        return {}
    loaded: dict[str, list[list[Any]]] = json.loads(ORDERS_FILE.read_text())
    return loaded


@dg.asset(partitions_def=DAYS, group_name="sales")
def orders(context: dg.AssetExecutionContext) -> list[list[Any]]:
    """One day of orders: [amount, status] pairs."""
    return load_orders().get(context.partition_key, [])


@dg.asset(partitions_def=DAYS, is_virtual=True, group_name="sales")
def valid_orders(orders: list[list[Any]]) -> list[float]:
    """The day's completed orders' amounts (a view: computed on the fly, never stored)."""
    return [amount for amount, status in orders if status == "complete"]


@dg.asset(
    partitions_def=DAYS,
    group_name="sales",
    ins={
        "valid_orders": dg.AssetIn(partition_mapping=dg.TimeWindowPartitionMapping(start_offset=-2))
    },
    automation_condition=dg.AutomationCondition.eager().resolve_through_virtual(),
)
def revenue_3d(
    context: dg.AssetExecutionContext, valid_orders: dict[str, list[float]] | list[float]
) -> float:
    """Revenue over the day and the two before it, from the view's days it reads."""
    # As in Dagster, an input of several partitions is a {partition_key: value} dict, and
    # an input of one partition (the first day reads only itself) is that value.
    days = valid_orders if isinstance(valid_orders, dict) else {"": valid_orders}
    total = round(sum(sum(day) for day in days.values()), 2)
    context.log.info(f"{context.partition_key}: {sorted(days)} -> {total}")
    return total


defs = dg.Definitions(assets=[orders, valid_orders, revenue_3d])
