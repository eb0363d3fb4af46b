"""Tests for sheer.staleness: statuses and causes computed through virtual assets, not at them.

Scenario tests step through materializations, observations and redefinitions on an
instance of each storage backend (SQLite and PostgreSQL, see conftest.py); a property
test compares the resolver with a brute-force reference written from DESIGN.md's
rules, on in-memory instances.
"""

from __future__ import annotations

import gc
import itertools
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sheer as dg
from fixtures.sql import statements_during
from sheer.errors import UnknownAssetError
from sheer.events import EventType
from sheer.keys import AssetKeyPartitionKey
from sheer.staleness import StaleStatusResolver
from sheer.storage import NewEvent
from sheer.versioning import VersionView, derived_data_version

FRESH, STALE, MISSING = dg.StaleStatus.FRESH, dg.StaleStatus.STALE, dg.StaleStatus.MISSING
CODE, DATA, DEPS = (
    dg.StaleCauseCategory.CODE,
    dg.StaleCauseCategory.DATA,
    dg.StaleCauseCategory.DEPENDENCIES,
)


_make_instance: Any = dg.Instance.ephemeral


def empty_instance() -> dg.Instance:
    """An instance on an empty database of the backend under test."""
    return _make_instance()


@pytest.fixture(autouse=True)
def _on_each_backend(backend: str, request: pytest.FixtureRequest, monkeypatch) -> None:
    # The property test makes hundreds of instances: it stays in memory, and runs once.
    if getattr(request.function, "is_hypothesis_test", False):
        if backend != "sqlite":
            pytest.skip("the property test runs once, on in-memory instances")
        return
    monkeypatch.setattr(
        sys.modules[__name__], "_make_instance", request.getfixturevalue("new_instance")
    )


def k(*names: str) -> tuple[dg.AssetKey, ...]:
    return tuple(dg.AssetKey(n) for n in names)


def entity(name: str) -> AssetKeyPartitionKey:
    return AssetKeyPartitionKey(dg.AssetKey(name))


# A small project whose definitions can be rebuilt with new code versions -------------
ASSET, VIEW, VIRTUAL, EXTERNAL, OBSERVABLE = "asset", "view", "virtual", "external", "observable"


@dataclass(frozen=True, slots=True)
class Node:
    """One asset of a test project. kind: ASSET (a function), VIEW (virtual with a
    function), VIRTUAL (virtual spec), EXTERNAL (spec) or OBSERVABLE (observed)."""

    name: str
    parents: tuple[str, ...] = ()
    kind: str = ASSET
    code: str | None = None


def node(name: str, *parents: str, kind: str = ASSET, code: str | None = None) -> Node:
    return Node(name, tuple(parents), kind, code)


def chain(*names: str) -> list[Node]:
    """`A -> B(v) -> C(v) -> D` from chain("A", "B*", "C*", "D"): a star marks a view."""
    out, prev = [], ()
    for raw in names:
        name = raw.rstrip("*")
        out.append(node(name, *prev, kind=VIEW if raw.endswith("*") else ASSET))
        prev = (name,)
    return out


