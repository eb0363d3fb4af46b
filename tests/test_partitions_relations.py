"""Partition relations composed through virtual assets (DESIGN.md, "Entities and
partitions"): hop by hop, each hop in the intermediate's own definition, the union over
every virtual-only path, evaluated on symbolic subsets."""

from __future__ import annotations

import warnings

import pytest

import sheer as dg
from sheer.graph import AssetGraph
from sheer.keys import AssetKey
from sheer.partitions.mappings import (
    LastPartitionMapping,
    StaticPartitionMapping,
    TimeWindowPartitionMapping,
)
from sheer.partitions.multi import MultiPartitionsDefinition
from sheer.partitions.relations import UnpartitionedViewWarning, relations_summary
from sheer.partitions.subset import (
    AllPartitionsSubset,
    TimeWindowPartitionsSubset,
    all_partitions_subset,
    subset_with_partition_keys,
)

DAILY = dg.DailyPartitionsDefinition(start_date="2026-01-01", end_date="2026-01-11")
HOURLY = dg.HourlyPartitionsDefinition(start_date="2026-01-01-00:00", end_date="2026-01-03-00:00")
K = AssetKey


def _graph(*items: object) -> AssetGraph:
    return AssetGraph.from_definitions(items)  # type: ignore[arg-type]


def _up(graph: AssetGraph, key: str, pdef: object, keys: list[str]) -> dict[str, list[str]]:
    subset = subset_with_partition_keys(pdef, keys)  # type: ignore[arg-type]
    return relations_summary(graph.partition_relations.upstream(K(key), subset))


def _down(graph: AssetGraph, key: str, pdef: object, keys: list[str]) -> dict[str, list[str]]:
    subset = subset_with_partition_keys(pdef, keys)  # type: ignore[arg-type]
    return relations_summary(graph.partition_relations.downstream(K(key), subset))


def _chain(view_kwargs: dict[str, object], *, spec_form: bool) -> AssetGraph:
    """A -> V (virtual) -> D, the view in either form."""
    a = dg.AssetSpec("A", partitions_def=DAILY)
    deps = view_kwargs.pop("deps", ["A"])
    if spec_form:
        v = dg.AssetSpec("V", deps=deps, is_virtual=True, **view_kwargs)  # type: ignore[arg-type]
        views: list[object] = [v]
    else:

        @dg.asset(name="V", deps=deps, is_virtual=True, **view_kwargs)  # type: ignore[arg-type]
        def view() -> None:
            return None

        views = [view]
    d = dg.AssetSpec("D", deps=["V"], partitions_def=DAILY)
    return _graph(a, *views, d)


@pytest.mark.parametrize("spec_form", [True, False])
def test_identity_chain_through_a_view_reads_the_same_partition(spec_form: bool) -> None:
    graph = _chain({"partitions_def": DAILY}, spec_form=spec_form)
    assert _up(graph, "D", DAILY, ["2026-01-05"]) == {"A": ["2026-01-05"]}
    assert _down(graph, "A", DAILY, ["2026-01-05"]) == {"D": ["2026-01-05"]}


@pytest.mark.parametrize("spec_form", [True, False])
def test_time_offset_through_a_view(spec_form: bool) -> None:
    dep = dg.AssetDep("A", partition_mapping=TimeWindowPartitionMapping(start_offset=-1))
    graph = _chain({"partitions_def": DAILY, "deps": [dep]}, spec_form=spec_form)
    assert _up(graph, "D", DAILY, ["2026-01-05"]) == {"A": ["2026-01-04", "2026-01-05"]}
    assert _down(graph, "A", DAILY, ["2026-01-05"]) == {"D": ["2026-01-05", "2026-01-06"]}


@pytest.mark.parametrize("spec_form", [True, False])
def test_unpartitioned_view_between_daily_ends_reads_all_and_warns(spec_form: bool) -> None:
    with pytest.warns(UnpartitionedViewWarning) as caught:
        graph = _chain({}, spec_form=spec_form)
    message = str(caught[0].message)
    assert "'V' has no partitions_def" in message
    assert "'A'" in message and "'D'" in message and "Fix: give 'V' partitions_def=" in message
    reads = graph.partition_relations.upstream(
        K("D"), subset_with_partition_keys(DAILY, ["2026-01-05"])
    )
    assert isinstance(reads[K("A")], AllPartitionsSubset)
    assert len(_up(graph, "D", DAILY, ["2026-01-05"])["A"]) == 10
    assert len(_down(graph, "A", DAILY, ["2026-01-05"])["D"]) == 10


