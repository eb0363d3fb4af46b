"""A run whose process is killed (SIGKILL) mid-run: what it committed stays readable, and
the run is reported failed instead of "running" forever; on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import sheer as dg

SCRIPT = textwrap.dedent(
    """
    import sys
    import time
    from pathlib import Path

    import sheer as dg

    url, gate, executor, home = sys.argv[1], Path(sys.argv[2]), sys.argv[3], sys.argv[4]


    @dg.asset
    def first():
        return 1


    @dg.asset
    def second(first):
        # Blocks until the test opens the gate (it never does before the kill); bounded so
        # an orphaned worker process cannot outlive the test by much.
        deadline = time.monotonic() + 60
        while not gate.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        return first + 1


    instance = dg.Instance.from_url(url, root_dir=home)
    dg.materialize([first, second], instance=instance, executor=executor)
    """
)


def children_of(pid: int) -> list[int]:
    """The processes whose parent is `pid` (Linux /proc)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[-1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_for_materialization(
    instance: dg.Instance, key: str, proc: subprocess.Popen
) -> dg.EventRecord:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        record = instance.get_latest_materialization(key)
        if record is not None:
            return record
        if proc.poll() is not None:
            raise AssertionError(f"the run process ended early: {proc.communicate()}")
        time.sleep(0.05)
    raise AssertionError(f"'{key}' was not materialized within 30 s")


@pytest.mark.parametrize("executor", ["in_process", "multiprocess"])
def test_a_killed_run_keeps_its_committed_events_and_is_reported_failed(
    executor, instance_url, make_instance, tmp_path
):
    script = tmp_path / "run.py"
    script.write_text(SCRIPT)
    gate = tmp_path / "gate"
    proc = subprocess.Popen(
        [sys.executable, str(script), instance_url, str(gate), executor, str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    workers: list[int] = []
    try:
        instance = make_instance()
        first = wait_for_materialization(instance, "first", proc)
        run_id = first.run_id
        before = instance.get_event_records(run_id=run_id)
        assert instance.get_run(run_id).status is dg.RunStatus.STARTED

        workers = children_of(proc.pid)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        # Worker processes of the multiprocess executor end with their run's process,
        # the one blocked in `second` included (the gate is still closed).
        deadline = time.monotonic() + 15
        while any(running(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [w for w in workers if running(w)] == []
    finally:
        gate.touch()  # lets an orphaned worker of the multiprocess executor finish
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for w in workers:  # never leave a process behind, even when an assertion failed
            if running(w):
                os.kill(w, signal.SIGKILL)
        proc.stdout.close()
        proc.stderr.close()

    run = instance.get_run(run_id)
    assert run.status is dg.RunStatus.FAILURE
    assert run.error == (
        f"The run's process ({proc.pid}) ended without finishing the run (killed or crashed)."
    )
    after = instance.get_event_records(run_id=run_id)
    assert after[: len(before)] == before
    kinds = [(e.event_type.value, e.step_key) for e in after]
    assert kinds[:4] == [
        ("RUN_START", None),
        ("STEP_START", "first"),
        ("ASSET_MATERIALIZATION", "first"),
        ("STEP_SUCCESS", "first"),
    ]
    assert ("STEP_START", "second") in kinds
    assert ("ASSET_MATERIALIZATION", "second") not in kinds
    assert kinds[-1] == ("RUN_FAILURE", None)
    assert kinds.count(("RUN_FAILURE", None)) == 1
    assert after[-1].message == (
        f"Run {run_id[:8]} failed. The run's process ({proc.pid}) ended without finishing the "
        "run (killed or crashed)."
    )
    # A fresh instance on the same database, as a UI would open it, agrees.
    reopened = make_instance()
    assert reopened.get_run(run_id).status is dg.RunStatus.FAILURE
    assert reopened.get_runs(status=dg.RunStatus.STARTED) == []
    assert reopened.get_latest_materialization("first").storage_id == first.storage_id
    assert [e.event_type for e in reopened.get_event_records(run_id=run_id)].count(
        dg.EventType.RUN_FAILURE
    ) == 1


LEASE_HOLDER = textwrap.dedent(
    """
    import sys
    import time

    import sheer as dg
    from sheer.storage.automation import AutomationStorage

    instance = dg.Instance.from_url(sys.argv[1])
    assert AutomationStorage(instance.storage).acquire_lease("automation/daemon", "dead", 120)
    print("held", flush=True)
    time.sleep(60)
    """
)


def test_a_lease_held_by_a_killed_daemon_on_this_host_is_taken_at_once(
    instance_url, make_instance, tmp_path
):
    from sheer.storage.automation import AutomationStorage

    script = tmp_path / "hold.py"
    script.write_text(LEASE_HOLDER)
    proc = subprocess.Popen(
        [sys.executable, str(script), instance_url], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout.readline() == "held\n"
        store = AutomationStorage(make_instance().storage)
        assert not store.acquire_lease("automation/daemon", "restarted", 120)  # alive: held
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        # Dead on this host: no need to wait out its 120 s.
        assert store.acquire_lease("automation/daemon", "restarted", 120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
