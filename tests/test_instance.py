"""Tests for sheer.instance: opening instances, asset reads and writes, runs and events.

Tests taking `instance` run on SQLite and on PostgreSQL (see conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

import sheer as dg
from fixtures.runs import on_another_host
from sheer.errors import StorageError

K = dg.AssetKey


@pytest.fixture
def no_env(monkeypatch):
    monkeypatch.delenv("SHEER_INSTANCE", raising=False)
    monkeypatch.delenv("SHEER_HOME", raising=False)


def report(instance: dg.Instance, key: str, version: str, **kwargs) -> None:
    instance.report_runless_asset_event(
        dg.AssetMaterialization(key, data_version=version, **kwargs)
    )


# Opening ----------------------------------------------------------------------------------


def test_an_ephemeral_instance_lives_in_memory_and_stores_values_in_a_temporary_folder():
    first, second = dg.Instance.ephemeral(), dg.Instance.ephemeral()
    report(first, "a", "v1")

    assert first.url == "sqlite://"
    assert second.get_latest_materialization("a") is None  # nothing shared
    assert first.storage_directory.name == "storage"
    assert first.storage_directory != second.storage_directory
    assert first.storage_directory == first.storage_directory  # stable within one instance


def test_from_url_opens_a_sqlite_file_and_keeps_values_beside_it(tmp_path):
    url = f"sqlite:///{tmp_path}/nested/dir/i.db"

    instance = dg.Instance.from_url(url)
    report(instance, "a", "v1")
    instance.dispose()

    assert (tmp_path / "nested/dir/i.db").is_file()
    assert instance.storage_directory == tmp_path / "nested/dir/storage"
    again = dg.Instance.from_url(url)
    assert again.get_latest_materialization("a").data_version == dg.DataVersion("v1")
    assert repr(again) == f"<Instance {url}>"


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:"])
def test_an_in_memory_url_keeps_values_in_a_temporary_folder_like_ephemeral(
    url, no_env, monkeypatch, tmp_path
):
    monkeypatch.chdir(tmp_path)

    instance = dg.Instance.from_url(url)

    assert instance.is_in_memory
    assert instance.storage_directory.parent.name.startswith("sheer-")
    assert not (tmp_path / ".sheer").exists()


def test_a_file_instance_is_not_in_memory(tmp_path):
    assert not dg.Instance.from_url(f"sqlite:///{tmp_path}/i.db").is_in_memory
    assert dg.Instance.ephemeral().is_in_memory


def test_from_url_takes_a_separate_folder_for_stored_values(tmp_path):
    instance = dg.Instance.from_url(f"sqlite:///{tmp_path}/i.db", root_dir=tmp_path / "values")

    assert instance.storage_directory == tmp_path / "values" / "storage"


def test_from_url_with_an_unusable_url_is_a_storage_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")

    with pytest.raises(StorageError) as info:
        dg.Instance.from_url(f"sqlite:///{blocker}/sub/i.db")

    assert str(info.value) == (
        f"Cannot open the instance storage at sqlite:///{blocker}/sub/i.db: cannot create the "
        f"folder {blocker}/sub (Not a directory). Fix: point the URL at a folder you can write to."
    )
    assert info.value.file == f"sqlite:///{blocker}/sub/i.db"


def test_from_url_with_a_string_that_is_not_a_url_is_a_storage_error():
    with pytest.raises(StorageError) as info:
        dg.Instance.from_url("instance.db")

    assert str(info.value) == (
        "Cannot open the instance storage at instance.db: Could not parse SQLAlchemy URL from "
        "given URL string. Fix: check the URL, e.g. sqlite:///path/to/sheer.db or "
        "postgresql+psycopg://user@host/db."
    )


def test_from_url_on_a_file_that_is_not_a_database_is_a_storage_error(tmp_path):
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database" * 100)

    with pytest.raises(StorageError) as info:
        dg.Instance.from_url(f"sqlite:///{junk}")

    assert str(info.value) == (
        f"Cannot open the instance storage at sqlite:///{junk}: (sqlite3.DatabaseError) file is "
        "not a database. Fix: check the path and that its folder is writable; a file that is "
        "damaged or not a Sheer database: move it aside (or restore a backup) to start afresh."
    )


def test_get_uses_sheer_home(no_env, monkeypatch, tmp_path):
    home = tmp_path / "home"
    monkeypatch.setenv("SHEER_HOME", str(home))

    instance = dg.Instance.get()
    report(instance, "a", "v1")

    assert instance.url == f"sqlite:///{home / 'sheer.db'}"
    assert (home / "sheer.db").is_file()
    assert instance.storage_directory == home / "storage"
    assert dg.Instance.get().get_latest_materialization("a") is not None


def test_get_uses_the_sheer_folder_of_the_project_in_the_current_directory(
    no_env, monkeypatch, tmp_path
):
    project = tmp_path / "project"
    (project / "src" / "pkg").mkdir(parents=True)
    (project / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    monkeypatch.chdir(project / "src" / "pkg")  # from a subfolder, the project root wins

    instance = dg.Instance.get()

    assert instance.url == f"sqlite:///{project.resolve() / '.sheer' / 'sheer.db'}"
    assert (project / ".sheer" / "sheer.db").is_file()
    assert instance.storage_directory == project.resolve() / ".sheer" / "storage"


def test_get_outside_any_project_uses_the_sheer_folder_of_the_current_directory(
    no_env, monkeypatch, tmp_path
):
    monkeypatch.chdir(tmp_path)

    instance = dg.Instance.get()

    assert instance.url == f"sqlite:///{tmp_path.resolve() / '.sheer' / 'sheer.db'}"


def test_get_prefers_sheer_instance_over_sheer_home(no_env, monkeypatch, tmp_path):
    monkeypatch.setenv("SHEER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SHEER_INSTANCE", f"sqlite:///{tmp_path}/elsewhere.db")

    instance = dg.Instance.get()

    assert instance.url == f"sqlite:///{tmp_path}/elsewhere.db"
    assert not (tmp_path / "home").exists()


# Asset reads and runless reports ------------------------------------------------------------


def test_report_runless_materialization_is_the_latest_materialization(instance):
    report(instance, "a", "v1", metadata={"rows": 3}, description="loaded")
    report(instance, "a", "v2")

    latest = instance.get_latest_materialization("a")

    assert latest.data_version == dg.DataVersion("v2")
    assert latest.run_id is None
    assert latest.event_type is dg.EventType.ASSET_MATERIALIZATION
    assert latest.message == "Asset 'a' materialized (reported)."
    first = instance.fetch_materializations("a")[-1]
    assert first.metadata == {"rows": 3}
    assert first.asset_materialization == dg.AssetMaterialization(
        "a", description="loaded", metadata={"rows": 3}, data_version="v1"
    )


def test_the_data_version_tag_sets_the_data_version(instance):
    instance.report_runless_asset_event(
        dg.AssetMaterialization("a", tags={"dagster/data_version": "from-tag"})
    )
    instance.report_runless_asset_event(
        dg.AssetObservation("b", tags={"dagster/data_version": "seen"})
    )

    assert instance.get_latest_materialization("a").data_version == dg.DataVersion("from-tag")
    (obs,) = instance.get_event_records(dg.EventType.ASSET_OBSERVATION)
    assert obs.data_version == dg.DataVersion("seen")
    assert obs.data["tags"] == {"dagster/data_version": "seen"}


def test_the_data_version_keyword_wins_over_the_tag(instance):
    instance.report_runless_asset_event(
        dg.AssetMaterialization("a", tags={"dagster/data_version": "tag"}, data_version="keyword")
    )

    assert instance.get_latest_materialization("a").data_version == dg.DataVersion("keyword")


def test_an_observation_is_not_a_materialization(instance):
    instance.report_runless_asset_event(
        dg.AssetObservation("ext", data_version="e1", metadata={"etag": "x"})
    )

    assert instance.get_latest_materialization("ext") is None
    assert instance.get_latest_materializations(["ext"]) == {}
    latest = instance.get_latest_records(["ext"])[K("ext")]
    assert latest.materialization is None
    assert latest.observation.data_version == dg.DataVersion("e1")
    assert latest.observation.asset_observation.metadata == {"etag": dg.MetadataValue.text("x")}
    assert latest.observation.message == "Asset 'ext' observed (reported)."


def test_observation_and_materialization_of_one_asset_are_both_kept(instance):
    report(instance, "a", "m1")
    instance.report_runless_asset_event(dg.AssetObservation("a", data_version="o1"))
    report(instance, "a", "m2")

    latest = instance.get_latest_records(["a"])[K("a")]

    assert latest.materialization.data_version == dg.DataVersion("m2")
    assert latest.observation.data_version == dg.DataVersion("o1")


def test_report_runless_asset_event_refuses_other_objects(instance):
    with pytest.raises(StorageError) as info:
        instance.report_runless_asset_event("a")

    assert str(info.value) == (
        "report_runless_asset_event takes an AssetMaterialization or an AssetObservation, not str."
    )


def test_get_latest_materializations_returns_only_keys_that_have_one(instance):
    report(instance, "a", "a1")
    report(instance, ["s", "t"], "st1")
    report(instance, "a", "a2")

    latest = instance.get_latest_materializations(["a", "s/t", "never", K("b")])

    assert {k: r.data_version.value for k, r in latest.items()} == {
        K("a"): "a2",
        K(["s", "t"]): "st1",
    }
    assert instance.get_latest_materializations([]) == {}


def test_get_latest_records_with_no_keys_reads_every_asset(instance):
    report(instance, "a", "a1")
    report(instance, "b", "b1")

    assert sorted(instance.get_latest_records()) == [K("a"), K("b")]


def test_metadata_is_read_back_as_written(instance):
    report(
        instance,
        "a",
        "v",
        metadata={
            "rows": 3,
            "ratio": 0.5,
            "nested": {"k": [1, "x"]},
            "inf": float("inf"),
            "path": Path("/tmp/x"),
        },
    )

    assert instance.get_latest_materialization("a").metadata == {
        "rows": 3,
        "ratio": 0.5,
        "nested": {"k": [1, "x"]},
        "inf": "inf",
        "path": "/tmp/x",
    }


# Events: filters and paging ---------------------------------------------------------------


@pytest.fixture
def events(instance) -> list[dg.EventRecord]:
    for i in range(5):
        report(instance, "a", f"a{i}")
        report(instance, "b", f"b{i}")
    instance.report_runless_asset_event(dg.AssetObservation("a", data_version="o"))
    return instance.get_event_records()


def test_event_ids_grow_with_every_write(events):
    ids = [e.storage_id for e in events]
    assert ids == sorted(ids)
    assert len(set(ids)) == 11


def test_get_event_records_filters_by_type_and_asset(instance, events):
    a_mats = instance.get_event_records(dg.EventType.ASSET_MATERIALIZATION, asset_key="a")
    a_all = instance.get_event_records(asset_key=K("a"))
    observations = instance.get_event_records(dg.EventType.ASSET_OBSERVATION)

    assert [e.data_version.value for e in a_mats] == ["a0", "a1", "a2", "a3", "a4"]
    assert len(a_all) == 6
    assert [(e.asset_key, e.data_version.value) for e in observations] == [(K("a"), "o")]


def test_get_event_records_pages_forward_with_after_id(instance, events):
    pages, cursor = [], None
    while True:
        page = instance.get_event_records(asset_key="b", after_id=cursor, limit=2)
        if not page:
            break
        pages.append([e.data_version.value for e in page])
        cursor = page[-1].storage_id

    assert pages == [["b0", "b1"], ["b2", "b3"], ["b4"]]


def test_get_event_records_pages_backward_with_before_id(instance, events):
    newest = instance.get_event_records(asset_key="a", limit=2, ascending=False)
    older = instance.get_event_records(
        asset_key="a", limit=2, ascending=False, before_id=newest[-1].storage_id
    )

    assert [e.data_version.value for e in newest] == ["o", "a4"]
    assert [e.data_version.value for e in older] == ["a3", "a2"]


def test_get_event_records_between_two_ids(instance, events):
    window = instance.get_event_records(
        after_id=events[2].storage_id, before_id=events[6].storage_id
    )

    assert window == events[3:6]


def test_get_event_records_filters_by_run(instance):
    @dg.asset
    def a():
        return 1

    first = dg.materialize([a], instance=instance)
    second = dg.materialize([a], instance=instance)

    records = instance.get_event_records(run_id=second.run_id)

    assert {e.run_id for e in records} == {second.run_id}
    assert records == second.all_events
    assert first.run_id != second.run_id


def test_fetch_materializations_lists_newest_first(instance):
    for i in range(4):
        report(instance, "a", f"v{i}")

    assert [e.data_version.value for e in instance.fetch_materializations("a", limit=3)] == [
        "v3",
        "v2",
        "v1",
    ]


# Runs ---------------------------------------------------------------------------------------


def test_get_run_and_get_runs(instance):
    @dg.asset
    def a():
        return 1

    @dg.asset
    def b():
        raise ValueError("no")

    ok = dg.materialize([a], instance=instance, tags={"k": "v"})
    bad = dg.materialize([a, b], instance=instance, raise_on_error=False)

    run = instance.get_run(ok.run_id)
    assert run.status is dg.RunStatus.SUCCESS
    assert run.asset_selection == (K("a"),)
    assert run.tags == {"k": "v"}
    assert run.executor == "in_process"
    assert run.is_finished
    assert run.started_at <= run.ended_at
    assert run.duration == run.ended_at - run.started_at
    assert run.error is None
    assert [r.run_id for r in instance.get_runs()] == [bad.run_id, ok.run_id]
    assert [r.run_id for r in instance.get_runs(limit=1)] == [bad.run_id]
    assert [r.run_id for r in instance.get_runs(status=dg.RunStatus.FAILURE)] == [bad.run_id]
    assert instance.get_runs(status=dg.RunStatus.STARTED) == []
    assert instance.get_run("no-such-run") is None


def test_a_run_started_by_a_live_process_stays_started(instance):
    run = instance.create_run([K("a")])

    assert instance.get_run(run.run_id).status is dg.RunStatus.STARTED
    (start,) = instance.get_event_records(run_id=run.run_id)
    assert start.event_type is dg.EventType.RUN_START
    assert start.data == {"asset_selection": ["a"]}


def test_finish_run_records_the_final_status_and_event(instance):
    run = instance.create_run([K("a")])

    instance.finish_run(run.run_id, False, "it broke")

    assert instance.get_run(run.run_id).status is dg.RunStatus.FAILURE
    assert instance.get_run(run.run_id).error == "it broke"
    last = instance.get_event_records(run_id=run.run_id)[-1]
    assert last.event_type is dg.EventType.RUN_FAILURE
    assert last.message == f"Run {run.run_id[:8]} failed. it broke"


def test_key_values_are_stored_and_replaced(instance):
    instance.set_value("cursor", "1")
    instance.set_value("cursor", "2")

    assert instance.get_value("cursor") == "2"
    assert instance.get_value("missing") is None


# Run heartbeats ------------------------------------------------------------------
def test_a_run_on_another_host_silent_past_the_timeout_is_marked_failed(make_instance):
    instance = make_instance()
    run = instance.create_run([dg.AssetKey("a")])
    on_another_host(instance, run.run_id, silent_for=10)
    assert instance.get_run(run.run_id).status is dg.RunStatus.STARTED  # alive, elsewhere

    on_another_host(instance, run.run_id, silent_for=301)
    reader = make_instance()  # any reader on any host notices
    dead = reader.get_run(run.run_id)
    assert dead.status is dg.RunStatus.FAILURE
    assert dead.error.startswith(
        "The run's process (1 on another-host) sent no heartbeat for 301 s (the limit is "
        "300 s): it is taken for dead"
    )
    assert [r.run_id for r in reader.get_runs(status=dg.RunStatus.STARTED)] == []


def test_the_heartbeat_timeout_is_configurable(make_instance, monkeypatch):
    monkeypatch.setenv("SHEER_RUN_HEARTBEAT_TIMEOUT", "5")
    instance = make_instance()
    run = instance.create_run([dg.AssetKey("a")])
    on_another_host(instance, run.run_id, silent_for=6)
    assert instance.get_run(run.run_id).status is dg.RunStatus.FAILURE
    monkeypatch.setenv("SHEER_RUN_HEARTBEAT_TIMEOUT", "soon")
    with pytest.raises(StorageError) as info:
        make_instance()
    assert info.value.message == (
        "$SHEER_RUN_HEARTBEAT_TIMEOUT is 'soon', not a number of seconds above 0. Fix: set "
        "it to e.g. 300, or unset it for the default (300 s)."
    )


def test_a_started_run_beats_until_it_finishes(make_instance, monkeypatch):
    import time

    monkeypatch.setenv("SHEER_RUN_HEARTBEAT_INTERVAL", "0.05")
    instance = make_instance()
    run = instance.create_run([dg.AssetKey("a")])

    def beat() -> float:
        return instance.storage.heartbeat_ages([run.run_id])[run.run_id]

    assert beat() < 5  # the first beat is at the start
    on_another_host(instance, run.run_id, silent_for=100)  # the clock says 100 s ago...
    deadline = time.monotonic() + 30
    while beat() > 50 and time.monotonic() < deadline:  # ...until the next beat
        time.sleep(0.02)
    assert beat() < 50
    instance.finish_run(run.run_id, True)
    on_another_host(instance, run.run_id, silent_for=100)
    time.sleep(0.3)  # several intervals: a finished run beats no more
    assert beat() > 50
    assert instance.get_run(run.run_id).status is dg.RunStatus.SUCCESS


def test_latest_partition_records_are_keyed_by_asset_and_partition_in_one_read(instance):
    for key, partition, version in [
        ("a", "2026-01-01", "1"),
        ("a", "2026-01-02", "2"),
        ("b", "2026-01-01", "3"),
        ("b", "2026-01-03", "4"),
    ]:
        instance.report_runless_asset_event(
            dg.AssetMaterialization(key, partition=partition, data_version=version)
        )
    report(instance, "a", "whole")

    found = instance.get_latest_partition_records(["a", "b"], ["2026-01-01", "2026-01-02"])

    versions = {pair: r.materialization.data_version.value for pair, r in found.items()}
    assert versions == {
        (dg.AssetKey("a"), "2026-01-01"): "1",
        (dg.AssetKey("a"), "2026-01-02"): "2",
        (dg.AssetKey("b"), "2026-01-01"): "3",
    }
    unpartitioned = instance.get_latest_partition_records(None, [""])
    assert list(unpartitioned) == [(dg.AssetKey("a"), "")]
    assert instance.get_latest_partition_records(["a"], []) == {}
