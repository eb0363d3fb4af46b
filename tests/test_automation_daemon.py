"""The automation daemon on a real instance: ticks, launches, the lease, records; on
SQLite and PostgreSQL (see conftest.py).

Runs requested by the daemon execute in subprocesses (`python -m sheer launch`), so
these tests wait for them with bounded polling; nothing depends on how fast a tick is.
"""

import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from click.testing import CliRunner

import sheer as dg
from fixtures.runs import on_another_host
from sheer.automation import AutomationDaemon
from sheer.automation.daemon import CURSOR_KEY, LEASE_NAME
from sheer.cli import main
from sheer.storage.automation import AutomationStorage

DEFS = """
import sheer as dg


@dg.asset
def A():
    return 1


@dg.asset(is_virtual=True, deps=[A])
def B():
    return None


@dg.asset(deps=[B],
          automation_condition=dg.AutomationCondition.eager().resolve_through_virtual())
def D():
    return 1


defs = dg.Definitions(assets=[A, B, D])
"""

TIMEOUT = 60.0


def wait_for(predicate, what, timeout=TIMEOUT):
    """Poll `predicate` until it is true; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"timed out after {timeout:g}s waiting for {what}")


@pytest.fixture
def project(tmp_path, make_instance):
    path = tmp_path / "defs.py"
    path.write_text(DEFS)
    return tmp_path, path, make_instance()


def materializations(instance, key):
    return instance.fetch_materializations(key, limit=100)


def runs_for(instance, key):
    return [r for r in instance.get_runs() if dg.AssetKey(key) in r.asset_selection]


class ThreadedDaemon:
    """A daemon ticking every `interval` seconds in a thread, with its outcomes."""

    def __init__(self, defs, instance, defs_file, cwd, **kwargs):
        self.daemon = AutomationDaemon(
            defs, instance, launch_args=["-f", str(defs_file)], cwd=str(cwd), **kwargs
        )
        self.outcomes = []
        self.thread = threading.Thread(
            target=self.daemon.run_forever,
            args=(0.2,),
            kwargs={"on_tick": self.outcomes.append},
            daemon=True,
        )

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.daemon.stop()
        self.thread.join(timeout=TIMEOUT)
        assert not self.thread.is_alive()
        self.daemon.wait_for_children()

    def ticks(self):
        return len(self.outcomes)

    def requested(self):
        return [k.to_user_string() for o in list(self.outcomes) for k in o.requested]


def test_the_daemon_materializes_d_after_a_and_a_restart_requests_nothing_twice(project):
    tmp_path, defs_file, instance = project
    defs = dg.load_definitions(defs_file)
    with ThreadedDaemon(defs, instance, defs_file, tmp_path) as first:
        wait_for(lambda: first.ticks() >= 1, "the first tick")
        defs.materialize(["A"], instance=instance)
        wait_for(lambda: materializations(instance, "D"), "the daemon to materialize D")
        assert first.requested() == ["D"]
    (d_run,) = runs_for(instance, "D")
    assert d_run.status is dg.RunStatus.SUCCESS
    assert d_run.tags["sheer/from_automation"] == "true"

    with ThreadedDaemon(defs, instance, defs_file, tmp_path) as second:
        wait_for(lambda: second.ticks() >= 5, "five ticks of the restarted daemon")
    assert second.requested() == []
    assert len(materializations(instance, "D")) == 1
    assert len(runs_for(instance, "D")) == 1
    # the restarted daemon went on from the stored cursor
    cursor = AutomationStorage(instance.storage).get_ticks(limit=1)[0]
    assert cursor.evaluation_id == first.ticks() + second.ticks()


def test_a_restart_right_after_the_request_does_not_request_again(project):
    tmp_path, defs_file, instance = project
    defs = dg.load_definitions(defs_file)
    daemon = AutomationDaemon(defs, instance, launch_args=["-f", str(defs_file)], cwd=str(tmp_path))
    daemon.tick()
    defs.materialize(["A"], instance=instance)
    outcome = daemon.tick()
    assert [k.to_user_string() for k in outcome.requested] == ["D"]
    daemon.store.release_lease(LEASE_NAME, daemon.owner)  # stopped; its run goes on

    restarted = AutomationDaemon(
        defs, instance, launch_args=["-f", str(defs_file)], cwd=str(tmp_path)
    )
    for _ in range(3):  # while D's run is queued or running, and after
        assert restarted.tick().requested == ()
    daemon.wait_for_children()
    wait_for(lambda: materializations(instance, "D"), "D's run")
    for _ in range(3):
        assert restarted.tick().requested == ()
    assert len(runs_for(instance, "D")) == 1


def test_two_daemons_on_one_instance_only_one_acts(project):
    tmp_path, defs_file, instance = project
    defs = dg.load_definitions(defs_file)
    one = AutomationDaemon(
        defs, instance, launch_args=["-f", str(defs_file)], cwd=str(tmp_path), owner="one"
    )
    two = AutomationDaemon(
        defs, instance, launch_args=["-f", str(defs_file)], cwd=str(tmp_path), owner="two"
    )
    first = one.tick()
    assert first.tick_id is not None
    skipped = two.tick()
    assert skipped.tick_id is None and skipped.result is None
    assert skipped.skipped_reason == "another daemon holds the lease on this instance"
    defs.materialize(["A"], instance=instance)
    assert two.tick().skipped_reason is not None
    assert [k.to_user_string() for k in one.tick().requested] == ["D"]
    assert len(AutomationStorage(instance.storage).get_ticks()) == 2  # skipped ticks: no record
    one.store.release_lease(LEASE_NAME, "one")
    assert two.tick().skipped_reason is None  # the lease is free: the other takes over
    assert one.tick().skipped_reason == "another daemon holds the lease on this instance"
    one.wait_for_children()


def test_an_expired_lease_is_taken_over(project):
    _, defs_file, instance = project
    defs = dg.load_definitions(defs_file)
    # a lease that expires at once: as if its daemon had died long ago
    crashed = AutomationDaemon(defs, instance, launch_args=[], owner="crashed", lease_ttl=-1)
    assert crashed.tick().tick_id is not None
    taker = AutomationDaemon(defs, instance, launch_args=[], owner="taker")
    assert taker.tick().skipped_reason is None
    assert crashed.tick().skipped_reason is not None


def test_ticks_and_changed_evaluations_are_recorded(project):
    tmp_path, defs_file, instance = project
    defs = dg.load_definitions(defs_file)
    daemon = AutomationDaemon(defs, instance, launch_args=["-f", str(defs_file)], cwd=str(tmp_path))
    store = AutomationStorage(instance.storage)
    first = daemon.tick()
    (evaluation,) = store.get_evaluations(tick_id=first.tick_id)
    assert evaluation.asset_key == dg.AssetKey("D")
    assert (evaluation.value, evaluation.requested, evaluation.error) == (False, False, None)
    assert evaluation.tree["label"] == "eager (through virtual)"

    second = daemon.tick()  # newly_missing went from true to false: a change
    assert len(store.get_evaluations(tick_id=second.tick_id)) == 1
    quiet = daemon.tick()  # nothing changed: the tick is recorded, D's evaluation is not
    assert store.get_evaluations(tick_id=quiet.tick_id) == []

    defs.materialize(["A"], instance=instance)
    requested = daemon.tick()
    daemon.wait_for_children()
    ticks = store.get_ticks()
    assert [t.tick_id for t in ticks] == [
        requested.tick_id,
        quiet.tick_id,
        second.tick_id,
        first.tick_id,
    ]
    assert ticks[0].status == "SUCCESS"
    assert ticks[0].requested == (dg.AssetKey("D"),)
    assert ticks[0].run_ids == requested.run_ids
    assert [t.status for t in ticks[1:]] == ["SKIPPED"] * 3
    (evaluation,) = store.get_evaluations(tick_id=requested.tick_id)
    assert (evaluation.value, evaluation.requested) == (True, True)
    since = evaluation.tree["children"][1]
    updated = since["children"][0]["children"][1]
    assert updated["label"] == "any_deps_updated (through virtual)"
    assert updated["note"] == "through virtual assets"
    assert [(c["target"], c["value"]) for c in updated["children"]] == [("A", True)]
    assert [e.tick_id for e in store.get_evaluations(asset_key=dg.AssetKey("D"))] == [
        requested.tick_id,
        second.tick_id,
        first.tick_id,
    ]
    assert instance.get_value(CURSOR_KEY) == requested.result.cursor.to_json()


def test_a_condition_that_raises_is_recorded_on_the_tick_and_others_still_run(project):
    tmp_path, defs_file, instance = project
    defs_file.write_text(
        DEFS.replace(
            "defs = dg.Definitions(assets=[A, B, D])",
            "@dg.asset(deps=[B], automation_condition=dg.AutomationCondition.asset_matches(\n"
            "    'nope', dg.AutomationCondition.missing()))\n"
            "def E():\n"
            "    return 1\n\n\n"
            "defs = dg.Definitions(assets=[A, B, D, E])",
        )
    )
    defs = dg.load_definitions(defs_file)
    daemon = AutomationDaemon(defs, instance, launch_args=["-f", str(defs_file)], cwd=str(tmp_path))
    daemon.tick()
    defs.materialize(["A"], instance=instance)
    outcome = daemon.tick()
    daemon.wait_for_children()
    assert [k.to_user_string() for k in outcome.requested] == ["D"]
    store = AutomationStorage(instance.storage)
    (tick,) = store.get_ticks(limit=1)
    assert tick.error.startswith(
        "Evaluating the automation condition of 'E' failed: UnknownAssetError: No asset named "
        "'nope' in the definitions."
    )
    (failed,) = store.get_evaluations(tick_id=tick.tick_id, asset_key=dg.AssetKey("E"))
    assert failed.error == tick.error and failed.tree is None


def test_sheer_automation_tick_prints_what_it_requested_and_why(project, monkeypatch):
    tmp_path, defs_file, instance = project
    monkeypatch.chdir(tmp_path)
    args = ["automation", "tick", "-f", str(defs_file), "--instance", instance.url]
    runner = CliRunner()
    quiet = runner.invoke(main, args)
    assert quiet.exit_code == 0, quiet.output
    assert "0 requested" in quiet.output
    dg.load_definitions(defs_file).materialize(["A"], instance=instance)
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "1 requested" in result.output
    row = next(line for line in result.output.splitlines() if line.startswith("│ D "))
    assert "yes" in row
    assert "any_deps_updated (through" in result.output
    assert "launched run" in result.output
    assert len(materializations(instance, "D")) == 1  # the command waits for its run


def test_sheer_automation_run_in_a_subprocess_materializes_d_and_stops_cleanly(project):
    tmp_path, defs_file, instance = project
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sheer",
            "automation",
            "run",
            "-f",
            str(defs_file),
            "--instance",
            instance.url,
            "--interval",
            "200ms",
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        store = AutomationStorage(instance.storage)
        wait_for(lambda: store.get_ticks(limit=1), "the subprocess daemon's first tick")
        dg.load_definitions(defs_file).materialize(["A"], instance=instance)
        wait_for(lambda: materializations(instance, "D"), "the daemon to materialize D")
        last = store.get_ticks(limit=1)[0].tick_id
        wait_for(lambda: store.get_ticks(limit=1)[0].tick_id >= last + 3, "three more ticks")
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 0, err
    assert "ticking every 0.2s" in out
    assert out.rstrip().endswith("stopped")
    assert len(materializations(instance, "D")) == 1
    requested = [t for t in store.get_ticks(limit=1000) if t.requested]
    assert [t.requested for t in requested] == [(dg.AssetKey("D"),)]
    # the lease was released: another daemon acts at once
    defs = dg.load_definitions(defs_file)
    assert AutomationDaemon(defs, instance, launch_args=[]).tick().skipped_reason is None


def test_tick_statuses_are_an_enum_stored_with_the_values_stored_before(project, monkeypatch):
    from sqlalchemy import select

    from sheer.automation import daemon as daemon_module
    from sheer.storage.automation import TickStatus
    from sheer.storage.schema import automation_ticks

    tmp_path, defs_file, instance = project
    defs = dg.load_definitions(defs_file)
    daemon = AutomationDaemon(defs, instance, launch_args=["-f", str(defs_file)], cwd=str(tmp_path))
    daemon.tick()
    defs.materialize(["A"], instance=instance)

    def no_launcher(*args, **kwargs):
        raise OSError("no launcher")

    monkeypatch.setattr(daemon_module.subprocess, "Popen", no_launcher)
    failed = daemon.tick()
    store = AutomationStorage(instance.storage)
    ticks = store.get_ticks()
    assert [t.status for t in ticks] == [TickStatus.FAILURE, TickStatus.SKIPPED]
    assert all(isinstance(t.status, TickStatus) for t in ticks)
    (run_id,) = failed.run_ids
    assert ticks[0].error == f"Launching run {run_id[:8]} for 1 assets failed: no launcher"
    assert failed.requested == (dg.AssetKey("D"),)
    assert instance.get_run(run_id).status is dg.RunStatus.FAILURE  # not relaunched later
    with instance.storage.engine.connect() as conn:
        stored = conn.execute(select(automation_ticks.c.status).order_by(automation_ticks.c.id))
        assert [row[0] for row in stored] == ["SKIPPED", "FAILURE"]
    assert [m.value for m in TickStatus] == ["SUCCESS", "SKIPPED", "FAILURE"]


def test_executed_with_tags_sees_the_tags_of_the_daemons_own_runs(project):
    tmp_path, defs_file, instance = project
    defs_file.write_text(
        DEFS.replace(
            "defs = dg.Definitions(assets=[A, B, D])",
            "@dg.asset(deps=[D], automation_condition=dg.AutomationCondition.any_deps_match(\n"
            "    dg.AutomationCondition.executed_with_tags(\n"
            "        tag_values={'sheer/from_automation': 'true'})).since_last_handled())\n"
            "def E():\n"
            "    return 1\n\n\n"
            "defs = dg.Definitions(assets=[A, B, D, E])",
        )
    )
    defs = dg.load_definitions(defs_file)
    daemon = AutomationDaemon(defs, instance, launch_args=["-f", str(defs_file)], cwd=str(tmp_path))
    daemon.tick()
    defs.materialize(["A"], instance=instance)
    assert [k.to_user_string() for k in daemon.tick().requested] == ["D"]
    daemon.wait_for_children()
    wait_for(lambda: materializations(instance, "D"), "D to be materialized")
    assert [k.to_user_string() for k in daemon.tick().requested] == ["E"]
    daemon.wait_for_children()
    defs.materialize(["D"], instance=instance)  # by hand: no automation tag
    outcome = daemon.tick()
    assert outcome.requested == ()


# Requests are durable: the run row is the record of a request ---------------------
CRASH = """
import os
import os
import signal
import sys