@pytest.mark.parametrize("spec_form", [True, False])
def test_last_partition_mapping_through_an_unpartitioned_view(spec_form: bool) -> None:
    dep = dg.AssetDep("A", partition_mapping=LastPartitionMapping())
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnpartitionedViewWarning)  # reads one partition: no warning
        graph = _chain({"deps": [dep]}, spec_form=spec_form)
    assert _up(graph, "D", DAILY, ["2026-01-02"]) == {"A": ["2026-01-10"]}
    assert len(_down(graph, "A", DAILY, ["2026-01-10"])["D"]) == 10
    assert _down(graph, "A", DAILY, ["2026-01-09"]) == {"D": []}


@pytest.mark.parametrize("spec_form", [True, False])
def test_multi_partitioned_view_filters_a_dimension(spec_form: bool) -> None:
    """Dagster #33981's shape: a multi-partitioned table, a view over one region, a daily
    report on the view: a new partition in the other region reaches nothing."""
    both = MultiPartitionsDefinition(
        {"date": DAILY, "region": dg.StaticPartitionsDefinition(["eu", "us"])}
    )
    eu = MultiPartitionsDefinition({"date": DAILY, "region": dg.StaticPartitionsDefinition(["eu"])})
    a = dg.AssetSpec("A", partitions_def=both)
    d = dg.AssetSpec("D", deps=["V"], partitions_def=DAILY)
    if spec_form:
        views: list[object] = [dg.AssetSpec("V", deps=["A"], partitions_def=eu, is_virtual=True)]
    else:

        @dg.asset(name="V", deps=["A"], partitions_def=eu, is_virtual=True)
        def view() -> None:
            return None

        views = [view]
    graph = _graph(a, *views, d)
    assert _up(graph, "D", DAILY, ["2026-01-05"]) == {"A": ["2026-01-05|eu"]}
    assert _down(graph, "A", both, ["2026-01-05|eu"]) == {"D": ["2026-01-05"]}
    assert _down(graph, "A", both, ["2026-01-05|us"]) == {"D": []}


@pytest.mark.parametrize("spec_form", [True, False])
def test_static_many_to_one_through_a_view(spec_form: bool) -> None:
    shops = dg.StaticPartitionsDefinition(["s1", "s2", "s3"])
    regions = dg.StaticPartitionsDefinition(["north", "south"])
    a = dg.AssetSpec("A", partitions_def=shops)
    dep = dg.AssetDep(
        "A", partition_mapping=StaticPartitionMapping({"s1": "north", "s2": "north", "s3": "south"})
    )
    d = dg.AssetSpec("D", deps=["V"], partitions_def=regions)
    if spec_form:
        views: list[object] = [
            dg.AssetSpec("V", deps=[dep], partitions_def=regions, is_virtual=True)
        ]
    else:

        @dg.asset(name="V", deps=[dep], partitions_def=regions, is_virtual=True)
        def view() -> None:
            return None

        views = [view]
    graph = _graph(a, *views, d)
    assert _up(graph, "D", regions, ["north"]) == {"A": ["s1", "s2"]}
    assert _down(graph, "A", shops, ["s3"]) == {"D": ["south"]}


@pytest.mark.parametrize("spec_form", [True, False])
def test_hourly_through_a_daily_view(spec_form: bool) -> None:
    daily = dg.DailyPartitionsDefinition(start_date="2026-01-01", end_date="2026-01-03")
    a = dg.AssetSpec("A", partitions_def=HOURLY)
    d = dg.AssetSpec("D", deps=["V"], partitions_def=HOURLY)
    if spec_form:
        views: list[object] = [dg.AssetSpec("V", deps=["A"], partitions_def=daily, is_virtual=True)]
    else:

        @dg.asset(name="V", deps=["A"], partitions_def=daily, is_virtual=True)
        def view() -> None:
            return None

        views = [view]
    graph = _graph(a, *views, d)
    reads = _up(graph, "D", HOURLY, ["2026-01-02-05:00"])["A"]
    assert len(reads) == 24 and reads[0] == "2026-01-02-00:00" and reads[-1] == "2026-01-02-23:00"
    assert len(_down(graph, "A", HOURLY, ["2026-01-01-13:00"])["D"]) == 24


