"""Every partitioned graph against its twin: each virtual asset an ordinary asset,
re-materialized at once after every change.

A virtual asset is what its twin would be if it were materialized the instant anything
upstream changed (DESIGN.md, "Versions"): so after any sequence of changes, every
non-virtual entity of the graph has exactly the status of the same entity in the twin.
Graphs are drawn at random: partitioned roots (tables), views on roots and on views
(partitioned or not, each edge with its own mapping), and leaves (tables) reading
views and roots; changes are new data versions of root partitions and runs of leaf
partitions.
"""

from __future__ import annotations

import itertools
import warnings
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sheer as dg

DAILY = dg.DailyPartitionsDefinition(start_date="2026-01-01", end_date="2026-01-05")
DAYS = DAILY.get_partition_keys()
RANGE = {
    "dagster/asset_partition_range_start": DAYS[0],
    "dagster/asset_partition_range_end": DAYS[-1],
}
_versions = itertools.count(1)

MAPPINGS = {
    "identity": lambda: None,
    "day_before": lambda: dg.TimeWindowPartitionMapping(
        start_offset=-1, end_offset=-1, allow_nonexistent_upstream_partitions=True
    ),
    "two_days": lambda: dg.TimeWindowPartitionMapping(
        start_offset=-1, allow_nonexistent_upstream_partitions=True
    ),
    "all": lambda: dg.AllPartitionMapping(),
    "last": lambda: dg.LastPartitionMapping(),
}


@st.composite
def graphs(draw: Any) -> dict[str, Any]:
    """Roots R*, views V* (each reading 1-2 earlier roots or views), leaves D* (each
    reading 1-2 views or roots); per view whether it is partitioned, per edge a mapping
    (identity for an unpartitioned reader of an unpartitioned view)."""
    roots = [f"R{i}" for i in range(draw(st.integers(1, 2)))]
    views: dict[str, tuple[bool, list[tuple[str, str]]]] = {}
    for i in range(draw(st.integers(1, 3))):
        upstream = roots + list(views)
        parents = draw(st.lists(st.sampled_from(upstream), min_size=1, max_size=2, unique=True))
        partitioned = draw(st.booleans())
        views[f"V{i}"] = (
            partitioned,
            [(p, draw(st.sampled_from(list(MAPPINGS)))) for p in parents],
        )
    leaves: dict[str, list[tuple[str, str]]] = {}
    for i in range(draw(st.integers(1, 2))):
        parents = draw(
            st.lists(st.sampled_from(list(views) + roots), min_size=1, max_size=2, unique=True)
        )
        leaves[f"D{i}"] = [(p, draw(st.sampled_from(list(MAPPINGS)))) for p in parents]
    return {"roots": roots, "views": views, "leaves": leaves}


def _dep(name: str, mapping: str, reader_partitioned: bool, parts: dict[str, bool]) -> Any:
    if not parts[name] or not reader_partitioned:
        # An unpartitioned end reads all (or, with "last", the last) partitions, or the
        # one entity of an unpartitioned parent.
        chosen = dg.LastPartitionMapping() if mapping == "last" and parts[name] else None
    else:
        chosen = MAPPINGS[mapping]()
    return dg.AssetDep(name, partition_mapping=chosen) if chosen is not None else name


def build(shape: dict[str, Any], twin: bool) -> list[Any]:
    """The graph's definitions; in the twin, each view is an ordinary asset."""
    parts = {r: True for r in shape["roots"]}
    parts.update({v: p for v, (p, _) in shape["views"].items()})
    assets: list[Any] = []
    for r in shape["roots"]:

        @dg.asset(name=r, partitions_def=DAILY, code_version="1")
        def root() -> dg.MaterializeResult[None]:
            return dg.MaterializeResult(data_version=dg.DataVersion(f"v{next(_versions)}"))

        assets.append(root)
    for v, (partitioned, edges) in shape["views"].items():
        deps = [_dep(p, m, partitioned, parts) for p, m in edges]
        pdef = DAILY if partitioned else None
        if twin:

            @dg.asset(name=v, deps=deps, partitions_def=pdef, code_version="1")
            def view_twin() -> None:
                return None

            assets.append(view_twin)
        else:
            assets.append(
                dg.AssetSpec(v, deps=deps, partitions_def=pdef, is_virtual=True, code_version="1")
            )
    for d, edges in shape["leaves"].items():
        deps = [_dep(p, m, True, parts) for p, m in edges]

        @dg.asset(name=d, deps=deps, partitions_def=DAILY, code_version="1")
        def leaf() -> None:
            return None

        assets.append(leaf)
    return assets


class World:
    """One graph (original or twin) on its own instance."""

    def __init__(self, shape: dict[str, Any], twin: bool) -> None:
        self.shape, self.twin = shape, twin
        self.assets = build(shape, twin)
        self.defs = dg.Definitions(assets=self.assets)
        self.instance = dg.Instance.ephemeral()

    def run(self, names: list[str], partition: str | None) -> None:
        tags = RANGE if partition is None else {}
        dg.materialize(
            self.assets,
            selection=names,
            instance=self.instance,
            partition_key=partition,
            tags=tags,
        )

    def settle(self) -> None:
        """The twin re-materializes every view at once (all partitions)."""
        if not self.twin:
            return
        views = self.shape["views"]
        partitioned = [v for v, (p, _) in views.items() if p]
        plain = [v for v, (p, _) in views.items() if not p]
        # In topological order: a view on views runs after them (views are numbered so).
        for v in sorted(views):
            if v in partitioned:
                self.run([v], None)
            else:
                assert v in plain
                dg.materialize(self.assets, selection=[v], instance=self.instance)

    def statuses(self) -> dict[str, dict[Any, dg.StaleStatus]]:
        resolver = dg.StaleStatusResolver(self.instance, self.defs)
        return {d: resolver.get_statuses(d) for d in self.shape["leaves"]}


steps = st.lists(
    st.tuples(st.sampled_from(["root", "leaf"]), st.integers(0, 9), st.sampled_from(DAYS)),
    min_size=1,
    max_size=5,
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(shape=graphs(), changes=steps)
def test_every_leaf_entity_has_its_twins_status_after_any_changes(shape, changes):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unpartitioned views between partitioned ends
        worlds = [World(shape, twin=False), World(shape, twin=True)]
        roots, leaves = shape["roots"], list(shape["leaves"])
        for w in worlds:  # every root partition, then every leaf partition
            w.run(roots, None)
            w.settle()
            w.run(leaves, None)
        for kind, which, day in changes:
            for w in worlds:
                if kind == "root":
                    w.run([roots[which % len(roots)]], day)
                    w.settle()
                else:
                    w.run([leaves[which % len(leaves)]], day)
            original, twin = (w.statuses() for w in worlds)
            assert original == twin, (shape, changes)