import sheer as dg
from sheer.automation import AutomationDaemon
from sheer.automation import daemon as daemon_module

defs_file, url, when = sys.argv[1], sys.argv[2], sys.argv[3]
defs = dg.load_definitions(defs_file)
instance = dg.Instance.from_url(url)
daemon = AutomationDaemon(defs, instance, launch_args=["-f", defs_file])
daemon.tick()  # the first evaluation
defs.materialize(["A"], instance=instance)
if when == "before-launch":
    real = daemon_module.subprocess.Popen

    def crash_instead(*args, **kwargs):  # the request is committed; the launch never runs
        print("requested", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)

    daemon_module.subprocess.Popen = crash_instead
outcome = daemon.tick()
print("launched", outcome.run_ids[0], flush=True)
os.kill(os.getpid(), signal.SIGKILL)  # right after launching
"""


def crash_daemon(tmp_path, defs_file, url, when):
    script = tmp_path / "crash.py"
    script.write_text(CRASH)
    proc = subprocess.run(
        [sys.executable, str(script), str(defs_file), url, when],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    return proc.stdout.split()


def test_a_daemon_killed_after_requesting_a_run_loses_nothing(project, instance_url):
    tmp_path, defs_file, instance = project
    assert crash_daemon(tmp_path, defs_file, instance_url, "before-launch") == ["requested"]
    (waiting,) = instance.get_runs_awaiting_launch()  # the request survived the crash
    assert waiting.asset_selection == (dg.AssetKey("D"),)
    assert waiting.status is dg.RunStatus.QUEUED

    defs = dg.load_definitions(defs_file)
    restarted = AutomationDaemon(
        defs, instance, launch_args=["-f", str(defs_file)], cwd=str(tmp_path)
    )
    outcome = restarted.tick()  # launches the waiting run first; requests nothing new
    assert outcome.requested == ()
    restarted.wait_for_children()
    assert instance.get_run(waiting.run_id).status is dg.RunStatus.SUCCESS
    assert len(materializations(instance, "D")) == 1
    assert [r.run_id for r in runs_for(instance, "D")] == [waiting.run_id]  # requested once


def test_a_daemon_killed_right_after_launching_leaves_its_run_running(project, instance_url):
    tmp_path, defs_file, instance = project
    said, run_id = crash_daemon(tmp_path, defs_file, instance_url, "after-launch")
    assert said == "launched"
    # Its launcher's death fails nothing: the child claims the run and finishes it.
    assert instance.get_run(run_id).status is not dg.RunStatus.FAILURE
    wait_for(lambda: instance.get_run(run_id).status is dg.RunStatus.SUCCESS, "the run")
    assert len(materializations(instance, "D")) == 1
    events = len(instance.get_event_records(run_id=run_id))

    # Launching the same run again (a second launcher) is harmless: nothing runs twice.
    again = subprocess.run(
        [sys.executable, "-m", "sheer", "launch", "--run-id", run_id, "-f", str(defs_file)],
        cwd=tmp_path,
        env={**os.environ, "SHEER_INSTANCE": instance_url},
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert again.returncode == 0, again.stderr
    assert again.stdout == f"run {run_id[:8]} is SUCCESS, not QUEUED: nothing to launch\n"
    assert len(instance.get_event_records(run_id=run_id)) == events


WIDE = """
import sheer as dg

