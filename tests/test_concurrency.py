"""Many writers on one instance, and faults: on SQLite and PostgreSQL (see conftest.py).

Parallel run processes lose and duplicate no event; event ids become visible in id
order; one daemon at a time acts on an instance; a database connection dropped during
a run is replaced, or the run fails cleanly, never half-written. (A run process killed
mid-step is `test_kill.py`.)
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import make_url

import sheer as dg
from sheer.automation import AutomationDaemon
from sheer.errors import StorageError
from sheer.storage import NewEvent
from sheer.storage.automation import AutomationStorage

K = dg.AssetKey
WRITERS = 8
ASSETS_PER_RUN = 10
SHARED = 5  # of each run's assets, how many every run writes (the same keys)
TIMEOUT = 60.0
SQLITE_HAS_NO_CONNECTION = (
    "SQLite is a file opened inside the process: there is no server connection to drop"
)


def wait_for(predicate: Callable[[], object], what: str, timeout: float = TIMEOUT) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"timed out after {timeout:g}s waiting for {what}")


def assert_nothing_half_written(instance: dg.Instance) -> None:
    """Every run ended; no event twice; no materialization without its STEP_SUCCESS."""
    assert [r.run_id for r in instance.get_runs() if not r.is_finished] == []
    records = instance.get_event_records()
    ids = [e.storage_id for e in records]
    assert len(set(ids)) == len(ids)
    steps = Counter(
        (e.run_id, e.step_key, e.event_type, e.asset_key) for e in records if e.run_id is not None
    )
    assert [k for k, n in steps.items() if n > 1] == []
    for e in records:
        if e.event_type is dg.EventType.ASSET_MATERIALIZATION and e.run_id is not None:
            assert (e.run_id, e.step_key, dg.EventType.STEP_SUCCESS, e.asset_key) in steps, e


def run_events(instance: dg.Instance, run_id: str) -> list[tuple[str, str | None]]:
    return [(e.event_type.value, e.step_key) for e in instance.get_event_records(run_id=run_id)]


def successful_run(keys: list[str]) -> list[tuple[str, str | None]]:
    """The events of a successful in-process run of single-asset steps, in this order."""
    steps = [
        (kind, k) for k in keys for kind in ("STEP_START", "ASSET_MATERIALIZATION", "STEP_SUCCESS")
    ]
    return [("RUN_START", None), *steps, ("RUN_SUCCESS", None)]


# Eight parallel runs ------------------------------------------------------------------------


def writer_keys(writer: int) -> list[str]:
    return [f"shared_{j}" for j in range(SHARED)] + [
        f"own_{writer}_{j}" for j in range(ASSETS_PER_RUN - SHARED)
    ]


def _run_writer(url: str, home: str, writer: int, barrier: Any) -> None:
    """One run process: materialize its assets, all writers starting at once."""

    def compute() -> dg.MaterializeResult:
        return dg.MaterializeResult(metadata={"writer": writer})

    assets = [dg.asset(name=name)(compute) for name in writer_keys(writer)]
    instance = dg.Instance.from_url(url, root_dir=home)
    barrier.wait(timeout=TIMEOUT)
    dg.materialize(assets, instance=instance, tags={"writer": str(writer)})
    instance.dispose()


def test_eight_parallel_runs_lose_and_duplicate_no_event(make_instance, instance_url, tmp_path):
    instance = make_instance()
    instance.dispose()  # no pooled connection crosses the fork
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(WRITERS)
    procs = [
        ctx.Process(target=_run_writer, args=(instance_url, str(tmp_path), w, barrier))
        for w in range(WRITERS)
    ]
    try:
        for p in procs:
            p.start()
        for p in procs:
            p.join(TIMEOUT)
    finally:
        for p in procs:  # never leave a writer behind, even when one hung
            if p.is_alive():
                p.kill()
                p.join()
    assert [p.exitcode for p in procs] == [0] * WRITERS

    runs = {r.tags["writer"]: r for r in instance.get_runs()}
    assert sorted(runs) == [str(w) for w in range(WRITERS)]
    assert {r.status for r in runs.values()} == {dg.RunStatus.SUCCESS}
    records = instance.get_event_records()
    ids = [e.storage_id for e in records]
    per_run = 2 + 3 * ASSETS_PER_RUN
    assert len(records) == WRITERS * per_run
    assert ids == list(range(ids[0], ids[0] + len(ids)))  # unique, and no id left unused
    for w, run in runs.items():
        mine = instance.get_event_records(run_id=run.run_id)
        # In id order, a run's events are in the order it wrote them.
        assert run_events(instance, run.run_id) == successful_run(sorted(writer_keys(int(w))))
        stamps = [e.timestamp for e in mine]
        assert stamps == sorted(stamps)
    mats = instance.get_event_records(dg.EventType.ASSET_MATERIALIZATION)
    assert Counter(e.asset_key.to_user_string() for e in mats) == {
        **{f"shared_{j}": WRITERS for j in range(SHARED)},
        **{f"own_{w}_{j}": 1 for w in range(WRITERS) for j in range(ASSETS_PER_RUN - SHARED)},
    }
    # The latest index points at the newest materialization of each key.
    latest = instance.get_latest_materializations([f"shared_{j}" for j in range(SHARED)])
    for j in range(SHARED):
        newest = max(e.storage_id for e in mats if e.asset_key == K(f"shared_{j}"))
        assert latest[K(f"shared_{j}")].storage_id == newest
    assert_nothing_half_written(instance)


def materialization(key: str) -> NewEvent:
    return NewEvent(
        event_type=dg.EventType.ASSET_MATERIALIZATION, asset_key=K(key), data={"data_version": key}
    )


class Gate:
    """Holds, inside their statement, the PostgreSQL writes of events with this message:
    a trigger on event_logs makes their insert wait for an advisory lock the gate holds.
    A held writer is registered and has drawn its ids, and has not committed, whether
    its write is one statement or a transaction."""

    def __init__(self, instance: dg.Instance, message: str) -> None:
        self.engine = instance.storage.engine
        quoted = message.replace("'", "''")
        with self.engine.begin() as conn:
            conn.execute(text(GATE_FUNCTION))
            conn.execute(text("DROP TRIGGER IF EXISTS sheer_test_gate ON event_logs"))
            conn.execute(
                text(
                    "CREATE TRIGGER sheer_test_gate BEFORE INSERT ON event_logs FOR EACH ROW "
                    f"WHEN (NEW.message = '{quoted}') EXECUTE FUNCTION sheer_test_gate()"
                )
            )
            key = conn.execute(text("SELECT hashtext(current_schema())::bigint")).scalar_one()
        self.lock = {"classid": (key >> 32) & 0xFFFFFFFF, "objid": key & 0xFFFFFFFF}
        self.conn = self.engine.connect()
        self.conn.execute(text("SELECT pg_advisory_lock(hashtext(current_schema())::bigint)"))
        self.conn.commit()

    def held(self) -> int:
        """The backend pid of a write the gate holds, once one is held."""
        waiting = text(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
            "AND objsubid = 1 AND classid::bigint = :classid AND objid::bigint = :objid"
        )

        def pid() -> int | None:
            found = self.conn.execute(waiting, self.lock).scalar()
            self.conn.commit()
            return found

        return int(wait_for(pid, "a write to reach the gate"))  # type: ignore[call-overload]

    def open(self) -> None:
        self.conn.execute(text("SELECT pg_advisory_unlock(hashtext(current_schema())::bigint)"))
        self.conn.close()


GATE_FUNCTION = """
CREATE OR REPLACE FUNCTION sheer_test_gate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_lock_shared(hashtext(current_schema())::bigint);
  PERFORM pg_advisory_unlock_shared(hashtext(current_schema())::bigint);
  RETURN NEW;
