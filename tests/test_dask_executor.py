"""The Dask executor on a LocalCluster of worker processes: ordering, values, failures."""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

distributed = pytest.importorskip(
    "distributed", reason="the Dask executor needs `distributed` (pip install 'sheer[dask]')"
)

import sheer as dg  # noqa: E402
from sheer.errors import ExecutionError, StepExecutionError  # noqa: E402
from sheer.execution.dask_executor import (  # noqa: E402
    DaskExecutor,
    _InstanceFromUrl,
    _shippable_factory,
    dask_executor,
)

K = dg.AssetKey


@pytest.fixture(scope="module")
def cluster():
    """One cluster for the module: starting worker processes takes seconds."""
    import dask

    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        local = distributed.LocalCluster(
            n_workers=3,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=logging.ERROR,
        )
    with local:
        yield local


@pytest.fixture
def executor(cluster):
    return dask_executor.configured({"address": cluster.scheduler_address})


def note(log: Path, text: str) -> None:
    """Append one line from whichever worker runs the asset (O_APPEND keeps lines whole)."""
    with open(log, "a") as f:
        f.write(f"{text} {os.getpid()} {time.time()!r}\n")


def lines(log: Path) -> list[tuple[str, int, float]]:
    out = []
    for line in log.read_text().splitlines():
        text, pid, ts = line.rsplit(" ", 2)
        out.append((text, int(pid), float(ts)))
    return out


def texts(log: Path) -> list[str]:
    return [text for text, _, _ in lines(log)]


def event(result: dg.ExecutionResult, kind: dg.EventType, step_key: str) -> dg.EventRecord:
    (found,) = [e for e in result.all_events if e.event_type is kind and e.step_key == step_key]
    return found


# Ordering and values --------------------------------------------------------------------------


def _chain(log: Path) -> list[dg.AssetsDefinition]:
    """z_up -> b(virtual) -> c(virtual) -> a_down: a_down sorts first, so only the
    ordering through b and c keeps it after z_up."""

    @dg.asset
    def z_up():
        note(log, "z_up start")
        time.sleep(0.3)
        note(log, "z_up end")
        return 1

    @dg.asset(is_virtual=True)
    def b(z_up):
        note(log, "b")
        return z_up + 1

    @dg.asset(is_virtual=True)
    def c(b):
        note(log, "c")
        return b * 10

    @dg.asset
    def a_down(c):
        note(log, "a_down start")
        return c + 1

    return [z_up, b, c, a_down]


def test_a_step_runs_after_a_selected_ancestor_reached_through_unselected_virtual_assets(
    executor, tmp_path
):
    log = tmp_path / "log"

    result = dg.materialize(_chain(log), selection=["z_up", "a_down"], executor=executor)

    assert result.success
    assert texts(log) == ["z_up start", "z_up end", "b", "c", "a_down start"]
    z_done = event(result, dg.EventType.STEP_SUCCESS, "z_up").data["finished_at"]
    a_start = event(result, dg.EventType.STEP_START, "a_down")
    assert z_done <= a_start.timestamp
    assert z_done <= event(result, dg.EventType.STEP_SUCCESS, "a_down").data["started_at"]
    assert result.asset_value("a_down") == 21
    assert result.instance.get_run(result.run_id).executor == "dask"


def test_a_virtual_parent_is_computed_on_the_fly_in_the_worker_that_reads_it(executor, tmp_path):
    log = tmp_path / "log"

    result = dg.materialize(_chain(log), selection=["z_up", "a_down"], executor=executor)

    pids = {text: pid for text, pid, _ in lines(log)}
    assert pids["b"] == pids["c"] == pids["a_down start"]
    assert pids["a_down start"] != os.getpid()
    stored = sorted(p.name for p in result.instance.storage_directory.iterdir())
    assert stored == ["a_down", "z_up"]  # virtual values are computed, never stored


