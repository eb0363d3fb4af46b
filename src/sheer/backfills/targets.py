"""What a backfill targets: the selected assets and, per asset, its partitions.

`resolve_targets` turns a selection and a partition range (both ends included) or a
list of keys into `{asset: keys}`, each asset's keys in its definition's order, every
key checked against that asset's own definition before anything is stored. Virtual
assets in the selection are dropped (a backfill passes through them, never runs
them); an unpartitioned asset is the one entity `(None,)`. Errors name the asset, the
key and the fix.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sheer.errors import ExecutionError, did_you_mean
from sheer.execution.run import resolve_run_selection
from sheer.graph import AssetGraph
from sheer.keys import AssetKey
from sheer.partitions.base import PartitionKeyRange, PartitionsDefinition

Targets = dict[AssetKey, tuple[str | None, ...]]


def resolve_targets(
    graph: AssetGraph,
    selection: Any,
    *,
    partition_range: PartitionKeyRange | tuple[str, str] | None = None,
    partitions: Sequence[str] | None = None,
    dynamic_partitions_store: Any = None,
) -> Targets:
    """The entities a backfill of `selection` targets, keyed by asset.

    Example:
        >>> import sheer as dg
        >>> days = dg.DailyPartitionsDefinition(start_date="2026-01-01", end_date="2026-02-01")
        >>> @dg.asset(partitions_def=days)
        ... def raw() -> None: ...
        >>> graph = dg.Definitions(assets=[raw]).resolve_asset_graph()
        >>> resolve_targets(graph, "raw", partition_range=("2026-01-30", "2026-01-31"))
        {AssetKey(['raw']): ('2026-01-30', '2026-01-31')}
    """
    if (partition_range is None) == (partitions is None):
        raise ExecutionError(
            "A backfill needs its partitions: a range or a list of keys, not "
            f"{'both' if partitions is not None else 'neither'}. Fix: pass "
            "--partition-range K1...K2 (both ends included) or --partitions k1,k2."
        )
    if partitions is not None and not partitions:
        raise ExecutionError(
            "The list of partitions to backfill is empty. Fix: pass at least one key, e.g. "
            "--partitions 2026-01-02."
        )
    chosen = [
        k for k in sorted(resolve_run_selection(graph, selection)) if not graph.get(k).is_virtual
    ]
    if not chosen:
        raise ExecutionError(
            f"The selection {selection!r} contains no asset a backfill can run (virtual assets "
            "are passed through, never run). Fix: select the non-virtual assets around them, "
            "e.g. --assets '+daily_report'."
        )
    if all(graph.get(k).spec.partitions_def is None for k in chosen):
        names = ", ".join(f"'{k.to_user_string()}'" for k in chosen[:5])
        raise ExecutionError(
            f"None of the selected assets ({names}) is partitioned, so there is nothing to "
            "backfill by partition. Fix: select partitioned assets, or run these with "
            "`sheer launch`."
        )
    keys_of: dict[PartitionsDefinition, tuple[list[str], dict[str, int]]] = {}
    targets: Targets = {}
    for key in graph.toposort(chosen):
        pdef = graph.get(key).spec.partitions_def
        if pdef is None:
            targets[key] = (None,)
            continue
        if pdef not in keys_of:
            known = [
                str(k)
                for k in pdef.get_partition_keys(dynamic_partitions_store=dynamic_partitions_store)
            ]
            keys_of[pdef] = (known, {k: i for i, k in enumerate(known)})
        known, index = keys_of[pdef]
        if partition_range is not None:
            targets[key] = _range(key, known, index, *partition_range)
        else:
            assert partitions is not None
            targets[key] = _listed(key, known, index, partitions)
    return targets


def _range(
    key: AssetKey, known: list[str], index: dict[str, int], start: str, end: str
) -> tuple[str | None, ...]:
    for k in (start, end):
        _check(key, known, index, k)
    if index[start] > index[end]:
        raise ExecutionError(
            f"The partition range {start}...{end} of asset '{key.to_user_string()}' ends "
            f"before it starts. Fix: put the earlier key first: {end}...{start}.",
            key=key,
        )
    return tuple(known[index[start] : index[end] + 1])


def _listed(
    key: AssetKey, known: list[str], index: dict[str, int], partitions: Sequence[str]
) -> tuple[str | None, ...]:
    for k in partitions:
        _check(key, known, index, k)
    return tuple(sorted(set(partitions), key=index.__getitem__))


def _check(key: AssetKey, known: list[str], index: dict[str, int], partition: str) -> None:
    if partition in index:
        return
    name = key.to_user_string()
    span = f"its keys run from '{known[0]}' to '{known[-1]}'" if known else "it has no keys"
    raise ExecutionError(
        f"Partition '{partition}' is not a partition of asset '{name}' ({span})."
        f"{did_you_mean(partition, known)} Fix: backfill keys of that definition, or leave "
        f"'{name}' out of the selection (for a dynamic definition, add the key with "
        "instance.add_dynamic_partitions first).",
        key=key,
    )
