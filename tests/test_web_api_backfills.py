"""Backfills in the UI's JSON API: create one (it runs in the server, in a thread), list
them newest first with their progress from one count query, show one per asset, cancel
and resume it, and the errors for bad bodies, unknown assets, keys and ids, word for word
where the message is the web's own."""

from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.exceptions import StarletteDeprecationWarning

import sheer as dg
from fixtures.sql import statements_during
from sheer.backfills import create_backfill, execute_backfill
from sheer.web import api
from sheer.web.app import create_app

with warnings.catch_warnings():  # Starlette asks for httpx2 instead; httpx works
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

from test_web_api import ORIGIN, assert_error, session_token

pytestmark = pytest.mark.filterwarnings("ignore::starlette.exceptions.StarletteDeprecationWarning")

DAILY = dg.DailyPartitionsDefinition(start_date="2026-01-01", end_date="2026-01-06")
DAYS = DAILY.get_partition_keys()
ENDED = {"COMPLETED", "FAILED", "CANCELED"}
GATE = threading.Event()  # `slow` waits on it, so a test can cancel a backfill mid-way


@dg.asset(partitions_def=DAILY)
def raw() -> int:
    return 1


@dg.asset(partitions_def=DAILY, deps=[raw])
def report() -> int:
    return 2


@dg.asset(partitions_def=DAILY)
def slow() -> int:
    assert GATE.wait(30)
    return 3


@dg.asset
def plain() -> int:
    return 4


@pytest.fixture
def defs() -> dg.Definitions:
    return dg.Definitions(assets=[raw, report, slow, plain])


@pytest.fixture
def instance(tmp_path: Path) -> dg.Instance:
    return dg.Instance.from_url(f"sqlite:///{tmp_path / 'sheer.db'}")


@pytest.fixture
def client(defs: dg.Definitions, instance: dg.Instance) -> Iterator[TestClient]:
    GATE.set()
    with TestClient(create_app(defs, instance, port=3000), base_url=ORIGIN) as c:
        yield c
    GATE.set()  # let a waiting run end before the instance goes


def post(client: TestClient, path: str, body: Any = None) -> Any:
    headers = {"Origin": ORIGIN, "X-Sheer-Token": session_token(client)}
    return client.post(path, json=body, headers=headers)


