"""The quickstart, end to end: load the project and show its lineage.

Run with `make demo`. Later steps of the tour (runs, staleness, automation) extend
this script as those capabilities land.
"""

from pathlib import Path

from rich.console import Console

import sheer as dg
from sheer.cli.render import lineage_tree

HERE = Path(__file__).parent


def chain(graph: dg.AssetGraph) -> str:
    """The graph's keys in topological order, virtual ones marked."""
    names = []
    for node in graph:
        mark = " (virtual)" if node.is_virtual else ""
        names.append(f"{node.key.to_user_string()}{mark}")
    return " -> ".join(names)


def main() -> None:
    console = Console(highlight=False)
    defs = dg.load_definitions(HERE / "defs.py")
    graph = defs.resolve_asset_graph()
    console.rule("[bold]Sheer quickstart")
    console.print(f"Loaded {len(graph)} assets from examples/quickstart/defs.py\n")
    console.print(lineage_tree(graph))
    console.print(f"\nLineage: {chain(graph)}")
    virtual = sorted(k.to_user_string() for k in graph.virtual_asset_keys)
    console.print(f"Virtual assets (derived on the fly, never materialized alone): {virtual}")
    ancestors = sorted(k.to_user_string() for k in graph.non_virtual_ancestors("D"))
    console.print(f"D's nearest non-virtual ancestors, seen through the views: {ancestors}")


if __name__ == "__main__":
    main()
