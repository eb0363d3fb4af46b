"""Tests for sheer.versioning: data versions, derived and virtual versions, provenance."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

import pytest
from hypothesis import given
from hypothesis import strategies as st

import sheer as dg
from sheer.errors import UnknownAssetError
from sheer.events import EventRecord, EventType
from sheer.graph import AssetGraph
from sheer.versioning import (
    MISSING_VERSION,
    Provenance,
    VersionView,
    derived_data_version,
    stored_version,
    unique_data_version,
    virtual_version,
)

A, B, C, D, E = (dg.AssetKey(n) for n in "ABCDE")


def build(*assets: dg.AssetSpec | dg.AssetsDefinition) -> AssetGraph:
    return dg.Definitions(assets=list(assets)).resolve_asset_graph()


@pytest.fixture
def seed_graph() -> AssetGraph:
    """A -> B(v) -> C(v) -> D, with E a second root behind C."""
    return build(
        dg.AssetSpec("A"),
        dg.AssetSpec("E"),
        dg.AssetSpec("B", deps=["A"], is_virtual=True, code_version="b1"),
        dg.AssetSpec("C", deps=["B", "E"], is_virtual=True, code_version="c1"),
        dg.AssetSpec("D", deps=["C"], code_version="d1"),
    )


@dataclass
class Store:
    """Stored versions by key, as the resolver's and a run's `stored` callable see them."""

    versions: dict[dg.AssetKey, str | None] = field(default_factory=dict)
    reads: list[dg.AssetKey] = field(default_factory=list)

    def __call__(self, key: dg.AssetKey) -> str | None:
        self.reads.append(key)
        return self.versions.get(key)


# DataVersion ---------------------------------------------------------------------
def test_data_version_is_a_comparable_string() -> None:
    assert dg.DataVersion("v1") == dg.DataVersion("v1")
    assert dg.DataVersion("v1") != dg.DataVersion("v2")
    assert str(dg.DataVersion("v1")) == "v1"
    assert len({dg.DataVersion("v1"), dg.DataVersion("v1")}) == 1


@pytest.mark.parametrize("bad", ["", None, 3])
def test_data_version_must_be_a_non_empty_string(bad: object) -> None:
    with pytest.raises(ValueError) as raised:
        dg.DataVersion(bad)  # type: ignore[arg-type]
    assert str(raised.value) == f"A DataVersion is a non-empty string, not {bad!r}."


def test_data_version_is_immutable() -> None:
    version = dg.DataVersion("v1")
    with pytest.raises(AttributeError):
        version.value = "v2"  # type: ignore[misc]


# Derived, virtual and unique versions ------------------------------------------
def test_virtual_version_ignores_parent_order() -> None:
    assert virtual_version("1", [(A, "a"), (E, "e")]) == virtual_version("1", [(E, "e"), (A, "a")])


def test_virtual_version_changes_with_its_definition_and_each_input() -> None:
    base = virtual_version("1", [(A, "a"), (E, "e")])
    assert virtual_version("2", [(A, "a"), (E, "e")]) != base
    assert virtual_version(None, [(A, "a"), (E, "e")]) != base
    assert virtual_version("1", [(A, "a2"), (E, "e")]) != base
    assert virtual_version("1", [(A, "a"), (E, "e2")]) != base
    assert virtual_version("1", [(A, "a")]) != base
    assert virtual_version("1", [(A, "a"), (E, None)]) != base


def test_virtual_version_of_a_missing_parent_is_stable() -> None:
    assert virtual_version("1", [(A, None)]) == virtual_version("1", [(A, None)])
    assert virtual_version("1", [(A, None)]) == virtual_version("1", [(A, MISSING_VERSION)])
    assert virtual_version("1", []) == virtual_version("1", ())


def test_virtual_version_is_not_a_derived_version_of_the_same_inputs() -> None:
    assert virtual_version("1", [(A, "a")]) != derived_data_version("1", {A: "a"})


def test_derived_data_version_depends_on_code_and_inputs_only() -> None:
    base = derived_data_version("1", {A: "a", E: "e"})
    assert derived_data_version("1", {E: "e", A: "a"}) == base
    assert derived_data_version("2", {A: "a", E: "e"}) != base
    assert derived_data_version("1", {A: "a", E: "e2"}) != base
    assert derived_data_version("1", {A: "a"}) != base
    assert derived_data_version("1", {}) == derived_data_version("1", {})


def test_versions_keep_the_full_key_path() -> None:
    # ["s", "t"] and ["s_t"] are different parents.
    st_key, s_t = dg.AssetKey(["s", "t"]), dg.AssetKey("s_t")
    assert virtual_version("1", [(st_key, "v")]) != virtual_version("1", [(s_t, "v")])


def test_unique_data_version_is_new_each_time() -> None:
    versions = {unique_data_version() for _ in range(100)}
    assert len(versions) == 100
    assert all(isinstance(v, str) and v for v in versions)


@given(
    st.lists(
        st.tuples(st.sampled_from("ABCDEF"), st.text(min_size=1, max_size=3)),
        unique_by=lambda p: p[0],
    ),
    st.randoms(),
)
def test_virtual_version_is_a_function_of_the_set_of_inputs(
    pairs: list[tuple[str, str]], rng: object
) -> None:
    keyed = [(dg.AssetKey(k), v) for k, v in pairs]
    shuffled = list(keyed)
    rng.shuffle(shuffled)  # type: ignore[attr-defined]
    assert virtual_version("c", keyed) == virtual_version("c", shuffled)
    assert derived_data_version("c", dict(keyed)) == derived_data_version("c", dict(shuffled))


# stored_version --------------------------------------------------------------------
def record(storage_id: int, version: str | None, kind: EventType) -> EventRecord:
    return EventRecord(
        storage_id=storage_id,
        run_id=None,
        timestamp=0.0,
        event_type=kind,
        asset_key=A,
        data={"data_version": version},
    )


def test_stored_version_of_a_materialized_asset_ignores_observations() -> None:
    mat = record(1, "m", EventType.ASSET_MATERIALIZATION)
    obs = record(2, "o", EventType.ASSET_OBSERVATION)
    assert stored_version(mat, obs, external=False) == "m"
    assert stored_version(None, obs, external=False) is None


def test_stored_version_of_an_external_asset_is_the_latest_record() -> None:
    mat = record(1, "m", EventType.ASSET_MATERIALIZATION)
    obs = record(2, "o", EventType.ASSET_OBSERVATION)
    assert stored_version(mat, obs, external=True) == "o"
    later = record(3, "m2", EventType.ASSET_MATERIALIZATION)
    assert stored_version(later, obs, external=True) == "m2"
    assert stored_version(None, obs, external=True) == "o"
    assert stored_version(None, None, external=True) is None


# VersionView -----------------------------------------------------------------------
def test_version_view_reads_stored_versions_of_non_virtual_assets(seed_graph: AssetGraph) -> None:
    view = VersionView(seed_graph, Store({A: "a1", D: "d1"}))
    assert view.version(A) == "a1"
    assert view.version(D) == "d1"
    assert view.version(E) is None


def test_version_view_computes_virtual_versions_from_parents(seed_graph: AssetGraph) -> None:
    view = VersionView(seed_graph, Store({A: "a1", E: "e1"}))
    b = virtual_version("b1", [(A, "a1")])
    assert view.version(B) == b
    assert view.version(C) == virtual_version("c1", [(B, b), (E, "e1")])


def test_version_view_memoizes_virtual_versions(seed_graph: AssetGraph) -> None:
    store = Store({A: "a1", E: "e1"})
    view = VersionView(seed_graph, store)
    first = view.version(C)
    reads = len(store.reads)
    assert view.version(C) == first
    assert view.version(B) == view.version(B)
    assert len(store.reads) == reads


def test_version_view_update_drops_what_depends_on_the_updated_asset(
    seed_graph: AssetGraph,
) -> None:
    view = VersionView(seed_graph, Store({A: "a1", E: "e1"}))
    before_b, before_c = view.version(B), view.version(C)
    view.update(E, "e2")
    assert view.version(E) == "e2"
    assert view.version(B) == before_b
    assert view.version(C) != before_c
    view.update(A, "a2")
    assert view.version(B) != before_b
    view.update(A, "a1")
    view.update(E, "e1")
    assert (view.version(B), view.version(C)) == (before_b, before_c)


def test_version_view_handles_a_long_virtual_chain() -> None:
    n = 3000
    specs = [dg.AssetSpec("v0")]
    specs += [dg.AssetSpec(f"v{i}", deps=[f"v{i - 1}"], is_virtual=True) for i in range(1, n)]
    graph = build(*specs)
    view = VersionView(graph, Store({dg.AssetKey("v0"): "root"}))
    expected = "root"
    for i in range(1, n):
        expected = virtual_version(None, [(dg.AssetKey(f"v{i - 1}"), expected)])
    assert view.version(dg.AssetKey(f"v{n - 1}")) == expected


def test_provenance_records_parents_ancestors_and_virtual_definitions(
    seed_graph: AssetGraph,
) -> None:
    view = VersionView(seed_graph, Store({A: "a1", E: "e1"}))
    prov = view.provenance(D)
    assert prov.code_version == "d1"
    assert prov.input_versions == {C: view.version(C)}
    assert prov.through_virtual == {A: "a1", E: "e1"}
    assert prov.virtual_code_versions == {B: "b1", C: "c1"}


def test_provenance_without_virtual_parents_records_parents_only() -> None:
    graph = build(dg.AssetSpec("A"), dg.AssetSpec("E"), dg.AssetSpec("D", deps=["A", "E"]))
    prov = VersionView(graph, Store({A: "a1"})).provenance(D)
    assert prov == Provenance(code_version=None, input_versions={A: "a1", E: None})
    assert VersionView(graph, Store()).provenance(A) == Provenance(code_version=None)


def test_provenance_of_a_mixed_parent_set() -> None:
    graph = build(
        dg.AssetSpec("A"),
        dg.AssetSpec("E"),
        dg.AssetSpec("B", deps=["A"], is_virtual=True),
        dg.AssetSpec("D", deps=["B", "E"]),
    )
    view = VersionView(graph, Store({A: "a1", E: "e1"}))
    prov = view.provenance(D)
    assert prov.input_versions == {B: view.version(B), E: "e1"}
    assert prov.through_virtual == {A: "a1"}  # direct parents are in input_versions only
    assert prov.virtual_code_versions == {B: None}


def test_version_view_update_keeps_versions_read_through_a_table() -> None:
    # V reads M's stored version, not A's: updating A leaves V's version alone.
    graph = build(
        dg.AssetSpec("A"),
        dg.AssetSpec("M", deps=["A"]),
        dg.AssetSpec("V", deps=["M"], is_virtual=True),
        dg.AssetSpec("W", deps=["V", "A"], is_virtual=True),
    )
    m, v, w = dg.AssetKey("M"), dg.AssetKey("V"), dg.AssetKey("W")
    view = VersionView(graph, Store({A: "a1", m: "m1"}))
    before_v, before_w = view.version(v), view.version(w)
    view.update(A, "a2")
    assert view.version(v) == before_v
    assert view.version(w) != before_w
    view.update(m, "m2")
    assert view.version(v) != before_v
    assert view.version(v) == VersionView(graph, Store({A: "a2", m: "m2"})).version(v)


def test_version_view_of_an_unknown_key_raises() -> None:
    view = VersionView(build(dg.AssetSpec("orders")), Store())
    with pytest.raises(UnknownAssetError) as raised:
        view.version(dg.AssetKey("order"))
    assert "Did you mean 'orders'?" in str(raised.value)


# Provenance JSON -------------------------------------------------------------------
def test_provenance_round_trips_through_json() -> None:
    prov = Provenance(
        code_version="1",
        input_versions={dg.AssetKey(["stg", "orders"]): "v", A: None},
        through_virtual={dg.AssetKey(["raw", "orders"]): "r1"},
        virtual_code_versions={dg.AssetKey(["stg", "orders"]): None},
    )
    raw = prov.to_json()
    assert raw == {
        "code_version": "1",
        "input_versions": {"stg/orders": "v", "A": None},
        "through_virtual": {"raw/orders": "r1"},
        "virtual_code_versions": {"stg/orders": None},
    }
    assert Provenance.from_json(json.loads(json.dumps(raw))) == prov


def test_provenance_from_sparse_json() -> None:
    assert Provenance.from_json({}) == Provenance(code_version=None)
    assert Provenance.from_json({"code_version": "2", "input_versions": None}) == Provenance(
        code_version="2"
    )


@given(
    st.dictionaries(
        st.lists(st.sampled_from(["a", "b", "s_1", "x.y"]), min_size=1, max_size=3).map(tuple),
        st.none() | st.text(min_size=1, max_size=5),
        max_size=5,
    ),
    st.none() | st.text(max_size=5),
)
def test_provenance_json_round_trip_property(
    versions: Mapping[tuple[str, ...], str | None], code: str | None
) -> None:
    keyed = {dg.AssetKey(list(k)): v for k, v in versions.items()}
    prov = Provenance(
        code_version=code, input_versions=keyed, through_virtual=keyed, virtual_code_versions=keyed
    )
    assert Provenance.from_json(json.loads(json.dumps(prov.to_json()))) == prov


def test_provenance_read_from_json_looks_keys_up_by_name() -> None:
    prov = Provenance.from_json(
        {"code_version": "1", "input_versions": {"stg/orders": "v", "A": None}}
    )
    inputs = prov.input_versions
    orders = dg.AssetKey(["stg", "orders"])
    assert inputs[orders] == "v"
    assert inputs.get(orders) == "v"
    assert inputs.get(A, "absent") is None
    assert inputs.get(B, "absent") == "absent"
    assert inputs.get("stg/orders", "absent") == "absent"  # keys, not names
    assert orders in inputs and A in inputs
    assert B not in inputs and "A" not in inputs
    with pytest.raises(KeyError):
        inputs[B]
    with pytest.raises(KeyError):
        inputs["A"]  # type: ignore[index]
    assert sorted(inputs) == [A, orders]
    assert len(inputs) == 2
    assert inputs == {orders: "v", A: None}
    assert dict(inputs.items()) == {orders: "v", A: None}
    assert repr(inputs) == repr({orders: "v", A: None})
    assert prov.through_virtual == {} and len(prov.virtual_code_versions) == 0


# What a run records ----------------------------------------------------------------
def test_a_run_records_provenance_through_virtual_parents() -> None:
    @dg.asset(name="A")
    def a() -> dg.Output:
        return dg.Output(1, data_version="a1")

    @dg.asset(name="B", is_virtual=True, code_version="b1")
    def b(A: int) -> int:
        return A

    @dg.asset(name="C", is_virtual=True, code_version="c1")
    def c(B: int) -> int:
        return B

    @dg.asset(name="D", code_version="d1")
    def d(C: int) -> int:
        return C

    instance = dg.Instance.ephemeral()
    dg.materialize([a, b, c, d], instance=instance, selection=["A", "D"])
    mat = instance.get_latest_materialization("D")
    assert mat is not None and mat.provenance is not None
    c_version = virtual_version("c1", [(B, virtual_version("b1", [(A, "a1")]))])
    assert mat.provenance == Provenance(
        code_version="d1",
        input_versions={C: c_version},
        through_virtual={A: "a1"},
        virtual_code_versions={B: "b1", C: "c1"},
    )
    assert mat.code_version == "d1"
    assert mat.data_version == dg.DataVersion(derived_data_version("d1", {C: c_version}))
    resolver = dg.StaleStatusResolver(instance, dg.Definitions(assets=[a, b, c, d]))
    assert resolver.get_current_data_version("C") == dg.DataVersion(c_version)


def test_a_run_records_the_version_its_parent_produced_in_the_same_run() -> None:
    @dg.asset(name="A")
    def a() -> dg.Output:
        return dg.Output(1, data_version="new")

    @dg.asset(name="D", deps=["A"])
    def d() -> None:
        return None

    instance = dg.Instance.ephemeral()
    instance.report_runless_asset_event(dg.AssetMaterialization("A", data_version="old"))
    dg.materialize([a, d], instance=instance)
    mat = instance.get_latest_materialization("D")
    assert mat is not None and mat.provenance is not None
    assert mat.provenance.input_versions == {A: "new"}


def test_a_virtual_asset_run_records_its_computed_version() -> None:
    @dg.asset(name="A")
    def a() -> dg.Output:
        return dg.Output(1, data_version="a1")

    @dg.asset(name="B", is_virtual=True, code_version="b1")
    def b(A: int) -> dg.Output:
        return dg.Output(A, data_version="ignored: a view's version is computed")

    instance = dg.Instance.ephemeral()
    dg.materialize([a, b], instance=instance)
    mat = instance.get_latest_materialization("B")
    assert mat is not None
    assert mat.data_version == dg.DataVersion(virtual_version("b1", [(A, "a1")]))
    assert mat.code_version == "b1"
