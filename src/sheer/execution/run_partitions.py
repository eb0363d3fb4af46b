"""Which partitions a run targets, and whether what it reads is there, before it runs.

A run targets one partition (`partition_key=` or Dagster's `dagster/partition` tag) or a
range of one definition (`dagster/asset_partition_range_start` / `_end`, both ends
included). `resolve_run_partitions` turns those into a `PartitionScope`, refusing an
unknown key or selected assets of different definitions; `check_upstream_partitions`
refuses a run that would read an upstream partition neither stored nor made by the
run, through virtual assets too. Both run before anything executes; neither writes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sheer.errors import DefinitionError, ExecutionError, did_you_mean
from sheer.execution.context import PartitionScope
from sheer.graph import AssetGraph
from sheer.keys import AssetKey
from sheer.partitions.base import PartitionKeyRange, PartitionsDefinition

PARTITION_TAG = "dagster/partition"
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
_SHOWN = 10  # problems listed in one error; the rest are counted


def _names(keys: Iterable[AssetKey]) -> str:
    return ", ".join(f"'{k.to_user_string()}'" for k in sorted(keys))


def _requested(
    partition_key: str | None, tags: Mapping[str, str]
) -> tuple[str | None, tuple[str, str] | None]:
    """The key or the range asked for, from `partition_key=` and the run tags."""
    start, end = tags.get(RANGE_START_TAG), tags.get(RANGE_END_TAG)
    tagged = tags.get(PARTITION_TAG)
    if partition_key is not None and tagged is not None and tagged != partition_key:
        raise ExecutionError(
            f"The run got partition_key='{partition_key}' and the tag "
            f"{PARTITION_TAG}='{tagged}'. Fix: give the partition once."
        )
    key = partition_key if partition_key is not None else tagged
    if (start is None) != (end is None):
        given, missing = (
            (RANGE_START_TAG, RANGE_END_TAG)
            if start is not None
            else (RANGE_END_TAG, RANGE_START_TAG)
        )
        raise ExecutionError(
            f"The run got the tag {given} without {missing}. Fix: give both ends of the range "
            "(both are included), or partition_key= for one partition."
        )
    if key is not None and start is not None:
        raise ExecutionError(
            f"The run got the partition '{key}' and the range {start}...{end}. Fix: give "
            "either partition_key= (one partition) or the range tags, not both."
        )
    return key, ((start, end) if start is not None and end is not None else None)


def _shared_definition(graph: AssetGraph, chosen: Iterable[AssetKey]) -> PartitionsDefinition:
    by_def: dict[PartitionsDefinition, list[AssetKey]] = {}
    for key in sorted(chosen):
        pdef = graph.get(key).spec.partitions_def
        if pdef is not None:
            by_def.setdefault(pdef, []).append(key)
    if len(by_def) > 1:
        lines = "; ".join(f"{pdef!r}: {_names(keys)}" for pdef, keys in by_def.items())
        raise ExecutionError(
            "The selected assets must share one partitions definition to run for one "
            f"partition key or range, but they have {len(by_def)}: {lines}. Fix: run the "
            "assets of each partitions definition in their own run."
        )
    return next(iter(by_def))


def resolve_run_partitions(
    graph: AssetGraph,
    chosen: Iterable[AssetKey],
    *,
    partition_key: str | None,
    tags: Mapping[str, str],
    dynamic_partitions_store: Any = None,
) -> PartitionScope | None:
    """The partitions a run of `chosen` targets, or None for an unpartitioned run."""
    key, key_range = _requested(partition_key, tags)
    if key is None and key_range is None:
        return None  # as in Dagster, partitioned assets then run unpartitioned
    chosen = sorted(chosen)
    partitioned = [k for k in chosen if graph.get(k).spec.partitions_def is not None]
    asked = f"partition '{key}'" if key is not None else f"range {key_range}"
    if not partitioned:
        raise ExecutionError(
            f"The run targets the {asked}, but none of the selected assets ({_names(chosen)}) "
            "is partitioned. Fix: give the assets partitions_def=, or run without a partition."
        )
    pdef = _shared_definition(graph, partitioned)
    if key is not None:
        return PartitionScope(
            partitions_def=pdef,
            keys=(_checked_key(pdef, key, partitioned, dynamic_partitions_store),),
        )
    assert key_range is not None
    start, end = (_checked_key(pdef, k, partitioned, dynamic_partitions_store) for k in key_range)
    try:
        keys = pdef.get_partition_keys_in_range(
            PartitionKeyRange(start, end), dynamic_partitions_store=dynamic_partitions_store
        )
    except DefinitionError as exc:
        raise ExecutionError(f"Assets {_names(partitioned)}: {exc}") from None
    return PartitionScope(partitions_def=pdef, keys=tuple(keys), is_range=True)


def _checked_key(pdef: PartitionsDefinition, key: str, assets: list[AssetKey], store: Any) -> str:
    """`key` as the definition spells it (a `MultiPartitionKey` for multi definitions)."""
    if pdef.has_partition_key(key, dynamic_partitions_store=store):
        from_str = getattr(pdef, "get_partition_key_from_str", None)
        return key if from_str is None else from_str(key)
    known = pdef.get_partition_keys(dynamic_partitions_store=store)
    span = f" (its keys run from '{known[0]}' to '{known[-1]}')" if known else " (it has no keys)"
    raise ExecutionError(
        f"Partition '{key}' is not a partition of {_names(assets)}: their partitions "
        f"definition is {pdef!r}{span}.{did_you_mean(key, known)} Fix: pass one of its keys "
        "as partition_key= (for a dynamic definition, add the key with "
        "instance.add_dynamic_partitions first).",
        key=assets[0],
    )


def check_upstream_partitions(
    graph: AssetGraph,
    chosen: frozenset[AssetKey],
    scope: PartitionScope,
    is_stored: Any,
) -> None:
    """Refuse a run that reads a partition neither stored nor made by the run.

    Walks from each selected partitioned asset up its parents with symbolic subsets (a
    time range stays an interval through every hop); a virtual parent is computed from
    its own parents, so the walk goes through it, keeping the path. Keys are listed only
    at the non-virtual ends, to ask storage about them. An unpartitioned parent is read
    whole and left to its IO manager. `is_stored(pairs)` answers which (asset,
    partition) pairs have a materialization, in one read.
    """
    from sheer.partitions.subset import PartitionsSubset, subset_with_partition_keys

    made = subset_with_partition_keys(scope.partitions_def, scope.keys)
    ends: list[tuple[AssetKey, PartitionsSubset, AssetKey, tuple[AssetKey, ...]]] = []
    needed: dict[tuple[AssetKey, str], tuple[AssetKey, tuple[AssetKey, ...]]] = {}
    nonexistent: set[tuple[AssetKey, str]] = set()
    seen: set[tuple[AssetKey, PartitionsSubset]] = set()
    todo: list[tuple[AssetKey, AssetKey, PartitionsSubset, tuple[AssetKey, ...]]] = [
        (k, k, made, ()) for k in sorted(chosen) if graph.get(k).spec.partitions_def
    ]
    while todo:
        reader, node, subset, via = todo.pop()
        if (node, subset) in seen:
            continue
        seen.add((node, subset))
        n = graph.get(node)
        for parent in sorted(n.parent_keys):
            p = graph.get(parent)
            if p.spec.partitions_def is None or n.spec.partitions_def is None:
                continue
            mapping = graph.partition_relations.mapping(node, parent)
            result = mapping.get_upstream_mapped_partitions_result_for_partitions(
                subset, n.spec.partitions_def, p.spec.partitions_def
            )
            upstream = result.partitions_subset
            for k in result.required_but_nonexistent_subset.get_partition_keys():
                nonexistent.add((parent, k))
                needed.setdefault((parent, k), (reader, via))
            if p.is_virtual:
                todo.append((reader, parent, upstream, (parent, *via)))
            elif parent in chosen and p.spec.partitions_def == scope.partitions_def:
                ends.append((parent, upstream - made, reader, via))
            else:
                ends.append((parent, upstream, reader, via))
    for parent, subset, reader, via in ends:
        for k in subset.get_partition_keys():
            needed.setdefault((parent, k), (reader, via))
    missing = sorted(set(needed) - set(is_stored(list(needed))))
    if missing:
        raise _missing_error(missing, needed, nonexistent)


def _missing_error(
    missing: list[tuple[AssetKey, str]],
    needed: Mapping[tuple[AssetKey, str], tuple[AssetKey, tuple[AssetKey, ...]]],
    nonexistent: set[tuple[AssetKey, str]],
) -> ExecutionError:
    lines = []
    for parent, k in missing[:_SHOWN]:
        reader, via = needed[parent, k]
        path = " -> ".join(x.to_user_string() for x in (parent, *via, reader))
        through = f" through the virtual assets {path}" if via else ""
        absent = " (a partition its definition does not have)" if (parent, k) in nonexistent else ""
        lines.append(
            f"'{reader.to_user_string()}' reads partition '{k}' of "
            f"'{parent.to_user_string()}'{through}{absent}"
        )
    more = f" (and {len(missing) - _SHOWN} more)" if len(missing) > _SHOWN else ""
    first_parent, first_key = missing[0]
    return ExecutionError(
        "The run would read upstream partitions that are neither stored nor made by the "
        f"run: {'; '.join(lines)}{more}. Nothing ran. Fix: materialize "
        f"'{first_parent.to_user_string()}' for partition '{first_key}' first, or select "
        f"'{first_parent.to_user_string()}' in this run.",
        key=needed[missing[0]][0],
    )