@dataclass
class Project:
    """Definitions rebuilt from `nodes` and the current code versions, on one instance.

    Lineage is given by `deps=` so a run of one asset never loads another's value;
    each function returns the data version set for it in `returns` (None: the default).
    """

    nodes: list[Node]
    instance: dg.Instance = field(default_factory=empty_instance)
    code: dict[str, str | None] = field(default_factory=dict)
    returns: dict[str, str | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for n in self.nodes:
            self.code.setdefault(n.name, n.code)

    def assets(self) -> list[Any]:
        return [self._define(n) for n in self.nodes]

    def _define(self, n: Node) -> Any:
        code = self.code[n.name]
        if n.kind in (VIRTUAL, EXTERNAL):
            return dg.AssetSpec(
                n.name, deps=list(n.parents), is_virtual=n.kind == VIRTUAL, code_version=code
            )
        returns = self.returns
        if n.kind == OBSERVABLE:

            def observe_fn() -> dg.DataVersion:
                return dg.DataVersion(returns[n.name] or "unset")

            return dg.observable_source_asset(name=n.name)(observe_fn)

        def compute() -> dg.MaterializeResult:
            return dg.MaterializeResult(data_version=returns.get(n.name))

        return dg.asset(
            name=n.name, deps=list(n.parents), code_version=code, is_virtual=n.kind == VIEW
        )(compute)

    @property
    def defs(self) -> dg.Definitions:
        return dg.Definitions(assets=self.assets())

    def run(self, *names: str, **versions: str | None) -> None:
        """Materialize `names` in one run; `versions` sets what each returns."""
        self.returns.update(versions)
        dg.materialize(self.assets(), instance=self.instance, selection=list(names))

    def observe(self, name: str, version: str) -> None:
        self.returns[name] = version
        dg.observe(self.assets(), instance=self.instance, selection=[name])

    def set_code(self, name: str, version: str | None) -> None:
        self.code[name] = version

    def resolver(self) -> StaleStatusResolver:
        return dg.StaleStatusResolver(self.instance, self.defs)

    def statuses(self) -> dict[str, dg.StaleStatus]:
        return {key.to_user_string(): s for key, s in self.resolver().get_all().items()}

    def root_causes(self, name: str) -> list[str]:
        return [str(c) for c in self.resolver().get_stale_root_causes(name)]

    def version(self, name: str) -> dg.DataVersion | None:
        return self.resolver().get_current_data_version(name)


def assert_statuses(project: Project, **expected: dg.StaleStatus) -> None:
    got = project.statuses()
    assert {n: got[n] for n in expected} == expected


# The seed's example ----------------------------------------------------------------
@dg.asset
def A() -> int:  # the names of the spec's picture
    return 1


@dg.asset(is_virtual=True)
def B(A: int) -> int:
    return A + 1


@dg.asset(is_virtual=True)
def C(B: int) -> int:
    return B * 10


@dg.asset
def D(C: int) -> int:
    return C + 5


SEED_ASSETS = [A, B, C, D]


def seed_statuses(instance: dg.Instance) -> dict[str, dg.StaleStatus]:
    got = dg.Definitions(assets=SEED_ASSETS).stale_status(instance)
    return {key.to_user_string(): s for key, s in got.items()}


def test_seed_example_a_rematerialized_makes_d_stale_but_not_the_views_b_and_c() -> None:
    instance = empty_instance()
    dg.materialize(SEED_ASSETS, instance=instance, selection=["A"])
    result = dg.materialize(SEED_ASSETS, instance=instance, selection=["D"])
    assert result.asset_value("D") == 25  # B and C computed on the fly from the stored A
    assert seed_statuses(instance) == {"A": FRESH, "B": FRESH, "C": FRESH, "D": FRESH}

    dg.materialize(SEED_ASSETS, instance=instance, selection=["A"])

    assert seed_statuses(instance) == {"A": FRESH, "B": FRESH, "C": FRESH, "D": STALE}
    resolver = dg.StaleStatusResolver(instance, dg.Definitions(assets=SEED_ASSETS))
    (cause,) = resolver.get_stale_root_causes("D")
    assert str(cause) == "A has a new data version (via C, B)"
    assert cause.reason == "has a new data version"
    assert cause.category is DATA
    assert cause.key == entity("A")  # the root, as in Dagster
    assert cause.asset_key == dg.AssetKey("A")
    assert cause.dependency is None
    assert cause.via == k("C", "B")
    assert cause.children is None
    (direct,) = resolver.get_stale_causes("D")
    assert (direct.key, direct.dependency, direct.reason) == (
        entity("D"),
        entity("A"),
        "has a new dependency data version",
    )
    assert direct.children == (cause,)
    assert str(direct) == "A has a new data version (via C, B)"
    assert resolver.get_stale_causes("B") == resolver.get_stale_causes("C") == []
    assert resolver.get_stale_root_causes("A") == []


def test_seed_example_d_rematerialized_is_fresh_again() -> None:
    instance = empty_instance()
    for selection in (["A"], ["D"], ["A"], ["D"]):
        dg.materialize(SEED_ASSETS, instance=instance, selection=selection)
    assert seed_statuses(instance) == {"A": FRESH, "B": FRESH, "C": FRESH, "D": FRESH}
    resolver = dg.StaleStatusResolver(instance, dg.Definitions(assets=SEED_ASSETS))
    assert resolver.get_stale_causes("D") == []
    assert resolver.get_stale_root_causes("D") == []


def test_seed_example_with_specs_only_lineage() -> None:
    """The same picture where B and C are lineage-only specs and A is reported."""
    instance = empty_instance()
    p = Project(
        [node("A"), node("B", "A", kind=VIRTUAL), node("C", "B", kind=VIRTUAL), node("D", "C")],
        instance=instance,
    )
    p.run("A", A="a1")
    p.run("D")
    p.run("A", A="a2")
    assert p.statuses() == {"A": FRESH, "B": FRESH, "C": FRESH, "D": STALE}
    assert p.root_causes("D") == ["A has a new data version (via C, B)"]


# Nothing or only part materialized -------------------------------------------------
def test_nothing_materialized_everything_is_missing_virtual_assets_too() -> None:
    p = Project(
        [
            *chain("A", "B*", "C*", "D"),
            node("S", "A", kind=VIRTUAL),
            node("X", kind=EXTERNAL),
            node("V", "X", kind=VIRTUAL),
        ]
    )
    assert p.statuses() == {n: MISSING for n in ("A", "B", "C", "D", "S", "X", "V")}
    resolver = p.resolver()
    for n in ("A", "B", "C", "D", "S", "X", "V"):
        assert resolver.get_stale_causes(n) == []
        assert resolver.get_stale_root_causes(n) == []
    assert resolver.get_current_data_version("A") is None
    assert resolver.get_current_data_version("D") is None


def test_nothing_materialized_is_missing_with_the_seed_functions() -> None:
    assert seed_statuses(empty_instance()) == {n: MISSING for n in "ABCD"}


def test_only_a_materialized_views_are_fresh_and_d_is_missing() -> None:
    instance = empty_instance()
    dg.materialize(SEED_ASSETS, instance=instance, selection=["A"])
    assert seed_statuses(instance) == {"A": FRESH, "B": FRESH, "C": FRESH, "D": MISSING}
    resolver = dg.StaleStatusResolver(instance, dg.Definitions(assets=SEED_ASSETS))
    assert resolver.get_stale_causes("D") == []
    assert resolver.get_current_data_version("B") is not None


def test_virtual_asset_is_fresh_once_any_of_its_non_virtual_ancestors_exists() -> None:
    p = Project([node("A"), node("E"), node("V", "A", "E", kind=VIRTUAL), node("D", "V")])
    p.run("E")
    assert_statuses(p, A=MISSING, E=FRESH, V=FRESH, D=MISSING)


def test_virtual_asset_behind_a_missing_asset_is_missing_even_if_further_ancestors_exist() -> None:
    # MISSING looks at the nearest non-virtual ancestors: the view reads M, which does not exist.
    p = Project([node("A"), node("M", "A"), node("V", "M", kind=VIRTUAL)])
    p.run("A")
    assert_statuses(p, A=FRESH, M=MISSING, V=MISSING)


# Shapes: long chains, diamonds, several ancestors, chains around a table ------------
def test_chain_of_five_virtual_assets_passes_staleness_through() -> None:
    p = Project(chain("A", "V1*", "V2*", "V3*", "V4*", "V5*", "D"))
    p.run("A")
    p.run("D")
    assert set(p.statuses().values()) == {FRESH}
    p.run("A")
    assert p.statuses() == {
        "A": FRESH,
        "V1": FRESH,
        "V2": FRESH,
        "V3": FRESH,
        "V4": FRESH,
        "V5": FRESH,
        "D": STALE,
    }
    (cause,) = p.resolver().get_stale_root_causes("D")
    assert str(cause) == "A has a new data version (via V5, V4, V3, V2, V1)"
    assert cause.via == k("V5", "V4", "V3", "V2", "V1")
    p.run("D")
    assert p.statuses()["D"] is FRESH


def test_chain_of_five_virtual_assets_run_together_with_both_ends() -> None:
    p = Project(chain("A", "V1*", "V2*", "V3*", "V4*", "V5*", "D"))
    p.run("A", "D")
    assert set(p.statuses().values()) == {FRESH}
    p.run("A", "V1", "V2", "V3", "V4", "V5", "D")
    assert set(p.statuses().values()) == {FRESH}


def test_diamond_of_two_virtual_branches_meeting_at_a_table_gives_one_root_cause() -> None:
    p = Project(
        [node("A"), node("L", "A", kind=VIEW), node("R", "A", kind=VIEW), node("D", "L", "R")]
    )
    p.run("A")
    p.run("D")
    p.run("A")
    assert p.statuses() == {"A": FRESH, "L": FRESH, "R": FRESH, "D": STALE}
    assert p.root_causes("D") == ["A has a new data version (via L)"]


def test_diamond_of_two_virtual_branches_meeting_at_a_view() -> None:
    p = Project(
        [
            node("A"),
            node("L", "A", kind=VIEW),
            node("R", "A", kind=VIEW),
            node("M", "L", "R", kind=VIEW),
            node("D", "M"),
        ]
    )
    p.run("A")
    p.run("D")
    p.run("A")
    assert p.statuses() == {"A": FRESH, "L": FRESH, "R": FRESH, "M": FRESH, "D": STALE}
    (cause,) = p.resolver().get_stale_root_causes("D")
    assert str(cause) == "A has a new data version (via M, L)"
    assert cause.via == k("M", "L")


def test_diamond_with_a_root_behind_each_branch_names_only_the_updated_root() -> None:
    p = Project(
        [
            node("A"),
            node("E"),
            node("L", "A", kind=VIEW),
            node("R", "E", kind=VIEW),
            node("D", "L", "R"),
        ]
    )
    p.run("A", "E")
    p.run("D")
    p.run("E")
    assert p.statuses()["D"] is STALE
    assert p.root_causes("D") == ["E has a new data version (via R)"]
    p.run("A")
    assert p.root_causes("D") == [
        "A has a new data version (via L)",
        "E has a new data version (via R)",
    ]


def test_one_change_seen_directly_and_through_a_view_is_one_root_cause() -> None:
    p = Project([node("A"), node("V", "A", kind=VIEW), node("D", "A", "V")])
    p.run("A", "D")
    p.run("A")
    assert [str(c) for c in p.resolver().get_stale_causes("D")] == [
        "A has a new data version",
        "A has a new data version (via V)",
    ]
    assert p.root_causes("D") == ["A has a new data version"]


def test_one_change_behind_two_stale_parents_is_one_root_cause() -> None:
    p = Project(
        [node("A"), node("V", "A", kind=VIEW), node("M", "V"), node("N", "V"), node("Z", "M", "N")]
    )
    p.run("A", "M", "N", "Z")
    p.run("A")
    assert [str(c) for c in p.resolver().get_stale_causes("Z")] == ["M is stale", "N is stale"]
    (root,) = p.resolver().get_stale_root_causes("Z")
    assert (str(root), root.key) == ("A has a new data version (via V)", entity("A"))


def test_two_non_virtual_ancestors_behind_one_view_with_one_updated_give_one_root_cause() -> None:
    p = Project([node("A"), node("E"), node("V", "A", "E", kind=VIEW), node("D", "V")])
    p.run("A", "E")
    p.run("D")
    p.run("E")
    assert p.statuses() == {"A": FRESH, "E": FRESH, "V": FRESH, "D": STALE}
    causes = p.resolver().get_stale_root_causes("D")
    assert [str(c) for c in causes] == ["E has a new data version (via V)"]
    assert (causes[0].key, causes[0].dependency) == (entity("E"), None)
    (direct,) = p.resolver().get_stale_causes("D")
    assert (direct.key, direct.dependency_asset_key) == (entity("D"), dg.AssetKey("E"))


def test_non_virtual_asset_between_two_virtual_chains_propagates_the_original_change() -> None:
    p = Project(chain("A", "B*", "C*", "M", "E*", "F*", "Z"))
    p.run("A")
    p.run("M", M="m1")
    p.run("Z")
    p.run("A")
    assert p.statuses() == {
        "A": FRESH,
        "B": FRESH,
        "C": FRESH,
        "M": STALE,
        "E": FRESH,
        "F": FRESH,
        "Z": STALE,
    }
    resolver = p.resolver()
    (direct,) = resolver.get_stale_causes("Z")
    assert direct.category is DEPS
    assert str(direct) == "M is stale (via F, E)"
    assert (direct.key, direct.dependency) == (entity("Z"), entity("M"))
    assert direct.reason == "has a stale dependency"
    assert direct.via == k("F", "E")
    assert direct.children == tuple(resolver.get_stale_causes("M"))
    (root,) = resolver.get_stale_root_causes("Z")
    assert str(root) == "A has a new data version (via C, B)"
    assert root.key == entity("A")
    assert root.dependency is None
    assert root.category is DATA

    p.run("M", M="m1")  # the same version again: nothing behind Z changed
    assert set(p.statuses().values()) == {FRESH}
    p.run("M", M="m2")
    assert p.statuses()["Z"] is STALE
    assert p.root_causes("Z") == ["M has a new data version (via F, E)"]


def test_staleness_propagates_through_several_non_virtual_hops() -> None:
    p = Project(chain("A", "B*", "M", "N", "O*", "Z"))
    p.run("A", "M", "N", "Z")
    p.run("A")
    assert p.statuses() == {"A": FRESH, "B": FRESH, "M": STALE, "N": STALE, "O": FRESH, "Z": STALE}
    assert p.root_causes("Z") == ["A has a new data version (via B)"]
    assert [str(c) for c in p.resolver().get_stale_causes("Z")] == ["N is stale (via O)"]


def test_virtual_leaf_is_never_stale_because_upstream_changed() -> None:
    p = Project([node("A"), node("V", "A", kind=VIEW), node("S", "V", kind=VIRTUAL)])
    assert p.statuses() == {"A": MISSING, "V": MISSING, "S": MISSING}
    p.run("A")
    assert p.statuses() == {"A": FRESH, "V": FRESH, "S": FRESH}
    p.run("V")
    p.run("A")
    assert p.statuses() == {"A": FRESH, "V": FRESH, "S": FRESH}
    assert p.resolver().get_stale_causes("V") == []


# Code versions -------------------------------------------------------------------
def code_project() -> Project:
    return Project(
        [
            node("A"),
            node("B", "A", kind=VIEW, code="1"),
            node("C", "B", kind=VIEW),
            node("D", "C"),
            node("E", "D"),
        ]
    )


def test_code_version_change_on_a_virtual_asset_run_before_makes_it_stale() -> None:
    p = code_project()
    p.run("A", "B", "D", "E")  # B is run explicitly: its view is (re)created
    assert set(p.statuses().values()) == {FRESH}
    p.set_code("B", "2")
    assert p.statuses() == {"A": FRESH, "B": STALE, "C": FRESH, "D": STALE, "E": STALE}
    resolver = p.resolver()
    (own,) = resolver.get_stale_causes("B")
    assert (str(own), own.category, own.key) == ("B has a new code version", CODE, entity("B"))
    (cause,) = resolver.get_stale_root_causes("D")
    assert str(cause) == "B has a new code version (via C)"
    assert cause.category is CODE
    assert (cause.key, cause.reason, cause.dependency) == (
        entity("B"),
        "has a new code version",
        None,
    )
    assert cause.via == k("C")
    (direct,) = resolver.get_stale_causes("D")
    assert (direct.key, direct.dependency, direct.children) == (entity("D"), entity("B"), (cause,))
    assert [str(c) for c in resolver.get_stale_root_causes("E")] == [
        "B has a new code version (via C)"
    ]
    assert [str(c) for c in resolver.get_stale_causes("E")] == ["D is stale"]

    p.run("D", "E")  # the tables now read the new view; the view itself is still out of date
    assert p.statuses() == {"A": FRESH, "B": STALE, "C": FRESH, "D": FRESH, "E": FRESH}
    p.run("B")
    assert set(p.statuses().values()) == {FRESH}


def test_code_version_change_on_a_virtual_asset_never_run_keeps_it_fresh() -> None:
    p = code_project()
    p.run("A", "D", "E")
    p.set_code("B", "2")
    assert p.statuses() == {"A": FRESH, "B": FRESH, "C": FRESH, "D": STALE, "E": STALE}
    assert p.root_causes("D") == ["B has a new code version (via C)"]


def test_code_version_change_on_a_virtual_spec_stales_what_reads_through_it() -> None:
    p = Project([node("A"), node("B", "A", kind=VIRTUAL, code="1"), node("D", "B")])
    p.run("A", "D")
    p.set_code("B", None)
    assert p.statuses() == {"A": FRESH, "B": FRESH, "D": STALE}
    assert p.root_causes("D") == ["B has a new code version"]


def test_code_version_change_on_a_root_propagates_through_the_virtual_chain() -> None:
    p = Project(
        [node("A", code="1"), node("B", "A", kind=VIEW), node("C", "B", kind=VIEW), node("D", "C")]
    )
    p.run("A")
    p.run("D")
    p.set_code("A", "2")
    assert p.statuses() == {"A": STALE, "B": FRESH, "C": FRESH, "D": STALE}
    resolver = p.resolver()
    (own,) = resolver.get_stale_causes("A")
    assert (str(own), own.category) == ("A has a new code version", CODE)
    (direct,) = resolver.get_stale_causes("D")
    assert (str(direct), direct.category, direct.via) == (
        "A is stale (via C, B)",
        DEPS,
        k("C", "B"),
    )
    (root,) = resolver.get_stale_root_causes("D")
    assert str(root) == "A has a new code version"
    assert root.category is CODE
    assert root.key == entity("A")

    p.run("A")  # the derived version changes with the code version
    assert p.statuses() == {"A": FRESH, "B": FRESH, "C": FRESH, "D": STALE}
    assert p.root_causes("D") == ["A has a new data version (via C, B)"]


def test_code_version_change_on_the_asset_itself() -> None:
    p = Project(chain("A", "B*", "D"))
    p.run("A", "D")
    p.set_code("D", "2")
    assert p.statuses() == {"A": FRESH, "B": FRESH, "D": STALE}
    assert p.root_causes("D") == ["D has a new code version"]
    p.run("D")
    assert p.statuses()["D"] is FRESH


# Versions, not timestamps --------------------------------------------------------
def test_same_data_version_rematerialized_makes_nothing_stale() -> None:
    @dg.asset(name="A")
    def a() -> dg.Output:
        return dg.Output(1, data_version="same")

    assets = [a, B, C, D]
    instance = empty_instance()
    dg.materialize(assets, instance=instance, selection=["A"])
    dg.materialize(assets, instance=instance, selection=["D"])
    before = dg.StaleStatusResolver(instance, dg.Definitions(assets=assets))
    versions = {n: before.get_current_data_version(n) for n in "ABCD"}
    dg.materialize(assets, instance=instance, selection=["A"])
    after = dg.StaleStatusResolver(instance, dg.Definitions(assets=assets))
    assert after.get_all() == {key: FRESH for key in k(*"ABCD")}
    assert {n: after.get_current_data_version(n) for n in "ABCD"} == versions
    assert versions["A"] == dg.DataVersion("same")


def test_code_version_without_user_version_derives_a_deterministic_version() -> None:
    p = Project(
        [node("A", code="1"), node("V", "A", kind=VIEW, code="1"), node("D", "V", code="1")]
    )
    p.run("A", "D")
    first = {n: p.version(n) for n in "AVD"}
    assert first["A"] == dg.DataVersion(derived_data_version("1", {}))
    assert first["D"] == dg.DataVersion(
        derived_data_version("1", {dg.AssetKey("V"): first["V"].value})
    )
    p.run("A")  # same code, same inputs: same version
    p.run("D")
    assert {n: p.version(n) for n in "AVD"} == first
    assert set(p.statuses().values()) == {FRESH}


def test_no_code_version_and_no_user_version_is_a_new_version_each_time() -> None:
    p = Project(chain("A", "V*", "D"))
    p.run("A", "D")
    before = p.version("A")
    p.run("A")
    assert p.version("A") != before
    assert p.statuses()["D"] is STALE


def test_materialize_result_data_version_is_used() -> None:
    p = Project(chain("A", "V*", "D"))
    p.run("A", "D", A="x")
    assert p.version("A") == dg.DataVersion("x")
    p.run("A", A="x")
    assert p.statuses()["D"] is FRESH
    p.run("A", A="y")
    assert p.statuses()["D"] is STALE


# External assets -----------------------------------------------------------------
def test_observable_source_asset_is_missing_before_and_fresh_once_observed() -> None:
    p = Project([node("raw", kind=OBSERVABLE), node("V", "raw", kind=VIEW), node("D", "V")])
    assert p.statuses() == {"raw": MISSING, "V": MISSING, "D": MISSING}
    p.observe("raw", "etag-1")
    assert p.statuses() == {"raw": FRESH, "V": FRESH, "D": MISSING}
    assert p.version("raw") == dg.DataVersion("etag-1")
    p.run("D")
    assert p.statuses() == {"raw": FRESH, "V": FRESH, "D": FRESH}
    p.observe("raw", "etag-1")  # observed again, unchanged
    assert p.statuses()["D"] is FRESH
    p.observe("raw", "etag-2")
    assert p.statuses() == {"raw": FRESH, "V": FRESH, "D": STALE}
    assert p.root_causes("D") == ["raw has a new data version (via V)"]


def test_reported_observation_sets_the_version_of_an_external_asset() -> None:
    p = Project([node("ext", kind=EXTERNAL), node("V", "ext", kind=VIRTUAL), node("D", "V")])
    assert p.statuses()["ext"] is MISSING
    p.instance.report_runless_asset_event(dg.AssetObservation("ext", data_version="1"))
    assert p.statuses() == {"ext": FRESH, "V": FRESH, "D": MISSING}
    p.run("D")
    p.instance.report_runless_asset_event(dg.AssetObservation("ext", data_version="1"))
    assert p.statuses()["D"] is FRESH
    p.instance.report_runless_asset_event(dg.AssetObservation("ext", data_version="2"))
    assert p.statuses() == {"ext": FRESH, "V": FRESH, "D": STALE}
    (cause,) = p.resolver().get_stale_root_causes("D")
    assert (str(cause), cause.key, cause.dependency) == (
        "ext has a new data version (via V)",
        entity("ext"),
        None,
    )
    assert p.version("ext") == dg.DataVersion("2")


def test_reported_materialization_of_an_external_asset_counts_like_an_observation() -> None:
    p = Project([node("ext", kind=EXTERNAL), node("D", "ext")])
    p.instance.report_runless_asset_event(dg.AssetMaterialization("ext", data_version="m1"))
    p.run("D")
    assert p.statuses() == {"ext": FRESH, "D": FRESH}
    p.instance.report_runless_asset_event(dg.AssetObservation("ext", data_version="o2"))
    assert p.version("ext") == dg.DataVersion("o2")
    assert p.root_causes("D") == ["ext has a new data version"]


def test_external_asset_directly_upstream_of_a_table() -> None:
    p = Project([node("ext", kind=EXTERNAL), node("D", "ext")])
    p.instance.report_runless_asset_event(dg.AssetObservation("ext", data_version="1"))
    p.run("D")
    p.instance.report_runless_asset_event(dg.AssetObservation("ext", data_version="2"))
    (cause,) = p.resolver().get_stale_root_causes("D")
    assert (str(cause), cause.category, cause.via) == ("ext has a new data version", DATA, ())


# The public surface: mapping, keys, versions, reads ------------------------------
def test_defs_stale_status_maps_every_asset() -> None:
    p = Project(
        [*chain("A", "B*", "C*", "D"), node("X", kind=EXTERNAL), node("Y", "X", kind=VIRTUAL)]
    )
    p.run("A")
    got = p.defs.stale_status(p.instance)
    assert set(got) == p.defs.resolve_asset_graph().get_all_asset_keys()
    assert all(isinstance(s, dg.StaleStatus) for s in got.values())
    assert got == p.resolver().get_all()
    assert {key.to_user_string(): s for key, s in got.items()} == {
        "A": FRESH,
        "B": FRESH,
        "C": FRESH,
        "D": MISSING,
        "X": MISSING,
        "Y": MISSING,
    }


def test_keys_may_be_strings_or_asset_keys() -> None:
    @dg.asset(key_prefix="raw")
    def orders() -> dg.Output:
        return dg.Output(1, data_version="o1")

    view = dg.AssetSpec(["stg", "orders"], deps=[orders.key], is_virtual=True)

    @dg.asset(key=["mart", "revenue"], deps=[view.key])
    def revenue() -> None:
        return None

    defs = dg.Definitions(assets=[orders, view, revenue])
    instance = empty_instance()
    dg.materialize([orders, view, revenue], instance=instance)

    @dg.asset(key_prefix="raw", name="orders")
    def orders2() -> dg.Output:
        return dg.Output(1, data_version="o2")

    dg.materialize([orders2, view, revenue], instance=instance, selection=["raw/orders"])
    resolver = dg.StaleStatusResolver(instance, defs)
    key = dg.AssetKey(["mart", "revenue"])
    assert resolver.get_status("mart/revenue") is resolver.get_status(key) is STALE
    assert resolver.get_status(["mart", "revenue"]) is STALE
    assert resolver.get_stale_causes("mart/revenue") == resolver.get_stale_causes(key)
    (cause,) = resolver.get_stale_root_causes("mart/revenue")
    assert cause.via == (dg.AssetKey(["stg", "orders"]),)
    assert str(cause) == "raw/orders has a new data version (via stg/orders)"
    assert resolver.get_stale_root_causes(key) == [cause]
    assert resolver.get_current_data_version("raw/orders") == dg.DataVersion("o2")
    assert resolver.get_current_data_version("stg/orders") == resolver.get_current_data_version(
        dg.AssetKey(["stg", "orders"])
    )


def test_unknown_key_raises_with_a_suggestion() -> None:
    p = Project(chain("A", "B*", "orders"))
    with pytest.raises(UnknownAssetError) as raised:
        p.resolver().get_status("order")
    assert str(raised.value) == (
        "No asset named 'order' in the definitions. Did you mean 'orders'? Fix: use one of "
        "the 3 defined keys (`sheer list defs` lists them)."
    )
    assert raised.value.key == dg.AssetKey("order")


def test_current_data_version_of_a_virtual_asset_changes_exactly_with_its_inputs() -> None:
    p = Project(
        [
            node("A"),
            node("X"),
            node("B", "A", kind=VIEW, code="1"),
            node("C", "B", kind=VIEW, code="1"),
            node("D", "C", code="1"),
        ]
    )
    p.run("A", "X", "D", A="a1", X="x1")
    seen = [p.version("C")]

    def changed() -> bool:
        now = p.version("C")
        moved = now != seen[-1]
        seen.append(now)
        return moved

    p.run("A", A="a1")
    assert not changed()  # same version again
    p.run("X", X="x2")
    assert not changed()  # not an ancestor
    p.set_code("D", "2")
    assert not changed()  # a descendant's definition
    p.run("D")
    assert not changed()
    p.run("A", A="a2")
    assert changed()  # an ancestor's new version
    p.set_code("B", "2")
    assert changed()  # a virtual definition in between
    p.set_code("C", "2")
    assert changed()  # its own definition
    p.run("B", "C")
    assert not changed()  # running the views records them, it does not change them
    p.set_code("C", "1")
    p.set_code("B", "1")
    p.run("A", A="a1")
    assert p.version("C") == seen[0]  # a pure function of definitions and inputs


def test_current_data_version_of_a_virtual_asset_with_no_materialized_ancestor_is_set() -> None:
    p = Project(chain("A", "B*"))
    assert p.version("A") is None
    missing = p.version("B")
    assert isinstance(missing, dg.DataVersion)  # the hash of "nothing behind it"
    p.run("A")
    assert p.version("B") != missing


def test_virtual_assets_nothing_reads_have_the_versions_they_would_have_if_read() -> None:
    # B and C are read by no non-virtual asset: the pass leaves their versions out and
    # computes them on request. They must equal the versions of the same assets read by E.
    unread = Project([*chain("A", "B*", "C*"), node("X"), node("V", "X", "B", kind=VIEW)])
    read = Project(
        [*chain("A", "B*", "C*"), node("X"), node("V", "X", "B", kind=VIEW), node("E", "C", "V")]
    )
    for p in (unread, read):
        p.run("A", "X", A="a1", X="x1")
    versions = {n: unread.version(n) for n in ("V", "C", "B")}  # children asked first
    assert versions == {n: read.version(n) for n in ("V", "C", "B")}
    assert all(isinstance(v, dg.DataVersion) for v in versions.values())
    unread.run("A", A="a2")
    assert unread.version("C") != versions["C"] and unread.version("V") != versions["V"]


def test_a_loop_of_get_status_over_every_key_costs_one_read() -> None:
    p = Project([*chain("A", "B*", "C*", "D"), *chain("X", "Y*", "Z"), node("E", "D", "Z")])
    p.run("A", "D", "X", "Z", "E")
    p.run("X")
    resolver = StaleStatusResolver(p.instance, p.defs)

    def every_question() -> None:
        for key in p.defs.resolve_asset_graph().toposorted_asset_keys[::-1]:
            resolver.get_status(key)
            resolver.get_stale_causes(key)
            resolver.get_stale_root_causes(key)
            resolver.get_current_data_version(key)

    (statement,) = statements_during(p.instance, every_question)
    assert "FROM asset_latest" in statement
    assert "event_logs" not in statement  # the index alone: no event body decoded
    assert statements_during(p.instance, resolver.get_all) == []
    assert p.root_causes("E") == ["X has a new data version (via Y)"]


def test_whole_graph_is_read_in_one_batch() -> None:
    p = Project([*chain("A", "B*", "C*", "D"), *chain("X", "Y*", "Z")])
    p.run("A", "D")
    resolver = StaleStatusResolver(p.instance, p.defs)

    def whole_graph() -> None:
        resolver.get_all()
        for name in "ABCDXYZ":
            resolver.get_stale_root_causes(name)
            resolver.get_current_data_version(name)

    assert len(statements_during(p.instance, whole_graph)) == 1


def test_a_resolver_answers_from_the_records_it_read_first() -> None:
    p = Project(chain("A", "B*", "D"))
    p.run("A", "D")
    resolver = p.resolver()
    assert resolver.get_status("D") is FRESH
    p.run("A")
    assert resolver.get_status("D") is FRESH  # as read; a new resolver sees the new run
    assert p.resolver().get_status("D") is STALE


def test_answers_do_not_depend_on_the_order_of_the_questions() -> None:
    p = Project(
        [
            *chain("A", "B*", "C*", "D"),
            node("E", "D"),
            node("F", "B", "E"),
            node("X", kind=EXTERNAL),
            node("Y", "X", "C", kind=VIRTUAL),
            node("Z", "Y"),
        ]
    )
    p.instance.report_runless_asset_event(dg.AssetObservation("X", data_version="x1"))
    p.run("A", "D", "E", "F", "Z")
    p.run("A")
    names = [n.name for n in p.nodes]

    def answers(resolver: StaleStatusResolver, order: Sequence[str]) -> dict[str, Any]:
        return {
            name: (
                resolver.get_status(name),
                resolver.get_stale_causes(name),
                resolver.get_stale_root_causes(name),
                resolver.get_current_data_version(name),
            )
            for name in order
        }

    expected = answers(p.resolver(), names)
    assert answers(p.resolver(), list(reversed(names))) == expected
    versions_first = p.resolver()
    for name in names:
        versions_first.get_current_data_version(name)
    assert answers(versions_first, names) == expected
    after_all = p.resolver()
    after_all.get_all()
    assert answers(after_all, names) == expected
    assert expected["F"][0] is STALE
    assert [str(c) for c in expected["F"][2]] == ["A has a new data version (via B)"]


def test_get_all_leaves_the_garbage_collector_as_it_found_it() -> None:
    p = Project(chain("A", "B*", "D"))
    p.run("A", "D")
    was = gc.isenabled()
    try:
        gc.enable()
        p.resolver().get_all()
        assert gc.isenabled()
        p.resolver().get_status("D")
        assert gc.isenabled()
        gc.disable()
        p.resolver().get_all()
        assert not gc.isenabled()
    finally:
        if was:
            gc.enable()


def write_run_records(instance: dg.Instance, graph: Any, versions: Mapping[str, str]) -> None:
    """Materializations of every non-virtual asset as a run writes them, in one batch."""
    view = VersionView(graph, lambda key: None)
    events = []
    for key in graph.toposorted_asset_keys:
        spec = graph.get(key)
        if spec.is_virtual:
            continue
        prov = view.provenance(key)
        version = versions.get(key.to_user_string()) or derived_data_version(
            "1", prov.input_versions
        )
        view.update(key, version)
        events.append(
            NewEvent(
                event_type=EventType.ASSET_MATERIALIZATION,
                run_id="r",
                asset_key=key,
                data={
                    "data_version": version,
                    "code_version": spec.code_version,
                    "provenance": prov.to_json(),
                },
            )
        )
    instance.store_events(events)


def _noop() -> None:
    return None


@pytest.mark.parametrize("virtual_every", [0, 2])
def test_long_chains_are_resolved_without_recursion(virtual_every: int, backend: str) -> None:
    # A 100,000-deep chain: nothing in the resolver may recurse on it. The resolver is
    # the same on every backend, so the others only check a shorter chain's rows.
    n = 100_000 if backend == "sqlite" else 2_500
    assets: list[Any] = [dg.asset(name="n0", code_version="1")(_noop)]
    for i in range(1, n):
        if virtual_every and i % virtual_every == 1 and i < n - 1:
            assets.append(dg.AssetSpec(f"n{i}", deps=[f"n{i - 1}"], is_virtual=True))
        else:
            assets.append(dg.asset(name=f"n{i}", deps=[f"n{i - 1}"], code_version="1")(_noop))
    defs = dg.Definitions(assets=assets)
    instance = empty_instance()
    write_run_records(instance, defs.resolve_asset_graph(), {"n0": "v1"})
    root_only = dg.Definitions(assets=assets[:1]).resolve_asset_graph()
    write_run_records(instance, root_only, {"n0": "v2"})
    last = f"n{n - 1}"
    resolver = dg.StaleStatusResolver(instance, defs)
    assert resolver.get_status(last) is STALE  # one asset first: its whole upstream
    (root,) = resolver.get_stale_root_causes(last)
    assert (root.key, root.dependency, root.category) == (entity("n0"), None, DATA)
    assert str(root) == (
        "n0 has a new data version (via n1)" if virtual_every else "n0 has a new data version"
    )
    # The direct causes nest as deep as the chain: compared, hashed and shown all the same.
    (direct,) = resolver.get_stale_causes(last)
    (again,) = dg.StaleStatusResolver(instance, defs).get_stale_causes(last)
    assert direct == again and hash(direct) == hash(again) and direct is not again
    assert repr(direct).startswith("StaleCause(key=AssetKeyPartitionKey(")
    depth, cause = 0, direct
    while cause.children:
        depth, cause = depth + 1, cause.children[0]
    assert cause.key == entity("n0")  # the leaf is the root cause
    assert depth == (n // 2 if virtual_every else n - 1)  # one level per stale asset
    statuses = dg.StaleStatusResolver(instance, defs).get_all()
    by_kind = {s for k, s in statuses.items() if k != dg.AssetKey("n0")}
    assert statuses[dg.AssetKey("n0")] is FRESH
    assert by_kind == ({STALE, FRESH} if virtual_every else {STALE})


def test_resolver_accepts_an_asset_graph() -> None:
    p = Project(chain("A", "B*", "D"))
    p.run("A")
    graph = p.defs.resolve_asset_graph()
    assert StaleStatusResolver(p.instance, graph).get_all() == p.resolver().get_all()


def test_stale_cause_reads_like_dagster() -> None:
    cause = dg.StaleCause(
        dg.AssetKey("D"), DATA, "has a new dependency data version", dependency=dg.AssetKey("A")
    )
    assert cause.key == entity("D")  # an AssetKey is made an entity, as in Dagster
    assert cause.asset_key == dg.AssetKey("D")
    assert cause.partition_key is None
    assert cause.dependency == entity("A")
    assert cause.dependency_asset_key == dg.AssetKey("A")
    assert cause.dependency_partition_key is None
    assert cause.sort_key == "D/A"
    assert str(cause) == "D has a new dependency data version"
    root = dg.StaleCause(dg.AssetKey("A"), DATA, "has a new data version", via=k("C", "B"))
    assert str(root) == "A has a new data version (via C, B)"


def test_new_dependency_makes_an_asset_stale() -> None:
    p = Project([node("A"), node("E"), node("D", "A")])
    p.run("A", "E", "D")
    p.nodes = [node("A"), node("E"), node("D", "A", "E")]
    assert p.statuses()["D"] is STALE
    assert p.root_causes("D") == ["D has a new dependency on E"]
    (cause,) = p.resolver().get_stale_root_causes("D")
    assert (cause.key, cause.category, cause.dependency) == (entity("D"), DEPS, entity("E"))


def test_removed_dependency_makes_an_asset_stale() -> None:
    p = Project([node("A"), node("E"), node("D", "A", "E")])
    p.run("A", "E", "D")
    p.nodes = [node("A"), node("E"), node("D", "A")]
    assert p.statuses()["D"] is STALE
    (cause,) = p.resolver().get_stale_root_causes("D")
    assert (str(cause), cause.category, cause.dependency) == (
        "D removed dependency on E",
        DEPS,
        entity("E"),
    )
    p.run("D")
    assert p.statuses()["D"] is FRESH


def test_new_dependency_of_a_view_makes_its_readers_stale() -> None:
    p = Project([node("A"), node("E"), node("V", "A", kind=VIEW), node("D", "V")])
    p.run("A", "E", "D")
    p.nodes = [node("A"), node("E"), node("V", "A", "E", kind=VIEW), node("D", "V")]
    assert p.statuses()["D"] is STALE
    assert p.root_causes("D") == ["D has a new dependency on E (via V)"]


# Property: the resolver agrees with a brute-force reference ----------------------
@dataclass
class Reference:
    """DESIGN.md's rules, computed naively from what the test did (never from storage).

    A virtual asset's version is the nested tuple (code, sorted((parent, version))):
    equal exactly when its hash would be.
    """

    nodes: Mapping[str, Node]
    code: dict[str, str | None]
    stored: dict[str, Any] = field(default_factory=dict)  # name -> version
    recorded: dict[str, tuple[str | None, dict[str, Any]]] = field(default_factory=dict)
    ran_virtual: dict[str, str | None] = field(default_factory=dict)  # view -> code at run

    def version(self, name: str) -> Any:
        n = self.nodes[name]
        if n.kind in (VIEW, VIRTUAL):
            return (
                "virtual",
                self.code[name],
                tuple(sorted((p, self.version(p)) for p in n.parents)),
            )
        return self.stored.get(name)

    def nearest(self, name: str) -> set[str]:
        out: set[str] = set()
        for p in self.nodes[name].parents:
            out |= self.nearest(p) if self.nodes[p].kind in (VIEW, VIRTUAL) else {p}
        return out

    def status(self, name: str) -> dg.StaleStatus:
        n = self.nodes[name]
        if n.kind in (VIEW, VIRTUAL):
            ancestors = self.nearest(name)
            if ancestors and all(self.status(a) is MISSING for a in ancestors):
                return MISSING
            if not ancestors and name not in self.ran_virtual:
                return MISSING
            if name in self.ran_virtual and self.ran_virtual[name] != self.code[name]:
                return STALE
            return FRESH
        if n.kind in (EXTERNAL, OBSERVABLE):
            return FRESH if name in self.stored else MISSING
        if name not in self.recorded:
            return MISSING
        code, inputs = self.recorded[name]
        if code != self.code[name]:
            return STALE
        if any(inputs.get(p, "absent") != self.version(p) for p in n.parents):
            return STALE
        if any(self.status(a) is STALE for a in self.nearest(name)):
            return STALE
        return FRESH

    def materialize(self, name: str, version: str | None, counter: itertools.count) -> None:
        n = self.nodes[name]
        if n.kind == VIEW:
            self.ran_virtual[name] = self.code[name]
            return
        inputs = {p: self.version(p) for p in n.parents}
        self.recorded[name] = (self.code[name], inputs)
        if version is not None:
            self.stored[name] = version
        elif self.code[name] is not None:
            self.stored[name] = ("derived", self.code[name], tuple(sorted(inputs.items())))
        else:
            self.stored[name] = ("unique", next(counter))


KINDS = (ASSET, ASSET, ASSET, VIEW, VIRTUAL)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[Node], list[tuple[Any, ...]]]:
    n = draw(st.integers(2, 8))
    nodes = []
    for i in range(n):
        parents = (
            draw(st.lists(st.sampled_from([f"n{j}" for j in range(i)]), max_size=3, unique=True))
            if i
            else []
        )
        kinds = KINDS if parents else (*KINDS, EXTERNAL)
        kind = draw(st.sampled_from(kinds))
        code = draw(st.sampled_from([None, "c0"]))
        nodes.append(Node(f"n{i}", tuple(sorted(parents)), kind, code))
    runnable = [x.name for x in nodes if x.kind in (ASSET, VIEW)]
    external = [x.name for x in nodes if x.kind == EXTERNAL]
    versions = st.sampled_from([None, "v0", "v1"])
    actions = []
    action_kinds = ["run", "code"] + (["observe"] if external else [])
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(action_kinds))
        if kind == "run" and runnable:
            chosen = draw(st.lists(st.sampled_from(runnable), min_size=1, max_size=3, unique=True))
            actions.append(("run", {c: draw(versions) for c in chosen}))
        elif kind == "observe":
            actions.append(
                ("observe", draw(st.sampled_from(external)), draw(st.sampled_from(["v0", "v1"])))
            )
        else:
            actions.append(
                (
                    "code",
                    draw(st.sampled_from([x.name for x in nodes])),
                    draw(st.sampled_from([None, "c0", "c1"])),
                )
            )
    return nodes, actions


