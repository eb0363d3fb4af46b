"""Tests for sheer.storage: SQLite settings, batched reads, the latest-record index and
schema versioning, on SQLite and PostgreSQL (see conftest.py)."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import event, inspect, text
from sqlalchemy.engine import make_url

import sheer as dg
from fixtures.sql import counting_queries
from sheer.errors import StorageError
from sheer.storage import NewEvent, SqlStorage, schema

K = dg.AssetKey


def report(instance: dg.Instance, key, version: str) -> None:
    instance.report_runless_asset_event(dg.AssetMaterialization(key, data_version=version))


def schema_version_of(instance: dg.Instance) -> int:
    with instance.storage.engine.connect() as conn:
        return conn.execute(text("SELECT version FROM sheer_schema WHERE id = 1")).scalar()


def execute_sql(instance: dg.Instance, *statements: str) -> None:
    """Run raw SQL on the instance's database, in one transaction."""
    with instance.storage.engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))


def table_names(instance: dg.Instance) -> set[str]:
    return set(inspect(instance.storage.engine).get_table_names())


# SQLite settings ---------------------------------------------------------------------------


def test_a_file_instance_uses_wal_with_a_busy_timeout(tmp_path):
    instance = dg.Instance.from_url(f"sqlite:///{tmp_path}/i.db")

    with instance.storage.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 30000


def test_two_instances_on_one_database_see_each_others_writes_with_growing_ids(make_instance):
    ui, runner = make_instance(), make_instance()

    report(runner, "a", "v1")
    report(ui, "b", "v1")
    report(runner, "a", "v2")

    assert ui.get_latest_materialization("a").data_version == dg.DataVersion("v2")
    assert runner.get_latest_materialization("b").data_version == dg.DataVersion("v1")
    ids = [e.storage_id for e in ui.get_event_records()]
    assert ids == sorted(ids) and len(set(ids)) == 3


# Batched reads -----------------------------------------------------------------------------


def test_get_latest_materializations_reads_many_assets_in_one_query(instance):
    for i in range(50):
        report(instance, f"a{i}", f"v{i}")

    with counting_queries(instance) as statements:
        latest = instance.get_latest_materializations([f"a{i}" for i in range(60)])

    assert len(statements) == 1
    assert len(latest) == 50
    assert latest[K("a7")].data_version == dg.DataVersion("v7")


def test_get_latest_materializations_of_a_whole_large_graph_is_still_one_query(instance):
    instance.store_events(
        [
            NewEvent(
                event_type=dg.EventType.ASSET_MATERIALIZATION,
                asset_key=K(f"a{i}"),
                data={"data_version": f"v{i}"},
            )
            for i in range(2100)
        ]
    )

    with counting_queries(instance) as statements:
        latest = instance.get_latest_materializations([K(f"a{i}") for i in range(2100)])
        some = instance.get_latest_materializations([K("a1"), K("a2099"), K("missing")])

    assert len(statements) == 2
    assert len(latest) == 2100
    assert latest[K("a2099")].data_version == dg.DataVersion("v2099")
    assert sorted(some) == [K("a1"), K("a2099")]


def test_get_latest_materialization_of_one_asset_is_one_query(instance):
    report(instance, "a", "v1")

    with counting_queries(instance) as statements:
        instance.get_latest_materialization("a")

    assert len(statements) == 1


def test_the_latest_index_follows_the_newest_event_of_each_kind(instance):
    report(instance, "a", "m1")
    instance.report_runless_asset_event(dg.AssetObservation("a", data_version="o1"))
    report(instance, "a", "m2")
    instance.report_runless_asset_event(dg.AssetObservation("a", data_version="o2"))

    latest = instance.storage.get_latest_records([K("a")])[K("a")]
    newest = instance.get_event_records(asset_key="a", ascending=False)

    assert latest.materialization == newest[1]
    assert latest.observation == newest[0]
    assert latest.last_run_id is None


def test_the_latest_index_is_kept_per_partition(instance):
    instance.report_runless_asset_event(
        dg.AssetMaterialization("a", partition="2024-01-01", data_version="p1")
    )
    report(instance, "a", "whole")

    whole = instance.storage.get_latest_records([K("a")])[K("a")]
    part = instance.storage.get_latest_records([K("a")], partition="2024-01-01")[K("a")]

    assert whole.materialization.data_version == dg.DataVersion("whole")
    assert part.materialization.data_version == dg.DataVersion("p1")
    assert part.materialization.partition == "2024-01-01"


def test_the_latest_index_records_the_run_of_the_latest_materialization(instance):
    @dg.asset
    def a():
        return 1

    result = dg.materialize([a], instance=instance)

    assert instance.get_latest_records(["a"])[K("a")].last_run_id == result.run_id


# Schema versioning -------------------------------------------------------------------------


def test_a_new_database_gets_the_current_schema_version(instance):
    assert schema_version_of(instance) == schema.CURRENT_VERSION
    assert len(schema.MIGRATIONS) == schema.CURRENT_VERSION