def test_a_diamond_through_virtual_chains_runs_each_step_after_all_its_ancestors(
    executor, tmp_path
):
    log = tmp_path / "log"

    @dg.asset
    def root():
        note(log, "root")
        time.sleep(0.2)
        return 2

    @dg.asset(is_virtual=True)
    def v_left(root):
        return root + 1

    @dg.asset(is_virtual=True)
    def v_right(root):
        return root * 10

    @dg.asset
    def left(v_left):
        note(log, "left start")
        time.sleep(0.3)
        note(log, "left end")
        return v_left

    @dg.asset
    def right(v_right):
        note(log, "right start")
        note(log, "right end")
        return v_right

    @dg.asset(is_virtual=True)
    def v_join(left, right):
        return left + right

    @dg.asset(is_virtual=True)
    def v_join2(v_join):
        return [v_join]

    @dg.asset
    def a_bottom(v_join2):
        note(log, "a_bottom")
        return [*v_join2, "bottom"]

    result = dg.materialize(
        [root, v_left, v_right, left, right, v_join, v_join2, a_bottom],
        selection=["root", "left", "right", "a_bottom"],
        executor=executor,
    )

    assert result.success
    at = {text: ts for text, _, ts in lines(log)}
    assert at["root"] < at["left start"] and at["root"] < at["right start"]
    assert max(at["left end"], at["right end"]) < at["a_bottom"]
    assert result.asset_value("a_bottom") == [23, "bottom"]
    assert result.output_for_node("left") == 3
    assert result.get_asset_materialization_events()[0].asset_key == K("root")


def test_values_pass_between_steps_through_the_filesystem_io_manager(executor, tmp_path):
    @dg.asset
    def numbers():
        return {"n": [1, 2, 3]}

    @dg.asset
    def total(numbers):
        return sum(numbers["n"])

    io = dg.FilesystemIOManager(base_dir=str(tmp_path / "values"))
    result = dg.materialize([numbers, total], executor=executor, resources={"io_manager": io})

    assert result.asset_value("numbers") == {"n": [1, 2, 3]}
    assert result.asset_value("total") == 6
    assert (tmp_path / "values" / "total").exists()


def test_a_partitioned_run_keeps_its_partition_in_the_workers(executor, tmp_path):
    letters = dg.StaticPartitionsDefinition(["a", "b"])

    @dg.asset(partitions_def=letters)
    def letter(context):
        return context.partition_key * 2

    @dg.asset(partitions_def=letters)
    def shout(context, letter):
        return f"{context.partition_key}:{letter.upper()}"

    io = dg.FilesystemIOManager(base_dir=str(tmp_path / "values"))
    result = dg.materialize(
        [letter, shout], executor=executor, resources={"io_manager": io}, partition_key="b"
    )

    assert [e.partition for e in result.get_asset_materialization_events()] == ["b", "b"]
    assert (tmp_path / "values" / "shout" / "b").exists()
    assert not (tmp_path / "values" / "shout" / "a").exists()


# Workers and their runners --------------------------------------------------------------------


class Counter(dg.ConfigurableResource):
    log: str

    def setup_for_execution(self, context) -> None:
        note(Path(self.log), "setup")

    def teardown_after_execution(self, context) -> None:
        note(Path(self.log), "teardown")


def test_each_worker_sets_resources_up_once_per_run_and_tears_them_down_at_its_end(
    executor, tmp_path
):
    log = tmp_path / "log"

    def make(name: str) -> dg.AssetsDefinition:
        @dg.asset(name=name)
        def step(counter: Counter):
            time.sleep(0.05)
            return name

        return step

    assets = [make(f"s{i}") for i in range(8)]
    result = dg.materialize(assets, executor=executor, resources={"counter": Counter(log=str(log))})

    assert result.success
    setups = [pid for text, pid, _ in lines(log) if text == "setup"]
    teardowns = [pid for text, pid, _ in lines(log) if text == "teardown"]
    assert len(setups) == len(set(setups)) >= 1
    assert sorted(teardowns) == sorted(setups)
    assert os.getpid() not in setups