def wait_until_ended(client: TestClient, backfill_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        shown = client.get(f"/api/backfills/{backfill_id}").json()
        if shown["status"] in ENDED:
            return shown  # type: ignore[no-any-return]
        time.sleep(0.05)
    raise AssertionError(f"backfill {backfill_id} did not end")


def counts(total: int, done: int = 0, failed: int = 0, in_progress: int = 0) -> dict[str, int]:
    remaining = total - done - failed - in_progress
    return {
        "total": total,
        "done": done,
        "failed": failed,
        "in_progress": in_progress,
        "remaining": remaining,
    }


# Creating and following a backfill -------------------------------------------------------
def test_a_backfill_posted_over_a_range_runs_in_the_server_and_completes(
    client: TestClient, instance: dg.Instance
) -> None:
    body = {"selection": "raw report", "partition_range": ["2026-01-02", "2026-01-04"]}
    response = post(client, "/api/backfills", body)
    assert response.status_code == 201, response.text
    backfill_id = response.json()["backfill_id"]
    shown = wait_until_ended(client, backfill_id)
    assert shown["status"] == "COMPLETED"
    assert shown["backfill_id"] == backfill_id
    assert shown["assets"] == ["raw", "report"]
    assert shown["tags"] == {"sheer/from_ui": "true"}
    assert shown["error"] is None
    assert shown["progress"] == counts(6, done=6)
    assert shown["per_asset"] == {"raw": counts(3, done=3), "report": counts(3, done=3)}
    assert instance.get_materialized_partitions(dg.AssetKey("report")) == {
        "2026-01-02",
        "2026-01-03",
        "2026-01-04",
    }


def test_a_backfill_of_listed_partitions_runs_only_those(
    client: TestClient, instance: dg.Instance
) -> None:
    response = post(client, "/api/backfills", {"selection": "raw", "partitions": DAYS[::2]})
    assert response.status_code == 201, response.text
    shown = wait_until_ended(client, response.json()["backfill_id"])
    assert shown["per_asset"] == {"raw": counts(3, done=3)}
    assert instance.get_materialized_partitions(dg.AssetKey("raw")) == set(DAYS[::2])


def test_the_list_is_newest_first_with_each_ones_progress(
    client: TestClient, defs: dg.Definitions, instance: dg.Instance
) -> None:
    older = create_backfill(defs, instance, "raw", partitions=DAYS[:2])
    execute_backfill(defs, instance, older.backfill_id)
    newer = create_backfill(defs, instance, "raw report", partition_range=(DAYS[0], DAYS[-1]))
    listed = client.get("/api/backfills").json()["backfills"]
    assert [b["backfill_id"] for b in listed] == [newer.backfill_id, older.backfill_id]
    assert [b["status"] for b in listed] == ["REQUESTED", "COMPLETED"]
    assert listed[0]["progress"] == counts(10)
    assert listed[1]["progress"] == counts(2, done=2)
    assert [b["backfill_id"] for b in client.get("/api/backfills?limit=1").json()["backfills"]] == [
        newer.backfill_id
    ]


def test_the_list_counts_every_backfill_in_one_query(
    defs: dg.Definitions, instance: dg.Instance
) -> None:
    def listing() -> None:
        api.backfills_payload(instance, 50)

    create_backfill(defs, instance, "raw", partitions=DAYS[:1])
    few = statements_during(instance, listing)
    for _ in range(9):
        record = create_backfill(defs, instance, "raw report", partitions=DAYS)
        execute_backfill(defs, instance, record.backfill_id)
    many = statements_during(instance, listing)
    assert len(many) == len(few) == 2  # the backfills, then all their counts grouped
    assert sum("backfill_entities" in s for s in many) == 1
    assert len(api.backfills_payload(instance, 50)["backfills"]) == 10


def test_the_json_is_the_shape_of_sheer_backfill_show(
    client: TestClient, defs: dg.Definitions, instance: dg.Instance
) -> None:
    record = create_backfill(defs, instance, "report", partitions=DAYS[:1], tags={"team": "x"})
    shown = client.get(f"/api/backfills/{record.backfill_id}").json()
    assert set(shown) == {
        "backfill_id",
        "status",
        "created_at",
        "updated_at",
        "assets",
        "tags",
        "error",
        "progress",
        "per_asset",
    }
    assert (shown["tags"], shown["per_asset"]) == ({"team": "x"}, {"report": counts(1)})


# Cancel and resume ------------------------------------------------------------------------
def test_cancel_stops_further_runs_and_resume_finishes_the_rest(
    client: TestClient, instance: dg.Instance
) -> None:
    GATE.clear()  # the first run of `slow` waits until the cancel is in
    response = post(client, "/api/backfills", {"selection": "slow", "partitions": DAYS[:3]})
    backfill_id = response.json()["backfill_id"]
    canceled = post(client, f"/api/backfills/{backfill_id}/cancel")
    assert canceled.status_code == 200, canceled.text
    assert canceled.json()["status"] == "CANCELED"
    GATE.set()
    shown = wait_until_ended(client, backfill_id)
    assert shown["status"] == "CANCELED"
    assert shown["progress"]["done"] < 3
    resumed = post(client, f"/api/backfills/{backfill_id}/resume")
    assert resumed.status_code == 200, resumed.text
    assert resumed.json()["status"] == "REQUESTED"
    shown = wait_until_ended(client, backfill_id)
    assert (shown["status"], shown["progress"]) == ("COMPLETED", counts(3, done=3))
    assert instance.get_materialized_partitions(dg.AssetKey("slow")) == set(DAYS[:3])


def test_canceling_a_completed_backfill_says_there_is_nothing_to_cancel(
    client: TestClient, defs: dg.Definitions, instance: dg.Instance
) -> None:
    record = create_backfill(defs, instance, "raw", partitions=DAYS[:1])
    execute_backfill(defs, instance, record.backfill_id)
    message = assert_error(post(client, f"/api/backfills/{record.backfill_id}/cancel"), 400)
    assert message == (
        f"Backfill {record.backfill_id} is COMPLETED: there is nothing to cancel. Fix: "
        f"nothing; `sheer backfill show {record.backfill_id}` shows what it did."
    )
    message = assert_error(post(client, f"/api/backfills/{record.backfill_id}/resume"), 400)
    assert message.startswith(f"Backfill {record.backfill_id} is COMPLETED: every partition")


# Errors -----------------------------------------------------------------------------------
NOT_FOUND = (
    "There is no backfill 'nosuchid' in this instance. Fix: run `sheer backfill list` to "
    "see the backfills and their ids (and check --instance)."
)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/backfills/nosuchid"),
        ("post", "/api/backfills/nosuchid/cancel"),
        ("post", "/api/backfills/nosuchid/resume"),
    ],
)
def test_an_unknown_backfill_id_is_404_with_the_clis_message(
    client: TestClient, method: str, path: str
) -> None:
    response = client.get(path) if method == "get" else post(client, path)
    assert assert_error(response, 404) == NOT_FOUND


def test_an_unknown_asset_is_404_with_did_you_mean(client: TestClient) -> None:
    response = post(client, "/api/backfills", {"selection": "rwa", "partitions": DAYS[:1]})
    message = assert_error(response, 404)
    assert message == (
        "No asset named 'rwa' in the definitions. Did you mean 'raw'? Fix: use one of the 4 "
        "defined keys (`sheer list defs` lists them)."
    )
    assert client.get("/api/backfills").json() == {"backfills": []}


