"""Staleness per entity (DESIGN.md, "Entities and partitions"): every (asset, partition)
through virtual assets in both forms, causes with partitions, bulk calls, capping."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

import sheer as dg
from sheer.errors import DefinitionError
from sheer.partitions.mappings import TimeWindowPartitionMapping

DAILY = dg.DailyPartitionsDefinition(start_date="2026-01-01", end_date="2026-01-06")
DAYS = DAILY.get_partition_keys()
FRESH, STALE, MISSING = dg.StaleStatus.FRESH, dg.StaleStatus.STALE, dg.StaleStatus.MISSING


def _chain(spec_form: bool, view_pdef: Any = DAILY, view_dep: Any = "A", code: str = "1") -> Any:
    """A (daily table) -> V (virtual) -> D (daily), V in either form."""

    @dg.asset(name="A", partitions_def=DAILY)
    def a() -> int:
        return 1

    if spec_form:
        view: Any = dg.AssetSpec(
            "V", deps=[view_dep], partitions_def=view_pdef, is_virtual=True, code_version=code
        )
    else:

        @dg.asset(
            name="V", deps=[view_dep], partitions_def=view_pdef, is_virtual=True, code_version=code
        )
        def view() -> None:
            return None

    @dg.asset(name="D", deps=["V"], partitions_def=DAILY)
    def d() -> int:
        return 2

    _ALL[id(a)] = (a, view, d)
    return a, view, d


_ALL: dict[int, Any] = {}


def _run(assets: Any, instance: dg.Instance, keys: list[str], only: Any = None) -> None:
    """Materialize `only` (default: every executable asset) for each key, with every
    asset of the chain defined."""
    every = list(_ALL.get(id(assets[0]), assets))
    chosen = [x.key for x in (only or assets) if not getattr(x, "is_virtual", False)]
    for k in keys:
        dg.materialize(every, selection=chosen, partition_key=k, instance=instance)


def _resolver(instance: dg.Instance, assets: Any) -> dg.StaleStatusResolver:
    return dg.StaleStatusResolver(instance, dg.Definitions(assets=list(assets)))


@pytest.mark.parametrize("spec_form", [True, False])
def test_one_changed_partition_stales_exactly_that_downstream_partition(
    instance: dg.Instance, spec_form: bool
) -> None:
    a, _view, d = assets = _chain(spec_form)
    _run([a, d], instance, DAYS)
    assert set(_resolver(instance, assets).get_statuses("D").values()) == {FRESH}
    _run([a], instance, ["2026-01-03"])
    resolver = _resolver(instance, assets)
    statuses = resolver.get_statuses("D")
    assert statuses == {k: STALE if k == "2026-01-03" else FRESH for k in DAYS}
    assert resolver.get_status_counts("D") == {FRESH: 4, STALE: 1, MISSING: 0}
    roots = resolver.get_stale_root_causes("D", partition_key="2026-01-03")
    assert [str(c) for c in roots] == ["A[2026-01-03] has a new data version (via V)"]
    (root,) = roots
    assert (root.asset_key, root.partition_key, root.category, root.via) == (
        dg.AssetKey("A"),
        "2026-01-03",
        dg.StaleCauseCategory.DATA,
        (dg.AssetKey("V"),),
    )
    (direct,) = resolver.get_stale_causes("D", partition_key="2026-01-03")
    assert direct.asset_key == dg.AssetKey("D") and direct.partition_key == "2026-01-03"
    assert resolver.get_stale_causes("D", partition_key="2026-01-02") == []


def test_a_partitioned_asset_without_a_partition_key_answers_fresh_as_dagster(
    instance: dg.Instance,
) -> None:
    assets = _chain(True)
    resolver = _resolver(instance, assets)
    assert resolver.get_status("D") == FRESH
    assert resolver.get_status("D", partition_key="2026-01-01") == MISSING
    assert resolver.get_stale_causes("D") == []


def test_an_unknown_partition_key_is_an_error_naming_the_asset_and_the_keys(
    instance: dg.Instance,
) -> None:
    resolver = _resolver(instance, _chain(True))
    with pytest.raises(DefinitionError) as info:
        resolver.get_status("D", partition_key="2026-01-09")
    message = str(info.value)
    assert "Partition '2026-01-09' is not a partition of 'D'" in message
    assert "'2026-01-01' to '2026-01-05'" in message and "Fix:" in message


@pytest.mark.parametrize("spec_form", [True, False])
def test_a_partitioned_view_is_missing_until_the_partition_it_reads_exists(
    instance: dg.Instance, spec_form: bool
) -> None:
    a, _view, _d = assets = _chain(spec_form)
    _run([a], instance, ["2026-01-02"])
    statuses = _resolver(instance, assets).get_statuses("V")
    assert statuses == {k: FRESH if k == "2026-01-02" else MISSING for k in DAYS}


@pytest.mark.parametrize("spec_form", [True, False])
def test_time_offset_through_a_view_stales_the_partitions_that_read_the_change(
    instance: dg.Instance, spec_form: bool
) -> None:
    dep = dg.AssetDep("A", partition_mapping=TimeWindowPartitionMapping(start_offset=-1))
    a, _view, d = assets = _chain(spec_form, view_dep=dep)
    _run([a], instance, DAYS)
    _run([a], instance, DAYS[1:], only=[d])
    resolver = _resolver(instance, assets)
    assert resolver.get_statuses("D") == {DAYS[0]: MISSING, **dict.fromkeys(DAYS[1:], FRESH)}
    _run([a], instance, ["2026-01-03"])
    resolver = _resolver(instance, assets)
    stale = sorted(k for k, s in resolver.get_statuses("D").items() if s is STALE)
    assert stale == ["2026-01-03", "2026-01-04"]
    assert [str(c) for c in resolver.get_stale_root_causes("D", partition_key="2026-01-04")] == [
        "A[2026-01-03] has a new data version (via V)"
    ]


@pytest.mark.parametrize("spec_form", [True, False])
def test_an_unpartitioned_view_between_daily_ends_stales_every_partition(
    instance: dg.Instance, spec_form: bool
) -> None:
    a, _view, d = assets = _chain(spec_form, view_pdef=None)
    with pytest.warns(UserWarning, match="has no partitions_def"):
        _run([a, d], instance, DAYS)
        _run([a], instance, ["2026-01-02"])
    with pytest.warns(UserWarning, match="has no partitions_def"):
        resolver = _resolver(instance, assets)
    assert set(resolver.get_statuses("D").values()) == {STALE}
    assert [str(c) for c in resolver.get_stale_root_causes("D", partition_key="2026-01-05")] == [
        "A[2026-01-02] has a new data version (via V)"
    ]


@pytest.mark.parametrize("spec_form", [True, False])
def test_code_version_change_on_a_partitioned_view_stales_every_downstream_partition(
    instance: dg.Instance, spec_form: bool
) -> None:
    a, _view, d = _chain(spec_form, code="1")
    _run([a, d], instance, DAYS)
    assets = _chain(spec_form, code="2")
    resolver = _resolver(instance, assets)
    assert set(resolver.get_statuses("D").values()) == {STALE}
    roots = resolver.get_stale_root_causes("D", partition_key="2026-01-01")
    assert [str(c) for c in roots] == ["V has a new code version"]
    assert roots[0].category is dg.StaleCauseCategory.CODE


def test_many_changed_partitions_make_one_capped_cause(instance: dg.Instance) -> None:
    days = dg.DailyPartitionsDefinition(start_date="2026-01-01", end_date="2026-02-10")
    keys = days.get_partition_keys()

    @dg.asset(name="A", partitions_def=days)
    def a() -> int:
        return 1

    view = dg.AssetSpec("V", deps=["A"], is_virtual=True)  # unpartitioned: reads all of A

    @dg.asset(name="D", deps=["V"])
    def d() -> int:
        return 2

    every = [a, view, d]
    for k in keys:
        dg.materialize(every, selection=["A"], partition_key=k, instance=instance)
    dg.materialize(every, selection=["D"], instance=instance)
    assert _resolver(instance, every).get_status("D") == FRESH
    for k in keys[3:40]:
        dg.materialize(every, selection=["A"], partition_key=k, instance=instance)
    resolver = _resolver(instance, every)
    assert resolver.get_status("D") == STALE
    (cause,) = resolver.get_stale_root_causes("D")
    assert cause.partition_key is None and cause.asset_key == dg.AssetKey("A")
    assert cause.partition_count == 37 and cause.partition_keys == tuple(keys[3:40])
    assert str(cause) == "A: 37 partitions have new data versions, first A[2026-01-04] (via V)"


def test_status_and_causes_are_served_from_one_read(
    instance: dg.Instance, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, _view, d = assets = _chain(True)
    _run([a, d], instance, DAYS)
    _run([a], instance, DAYS[:2])
    calls = {"versions": 0, "provenances": 0}
    versions, provenances = instance.get_latest_entity_versions, instance.get_latest_provenances

    def count_versions() -> Any:
        calls["versions"] += 1
        return versions()

    def count_provenances(key: Any) -> Any:
        calls["provenances"] += 1
        return provenances(key)

    monkeypatch.setattr(instance, "get_latest_entity_versions", count_versions)
    monkeypatch.setattr(instance, "get_latest_provenances", count_provenances)
    resolver = _resolver(instance, assets)
    for k in DAYS:
        resolver.get_status("D", partition_key=k)
        resolver.get_stale_root_causes("D", partition_key=k)
    resolver.get_statuses("D")
    assert calls == {"versions": 1, "provenances": 1}


def test_unpartitioned_graphs_keep_the_asset_pass_and_refuse_partition_keys(
    instance: dg.Instance,
) -> None:
    @dg.asset
    def plain() -> int:
        return 1

    dg.materialize([plain], instance=instance)
    resolver = _resolver(instance, [plain])
    assert resolver.get_statuses("plain") == {None: FRESH}
    assert resolver.get_status_counts("plain") == {FRESH: 1, STALE: 0, MISSING: 0}
    with pytest.raises(DefinitionError, match="'plain' is not partitioned"):
        resolver.get_status("plain", partition_key="x")


def _identity_chain(lib: Any) -> tuple[Any, Any]:
    pdef = lib.DailyPartitionsDefinition(start_date="2026-01-01", end_date="2026-01-04")

    @lib.asset(name="A", partitions_def=pdef)
    def a() -> int:
        return 1

    @lib.asset(name="B", partitions_def=pdef, deps=["A"])
    def b() -> int:
        return 1

    return pdef, [a, b]


def test_partition_statuses_and_root_causes_have_dagsters_shape() -> None:
    """The same partitioned chain (no virtual assets, where Dagster and Sheer agree) on
    both: the same status per partition, and root causes keyed by the root partition."""
    dagster = pytest.importorskip("dagster")
    from dagster._core.definitions.data_version import CachingStaleStatusResolver
    from dagster._core.loader import LoadingContextForTest

    answers = []
    for lib in (dg, dagster):
        pdef, assets = _identity_chain(lib)
        instance = lib.DagsterInstance.ephemeral() if lib is dagster else dg.Instance.ephemeral()
        for k in pdef.get_partition_keys():
            lib.materialize(assets, partition_key=k, instance=instance)
        lib.materialize(assets, selection=["A"], partition_key="2026-01-02", instance=instance)
        if lib is dagster:
            graph = lib.Definitions(assets=assets).resolve_asset_graph()
            resolver: Any = CachingStaleStatusResolver(
                instance, graph, LoadingContextForTest(instance)
            )
        else:
            resolver = dg.StaleStatusResolver(instance, dg.Definitions(assets=assets))
        key = lib.AssetKey("B")
        statuses = {k: resolver.get_status(key, k).value for k in pdef.get_partition_keys()}
        roots = [
            (c.key.asset_key.to_user_string(), c.key.partition_key, c.category.value)
            for c in resolver.get_stale_root_causes(key, "2026-01-02")
        ]
        (direct,) = resolver.get_stale_causes(key, "2026-01-02")
        answers.append(
            (
                statuses,
                roots,
                resolver.get_status(key).value,
                direct.dependency.partition_key,
                direct.key.partition_key,
            )
        )
    assert answers[0] == answers[1]
    assert answers[0][0] == {"2026-01-01": "FRESH", "2026-01-02": "STALE", "2026-01-03": "FRESH"}


# DESIGN.md's scenarios through views in both forms ----------------------------------
def _world(spec_form: bool, root: Any, views: list[tuple[str, list[Any], Any]], down: Any) -> Any:
    """A root table, views (name, deps, partitions_def) in either form, a downstream
    asset (deps, partitions_def); every asset returns a version read from `VERSIONS`."""

    @dg.asset(name="A", partitions_def=root)
    def a(context: Any) -> dg.MaterializeResult:
        return dg.MaterializeResult(
            data_version=dg.DataVersion(_VERSIONS.get(context.partition_key, "1"))
        )

    made: list[Any] = [a]
    for name, deps, pdef in views:
        if spec_form:
            made.append(dg.AssetSpec(name, deps=deps, partitions_def=pdef, is_virtual=True))
        else:

            @dg.asset(name=name, deps=deps, partitions_def=pdef, is_virtual=True)
            def view() -> None:
                return None

            made.append(view)
    down_deps, down_pdef = down

    @dg.asset(name="D", deps=down_deps, partitions_def=down_pdef)
    def d() -> int:
        return 1

    made.append(d)
    return made


_VERSIONS: dict[str, str] = {}


@contextmanager
def _fresh() -> Iterator[dg.Instance]:
    instance = dg.Instance.ephemeral()
    try:
        yield instance
    finally:
        instance.dispose()


def _stale_after_change(
    assets: list[Any], root: Any, down: Any, changed: str, instance: dg.Instance
) -> list[str | None]:
    """Materialize every partition of A then of D, change A[changed]: D's stale keys."""
    _VERSIONS.clear()
    for k in root.get_partition_keys():
        dg.materialize(assets, selection=["A"], partition_key=k, instance=instance)
    for k in down.get_partition_keys() if down is not None else [None]:
        dg.materialize(assets, selection=["D"], partition_key=k, instance=instance)
    resolver = dg.StaleStatusResolver(instance, dg.Definitions(assets=assets))
    assert STALE not in resolver.get_statuses("D").values()
    _VERSIONS[changed] = "2"
    dg.materialize(assets, selection=["A"], partition_key=changed, instance=instance)
    resolver = dg.StaleStatusResolver(instance, dg.Definitions(assets=assets))
    return sorted(
        (k for k, s in resolver.get_statuses("D").items() if s is STALE), key=lambda k: k or ""
    )