def test_reopening_a_database_does_not_run_migrations_again(make_instance, monkeypatch):
    calls: list[int] = []

    def counted(number, migration):
        def run(conn):
            calls.append(number)
            migration(conn)

        return run

    monkeypatch.setattr(
        schema, "MIGRATIONS", [counted(i, m) for i, m in enumerate(schema.MIGRATIONS, 1)]
    )

    first = make_instance()
    report(first, "a", "v1")
    first.dispose()
    assert calls == list(range(1, schema.CURRENT_VERSION + 1))

    again = make_instance()

    assert calls == list(range(1, schema.CURRENT_VERSION + 1))
    assert again.get_latest_materialization("a").data_version == dg.DataVersion("v1")


def test_an_older_database_is_upgraded_without_losing_data(make_instance):
    old = make_instance()
    report(old, "a", "v1")
    execute_sql(  # back to version 1: before automation
        old,
        "DROP TABLE automation_evaluations",
        "DROP TABLE automation_ticks",
        "DROP TABLE leases",
        "UPDATE sheer_schema SET version = 1 WHERE id = 1",
    )
    old.dispose()

    upgraded = make_instance()

    assert schema_version_of(upgraded) == schema.CURRENT_VERSION
    assert upgraded.get_latest_materialization("a").data_version == dg.DataVersion("v1")
    assert {"automation_ticks", "automation_evaluations", "leases"} <= table_names(upgraded)


def test_a_database_without_heartbeats_is_upgraded_keeping_its_runs(make_instance):
    old = make_instance()
    run = old.create_run([dg.AssetKey("a")])
    execute_sql(  # back to version 3: no heartbeats, leases without their holder
        old,
        "ALTER TABLE runs DROP COLUMN heartbeat_at",
        *(f"ALTER TABLE leases DROP COLUMN {c}" for c in ("hostname", "pid", "pid_started")),
        "UPDATE sheer_schema SET version = 3 WHERE id = 1",
    )
    old.dispose()

    upgraded = make_instance()

    assert schema_version_of(upgraded) == schema.CURRENT_VERSION
    assert upgraded.get_run(run.run_id).status is dg.RunStatus.STARTED
    with upgraded.storage.engine.connect() as conn:
        runs = {c["name"] for c in inspect(conn).get_columns("runs")}
        leases = {c["name"] for c in inspect(conn).get_columns("leases")}
    assert "heartbeat_at" in runs and {"hostname", "pid", "pid_started"} <= leases


def test_an_index_without_version_columns_is_backfilled_from_its_events(make_instance):
    old = make_instance()
    report(old, "a", "v1")
    old.report_runless_asset_event(dg.AssetObservation("a", data_version="o1"))
    report(old, "b", "v2")
    execute_sql(  # back to version 2: the index held event ids only
        old,
        *(f"ALTER TABLE asset_latest DROP COLUMN {c}" for c in schema._VERSION_COLUMNS),
        "UPDATE sheer_schema SET version = 2 WHERE id = 1",
    )
    old.dispose()

    upgraded = make_instance()

    assert schema_version_of(upgraded) == schema.CURRENT_VERSION
    rows = {row[0]: row for row in upgraded.get_latest_versions()}
    assert (rows["a"][2], rows["a"][6], rows["b"][2]) == ("v1", "o1", "v2")


def test_the_latest_versions_are_read_from_the_index_alone(instance):
    report(instance, "a", "v1")
    with counting_queries(instance) as statements:
        rows = instance.get_latest_versions()
    assert [(r[0], r[2]) for r in rows] == [("a", "v1")]
    (statement,) = statements
    assert "event_logs" not in statement


def test_a_database_newer_than_the_code_is_refused(instance, instance_url):
    newer = schema.CURRENT_VERSION + 1
    execute_sql(instance, f"UPDATE sheer_schema SET version = {newer} WHERE id = 1")
    url = instance_url

    with pytest.raises(StorageError) as info:
        dg.Instance.from_url(url)

    assert str(info.value) == (
        f"The instance at {url} has schema version {newer}, newer than this Sheer release "
        f"understands ({schema.CURRENT_VERSION}). Fix: upgrade Sheer (pip install -U sheer), "
        "or point at another instance."
    )
    assert info.value.file == url
    assert schema_version_of(instance) == newer  # left as it was


def test_the_in_memory_storage_has_the_same_schema():
    storage = SqlStorage("sqlite://")

    with storage.engine.connect() as conn:
        version = conn.execute(text("SELECT version FROM sheer_schema")).scalar()
        tables = {
            r[0] for r in conn.execute(text("SELECT name FROM sqlite_master WHERE type='table'"))
        }

    assert version == schema.CURRENT_VERSION
    assert {"runs", "event_logs", "asset_latest", "kv"} <= tables


def test_every_backend_gets_every_table_of_the_schema(instance):
    assert table_names(instance) == set(schema.metadata.tables)


# Storage errors ----------------------------------------------------------------------------


def materializations(n: int) -> list[NewEvent]:
    return [
        NewEvent(
            event_type=dg.EventType.ASSET_MATERIALIZATION,
            asset_key=K(f"a{i}"),
            data={"data_version": f"v{i}" * 20},
        )
        for i in range(n)
    ]