N = {n}


@dg.asset
def A():
    return 1


def leaf(i):
    @dg.asset(name=f"d{{i}}", deps=[A], automation_condition=dg.AutomationCondition.eager())
    def d():
        return i

    return d


defs = dg.Definitions(assets=[A, *(leaf(i) for i in range(N))])
"""


def test_a_request_of_thousands_of_assets_runs_in_its_child(tmp_path, make_instance):
    # One selection string of every key made the child recurse past ~990 keys.
    defs_file = tmp_path / "wide.py"
    defs_file.write_text(WIDE.format(n=2_500))
    instance = make_instance()
    defs = dg.load_definitions(defs_file)
    daemon = AutomationDaemon(defs, instance, launch_args=["-f", str(defs_file)], cwd=str(tmp_path))
    daemon.tick()
    defs.materialize(["A"], instance=instance)
    outcome = daemon.tick()
    assert len(outcome.requested) == 2_500
    daemon.wait_for_children(timeout=TIMEOUT * 3)
    (run_id,) = outcome.run_ids
    assert instance.get_run(run_id).status is dg.RunStatus.SUCCESS
    assert len(instance.get_latest_materializations([f"d{i}" for i in range(2_500)])) == 2_500


def test_a_launched_run_reads_its_assets_from_storage_not_argv(
    tmp_path, make_instance, monkeypatch
):
    from sheer.automation import daemon as daemon_module

    instance = make_instance()
    keys = [dg.AssetKey(f"d{i}") for i in range(50_000)]  # past the OS's argv limit
    other = instance.create_run(keys, queued=True, awaiting_launch=True)
    launched = []

    class Child:
        pid = os.getpid()

        def __init__(self, cmd, **kwargs):
            launched.append((cmd, kwargs["env"]))

    monkeypatch.setattr(daemon_module.subprocess, "Popen", Child)
    daemon = AutomationDaemon(dg.Definitions(), instance, launch_args=["-f", "defs.py"])
    assert daemon.launch_waiting_runs() == []  # not requested by automation: left alone
    run = instance.create_run(
        keys, tags={"sheer/from_automation": "true"}, queued=True, awaiting_launch=True
    )
    assert daemon.launch_waiting_runs() == [run.run_id]
    ((cmd, env),) = launched
    assert cmd[1:] == ["-m", "sheer", "launch", "--run-id", run.run_id, "--quiet", "-f", "defs.py"]
    assert env["SHEER_INSTANCE"] == instance.url  # not in argv, where `ps` shows it
    assert len(instance.get_run(run.run_id).asset_selection) == 50_000
    assert [r.run_id for r in instance.get_runs_awaiting_launch()] == [other.run_id]


def test_the_daemon_marks_failed_a_run_gone_silent_on_another_host(project):
    _, defs_file, instance = project
    run = instance.create_run([dg.AssetKey("D")])
    on_another_host(instance, run.run_id, silent_for=301)
    defs = dg.load_definitions(defs_file)
    AutomationDaemon(defs, instance, launch_args=None).tick()
    with instance.storage.engine.connect() as conn:  # recorded, not only reported
        from sqlalchemy import text

        status = conn.execute(text("SELECT status FROM runs WHERE run_id = :r"), {"r": run.run_id})
        assert status.scalar() == "FAILURE"