@pytest.mark.parametrize("spec_form", [True, False])
def test_multi_partitioned_view_filtering_a_dimension_stales_only_its_region(
    spec_form: bool,
) -> None:
    from sheer.partitions.multi import MultiPartitionsDefinition

    days = dg.DailyPartitionsDefinition(start_date="2026-01-01", end_date="2026-01-04")
    both = MultiPartitionsDefinition(
        {"date": days, "region": dg.StaticPartitionsDefinition(["eu", "us"])}
    )
    eu = MultiPartitionsDefinition({"date": days, "region": dg.StaticPartitionsDefinition(["eu"])})
    assets = _world(spec_form, both, [("V", ["A"], eu)], (["V"], days))
    with _fresh() as instance:
        assert _stale_after_change(assets, both, days, "2026-01-02|us", instance) == []
    with _fresh() as instance:
        assert _stale_after_change(assets, both, days, "2026-01-02|eu", instance) == ["2026-01-02"]


@pytest.mark.parametrize("spec_form", [True, False])
def test_static_many_to_one_through_a_view_stales_the_one_it_maps_to(spec_form: bool) -> None:
    from sheer.partitions.mappings import StaticPartitionMapping

    shops = dg.StaticPartitionsDefinition(["s1", "s2", "s3"])
    regions = dg.StaticPartitionsDefinition(["north", "south"])
    dep = dg.AssetDep(
        "A", partition_mapping=StaticPartitionMapping({"s1": "north", "s2": "north", "s3": "south"})
    )
    assets = _world(spec_form, shops, [("V", [dep], regions)], (["V"], regions))
    with _fresh() as instance:
        assert _stale_after_change(assets, shops, regions, "s2", instance) == ["north"]