@pytest.mark.parametrize("spec_form", [True, False])
def test_diamond_of_two_views_with_different_mappings_is_the_union(spec_form: bool) -> None:
    a = dg.AssetSpec("A", partitions_def=DAILY)
    lag = dg.AssetDep(
        "A", partition_mapping=TimeWindowPartitionMapping(start_offset=-2, end_offset=-2)
    )
    d = dg.AssetSpec("D", deps=["V1", "V2"], partitions_def=DAILY)
    if spec_form:
        views: list[object] = [
            dg.AssetSpec("V1", deps=["A"], partitions_def=DAILY, is_virtual=True),
            dg.AssetSpec("V2", deps=[lag], partitions_def=DAILY, is_virtual=True),
        ]
    else:

        @dg.asset(name="V1", deps=["A"], partitions_def=DAILY, is_virtual=True)
        def v1() -> None:
            return None

        @dg.asset(name="V2", deps=[lag], partitions_def=DAILY, is_virtual=True)
        def v2() -> None:
            return None

        views = [v1, v2]
    graph = _graph(a, *views, d)
    assert _up(graph, "D", DAILY, ["2026-01-05"]) == {"A": ["2026-01-03", "2026-01-05"]}
    assert _down(graph, "A", DAILY, ["2026-01-03"]) == {"D": ["2026-01-03", "2026-01-05"]}


def test_a_direct_non_virtual_parent_is_an_end_of_the_walk() -> None:
    a = dg.AssetSpec("A", partitions_def=DAILY)
    b = dg.AssetSpec("B", deps=["A"], partitions_def=DAILY)
    c = dg.AssetSpec("C", deps=["B"], partitions_def=DAILY)
    graph = _graph(a, b, c)
    assert _up(graph, "C", DAILY, ["2026-01-02"]) == {"B": ["2026-01-02"]}
    assert _down(graph, "A", DAILY, ["2026-01-02"]) == {"B": ["2026-01-02"]}


def test_a_range_stays_one_interval_through_fifty_views() -> None:
    """Six years of days through 50 views with offsets: symbolic all the way, so the
    result is one interval, not a list of keys per hop."""
    years = dg.DailyPartitionsDefinition(start_date="2020-01-01", end_date="2026-01-01")
    items: list[object] = [dg.AssetSpec("A", partitions_def=years)]
    prev = "A"
    for i in range(50):
        dep = dg.AssetDep(prev, partition_mapping=TimeWindowPartitionMapping(start_offset=-1))
        items.append(dg.AssetSpec(f"V{i}", deps=[dep], partitions_def=years, is_virtual=True))
        prev = f"V{i}"
    items.append(dg.AssetSpec("D", deps=[prev], partitions_def=years))
    graph = _graph(*items)
    reads = graph.partition_relations.upstream(K("D"), all_partitions_subset(years).resolved())
    subset = reads[K("A")]
    assert isinstance(subset, TimeWindowPartitionsSubset) and len(subset.intervals) == 1
    assert len(subset) == len(years.get_partition_keys())


def test_relations_are_compiled_once_per_graph() -> None:
    graph = _chain({"partitions_def": DAILY}, spec_form=True)
    assert graph.partition_relations is graph.partition_relations


@pytest.mark.parametrize(
    "pdef",
    [
        dg.DailyPartitionsDefinition(start_date="2026-01-01", end_date="2026-02-01"),
        dg.HourlyPartitionsDefinition(start_date="2026-01-01-00:00", end_date="2026-01-03-00:00"),
        dg.DailyPartitionsDefinition(
            start_date="2026-01-01", end_date="2026-02-01", exclusions=["0 0 * * 6,0"]
        ),
    ],
    ids=["daily", "hourly", "weekdays"],
)
@pytest.mark.parametrize("offsets", [(-1, 0), (-3, -1), (0, 2), (-2, 2)])
def test_the_layouts_offset_shortcut_reads_what_the_mapping_reads(pdef, offsets) -> None:
    import sheer.automation.index  # noqa: F401  (what imports the layout in Sheer)
    from sheer.partitions.layout import EntityLayout

    mapping = dg.TimeWindowPartitionMapping(
        start_offset=offsets[0], end_offset=offsets[1], allow_nonexistent_upstream_partitions=True
    )

    @dg.asset(partitions_def=pdef)
    def a() -> None: ...

    @dg.asset(partitions_def=pdef, deps=[dg.AssetDep("a", partition_mapping=mapping)])
    def d() -> None: ...

    graph = dg.Definitions(assets=[a, d]).resolve_asset_graph()
    layout = EntityLayout(graph)
    i, p = graph.topo_index[dg.AssetKey("d")], graph.topo_index[dg.AssetKey("a")]
    assert layout.reads(i, p) == layout.slow_reads(i, p)