def check_against_reference(project: Project, ref: Reference) -> None:
    resolver = project.resolver()
    got = {key.to_user_string(): s for key, s in resolver.get_all().items()}
    want = {name: ref.status(name) for name in ref.nodes}
    assert got == want
    for name, status in got.items():
        causes = resolver.get_stale_causes(name)
        roots = resolver.get_stale_root_causes(name)
        assert bool(causes) == (status is STALE) == bool(roots)
        upstream = {
            key.to_user_string() for key in resolver.asset_graph.upstream_keys([dg.AssetKey(name)])
        }
        idents = {(c.category, c.dependency or c.key, c.reason.split(" (via ")[0]) for c in roots}
        assert len(idents) == len(roots)  # one root cause per change, whatever the paths
        for cause in roots:
            assert cause.children is None
            assert (cause.dependency or cause.key).to_user_string() in upstream
    # One asset alone, on a fresh resolver, agrees with the whole-graph pass.
    for name in ref.nodes:
        assert project.resolver().get_status(name) is want[name]


def _apply(
    project: Project, ref: Reference, action: Sequence[Any], counter: itertools.count, graph: Any
) -> None:
    if action[0] == "run":
        chosen: dict[str, str | None] = action[1]
        project.run(*chosen, **chosen)
        for name in graph.toposort(dg.AssetKey(c) for c in chosen):
            ref.materialize(name.to_user_string(), chosen[name.to_user_string()], counter)
    elif action[0] == "observe":
        _, name, version = action
        project.instance.report_runless_asset_event(dg.AssetObservation(name, data_version=version))
        ref.stored[name] = version
    else:
        _, name, code = action
        project.set_code(name, code)
        ref.code[name] = code


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_resolver_agrees_with_a_brute_force_reference(
    scenario: tuple[list[Node], list[tuple[Any, ...]]],
) -> None:
    nodes, actions = scenario
    project = Project(nodes)
    ref = Reference({n.name: n for n in nodes}, code={n.name: n.code for n in nodes})
    graph = project.defs.resolve_asset_graph()
    counter = itertools.count()
    check_against_reference(project, ref)
    for action in actions:
        _apply(project, ref, action, counter, graph)
        check_against_reference(project, ref)


