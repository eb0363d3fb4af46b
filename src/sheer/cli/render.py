"""Terminal renderings of library results: tables, trees, exports. No logic of their own."""

from __future__ import annotations

import time
from collections.abc import Collection, Iterable
from typing import Any

from rich.console import Console, Group
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from sheer.events import EventRecord, EventType, RunRecord, RunStatus
from sheer.execution.plan import ExecutionPlan
from sheer.graph import AssetGraph, AssetNode
from sheer.keys import AssetKey
from sheer.staleness import StaleStatus, StaleStatusResolver


def progress_bar(console: Console) -> Progress:
    """The live bar of a run or a backfill: spinner, what is going on, bar, done/total,
    elapsed time."""
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


STATUS_STYLE = {StaleStatus.FRESH: "green", StaleStatus.STALE: "yellow", StaleStatus.MISSING: "red"}
RUN_STYLE = {
    RunStatus.SUCCESS: "green",
    RunStatus.FAILURE: "red",
    RunStatus.STARTED: "cyan",
    RunStatus.QUEUED: "blue",
    RunStatus.CANCELED: "dim",
}


def _shown(graph: AssetGraph, keys: Collection[AssetKey] | None) -> list[AssetNode]:
    return [n for n in graph if keys is None or n.key in keys]


def node_label(node: AssetNode) -> str:
    name = node.key.to_user_string()
    if node.is_virtual:
        return f"[cyan]{name}[/] [dim](virtual)[/]"
    if node.is_external:
        return f"{name} [dim](external)[/]"
    return f"[bold]{name}[/]"


def defs_table(graph: AssetGraph, keys: Collection[AssetKey] | None = None) -> Table:
    nodes = _shown(graph, keys)
    table = Table(title=f"{len(nodes)} assets")
    partitioned = any(n.spec.partitions_def is not None for n in nodes)
    columns = ["key", "group", "kinds", "virtual", "deps", "code version", "automation"]
    for column in [*columns, "partitions"] if partitioned else columns:
        table.add_column(column)
    for node in nodes:
        row = [
            node.key.to_user_string(),
            node.group_name,
            ", ".join(sorted(node.kinds)),
            "yes" if node.is_virtual else "",
            ", ".join(k.to_user_string() for k in sorted(node.parent_keys)),
            node.code_version or "",
            str(node.automation_condition) if node.automation_condition is not None else "",
        ]
        if partitioned:
            row.append(partitions_text(node))
        table.add_row(*row)
    return table


def partitions_text(node: AssetNode) -> str:
    """The asset's partitions definition in words ('' when unpartitioned)."""
    partitions_def = node.spec.partitions_def
    return "" if partitions_def is None else str(partitions_def)


def defs_json(graph: AssetGraph, keys: Collection[AssetKey] | None = None) -> list[dict[str, Any]]:
    return [
        {
            "key": n.key.to_user_string(),
            "group": n.group_name,
            "kinds": sorted(n.kinds),
            "is_virtual": n.is_virtual,
            "is_external": n.is_external,
            "deps": [k.to_user_string() for k in sorted(n.parent_keys)],
            "code_version": n.code_version,
            "automation_condition": (
                str(n.automation_condition) if n.automation_condition is not None else None
            ),
            "description": n.description,
            "partitions_def": partitions_text(n) or None,
        }
        for n in _shown(graph, keys)
    ]


def lineage_tree(graph: AssetGraph, keys: Collection[AssetKey] | None = None) -> Tree:
    """Each root with its descendants; a node seen before is shown once, then referenced."""
    shown = set(keys) if keys is not None else set(graph.get_all_asset_keys())
    tree = Tree("[bold]lineage[/] [dim](virtual assets in cyan)[/]")
    printed: set[AssetKey] = set()
    for root in (n for n in graph if n.key in shown and not (n.parent_keys & shown)):
        stack = [(tree, root)]
        while stack:
            parent, node = stack.pop()
            if node.key in printed:
                parent.add(f"{node_label(node)} [dim](see above)[/]")
                continue
            printed.add(node.key)
            branch = parent.add(node_label(node))
            for child in sorted(node.child_keys & shown, reverse=True):
                stack.append((branch, graph.get(child)))
    return tree