def test_context_instance_in_a_worker_is_the_run_instance_reopened_from_its_url(executor, tmp_path):
    @dg.asset
    def where(context: dg.AssetExecutionContext):
        return (context.instance.url, context.instance.get_run(context.run_id).run_id)

    instance = dg.Instance.from_url(f"sqlite:///{tmp_path}/i.db")
    result = dg.materialize([where], executor=executor, instance=instance)

    assert result.asset_value("where") == (instance.url, result.run_id)


def test_an_instance_factory_holding_an_open_instance_is_shipped_as_its_url(tmp_path):
    on_disk = dg.Instance.from_url(f"sqlite:///{tmp_path}/i.db")

    assert _shippable_factory(lambda: on_disk) == _InstanceFromUrl(on_disk.url)
    in_memory = dg.Instance.ephemeral()
    assert _shippable_factory(lambda: in_memory) is None
    assert _shippable_factory(None) is None
    assert _InstanceFromUrl(on_disk.url)().url == on_disk.url


def test_assets_defined_in_main_travel_by_value_with_their_file_and_line(executor):
    # As in `python job.py`: the functions' module is __main__, which workers cannot import.
    source = textwrap.dedent("""
        import sheer as dg

        @dg.asset
        def up():
            return 20

        @dg.asset(is_virtual=True)
        def view(up):
            return up + 1

        @dg.asset
        def down(view):
            return view * 2

        @dg.asset
        def fails(up):
            raise RuntimeError(f"no {up}")
    """)
    main: dict = {"__name__": "__main__"}
    exec(compile(source, "/project/job.py", "exec"), main)
    assets = [main[name] for name in ("up", "view", "down", "fails")]
    assert main["down"].fn.__module__ == "__main__"

    result = dg.materialize(
        assets, selection=["up", "down", "fails"], executor=executor, raise_on_error=False
    )

    assert result.asset_value("down") == 42
    (failure,) = result.get_step_failure_events()
    assert 'File "/project/job.py", line 18, in fails\n' in failure.error["traceback"]


# Failures -------------------------------------------------------------------------------------


def _failing_graph(log: Path) -> list[dg.AssetsDefinition]:
    """ok -> broken -> v(virtual) -> after_broken; ok -> sibling (independent of broken)."""

    @dg.asset
    def ok():
        note(log, "ok")
        return 1

    @dg.asset
    def broken(ok):
        raise ValueError(f"bad input {ok}")

    @dg.asset(is_virtual=True)
    def v(broken):
        return broken

    @dg.asset(deps=[v])
    def after_broken():
        note(log, "after_broken")

    @dg.asset
    def sibling(ok):
        note(log, "sibling")
        return ok + 1

    return [ok, broken, v, after_broken, sibling]


FAILING_SELECTION = ["ok", "broken", "after_broken", "sibling"]


def test_a_failing_step_fails_the_run_skips_its_dependents_and_the_rest_goes_on(executor, tmp_path):
    log = tmp_path / "log"
    instance = dg.Instance.ephemeral()

    result = dg.materialize(
        _failing_graph(log),
        selection=FAILING_SELECTION,
        instance=instance,
        executor=executor,
        raise_on_error=False,
    )

    assert result.success is False
    assert sorted(texts(log)) == ["ok", "sibling"]
    assert [e.step_key for e in result.get_step_skipped_events()] == ["after_broken"]
    (failure,) = result.get_step_failure_events()
    assert failure.message == "Step broken failed for broken: ValueError: bad input 1"
    assert sorted(e.asset_key for e in result.get_asset_materialization_events()) == [
        K("ok"),
        K("sibling"),
    ]
    assert result.asset_value("sibling") == 2
    run = instance.get_run(result.run_id)
    assert run.status is dg.RunStatus.FAILURE
    assert run.error.startswith("Asset 'broken' failed in step broken: ValueError: bad input 1")