def test_a_materialization_reported_outside_a_run_is_fresh_until_an_input_changes():
    @dg.asset(name="A")
    def a():
        return 1

    @dg.asset(name="B", is_virtual=True, ins={"x": dg.AssetIn("A")})
    def b(x):
        return x

    @dg.asset(name="D", code_version="1", ins={"x": dg.AssetIn("B")})
    def d(x):
        return x

    defs = dg.Definitions(assets=[a, b, d])
    instance = empty_instance()
    defs.materialize(["A"], instance=instance)
    instance.report_runless_asset_event(dg.AssetMaterialization("D"))
    assert dg.StaleStatusResolver(instance, defs).get_status("D") is dg.StaleStatus.FRESH
    defs.materialize(["A"], instance=instance)
    resolver = dg.StaleStatusResolver(instance, defs)
    assert resolver.get_status("D") is dg.StaleStatus.STALE
    assert [str(c) for c in resolver.get_stale_root_causes("D")] == [
        "A has a new data version (via B)"
    ]


def test_a_parent_never_materialized_is_recorded_on_every_backend(instance: Any) -> None:
    """Its missing version makes the exact inputs text, which once began with a NUL that
    PostgreSQL text refuses: the materialization failed there."""
    up = dg.AssetSpec("up")

    @dg.asset(deps=["up"])
    def down() -> int:
        return 1

    assert dg.materialize([up, down], selection=["down"], instance=instance).success
    assert (
        dg.StaleStatusResolver(instance, dg.Definitions(assets=[up, down])).get_status("down")
        == dg.StaleStatus.FRESH
    )