END $$
"""


class PausedWriter:
    """A thread writing events on its own instance that stops once its ids are drawn,
    before they commit, until `resume()`: on SQLite in its transaction, before the index
    upsert; on PostgreSQL inside its one statement, at a `Gate` (its events' message is
    'paused')."""

    def __init__(self, instance: dg.Instance, events: list[NewEvent], backend: str) -> None:
        self.ids: list[int] = []
        self.gate: Gate | None = None
        drawn, self.go_on = threading.Event(), threading.Event()
        if backend == "sqlite":
            upsert = instance.storage._upsert

            def paused_upsert(column, row):  # after the event's id is drawn, before commit
                drawn.set()
                assert self.go_on.wait(TIMEOUT)
                return upsert(column, row)

            instance.storage._upsert = paused_upsert
        else:
            self.gate = Gate(instance, "paused")
            events = [dataclasses.replace(e, message="paused") for e in events]
        self.thread = threading.Thread(
            target=lambda: self.ids.extend(instance.store_events(events))
        )
        self.thread.start()
        if self.gate is not None:
            self.gate.held()
        else:
            assert drawn.wait(TIMEOUT)

    def resume(self) -> list[int]:
        self.go_on.set()
        if self.gate is not None:
            self.gate.open()
        self.thread.join(TIMEOUT)
        assert not self.thread.is_alive()
        return self.ids


def test_an_event_id_never_becomes_visible_before_a_lower_one(backend, make_instance):
    """While a writer holds id n uncommitted, no reader sees n + 1 (on PostgreSQL the
    later writer commits it, readers stop below n): a reader that saw n + 1 and moved its
    cursor there would never see n."""
    fast, reader = make_instance(), make_instance()
    slow = PausedWriter(make_instance(), [materialization("a")], backend)
    ids: list[int] = []
    fast_writer = threading.Thread(
        target=lambda: ids.extend(fast.store_events([materialization("b")]))
    )
    try:
        fast_writer.start()
        time.sleep(0.3)  # long enough for the fast writer to commit, were it allowed to
        seen_meanwhile = reader.get_event_records()
    finally:
        slow_ids = slow.resume()
        fast_writer.join(TIMEOUT)

    assert seen_meanwhile == []
    assert slow_ids[0] < ids[0]
    assert [e.asset_key for e in reader.get_event_records()] == [K("a"), K("b")]


# Two daemons ------------------------------------------------------------------------------


@dg.asset
def upstream():
    return 1


@dg.asset(deps=[upstream], automation_condition=dg.AutomationCondition.eager())
def downstream():
    return 2


DAEMON_DEFS = dg.Definitions(assets=[upstream, downstream])


class DaemonThread:
    """A daemon ticking every 20 ms in a thread, on its own instance, with its outcomes."""

    def __init__(self, instance: dg.Instance, owner: str, **kwargs) -> None:
        self.daemon = AutomationDaemon(
            DAEMON_DEFS, instance, launch_args=None, owner=owner, **kwargs
        )
        self.outcomes: list = []
        self.thread = threading.Thread(
            target=self.daemon.run_forever,
            args=(0.02,),
            kwargs={"on_tick": self.outcomes.append},
            daemon=True,
        )
        self.thread.start()

    def stop(self) -> None:
        self.daemon.stop()
        self.thread.join(TIMEOUT)
        assert not self.thread.is_alive()

    def acted(self) -> list:
        return [o for o in list(self.outcomes) if o.tick_id is not None]

    def skipped(self) -> list:
        return [o for o in list(self.outcomes) if o.tick_id is None]


def downstream_runs(instance: dg.Instance) -> list[dg.RunRecord]:
    return [r for r in instance.get_runs() if K("downstream") in r.asset_selection]


def test_two_daemons_ticking_at_once_only_one_acts_until_it_stops(make_instance):
    instance = make_instance()
    one = DaemonThread(make_instance(), "one")
    two = DaemonThread(make_instance(), "two")
    try:
        wait_for(lambda: len(one.outcomes) >= 3 and len(two.outcomes) >= 3, "ticks of both")
        holder, other = (one, two) if one.acted() else (two, one)
        assert other.acted() == []
        assert {o.skipped_reason for o in other.skipped()} == {
            "another daemon holds the lease on this instance"
        }
        dg.materialize([upstream], instance=instance)
        wait_for(lambda: instance.get_latest_materialization("downstream"), "downstream")
        n = len(other.outcomes)
        wait_for(lambda: len(other.outcomes) >= n + 3, "more ticks of the other")
        assert other.acted() == []
        assert len(downstream_runs(instance)) == 1
        requested = [k for o in holder.acted() for k in o.requested]
        assert requested == [K("downstream")]

        holder.stop()  # it releases the lease: the other takes over
        wait_for(other.acted, "the other daemon to take over")
        dg.materialize([upstream], instance=instance)
        # The outcome is reported once the tick (and the run it launched) is done.
        wait_for(lambda: [k for o in other.acted() for k in o.requested], "downstream again")
        assert [k for o in other.acted() for k in o.requested] == [K("downstream")]
        assert len(downstream_runs(instance)) == 2
    finally:
        one.stop()
        two.stop()
    ticks = AutomationStorage(instance.storage).get_ticks(limit=1000)
    assert len(ticks) == len(one.acted()) + len(two.acted())
    assert [t.evaluation_id for t in ticks] == list(range(len(ticks), 0, -1))
    assert {r.status for r in downstream_runs(instance)} == {dg.RunStatus.SUCCESS}
    assert_nothing_half_written(instance)


def test_a_lease_left_by_a_crashed_daemon_is_taken_once_it_expires(make_instance):
    crashed = AutomationDaemon(
        DAEMON_DEFS, make_instance(), launch_args=None, owner="crashed", lease_ttl=0.5
    )
    taker = AutomationDaemon(DAEMON_DEFS, make_instance(), launch_args=None, owner="taker")

    assert crashed.tick().tick_id is not None  # then it never ticks, nor releases, again
    assert taker.tick().skipped_reason == "another daemon holds the lease on this instance"
    time.sleep(0.6)

    assert taker.tick().tick_id is not None
    assert crashed.tick().skipped_reason == "another daemon holds the lease on this instance"


@pytest.mark.parametrize("expired", [False, True], ids=["free", "expired"])
def test_daemons_racing_for_a_lease_get_exactly_one_holder(make_instance, expired):
    stores = [AutomationStorage(make_instance().storage) for _ in range(6)]
    for round_ in range(4):
        name = f"race/{round_}"
        if expired:
            assert stores[0].acquire_lease(name, "dead", ttl=-1)
        barrier = threading.Barrier(len(stores))
        won: list[str] = []

        def race(store: AutomationStorage, owner: str, barrier=barrier, won=won, name=name):
            barrier.wait(TIMEOUT)
            if store.acquire_lease(name, owner, ttl=60):
                won.append(owner)

        threads = [threading.Thread(target=race, args=(s, f"d{i}")) for i, s in enumerate(stores)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(TIMEOUT)
        assert len(won) == 1, won
        assert all(
            s.acquire_lease(name, o, ttl=60) == (o == won[0])
            for s, o in zip(stores, [f"d{i}" for i in range(len(stores))], strict=True)
        )


# A dropped connection -----------------------------------------------------------------------

BLOCKED_RUN = textwrap.dedent(
    """
    import sys
    import time
    from pathlib import Path

    import sheer as dg

    url, home, gate = sys.argv[1], sys.argv[2], Path(sys.argv[3])


    @dg.asset
    def first():
        return 1


    @dg.asset
    def second(first):
        deadline = time.monotonic() + 60
        while not gate.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        return first + 1


    @dg.asset
    def third(second):
        return second + 1


    instance = dg.Instance.from_url(url, root_dir=home)
    dg.materialize([first, second, third], instance=instance)
    """
)


@pytest.fixture
def cut_connections(backend, instance_url, request) -> Callable[[int | None], int]:
    """Terminate this test's PostgreSQL connections (all of them, or one backend pid) from
    another connection; returns how many it ended, once they are gone."""
    if backend == "sqlite":
        pytest.skip(SQLITE_HAS_NO_CONNECTION)
    admin = request.getfixturevalue("postgres_admin")
    name = make_url(instance_url).query["application_name"]  # see conftest.schema_url
    ours = (
        "select pid from pg_stat_activity where application_name = :name "
        "and pid <> pg_backend_pid() and (cast(:pid as int) is null or pid = :pid)"
    )

    def cut(pid: int | None = None) -> int:
        with admin.connect() as conn:
            ended = conn.execute(
                text(f"select count(pg_terminate_backend(pid)) from ({ours}) p"),
                {"name": name, "pid": pid},
            ).scalar()
            conn.commit()
            deadline = time.monotonic() + TIMEOUT
            # pg_stat_activity is a snapshot per transaction: a new one each time.
            while conn.execute(text(ours), {"name": name, "pid": pid}).first() is not None:
                conn.commit()
                assert time.monotonic() < deadline, "the connections were not terminated"
                time.sleep(0.01)
        return int(ended or 0)

    return cut


def test_a_connection_dropped_while_a_step_runs_is_replaced_and_the_run_succeeds(
    cut_connections, instance_url, make_instance, tmp_path
):
    instance = make_instance()
    script, gate = tmp_path / "run.py", tmp_path / "gate"
    script.write_text(BLOCKED_RUN)
    proc = subprocess.Popen(
        [sys.executable, str(script), instance_url, str(tmp_path), str(gate)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        start = wait_for(
            lambda: [
                e
                for e in instance.get_event_records(dg.EventType.STEP_START)
                if e.step_key == "second"
            ],
            "the step 'second' to start",
        )
        assert cut_connections() >= 2  # the run's and ours
        gate.touch()
        _, err = proc.communicate(timeout=TIMEOUT)
    finally:
        gate.touch()
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err.decode()

    run_id = start[0].run_id
    assert instance.get_run(run_id).status is dg.RunStatus.SUCCESS
    assert run_events(instance, run_id) == [("RUN_START", None)] + [
        (kind, step)
        for step in ("first", "second", "third")
        for kind in ("STEP_START", "ASSET_MATERIALIZATION", "STEP_SUCCESS")
    ] + [("RUN_SUCCESS", None)]
    assert_nothing_half_written(instance)


@dg.asset
def before():
    return 1


@dg.asset
def during(before):
    return before + 1


@dg.asset
def after(during):
    return during + 1


def drop_before(
    instance: dg.Instance, cut: Callable[[int | None], int], *, times: int
) -> list[int]:
    """Cut the connection the instance takes for writing the materialization of `during`
    as it takes it from the pool, before anything is sent; and its replacement too, up to
    `times` connections. Returns the pids cut."""
    cuts: list[int] = []
    armed = [False]
    statements = instance.storage._event_statements
    build = statements.build

    def arm(events):
        armed[0] = any(
            e.event_type is dg.EventType.ASSET_MATERIALIZATION and e.asset_key == K("during")
            for e in events
        )
        return build(events)

    statements.build = arm

    @event.listens_for(instance.storage.engine, "checkout")
    def on_checkout(dbapi_connection, record, proxy):
        if armed[0] and len(cuts) < times:
            cuts.append(dbapi_connection.info.backend_pid)
            cut(cuts[-1])

    return cuts


def test_a_connection_closed_before_a_steps_write_is_replaced_once(cut_connections, make_instance):
    instance = make_instance()
    cuts = drop_before(instance, cut_connections, times=1)

    result = dg.materialize([before, during, after], instance=instance)

    assert len(cuts) == 1
    assert result.success
    assert run_events(instance, result.run_id) == successful_run(["before", "during", "after"])
    assert_nothing_half_written(instance)


def test_a_connection_lost_twice_fails_the_run_cleanly(cut_connections, make_instance):
    instance = make_instance()
    cuts = drop_before(instance, cut_connections, times=2)

    with pytest.raises(StorageError) as info:
        dg.materialize([before, during, after], instance=instance)

    assert len(cuts) == 2
    message = str(info.value)
    assert message.startswith("Cannot write to the instance storage at postgresql+psycopg://")
    assert message.endswith(
        "the connection was lost (the server had closed it), and again on a new connection. "
        "Fix: check that the database server is running and reachable."
    )
    (run,) = instance.get_runs()
    assert run.status is dg.RunStatus.FAILURE
    assert run.error == f"The run stopped: StorageError: {message}"
    assert run_events(instance, run.run_id) == [
        ("RUN_START", None),
        ("STEP_START", "before"),
        ("ASSET_MATERIALIZATION", "before"),
        ("STEP_SUCCESS", "before"),
        ("STEP_START", "during"),
        ("RUN_FAILURE", None),
    ]
    assert instance.get_latest_materialization("during") is None
    assert_nothing_half_written(instance)


def test_a_connection_lost_during_a_steps_write_fails_the_run_and_writes_all_or_nothing(
    cut_connections, make_instance
):
    """A step's write is one statement, its own transaction: a connection lost once it
    was sent may have committed or not, so the run fails rather than write it twice."""
    instance = make_instance()
    gate = Gate(instance, "Materialized 'during'")
    cuts: list[int] = []

    def cut_the_held_write() -> None:
        cuts.append(gate.held())
        cut_connections(cuts[-1])
        gate.open()

    cutter = threading.Thread(target=cut_the_held_write)
    cutter.start()
    try:
        with pytest.raises(StorageError) as info:
            dg.materialize([before, during, after], instance=instance)
    finally:
        cutter.join(TIMEOUT)

    assert len(cuts) == 1
    assert "was lost while committing (" in str(info.value)
    assert "so whether the write was recorded is unknown" in str(info.value)
    (run,) = instance.get_runs()
    assert run.status is dg.RunStatus.FAILURE
    kinds = run_events(instance, run.run_id)
    assert ("STEP_START", "during") in kinds and kinds[-1] == ("RUN_FAILURE", None)
    # The step's events landed together or not at all (here: not, the server aborted it).
    assert ("ASSET_MATERIALIZATION", "during") not in kinds
    assert ("STEP_SUCCESS", "during") not in kinds
    assert_nothing_half_written(instance)


def test_leases_expire_by_the_database_clock_not_this_hosts(make_instance, monkeypatch):
    from sheer.storage.automation import AutomationStorage

    store = AutomationStorage(make_instance().storage)
    assert store.acquire_lease("automation/daemon", "elsewhere", ttl=60)
    with store.engine.begin() as conn:  # held by a live daemon on another host
        conn.execute(text("UPDATE leases SET hostname = 'another-host', pid = 1"))
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 3600)  # this host's clock is fast
    assert not store.acquire_lease("automation/daemon", "here", ttl=60)
    with store.engine.begin() as conn:  # the holder stopped renewing a minute ago
        conn.execute(text("UPDATE leases SET expires_at = expires_at - 120"))
    assert store.acquire_lease("automation/daemon", "here", ttl=60)


# A dropped connection during a read ----------------------------------------------------------


def drop_on_read(instance: dg.Instance, cut: Callable[[int | None], int], *, times: int) -> list:
    """Cut the instance's connection `times` times, as it sends a read of the event log
    (after the pool's check that the connection is alive). Returns the pids cut."""
    cuts: list[int] = []

    @event.listens_for(instance.storage.engine, "before_cursor_execute")
    def on_statement(conn, cursor, statement, parameters, context, executemany):
        reads_events = statement.startswith("SELECT") and "FROM event_logs" in statement
        if reads_events and len(cuts) < times:
            cuts.append(conn.connection.dbapi_connection.info.backend_pid)
            cut(cuts[-1])

    return cuts


def test_a_read_that_loses_its_connection_is_run_again_on_a_new_one(cut_connections, make_instance):
    instance = make_instance()
    instance.store_events([materialization("a"), materialization("b")])
    cuts = drop_on_read(instance, cut_connections, times=1)

    records = instance.get_event_records()

    assert len(cuts) == 1
    assert [e.asset_key for e in records] == [K("a"), K("b")]


def test_a_read_that_loses_its_connection_twice_is_a_storage_error_without_the_password(
    cut_connections, instance_url
):
    url = make_url(instance_url).set(password="secret").render_as_string(hide_password=False)
    instance = dg.Instance.from_url(url)  # trust authentication ignores the password
    try:
        instance.store_events([materialization("a")])
        cuts = drop_on_read(instance, cut_connections, times=2)

        with pytest.raises(StorageError) as info:
            instance.get_event_records()
    finally:
        instance.dispose()

    assert len(cuts) == 2
    shown = make_url(url).render_as_string(hide_password=True)
    assert "secret" not in shown
    assert str(info.value) == (
        f"Cannot read from the instance storage at {shown}: the connection was lost "
        "(terminating connection due to administrator command), and again on a new "
        "connection. Fix: check that the database server is running and reachable."
    )
    assert info.value.file == shown


# Writers in parallel, readers below the ids in flight (PostgreSQL) ---------------------------


@pytest.fixture
def postgres_writers(backend) -> None:
    if backend == "sqlite":
        pytest.skip("SQLite has one writer at a time: its ids commit in id order")


def write_in_thread(instance: dg.Instance, events: list[NewEvent]) -> list[int]:
    """Write from another thread; fail if it waits for a writer in flight."""
    ids: list[int] = []
    writer = threading.Thread(target=lambda: ids.extend(instance.store_events(events)))
    writer.start()
    writer.join(10)
    assert not writer.is_alive(), "the writer waited for the one in flight"
    return ids


def test_writers_in_flight_do_not_wait_for_each_other(postgres_writers, make_instance):
    slow = PausedWriter(make_instance(), [materialization("a")], "postgresql")
    try:
        ids = [write_in_thread(make_instance(), [materialization(f"b{i}")]) for i in range(3)]
    finally:
        slow_ids = slow.resume()

    assert slow_ids[0] < ids[0][0] < ids[1][0] < ids[2][0]


def test_a_reader_following_ids_never_skips_a_lower_id_that_commits_later(
    postgres_writers, make_instance
):
    reader = make_instance()
    latest_ids = AutomationStorage(reader.storage).get_latest_ids
    (first,) = make_instance().store_events([materialization("b")])
    seen = reader.get_event_records()
    cursor = seen[-1].storage_id
    assert latest_ids() == {"b": (first, 0, None)}

    slow = PausedWriter(make_instance(), [materialization("a")], "postgresql")
    try:
        (fast,) = write_in_thread(make_instance(), [materialization("b")])
        # b's new id is committed, a's lower one is not: neither is shown yet.
        assert reader.get_event_records(after_id=cursor) == []
        assert reader.get_event_records(ascending=False, limit=1) == seen
        assert latest_ids() == {"b": (first, 0, None)}
    finally:
        (late,) = slow.resume()

    assert late < fast
    assert [e.storage_id for e in reader.get_event_records(after_id=cursor)] == [late, fast]
    assert latest_ids() == {"a": (late, 0, None), "b": (fast, 0, None)}


def test_the_latest_index_keeps_the_newest_event_when_an_older_one_commits_later(
    postgres_writers, make_instance
):
    reader = make_instance()
    slow = PausedWriter(make_instance(), [materialization("a")], "postgresql")
    try:
        (fast,) = write_in_thread(make_instance(), [materialization("a")])
    finally:
        (late,) = slow.resume()

    assert late < fast
    assert reader.get_latest_materialization("a").storage_id == fast
    assert AutomationStorage(reader.storage).get_latest_ids() == {"a": (fast, 0, None)}
