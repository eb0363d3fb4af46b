"""Rich renderings of library results for the terminal: tables, trees, edge lists."""

from __future__ import annotations

from collections.abc import Collection

from rich.table import Table
from rich.tree import Tree

from sheer.graph import AssetGraph, AssetNode
from sheer.keys import AssetKey


def node_label(node: AssetNode) -> str:
    name = node.key.to_user_string()
    if node.is_virtual:
        return f"[cyan]{name}[/] [dim](virtual)[/]"
    if node.is_external:
        return f"{name} [dim](external)[/]"
    return f"[bold]{name}[/]"


def defs_table(graph: AssetGraph, keys: Collection[AssetKey] | None = None) -> Table:
    table = Table(title=f"{len(keys) if keys is not None else len(graph)} assets")
    for column in ("key", "group", "kinds", "virtual", "deps", "code version"):
        table.add_column(column)
    for node in graph:
        if keys is not None and node.key not in keys:
            continue
        table.add_row(
            node.key.to_user_string(),
            node.group_name,
            ", ".join(sorted(node.kinds)),
            "yes" if node.is_virtual else "",
            ", ".join(k.to_user_string() for k in sorted(node.parent_keys)),
            node.code_version or "",
        )
    return table


def lineage_tree(graph: AssetGraph, keys: Collection[AssetKey] | None = None) -> Tree:
    """Each root with its descendants; a node seen before is shown once, then referenced."""
    shown = set(keys) if keys is not None else set(graph.get_all_asset_keys())
    tree = Tree("[bold]lineage[/] [dim](virtual assets in cyan)[/]")
    printed: set[AssetKey] = set()
    roots = [n for n in graph if n.key in shown and not (n.parent_keys & shown)]
    for root in roots:
        _grow(tree, graph, root, shown, printed)
    return tree


def _grow(parent: Tree, graph: AssetGraph, node: AssetNode, shown: set[AssetKey],
          printed: set[AssetKey]) -> None:
    if node.key in printed:
        parent.add(f"{node_label(node)} [dim](see above)[/]")
        return
    printed.add(node.key)
    branch = parent.add(node_label(node))
    for child in sorted(node.child_keys & shown):
        _grow(branch, graph, graph.get(child), shown, printed)


def lineage_text(graph: AssetGraph, keys: Collection[AssetKey] | None = None) -> str:
    """One line per edge, 'a -> b', virtual assets marked with (v)."""
    shown = set(keys) if keys is not None else set(graph.get_all_asset_keys())

    def name(k: AssetKey) -> str:
        return k.to_user_string() + (" (v)" if graph.get(k).is_virtual else "")

    lines = []
    for node in graph:
        if node.key not in shown:
            continue
        for child in sorted(node.child_keys & shown):
            lines.append(f"{name(node.key)} -> {name(child)}")
    return "\n".join(lines)