def test_a_failing_step_raises_an_error_naming_the_asset_with_the_user_traceback(
    executor, tmp_path
):
    assets = _failing_graph(tmp_path / "log")
    broken = assets[1]

    with pytest.raises(StepExecutionError) as info:
        dg.materialize(assets, selection=FAILING_SELECTION, executor=executor)

    err = info.value
    line = broken.fn.__code__.co_firstlineno + 2
    assert err.key == K("broken")
    assert err.user_traceback.startswith("Traceback (most recent call last):\n")
    assert f'File "{__file__}", line {line}, in broken\n' in err.user_traceback
    assert 'raise ValueError(f"bad input {ok}")' in err.user_traceback
    assert "sheer/execution" not in err.user_traceback
    assert str(err) == (
        "Asset 'broken' failed in step broken: ValueError: bad input 1\n"
        + err.user_traceback.rstrip()
    )


def test_a_killed_worker_fails_its_step_and_the_rest_of_the_run_goes_on(executor, tmp_path):
    log = tmp_path / "log"

    @dg.asset
    def a():
        return 1

    @dg.asset
    def crash(a):
        os.kill(os.getpid(), signal.SIGKILL)  # as if killed, or out of memory

    @dg.asset
    def after_crash(crash):
        note(log, "after_crash")

    @dg.asset
    def other(a):
        time.sleep(0.5)  # still running, on another worker, when crash's worker dies
        note(log, "other")
        return a + 1

    result = dg.materialize([a, crash, after_crash, other], executor=executor, raise_on_error=False)

    assert result.success is False
    assert texts(log) == ["other"]
    assert result.asset_value("other") == 2
    (failure,) = result.get_step_failure_events()
    assert failure.step_key == "crash"
    assert failure.error["cls_name"] == "KilledWorker"
    assert failure.error["message"].startswith(
        "the Dask worker running crash died (killed, or out of memory): "
    )
    assert [e.step_key for e in result.get_step_skipped_events()] == ["after_crash"]


# Refused before the run -----------------------------------------------------------------------


def _one_asset() -> dg.AssetsDefinition:
    @dg.asset
    def a():
        return 1

    return a


def test_an_in_memory_io_manager_is_refused_with_a_clear_error():
    with pytest.raises(ExecutionError) as info:
        dg.materialize(
            [_one_asset()],
            executor=DaskExecutor(),
            resources={"io_manager": dg.InMemoryIOManager()},
        )

    assert str(info.value) == (
        "Resource 'io_manager' is an InMemoryIOManager, which keeps values inside one process, "
        "but the dask executor runs steps in worker processes, possibly on other machines. "
        "Fix: use FilesystemIOManager (the default) with a base_dir every worker can reach, "
        "or the in-process executor."
    )


def test_the_duckdb_io_manager_is_refused_as_local_to_one_machine(tmp_path):
    pytest.importorskip("duckdb", reason="needs the duckdb extra")
    from sheer.duckdb import DuckDBIOManager

    database = str(tmp_path / "w.duckdb")
    with pytest.raises(ExecutionError) as info:
        dg.materialize(
            [_one_asset()],
            executor="dask",
            resources={"warehouse": DuckDBIOManager(database=database)},
        )

    assert str(info.value) == (
        f"Resource 'warehouse' is a DuckDBIOManager, which is local to one machine: its "
        f"database file ({database}) is read and written by one process at a time on the "
        "machine that has it, but the dask executor runs steps in worker processes, possibly "
        "on other machines. Fix: use FilesystemIOManager with a base_dir every worker can "
        "reach, or run DuckDB assets with the in-process executor."
    )


def test_a_resource_that_cannot_be_pickled_is_refused_naming_it():
    with pytest.raises(ExecutionError) as info:
        dg.materialize([_one_asset()], executor="dask", resources={"lock": threading.Lock()})

    assert str(info.value) == (
        "Resource 'lock' (lock) cannot be sent to Dask workers: TypeError: cannot pickle "
        "'_thread.lock' object. Fix: give it only picklable fields, and open connections in "
        "its setup_for_execution, which runs on each worker."
    )