def test_an_unknown_partition_key_is_400_naming_the_asset_and_its_keys(
    client: TestClient,
) -> None:
    response = post(client, "/api/backfills", {"selection": "raw", "partitions": ["2027-01-01"]})
    message = assert_error(response, 400, "'raw'", "2026-01-01", "2026-01-05")
    assert message.startswith("Partition '2027-01-01' is not a partition of asset 'raw'")


def test_a_range_that_ends_before_it_starts_is_400(client: TestClient) -> None:
    body = {"selection": "raw", "partition_range": ["2026-01-03", "2026-01-01"]}
    assert assert_error(post(client, "/api/backfills", body), 400) == (
        "The partition range 2026-01-03...2026-01-01 of asset 'raw' ends before it starts. "
        "Fix: put the earlier key first: 2026-01-01...2026-01-03."
    )


def test_an_unpartitioned_selection_is_400(client: TestClient) -> None:
    body = {"selection": "plain", "partitions": DAYS[:1]}
    assert_error(post(client, "/api/backfills", body), 400, "'plain'", "is partitioned")


EXAMPLE = '{"selection": "raw report", "partition_range": ["2026-01-01", "2026-01-05"]}'


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, f"Give what to backfill: {EXAMPLE}."),
        ({"selection": 3, "partitions": ["x"]}, f"Give what to backfill: {EXAMPLE}."),
        (["raw"], f"The body must be a JSON object: {EXAMPLE}."),
        (
            {"selection": "raw", "keys": ["2026-01-01"]},
            "Unknown field 'keys' in the backfill request. Fix: send only selection, "
            f"partition_range, partitions, e.g. {EXAMPLE}.",
        ),
        (
            {"selection": "raw", "partition_range": ["2026-01-01"]},
            'partition_range ["2026-01-01"] is not two partition keys. Fix: give the first '
            'and the last key, both included: ["2026-01-01", "2026-01-05"].',
        ),
        (
            {"selection": "raw", "partition_range": "2026-01-01...2026-01-02"},
            'partition_range "2026-01-01...2026-01-02" is not two partition keys. Fix: give '
            'the first and the last key, both included: ["2026-01-01", "2026-01-05"].',
        ),
        (
            {"selection": "raw", "partitions": []},
            "partitions [] is not a list of partition keys. Fix: give e.g. "
            '["2026-01-02", "2026-01-05"].',
        ),
        (
            {"selection": "raw", "partitions": ["2026-01-01", ""]},
            'partitions ["2026-01-01", ""] is not a list of partition keys. Fix: give e.g. '
            '["2026-01-02", "2026-01-05"].',
        ),
        (
            {"selection": "raw"},
            "Give the partitions to backfill: partition_range (the first and the last key) "
            f"or partitions (a list of keys), e.g. {EXAMPLE}.",
        ),
        (
            {"selection": "raw", "partitions": DAYS[:1], "partition_range": DAYS[:2]},
            f"Give partition_range or partitions, not both: e.g. {EXAMPLE}.",
        ),
    ],
)
def test_a_bad_body_is_400_with_a_message(client: TestClient, body: Any, message: str) -> None:
    assert assert_error(post(client, "/api/backfills", body), 400) == message


def test_a_body_that_is_not_json_is_400(client: TestClient) -> None:
    headers = {
        "Origin": ORIGIN,
        "X-Sheer-Token": session_token(client),
        "Content-Type": "application/json",
    }
    response = client.post("/api/backfills", content=b"{not json", headers=headers)
    assert assert_error(response, 400) == f"The body must be JSON: {EXAMPLE}."


def test_state_changes_need_the_origin_and_the_session_token(
    client: TestClient, defs: dg.Definitions, instance: dg.Instance
) -> None:
    record = create_backfill(defs, instance, "raw", partitions=DAYS[:1])
    body = {"selection": "raw", "partitions": DAYS[:1]}
    token = session_token(client)
    for path in ("/api/backfills", f"/api/backfills/{record.backfill_id}/cancel"):
        assert_error(client.post(path, json=body, headers={"X-Sheer-Token": token}), 403, "Origin")
        assert_error(client.post(path, json=body, headers={"Origin": ORIGIN}), 403, "token")
    assert [b["backfill_id"] for b in client.get("/api/backfills").json()["backfills"]] == [
        record.backfill_id
    ]
    assert instance.backfills.get_status(record.backfill_id) == "REQUESTED"


def test_a_bad_limit_is_400(client: TestClient) -> None:
    assert assert_error(client.get("/api/backfills?limit=0"), 400) == (
        "Query parameter limit must be a whole number from 1 to 1000."
    )
