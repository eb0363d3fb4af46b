"""Partitions in the UI's JSON API: counts by status on each partitioned node of the
graph, every partition's status in the asset payload, one partition's causes through
`?partition=PK`, the errors for keys an asset lacks, and one batched read for all of it
however many assets and partitions there are."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.exceptions import StarletteDeprecationWarning

import sheer as dg
from fixtures.sql import counting_queries, statements_during
from sheer.web import api
from sheer.web.app import create_app

with warnings.catch_warnings():  # Starlette asks for httpx2 instead; httpx works
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

pytestmark = pytest.mark.filterwarnings("ignore::starlette.exceptions.StarletteDeprecationWarning")

BASE = "http://127.0.0.1:3000"  # a loopback name, as a browser would use
DAILY = dg.DailyPartitionsDefinition(start_date="2026-01-01", end_date="2026-01-06")
DAYS = DAILY.get_partition_keys()


def chain(prefix: str = "", pdef: Any = DAILY, *, spec_form: bool = True) -> list[Any]:
    """A (daily table) -> V (daily view, in either form) -> D (daily table)."""

    @dg.asset(name=f"{prefix}A", partitions_def=pdef)
    def a() -> int:
        return 1

    if spec_form:
        view: Any = dg.AssetSpec(
            f"{prefix}V", deps=[f"{prefix}A"], partitions_def=pdef, is_virtual=True
        )
    else:

        @dg.asset(name=f"{prefix}V", deps=[f"{prefix}A"], partitions_def=pdef, is_virtual=True)
        def view() -> None:
            return None

    @dg.asset(name=f"{prefix}D", deps=[f"{prefix}V"], partitions_def=pdef)
    def d() -> int:
        return 2

    return [a, view, d]


@dg.asset
def raw() -> int:
    return 3


def run(assets: list[Any], instance: dg.Instance, selection: list[str], keys: list[str]) -> None:
    for key in keys:
        dg.materialize(assets, selection=selection, partition_key=key, instance=instance)


@pytest.fixture
def instance(tmp_path: Path) -> dg.Instance:
    return dg.Instance.from_url(f"sqlite:///{tmp_path / 'sheer.db'}")


@pytest.fixture(params=[True, False], ids=["spec-view", "asset-view"])
def assets(request: pytest.FixtureRequest) -> list[Any]:
    return [*chain(spec_form=request.param), raw]


@pytest.fixture
def client(assets: list[Any], instance: dg.Instance) -> Iterator[TestClient]:
    defs = dg.Definitions(assets=assets)
    with TestClient(create_app(defs, instance, port=3000), base_url=BASE) as c:
        yield c


@pytest.fixture
def one_day_changed(assets: list[Any], instance: dg.Instance) -> None:
    """Every partition of A and D materialized, then A[2026-01-03] again."""
    run(assets, instance, ["A", "D"], DAYS)
    run(assets, instance, ["A"], ["2026-01-03"])


def error_of(response: Any, status: int) -> str:
    assert response.status_code == status, response.text
    assert "Traceback" not in response.text
    return str(response.json()["error"])


# The graph: counts by status -------------------------------------------------------------
def test_each_partitioned_node_carries_its_counts_by_status(client: TestClient) -> None:
    graph = {a["key"]: a for a in client.get("/api/graph").json()["assets"]}
    missing = {"total": 5, "counts": {"FRESH": 0, "STALE": 0, "MISSING": 5}}
    assert graph["A"]["partitions"] == missing
    assert graph["D"]["partitions"] == missing
    assert graph["V"]["partitions"] == missing  # a view is missing until what it reads exists
    assert graph["raw"]["partitions"] is None
    assert (graph["D"]["status"], graph["raw"]["status"]) == ("MISSING", "MISSING")


@pytest.mark.usefixtures("one_day_changed")
def test_one_changed_partition_counts_one_stale_partition_downstream(client: TestClient) -> None:
    graph = {a["key"]: a for a in client.get("/api/graph").json()["assets"]}
    assert graph["D"]["partitions"] == {
        "total": 5,
        "counts": {"FRESH": 4, "STALE": 1, "MISSING": 0},
    }
    # A partitioned asset's status as a whole is the worst of its partitions, as in
    # `sheer status`; its causes are per partition (`?partition=`), not on the node.
    assert (graph["D"]["status"], graph["D"]["root_causes"]) == ("STALE", [])
    for key in ("A", "V"):  # a view shows current data: never stale from upstream
        assert graph[key]["partitions"]["counts"] == {"FRESH": 5, "STALE": 0, "MISSING": 0}
        assert graph[key]["status"] == "FRESH"


def test_some_partitions_missing_make_the_asset_missing(
    client: TestClient, assets: list[Any], instance: dg.Instance
) -> None:
    run(assets, instance, ["A", "D"], ["2026-01-01", "2026-01-02"])
    d = next(a for a in client.get("/api/graph").json()["assets"] if a["key"] == "D")
    assert d["partitions"]["counts"] == {"FRESH": 2, "STALE": 0, "MISSING": 3}
    assert d["status"] == "MISSING"


# The asset: every partition --------------------------------------------------------------
@pytest.mark.usefixtures("one_day_changed")
def test_the_asset_payload_lists_every_partition_in_order_with_its_status(
    client: TestClient,
) -> None:
    d = client.get("/api/assets/D").json()
    assert d["partitions_def"] == "Daily, starting 2026-01-01 UTC."
    assert d["partitions"] == [
        {"key": "2026-01-01", "status": "FRESH"},
        {"key": "2026-01-02", "status": "FRESH"},
        {"key": "2026-01-03", "status": "STALE"},
        {"key": "2026-01-04", "status": "FRESH"},
        {"key": "2026-01-05", "status": "FRESH"},
    ]
    assert d["status"] == "STALE"
    assert [m["partition"] for m in d["materializations"]] == list(reversed(DAYS))
    plain = client.get("/api/assets/raw").json()
    assert (plain["partitions_def"], plain["partitions"]) == (None, None)


# One partition: status and causes ---------------------------------------------------------
@pytest.mark.usefixtures("one_day_changed")
def test_a_stale_partition_names_the_changed_upstream_partition_through_the_view(
    client: TestClient,
) -> None:
    payload = client.get("/api/assets/D", params={"partition": "2026-01-03"}).json()
    assert (payload["key"], payload["partition"], payload["status"]) == (
        "D",
        "2026-01-03",
        "STALE",
    )
    assert payload["data_version"]
    assert payload["root_causes"] == [
        {
            "text": "A[2026-01-03] has a new data version (via V)",
            "category": "DATA",
            "reason": "has a new data version",
            "key": "A",
            "partition": "2026-01-03",
            "dependency": None,
            "via": ["V"],
            "path": ["A", "V", "D"],
        }
    ]
    [direct] = payload["stale_causes"]
    assert (direct["key"], direct["partition"], direct["dependency"], direct["path"]) == (
        "D",
        "2026-01-03",
        "A",
        ["A", "V", "D"],
    )


@pytest.mark.usefixtures("one_day_changed")
def test_a_fresh_partition_has_no_causes(client: TestClient) -> None:
    payload = client.get("/api/assets/D?partition=2026-01-02").json()
    assert (payload["status"], payload["stale_causes"], payload["root_causes"]) == (
        "FRESH",
        [],
        [],
    )


def test_a_partition_never_materialized_is_missing(client: TestClient) -> None:
    payload = client.get("/api/assets/D?partition=2026-01-04").json()
    assert (payload["status"], payload["data_version"], payload["root_causes"]) == (
        "MISSING",
        None,
        [],
    )


def test_keys_with_separators_travel_in_the_query(instance: dg.Instance) -> None:
    regions = dg.StaticPartitionsDefinition(["eu/west", "us|east", "a&b=c"])
    assets = chain(pdef=regions)
    run(assets, instance, ["A", "D"], ["eu/west", "us|east", "a&b=c"])
    run(assets, instance, ["A"], ["us|east"])
    app = create_app(dg.Definitions(assets=assets), instance, port=3000)
    with TestClient(app, base_url=BASE) as c:
        statuses = {p["key"]: p["status"] for p in c.get("/api/assets/D").json()["partitions"]}
        assert statuses == {"eu/west": "FRESH", "us|east": "STALE", "a&b=c": "FRESH"}
        for key, status in statuses.items():
            payload = c.get("/api/assets/D", params={"partition": key}).json()
            assert (payload["partition"], payload["status"]) == (key, status)


# Errors -----------------------------------------------------------------------------------
def test_an_unknown_partition_is_400_naming_the_asset_the_key_and_the_fix(
    client: TestClient,
) -> None:
    message = error_of(client.get("/api/assets/D?partition=2026-01-09"), 400)
    assert message == (
        "Partition '2026-01-09' is not a partition of 'D' (its keys run from '2026-01-01' "
        "to '2026-01-05'). Did you mean '2026-01-05' or '2026-01-04' or '2026-01-03'? "
        "Fix: pass one of its partition keys."
    )


def test_a_partition_of_an_unpartitioned_asset_is_400(client: TestClient) -> None:
    message = error_of(client.get("/api/assets/raw?partition=2026-01-01"), 400)
    assert message == (
        "Asset 'raw' is not partitioned, so it has no partition '2026-01-01'. "
        "Fix: ask about 'raw' without partition_key=."
    )


def test_an_empty_partition_is_400_and_an_unknown_asset_404(client: TestClient) -> None:
    message = error_of(client.get("/api/assets/D?partition="), 400)
    assert message == (
        "Empty ?partition= for asset 'D'. Fix: give one of its partition keys, e.g. "
        "?partition=2026-01-02, or leave the parameter out for the whole asset."
    )
    assert "nope" in error_of(client.get("/api/assets/nope?partition=2026-01-01"), 404)


# One batched read -------------------------------------------------------------------------
def many_chains(chains: int, pdef: Any) -> list[Any]:
    return [x for i in range(chains) for x in chain(f"c{i}_", pdef, spec_form=i % 2 == 0)]


def test_the_graph_payload_reads_storage_the_same_few_times_for_any_size(
    instance: dg.Instance,
) -> None:
    year = dg.DailyPartitionsDefinition(start_date="2025-01-01", end_date="2026-01-01")
    small_assets, big_assets = many_chains(2, DAILY), many_chains(12, year)
    for assets, days in ((small_assets, DAYS), (big_assets, year.get_partition_keys()[:3])):
        for i in range(2):
            run(assets, instance, [f"c{i}_A", f"c{i}_D"], days)
            run(assets, instance, [f"c{i}_A"], days[1:2])
    small, big = dg.Definitions(assets=small_assets), dg.Definitions(assets=big_assets)
    few = statements_during(instance, lambda: api.graph_payload(small, instance))
    many = statements_during(instance, lambda: api.graph_payload(big, instance))
    assert len(many) == len(few)
    # One read of every entity's latest versions (the index alone), and the recent runs.
    [latest] = [s for s in many if "asset_latest" in s]
    assert "WHERE" not in latest and "event_logs" not in latest
    assert sum("FROM runs" in s for s in many) == 1
    counts = {a["key"]: a["partitions"] for a in api.graph_payload(big, instance)["assets"]}
    assert counts["c0_D"]["counts"] == {"FRESH": 2, "STALE": 1, "MISSING": 362}
    assert counts["c5_D"]["counts"] == {"FRESH": 0, "STALE": 0, "MISSING": 365}


def test_the_asset_payload_reads_the_same_for_5_and_365_partitions(
    instance: dg.Instance,
) -> None:
    year = dg.DailyPartitionsDefinition(start_date="2025-01-01", end_date="2026-01-01")
    small = dg.Definitions(assets=many_chains(1, DAILY))
    big = dg.Definitions(assets=many_chains(1, year))
    key = dg.AssetKey("c0_D")
    few = statements_during(instance, lambda: api.asset_payload(small, instance, key))
    many = statements_during(instance, lambda: api.asset_payload(big, instance, key))
    assert len(many) == len(few)
    assert len(api.asset_payload(big, instance, key)["partitions"]) == 365


def test_a_partitions_causes_read_the_same_for_5_and_365_partitions(
    instance: dg.Instance,
) -> None:
    year = dg.DailyPartitionsDefinition(start_date="2025-01-01", end_date="2026-01-01")
    reads = []
    for pdef in (DAILY, year):
        assets = chain(f"{len(pdef.get_partition_keys())}_", pdef)
        a, d = (x.key.to_user_string() for x in (assets[0], assets[2]))
        days = pdef.get_partition_keys()
        run(assets, instance, [a, d], days[:3])
        run(assets, instance, [a], days[1:2])
        defs, key = dg.Definitions(assets=assets), dg.AssetKey(d)
        payload = api.partition_payload(defs, instance, key, days[1])
        assert [c["text"] for c in payload["root_causes"]] == [
            f"{a}[{days[1]}] has a new data version (via {assets[1].key.to_user_string()})"
        ]
        with counting_queries(instance) as statements:
            api.partition_payload(defs, instance, key, days[1])
        reads.append(statements)
    assert len(reads[0]) == len(reads[1])
    # The index once, and the provenances of the asset asked about (all its partitions
    # in one query): nothing per partition.
    index, provenances = reads[1]
    assert "WHERE" not in index and "FROM asset_latest" in index
    assert "provenance" in provenances and "asset_latest.asset_key = ?" in provenances