def test_an_asset_that_cannot_be_pickled_fails_the_run_before_any_step_with_a_clear_error(
    executor,
):
    lock = threading.Lock()

    @dg.asset
    def guarded():
        with lock:
            return 1

    instance = dg.Instance.ephemeral()
    with pytest.raises(ExecutionError) as info:
        dg.materialize([guarded], executor=executor, instance=instance)

    assert str(info.value) == (
        "The run cannot be sent to Dask workers: pickling its asset definitions failed "
        "(TypeError: cannot pickle '_thread.lock' object). Fix: keep unpicklable objects "
        "(connections, locks, open files) out of what asset functions refer to; open them in "
        "a resource's setup_for_execution instead."
    )
    (run,) = instance.get_runs()
    assert run.status is dg.RunStatus.FAILURE


def test_a_scheduler_that_cannot_be_reached_fails_the_run_saying_how_to_start_one():
    import dask

    unreachable = dask_executor.configured({"address": "tcp://127.0.0.1:9"})
    instance = dg.Instance.ephemeral()
    with (
        dask.config.set({"distributed.comm.timeouts.connect": "0.5s"}),
        pytest.raises(ExecutionError) as info,
    ):
        dg.materialize([_one_asset()], executor=unreachable, instance=instance)

    message = str(info.value)
    assert message.startswith("Could not connect to the Dask scheduler at tcp://127.0.0.1:9: ")
    assert message.endswith(
        "Fix: start the scheduler and its workers (`dask scheduler`, `dask worker <address>`), "
        "or leave out the address to run on a LocalCluster."
    )
    (run,) = instance.get_runs()
    assert run.status is dg.RunStatus.FAILURE


# Configuration --------------------------------------------------------------------------------


def test_the_dask_executor_is_configured_like_the_others():
    configured = dask_executor.configured({"address": "tcp://scheduler:8786", "n_workers": 4})

    assert configured == DaskExecutor(address="tcp://scheduler:8786", n_workers=4)
    assert dask_executor.address is None
    with pytest.raises(ExecutionError) as info:
        dask_executor.configured({"n_workers": 0})
    assert str(info.value) == (
        "The dask executor's n_workers must be a whole number of at least 1, not 0. "
        "Fix: configure it with {'n_workers': 2}, say."
    )


def test_an_unknown_executor_name_lists_dask():
    with pytest.raises(ExecutionError) as info:
        dg.materialize([_one_asset()], executor="threads")

    assert str(info.value) == (
        "Unknown executor 'threads'. Fix: use one of dask, in_process, multiprocess, or an "
        "Executor object such as multiprocess_executor.configured({'max_concurrent': 4})."
    )


def test_importing_sheer_and_the_dask_executor_does_not_import_dask():
    code = (
        "import sys, sheer, sheer.execution, sheer.execution.dask_executor; "
        "print(sorted(m for m in ('dask', 'distributed') if m in sys.modules))"
    )

    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert done.stdout.strip() == "[]"


# Its own cluster (last: starting one takes seconds) ---------------------------------------------


@pytest.mark.slow
def test_executor_dask_runs_on_a_local_cluster_of_its_own_and_closes_it(monkeypatch, tmp_path):
    started: list[tuple[distributed.LocalCluster, dict]] = []

    class Recorded(distributed.LocalCluster):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            started.append((self, kwargs))

    monkeypatch.setattr(distributed, "LocalCluster", Recorded)
    log = tmp_path / "log"
    before = set(multiprocessing.active_children())

    result = dg.materialize(_chain(log), selection=["z_up", "a_down"], executor="dask")

    assert result.success
    assert result.asset_value("a_down") == 21
    assert texts(log) == ["z_up start", "z_up end", "b", "c", "a_down start"]
    assert result.instance.get_run(result.run_id).executor == "dask"
    ((cluster, options),) = started
    assert (options["n_workers"], options["threads_per_worker"], options["processes"]) == (
        2,
        1,
        True,
    )
    assert cluster.scheduler.allowed_failures == 0  # a step whose worker dies fails at once
    assert cluster.status.name == "closed"
    assert set(multiprocessing.active_children()) <= before
