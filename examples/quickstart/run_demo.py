"""The quickstart, end to end (`make demo`): views as virtual assets, staleness through
them, and runs ordered through them. Runs on the embedded default: a SQLite instance
and a DuckDB file under .sheer/quickstart/.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from rich.console import Console

import sheer as dg
from sheer.cli.render import lineage_tree, status_table
from sheer.execution.run import plan_selection

sys.path.insert(0, str(Path(__file__).parent))
from warehouse import make_defs, orders_csv, quickstart_home

NEW_ORDERS = "1013,2026-11-05,acme,500.00,complete\n1014,2026-11-06,hooli,80.00,complete\n"

console = Console(highlight=False, soft_wrap=True)


def step(text: str) -> None:
    console.print(f"\n[bold cyan]==>[/] [bold]{text}[/]")


def show_status(defs: dg.Definitions, instance: dg.Instance) -> None:
    resolver = dg.StaleStatusResolver(instance, defs)
    statuses = resolver.get_all()
    console.print(status_table(resolver))
    for key, status in statuses.items():
        for cause in resolver.get_stale_root_causes(key) if status is dg.StaleStatus.STALE else []:
            console.print(f"{key.to_user_string()} is stale: {cause}")


def show_revenue(defs: dg.Definitions, instance: dg.Instance) -> None:
    import duckdb  # daily_revenue is a DuckDB table: read it directly

    with duckdb.connect(str(quickstart_home() / "warehouse.duckdb"), read_only=True) as conn:
        rows = conn.execute("select order_date, revenue from daily_revenue order by 1").fetchall()
    for day, revenue in rows:
        console.print(f"  {str(day)[:10]}  {revenue:>8.2f}")
    console.print(f"  total       {sum(r for _, r in rows):>8.2f}")


def main() -> None:
    home = quickstart_home()
    shutil.rmtree(home, ignore_errors=True)  # every demo starts from scratch
    home.mkdir(parents=True)
    instance = dg.Instance.from_url(f"sqlite:///{home / 'sheer.db'}")
    defs = make_defs(home)
    graph = defs.resolve_asset_graph()

    console.rule("[bold]Sheer quickstart: views as virtual assets")
    console.print(lineage_tree(graph))
    chain = " -> ".join(
        n.key.to_user_string() + (" (virtual)" if n.is_virtual else "") for n in graph
    )
    console.print(f"Lineage: {chain}   (the seed's A -> B -> C -> D)")

    step("Materialize everything (the views are created in DuckDB)")
    result = defs.materialize(instance=instance)
    console.print(f"run {result.run_id[:8]}: success={result.success}")
    show_status(defs, instance)
    show_revenue(defs, instance)

    step("New orders arrive: append them to the CSV and re-materialize orders alone")
    with orders_csv(home).open("a") as f:
        f.write(NEW_ORDERS)
    defs.materialize(["orders"], instance=instance)
    console.print("The views always show current data, so they stay fresh; daily_revenue is")
    console.print("stale, and the root cause is seen through both views:")
    show_status(defs, instance)

    step("Launch orders and daily_revenue together, without the views")
    for line in plan_selection(defs, ["orders", "daily_revenue"]).describe():
        console.print(f"  {line}")
    result = defs.materialize(["orders", "daily_revenue"], instance=instance)
    console.print(f"run {result.run_id[:8]}: success={result.success}")
    console.print("New revenue:")
    show_revenue(defs, instance)
    show_status(defs, instance)

    db = home / "sheer.db"
    console.print("\n[bold]Open the UI[/] on this project (graph, why stale, runs, automation):")
    console.print(f"  sheer dev -f examples/quickstart/warehouse.py --instance sqlite:///{db}")
    console.print("or explore it from the command line:")
    console.print(f"  sheer status -f examples/quickstart/warehouse.py --instance sqlite:///{db}")


if __name__ == "__main__":
    main()