def _edges(
    graph: AssetGraph, keys: Collection[AssetKey] | None
) -> Iterable[tuple[AssetKey, AssetKey]]:
    shown = set(keys) if keys is not None else set(graph.get_all_asset_keys())
    for node in graph:
        if node.key in shown:
            for child in sorted(node.child_keys & shown):
                yield node.key, child


def lineage_text(graph: AssetGraph, keys: Collection[AssetKey] | None = None) -> str:
    """One line per edge, 'a -> b', virtual assets marked with (v)."""

    def name(k: AssetKey) -> str:
        return k.to_user_string() + (" (v)" if graph.get(k).is_virtual else "")

    return "\n".join(f"{name(a)} -> {name(b)}" for a, b in _edges(graph, keys))


def lineage_dot(graph: AssetGraph, keys: Collection[AssetKey] | None = None) -> str:
    """Graphviz: virtual assets dashed, external ones grey."""
    lines = ["digraph lineage {", "  rankdir=LR;", "  node [shape=box, style=rounded];"]
    for node in _shown(graph, keys):
        style = (
            'style="dashed,rounded", color=cyan4'
            if node.is_virtual
            else 'style="rounded,filled", fillcolor=grey90'
            if node.is_external
            else ""
        )
        label = node.key.to_user_string() + ("\\n(virtual)" if node.is_virtual else "")
        lines.append(
            f'  "{node.key.to_user_string()}" [label="{label}"{", " + style if style else ""}];'
        )
    for a, b in _edges(graph, keys):
        lines.append(f'  "{a.to_user_string()}" -> "{b.to_user_string()}";')
    lines.append("}")
    return "\n".join(lines)


def lineage_mermaid(graph: AssetGraph, keys: Collection[AssetKey] | None = None) -> str:
    """Mermaid flowchart: virtual assets get the dashed `virtual` class."""
    ids = {n.key: f"n{i}" for i, n in enumerate(graph)}
    lines = ["graph LR"]
    for node in _shown(graph, keys):
        label = node.key.to_user_string() + (" (virtual)" if node.is_virtual else "")
        lines.append(f'  {ids[node.key]}["{label}"]')
        if node.is_virtual:
            lines.append(f"  class {ids[node.key]} virtual")
    for a, b in _edges(graph, keys):
        lines.append(f"  {ids[a]} --> {ids[b]}")
    lines.append("  classDef virtual stroke-dasharray: 5 5")
    return "\n".join(lines)


def _causes(
    resolver: StaleStatusResolver, key: AssetKey, partition_key: str | None = None
) -> list[str]:
    return [str(c) for c in resolver.get_stale_root_causes(key, partition_key=partition_key)]


_SHOWN_PARTITIONS = 5


def _summary(counts: dict[StaleStatus, int]) -> StaleStatus:
    """A partitioned asset's status in a table: STALE if any partition is, else MISSING
    if any is, else FRESH."""
    for st in (StaleStatus.STALE, StaleStatus.MISSING):
        if counts.get(st):
            return st
    return StaleStatus.FRESH


def counts_text(counts: dict[StaleStatus, int]) -> str:
    """'fresh 362 / stale 3 / missing 0'."""
    return " / ".join(f"{st.value.lower()} {counts.get(st, 0)}" for st in StaleStatus)


def _partitioned_why(resolver: StaleStatusResolver, node: AssetNode) -> str:
    stale = [
        k for k, st in resolver.get_statuses(node.key).items() if st is StaleStatus.STALE and k
    ]
    if not stale:
        return ""
    shown = ", ".join(stale[:_SHOWN_PARTITIONS])
    more = f" (and {len(stale) - _SHOWN_PARTITIONS} more)" if len(stale) > _SHOWN_PARTITIONS else ""
    first = _causes(resolver, node.key, stale[0])
    cause = f"; {stale[0]}: {first[0]}" if first else ""
    return (
        f"stale partitions: {shown}{more}{cause} (sheer status "
        f"{node.key.to_user_string()} --partition {stale[0]} for the causes)"
    )


