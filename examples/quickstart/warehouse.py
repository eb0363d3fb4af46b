"""The quickstart warehouse: a raw table, two views (virtual assets), a table built on them.

    orders (table, loaded from a CSV)
      -> valid_orders (view: no cancelled orders, no refunds)
        -> recent_orders (view: orders since 1 November)
          -> daily_revenue (table: revenue per day)

The seed's chain A -> B -> C -> D with B and C virtual. Everything lives under
$QUICKSTART_HOME (default .sheer/quickstart): the DuckDB file and a working copy of
the CSV that the demo appends to.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pandas as pd

import sheer as dg
from sheer.duckdb import DuckDBIOManager, DuckDBResource, sql_view

SHIPPED_CSV = Path(__file__).parent / "data" / "orders.csv"

VALID_ORDERS_SQL = "select * from {orders} where status = 'complete' and amount > 0"
RECENT_ORDERS_SQL = "select * from {valid_orders} where order_date >= date '2026-11-01'"


def quickstart_home() -> Path:
    return Path(os.environ.get("QUICKSTART_HOME", Path.cwd() / ".sheer" / "quickstart"))


def orders_csv(home: Path) -> Path:
    """The working copy of the orders CSV (made from the shipped one on first use)."""
    path = home / "orders.csv"
    if not path.exists():
        home.mkdir(parents=True, exist_ok=True)
        shutil.copy(SHIPPED_CSV, path)
    return path


def make_defs(
    home: Path,
    *,
    valid_orders_sql: str = VALID_ORDERS_SQL,
    recent_orders_sql: str = RECENT_ORDERS_SQL,
) -> dg.Definitions:
    database = str(home / "warehouse.duckdb")

    @dg.asset(group_name="quickstart", kinds={"table", "duckdb"})
    def orders(duckdb: DuckDBResource) -> dg.MaterializeResult:
        """Raw orders, loaded from the CSV."""
        csv = orders_csv(home)
        with duckdb.get_connection() as conn:
            conn.execute("create or replace table orders as select * from read_csv(?)", [str(csv)])
            rows = conn.execute("select count(*) from orders").fetchone()[0]
        # The data version is the content's hash: loading the same file again is no change.
        version = hashlib.sha256(csv.read_bytes()).hexdigest()[:16]
        return dg.MaterializeResult(metadata={"rows": rows}, data_version=dg.DataVersion(version))

    valid_orders = sql_view("valid_orders", valid_orders_sql, group_name="quickstart")
    recent_orders = sql_view("recent_orders", recent_orders_sql, group_name="quickstart")

    @dg.asset(group_name="quickstart", kinds={"table", "duckdb"})
    def daily_revenue(
        context: dg.AssetExecutionContext, recent_orders: pd.DataFrame
    ) -> pd.DataFrame:
        """Revenue per day of the recent valid orders."""
        revenue = (
            recent_orders.groupby("order_date", as_index=False)["amount"]
            .sum()
            .rename(columns={"amount": "revenue"})
            .sort_values("order_date")
        )
        context.add_output_metadata(
            {"days": len(revenue), "total": round(float(revenue["revenue"].sum()), 2)}
        )
        return revenue

    return dg.Definitions(
        assets=[orders, valid_orders, recent_orders, daily_revenue],
        resources={
            "duckdb": DuckDBResource(database=database),
            "io_manager": DuckDBIOManager(database=database),
        },
    )


defs = make_defs(quickstart_home())
