"""Tests for sheer.storage: SQLite settings, batched reads, the latest-record index and
schema versioning."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event, text

import sheer as dg
from sheer.errors import StorageError
from sheer.storage import NewEvent, SqlStorage, schema

K = dg.AssetKey


@contextmanager
def counting_queries(instance: dg.Instance) -> Iterator[list[str]]:
    """Collect every SQL statement the instance's engine sends while the block runs."""
    statements: list[str] = []

    def before_cursor_execute(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    engine = instance.storage.engine
    event.listen(engine, "before_cursor_execute", before_cursor_execute)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", before_cursor_execute)


def report(instance: dg.Instance, key, version: str) -> None:
    instance.report_runless_asset_event(dg.AssetMaterialization(key, data_version=version))


def schema_version_of(path) -> int:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT version FROM sheer_schema WHERE id = 1").fetchone()[0]


def set_schema_version(path, version: int) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE sheer_schema SET version = ? WHERE id = 1", (version,))


# SQLite settings ---------------------------------------------------------------------------


def test_a_file_instance_uses_wal_with_a_busy_timeout(tmp_path):
    instance = dg.Instance.from_url(f"sqlite:///{tmp_path}/i.db")

    with instance.storage.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 30000


def test_two_instances_on_one_file_see_each_others_writes_with_growing_ids(tmp_path):
    url = f"sqlite:///{tmp_path}/i.db"
    ui, runner = dg.Instance.from_url(url), dg.Instance.from_url(url)

    report(runner, "a", "v1")
    report(ui, "b", "v1")
    report(runner, "a", "v2")

    assert ui.get_latest_materialization("a").data_version == dg.DataVersion("v2")
    assert runner.get_latest_materialization("b").data_version == dg.DataVersion("v1")
    ids = [e.storage_id for e in ui.get_event_records()]
    assert ids == sorted(ids) and len(set(ids)) == 3


# Batched reads -----------------------------------------------------------------------------


def test_get_latest_materializations_reads_many_assets_in_one_query(tmp_path):
    instance = dg.Instance.from_url(f"sqlite:///{tmp_path}/i.db")
    for i in range(50):
        report(instance, f"a{i}", f"v{i}")

    with counting_queries(instance) as statements:
        latest = instance.get_latest_materializations([f"a{i}" for i in range(60)])

    assert len(statements) == 1
    assert len(latest) == 50
    assert latest[K("a7")].data_version == dg.DataVersion("v7")


def test_get_latest_materializations_of_a_whole_large_graph_is_still_one_query():
    instance = dg.Instance.ephemeral()
    instance.store_events([
        NewEvent(event_type=dg.EventType.ASSET_MATERIALIZATION, asset_key=K(f"a{i}"),
                 data={"data_version": f"v{i}"})
        for i in range(2100)
    ])

    with counting_queries(instance) as statements:
        latest = instance.get_latest_materializations([K(f"a{i}") for i in range(2100)])
        some = instance.get_latest_materializations([K("a1"), K("a2099"), K("missing")])

    assert len(statements) == 2
    assert len(latest) == 2100
    assert latest[K("a2099")].data_version == dg.DataVersion("v2099")
    assert sorted(some) == [K("a1"), K("a2099")]


def test_get_latest_materialization_of_one_asset_is_one_query():
    instance = dg.Instance.ephemeral()
    report(instance, "a", "v1")

    with counting_queries(instance) as statements:
        instance.get_latest_materialization("a")

    assert len(statements) == 1


def test_the_latest_index_follows_the_newest_event_of_each_kind():
    instance = dg.Instance.ephemeral()
    report(instance, "a", "m1")
    instance.report_runless_asset_event(dg.AssetObservation("a", data_version="o1"))
    report(instance, "a", "m2")
    instance.report_runless_asset_event(dg.AssetObservation("a", data_version="o2"))

    latest = instance.storage.get_latest_records([K("a")])[K("a")]
    newest = instance.get_event_records(asset_key="a", ascending=False)

    assert latest.materialization == newest[1]
    assert latest.observation == newest[0]
    assert latest.last_run_id is None


def test_the_latest_index_is_kept_per_partition():
    instance = dg.Instance.ephemeral()
    instance.report_runless_asset_event(
        dg.AssetMaterialization("a", partition="2024-01-01", data_version="p1"))
    report(instance, "a", "whole")

    whole = instance.storage.get_latest_records([K("a")])[K("a")]
    part = instance.storage.get_latest_records([K("a")], partition="2024-01-01")[K("a")]

    assert whole.materialization.data_version == dg.DataVersion("whole")
    assert part.materialization.data_version == dg.DataVersion("p1")
    assert part.materialization.partition == "2024-01-01"


def test_the_latest_index_records_the_run_of_the_latest_materialization():
    @dg.asset
    def a():
        return 1

    instance = dg.Instance.ephemeral()
    result = dg.materialize([a], instance=instance)

    assert instance.get_latest_records(["a"])[K("a")].last_run_id == result.run_id


# Schema versioning -------------------------------------------------------------------------


def test_a_new_database_gets_the_current_schema_version(tmp_path):
    dg.Instance.from_url(f"sqlite:///{tmp_path}/i.db").dispose()

    assert schema_version_of(tmp_path / "i.db") == schema.CURRENT_VERSION
    assert len(schema.MIGRATIONS) == schema.CURRENT_VERSION


def test_reopening_a_database_does_not_run_migrations_again(tmp_path, monkeypatch):
    calls: list[int] = []

    def counted(number, migration):
        def run(conn):
            calls.append(number)
            migration(conn)

        return run

    monkeypatch.setattr(schema, "MIGRATIONS",
                        [counted(i, m) for i, m in enumerate(schema.MIGRATIONS, 1)])
    url = f"sqlite:///{tmp_path}/i.db"

    first = dg.Instance.from_url(url)
    report(first, "a", "v1")
    first.dispose()
    assert calls == list(range(1, schema.CURRENT_VERSION + 1))

    again = dg.Instance.from_url(url)

    assert calls == list(range(1, schema.CURRENT_VERSION + 1))
    assert again.get_latest_materialization("a").data_version == dg.DataVersion("v1")


def test_an_older_database_is_upgraded_without_losing_data(tmp_path):
    url = f"sqlite:///{tmp_path}/i.db"
    old = dg.Instance.from_url(url)
    report(old, "a", "v1")
    old.dispose()
    with sqlite3.connect(tmp_path / "i.db") as conn:  # back to version 1: before automation
        for table in ("automation_ticks", "automation_evaluations", "leases"):
            conn.execute(f"DROP TABLE {table}")
        conn.execute("UPDATE sheer_schema SET version = 1 WHERE id = 1")

    upgraded = dg.Instance.from_url(url)

    assert schema_version_of(tmp_path / "i.db") == schema.CURRENT_VERSION
    assert upgraded.get_latest_materialization("a").data_version == dg.DataVersion("v1")
    with sqlite3.connect(tmp_path / "i.db") as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"automation_ticks", "automation_evaluations", "leases"} <= tables


def test_a_database_newer_than_the_code_is_refused(tmp_path):
    url = f"sqlite:///{tmp_path}/i.db"
    dg.Instance.from_url(url).dispose()
    newer = schema.CURRENT_VERSION + 1
    set_schema_version(tmp_path / "i.db", newer)

    with pytest.raises(StorageError) as info:
        dg.Instance.from_url(url)

    assert str(info.value) == (
        f"The instance at {url} has schema version {newer}, newer than this Sheer release "
        f"understands ({schema.CURRENT_VERSION}). Fix: upgrade Sheer (pip install -U sheer), "
        "or point at another instance."
    )
    assert info.value.file == url
    assert schema_version_of(tmp_path / "i.db") == newer  # left as it was


def test_the_in_memory_storage_has_the_same_schema():
    storage = SqlStorage("sqlite://")

    with storage.engine.connect() as conn:
        version = conn.execute(text("SELECT version FROM sheer_schema")).scalar()
        tables = {r[0] for r in conn.execute(
            text("SELECT name FROM sqlite_master WHERE type='table'"))}

    assert version == schema.CURRENT_VERSION
    assert {"runs", "event_logs", "asset_latest", "kv"} <= tables