def status_table(
    resolver: StaleStatusResolver,
    keys: Collection[AssetKey] | None = None,
    partition_key: str | None = None,
) -> Table:
    """One row per asset; a partitioned asset shows its counts by status, or, with
    `partition_key`, that partition's status and causes."""
    graph = resolver.asset_graph
    title = "asset status" if partition_key is None else f"asset status, partition {partition_key}"
    table = Table(title=title)
    for column in ("asset", "status", "why"):
        table.add_column(column)
    for node in _shown(graph, keys):
        name = node.key.to_user_string() + (" (virtual)" if node.is_virtual else "")
        partitioned = node.spec.partitions_def is not None
        if partitioned and partition_key is None:
            counts = resolver.get_status_counts(node.key)
            st = _summary(counts)
            label = Text(counts_text(counts), style=STATUS_STYLE[st])
            table.add_row(name, label, _partitioned_why(resolver, node))
            continue
        asked = partition_key if partitioned else None
        st = resolver.get_status(node.key, partition_key=asked)
        why = (
            "; ".join(f"stale: {c}" for c in _causes(resolver, node.key, asked))
            if st is StaleStatus.STALE
            else ""
        )
        table.add_row(name, Text(st.value, style=STATUS_STYLE[st]), why)
    return table


def status_json(
    resolver: StaleStatusResolver,
    keys: Collection[AssetKey] | None = None,
    partition_key: str | None = None,
) -> list[dict[str, Any]]:
    """Per asset: key, status, virtual or not, root causes, data version; a partitioned
    asset adds `partition_counts` and `stale_partitions` (or, with `partition_key`,
    `partition_key` and that partition's status, causes and version)."""
    out = []
    for node in _shown(resolver.asset_graph, keys):
        partitioned = node.spec.partitions_def is not None
        if partitioned and partition_key is None:
            statuses = resolver.get_statuses(node.key)
            counts = resolver.get_status_counts(node.key)
            out.append(
                {
                    "key": node.key.to_user_string(),
                    "status": _summary(counts).value,
                    "is_virtual": node.is_virtual,
                    "partition_counts": {st.value: n for st, n in counts.items()},
                    "stale_partitions": [
                        k for k, st in statuses.items() if st is StaleStatus.STALE
                    ],
                }
            )
            continue
        asked = partition_key if partitioned else None
        version = resolver.get_current_data_version(node.key, partition_key=asked)
        record: dict[str, Any] = {
            "key": node.key.to_user_string(),
            "status": resolver.get_status(node.key, partition_key=asked).value,
            "is_virtual": node.is_virtual,
            "root_causes": _causes(resolver, node.key, asked),
            "data_version": version.value if version else None,
        }
        if asked is not None:
            record["partition_key"] = asked
        out.append(record)
    return out


def _when(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts)) if ts else ""


def runs_table(runs: list[RunRecord]) -> Table:
    table = Table(title=f"{len(runs)} recent runs")
    for column in ("run", "status", "started", "duration", "assets", "tags"):
        table.add_column(column)
    for run in runs:
        duration = f"{run.duration:.2f}s" if run.duration is not None else ""
        table.add_row(
            run.run_id[:8],
            Text(run.status.value, style=RUN_STYLE[run.status]),
            _when(run.started_at or run.created_at),
            duration,
            str(len(run.asset_selection)),
            ", ".join(f"{k}={v}" for k, v in run.tags.items()),
        )
    return table


def run_detail(run: RunRecord, events: list[EventRecord]) -> Group:
    head = Text.assemble(
        (f"run {run.run_id}  ", "bold"),
        (run.status.value, RUN_STYLE[run.status]),
        f"  {len(run.asset_selection)} assets",
    )
    table = Table()
    for column in ("time", "event", "step", "message"):
        table.add_column(column)
    for e in events:
        table.add_row(
            time.strftime("%H:%M:%S", time.localtime(e.timestamp)),
            e.event_type.value,
            e.step_key or "",
            e.message.splitlines()[0] if e.message else "",
        )
    parts: list[Any] = [head, table]
    for e in events:
        if e.event_type is EventType.STEP_FAILURE and e.error:
            parts.append(
                Text(f"\n{e.step_key} failed:\n{e.error.get('traceback', '')}", style="red")
            )
    if run.error and not any(e.event_type is EventType.STEP_FAILURE for e in events):
        parts.append(Text(f"\n{run.error}", style="red"))
    return Group(*parts)


def plan_lines(plan: ExecutionPlan) -> list[str]:
    return plan.describe()