def damage_the_events_table(path) -> None:
    """Overwrite the root page of `event_logs` with garbage: the file header and the
    schema pages stay intact, so the instance opens, and reading events fails."""
    instance = dg.Instance.from_url(f"sqlite:///{path}")
    instance.store_events(materializations(500))
    with instance.storage.engine.connect() as conn:
        root = conn.execute(
            text("SELECT rootpage FROM sqlite_master WHERE name = 'event_logs'")
        ).scalar()
        size = conn.execute(text("PRAGMA page_size")).scalar()
    instance.dispose()  # the last connection checkpoints the WAL into the file
    with open(path, "r+b") as f:
        f.seek((root - 1) * size)
        f.write(bytes(range(256)) * (size // 256))


def test_a_damaged_file_is_a_storage_error_and_nothing_more_is_written_to_it(tmp_path):
    path = tmp_path / "sheer.db"
    damage_the_events_table(path)
    instance = dg.Instance.from_url(f"sqlite:///{path}")
    damaged = (
        f'The instance storage at sqlite:///{path} is damaged: SQLite reports "database disk '
        'image is malformed". Nothing more is written to it. Fix: stop what uses it, then '
        "move it aside or restore a backup (Sheer creates a new, empty database where there "
        "is none)."
    )

    with pytest.raises(StorageError) as info:
        instance.get_event_records()
    assert str(info.value) == damaged
    files = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    for write in (
        lambda: report(instance, "b", "v1"),  # the SQLite hot path
        lambda: instance.create_run([K("b")]),  # a transaction through SQLAlchemy
        lambda: execute_sql(instance, "UPDATE kv SET value = 'x'"),  # any other statement
    ):
        with pytest.raises(StorageError) as info:
            write()
        assert str(info.value) == damaged
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == files
    assert instance.get_runs() == []  # what is readable still is


def test_a_full_disk_is_a_storage_error_naming_the_folder_to_free(tmp_path):
    instance = dg.Instance.from_url(f"sqlite:///{tmp_path / 'sheer.db'}")

    @event.listens_for(instance.storage.engine, "connect")
    def no_room_to_grow(dbapi_conn, _record):  # SQLite then reports "database or disk is full"
        pages = dbapi_conn.execute("PRAGMA page_count").fetchone()[0]
        dbapi_conn.execute(f"PRAGMA max_page_count = {pages}")

    instance.storage.engine.dispose()  # new connections, capped
    full = (
        f"The instance storage at sqlite:///{tmp_path / 'sheer.db'} has no space left (database "
        "or disk is full): what was being written was rolled back. Fix: free space on "
        f"{tmp_path}, then run it again."
    )

    for write in (
        lambda: instance.store_events(materializations(500)),
        lambda: instance.create_run([K("b")], tags={"big": "x" * 100_000}),
    ):
        with pytest.raises(StorageError) as info:
            write()
        assert str(info.value) == full
    assert instance.get_event_records() == [] and instance.get_runs() == []


def test_an_empty_database_file_is_refused_and_left_as_it_is(tmp_path):
    path = tmp_path / "sheer.db"
    path.touch()
    os.utime(path, (1_000_000_000, 1_000_000_000))

    with pytest.raises(StorageError) as info:
        dg.Instance.from_url(f"sqlite:///{path}")

    assert str(info.value) == (
        f"Cannot open the instance storage at sqlite:///{path}: the file {path} is empty (0 "
        "bytes). Its content was lost (or it is not a Sheer instance), and Sheer does not set "
        "up a new database over it. Fix: move it aside to start afresh, or restore a backup."
    )
    assert info.value.file == f"sqlite:///{path}"
    assert [p.name for p in tmp_path.iterdir()] == ["sheer.db"]
    assert path.stat().st_size == 0 and path.stat().st_mtime == 1_000_000_000


def test_a_new_database_file_is_still_created(tmp_path):
    instance = dg.Instance.from_url(f"sqlite:///{tmp_path / 'new' / 'sheer.db'}")
    report(instance, "a", "v1")
    assert instance.get_latest_materialization("a").data_version == dg.DataVersion("v1")


def with_password(url: str) -> str:
    return make_url(url).set(password="secret").render_as_string(hide_password=False)


def test_errors_opening_a_server_database_never_show_the_password(instance, instance_url):
    if not instance_url.startswith("postgresql"):
        pytest.skip("a SQLite URL has no password")
    missing = make_url(with_password(instance_url)).set(database="sheer_no_such_database")
    execute_sql(instance, f"UPDATE sheer_schema SET version = {schema.CURRENT_VERSION + 1}")

    for url in (missing.render_as_string(hide_password=False), with_password(instance_url)):
        with pytest.raises(StorageError) as info:
            dg.Instance.from_url(url)
        shown = make_url(url).render_as_string(hide_password=True)
        assert str(info.value).startswith(
            (f"Cannot open the instance storage at {shown}: ", f"The instance at {shown} has")
        )
        assert "secret" not in str(info.value) and "secret" not in info.value.file