@pytest.mark.parametrize("spec_form", [True, False])
def test_hourly_through_a_daily_view_stales_every_hour_of_that_day(spec_form: bool) -> None:
    hours = dg.HourlyPartitionsDefinition(
        start_date="2026-01-01-00:00", end_date="2026-01-03-00:00"
    )
    days = dg.DailyPartitionsDefinition(start_date="2026-01-01", end_date="2026-01-03")
    assets = _world(spec_form, hours, [("V", ["A"], days)], (["V"], hours))
    with _fresh() as instance:
        stale = _stale_after_change(assets, hours, hours, "2026-01-02-07:00", instance)
    assert len(stale) == 24 and all(str(k).startswith("2026-01-02-") for k in stale)


@pytest.mark.parametrize("spec_form", [True, False])
def test_last_partition_through_an_unpartitioned_view_only_the_last_matters(
    spec_form: bool,
) -> None:
    from sheer.partitions.mappings import LastPartitionMapping

    days = dg.DailyPartitionsDefinition(start_date="2026-01-01", end_date="2026-01-04")
    dep = dg.AssetDep("A", partition_mapping=LastPartitionMapping())
    assets = _world(spec_form, days, [("V", [dep], None)], (["V"], days))
    with _fresh() as instance:
        assert _stale_after_change(assets, days, days, "2026-01-02", instance) == []
    with _fresh() as instance:
        assert (
            _stale_after_change(assets, days, days, "2026-01-03", instance)
            == days.get_partition_keys()
        )


@pytest.mark.parametrize("spec_form", [True, False])
def test_diamond_of_two_views_with_different_mappings_stales_the_union(spec_form: bool) -> None:
    days = dg.DailyPartitionsDefinition(start_date="2026-01-01", end_date="2026-01-06")
    lag = dg.AssetDep(
        "A", partition_mapping=TimeWindowPartitionMapping(start_offset=-2, end_offset=-2)
    )
    views = [("V1", ["A"], days), ("V2", [lag], days)]
    assets = _world(spec_form, days, views, (["V1", "V2"], days))
    with _fresh() as instance:
        assert _stale_after_change(assets, days, days, "2026-01-02", instance) == [
            "2026-01-02",
            "2026-01-04",
        ]
        resolver = dg.StaleStatusResolver(instance, dg.Definitions(assets=assets))
        roots = resolver.get_stale_root_causes("D", partition_key="2026-01-04")
        assert [str(c) for c in roots] == ["A[2026-01-02] has a new data version (via V2)"]
