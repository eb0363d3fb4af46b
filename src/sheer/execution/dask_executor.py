"""The Dask executor: the steps of a run on a `distributed` cluster.

The coordinator (this process) drives the same `StepQueue` as every executor, so the
ordering through unselected virtual assets holds, and it alone records, through the
run's hooks. Dask workers only run steps (`sheer.execution.dask_worker`): the run's
`StepRunner` is pickled once with cloudpickle and installed on every worker; step keys
go out, `StepOutcome`s come back. Values pass between steps through IO managers, so
each must keep values where every worker can read them: the filesystem IO manager on a
shared path does; the in-memory and DuckDB ones are refused before the run starts.

Dask is optional (`pip install 'sheer[dask]'`): this module imports it only when a run
uses the executor, so importing Sheer never imports Dask.
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sheer.errors import ExecutionError
from sheer.execution.executors import Executor, RunHooks, StepQueue, _finish
from sheer.execution.io_managers import InMemoryIOManager
from sheer.execution.plan import ExecutionPlan, Step
from sheer.execution.step import ErrorInfo, StepOutcome, StepRunner


@dataclass(frozen=True)
class DaskExecutor(Executor):
    """Runs steps on a Dask cluster: the one at `address`, or a LocalCluster of its own.

    Without an address, the executor starts a `LocalCluster` of `n_workers` processes
    with `threads_per_worker` threads each, and closes it when the run ends; a worker
    that dies (killed, out of memory) fails the step it was running. With an address,
    the scheduler's `distributed.scheduler.allowed-failures` decides how many other
    workers try such a step before it fails.

    Workers must be able to import Sheer and the modules that define the assets (a
    LocalCluster shares this process's `sys.path`; functions defined in `__main__` or
    inside other functions travel by value). STEP_START is recorded when a step is
    submitted; the step's own timings say when a worker ran it.

    Example:
        >>> from sheer.execution.dask_executor import dask_executor
        >>> dask_executor.configured({"address": "tcp://scheduler:8786"}).address
        'tcp://scheduler:8786'
    """

    address: str | None = None
    n_workers: int = 2
    threads_per_worker: int = 1
    name: str = "dask"

    def __post_init__(self) -> None:
        for option in ("n_workers", "threads_per_worker"):
            value = getattr(self, option)
            if not isinstance(value, int) or value < 1:
                raise ExecutionError(
                    f"The dask executor's {option} must be a whole number of at least 1, not "
                    f"{value!r}. Fix: configure it with {{'{option}': 2}}, say."
                )

    def check(self, resources: Mapping[str, Any]) -> None:
        _import_distributed()
        for key, resource in resources.items():
            _refuse_local_io_manager(key, resource)
            _check_shippable(key, resource)

    def execute(self, plan: ExecutionPlan, runner: StepRunner, hooks: RunHooks) -> None:
        from sheer.execution.dask_worker import RunPlugin

        plugin = RunPlugin(runner.run_id, _pickle_run(runner, plan))
        with self._client() as client:
            client.register_plugin(plugin)
            try:
                _drive(client, plan, runner.run_id, hooks)
            finally:
                # Tears each worker's runner down (its resources) and frees the payload.
                client.unregister_worker_plugin(plugin.name)

    @contextmanager
    def _client(self) -> Iterator[Any]:
        import dask
        from distributed import Client, LocalCluster

        if self.address is not None:
            try:
                client = Client(self.address, set_as_default=False)
            except OSError as exc:
                raise ExecutionError(
                    f"Could not connect to the Dask scheduler at {self.address}: {exc}. Fix: "
                    "start the scheduler and its workers (`dask scheduler`, `dask worker "
                    "<address>`), or leave out the address to run on a LocalCluster."
                ) from exc
            with client:
                yield client
            return
        # A step whose worker died fails at once, as with the multiprocess executor,
        # instead of being tried again on the other workers.
        with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
            cluster = LocalCluster(
                n_workers=self.n_workers,
                threads_per_worker=self.threads_per_worker,
                processes=True,
                dashboard_address=":0",
                silence_logs=logging.ERROR,
            )
        with cluster, Client(cluster, set_as_default=False) as client:
            yield client


def _drive(client: Any, plan: ExecutionPlan, run_id: str, hooks: RunHooks) -> None:
    """Submit each step as it becomes ready; report each outcome as it arrives."""
    from distributed import wait

    from sheer.execution.dask_worker import run_step

    queue = StepQueue(plan)
    running: dict[Any, Step] = {}
    try:
        while not queue.finished:
            while queue.has_ready():
                step = queue.pop()
                hooks.on_step_start(step)
                future = client.submit(run_step, run_id, step.key, key=f"sheer-{run_id}-{step.key}")
                running[future] = step
            if not running:
                break
            with client.as_current():  # `wait` finds the client this way
                done, _ = wait(list(running), return_when="FIRST_COMPLETED")
            for future in sorted(done, key=lambda f: running[f].key):
                step = running.pop(future)
                _finish(queue, step, _outcome_of(future, step), hooks)
    finally:
        if running:  # the run was interrupted: stop what it started
            client.cancel(list(running))


def _outcome_of(future: Any, step: Step) -> StepOutcome:
    from distributed import KilledWorker

    error: Exception
    try:
        outcome: StepOutcome = future.result()  # what `run_step` returns
        return outcome
    except KilledWorker as exc:  # no traceback worth showing: the process is gone
        message = f"the Dask worker running {step.key} died (killed, or out of memory): {exc}"
        error, text = exc, ""
    except Exception as exc:  # the task itself failed: the runner could not be unpickled, say
        message = f"the Dask task running {step.key} failed: {exc}"
        error, text = exc, "".join(traceback.format_exception(exc))
    return StepOutcome(
        step_key=step.key,
        success=False,
        started_at=0.0,
        finished_at=0.0,
        error=ErrorInfo(
            cls_name=type(error).__name__,
            message=message,
            traceback=text,
        ),
        exception=error,
    )


# Shipping the run ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _InstanceFromUrl:
    """Reopens the run's instance in a worker, for `context.instance`."""

    url: str

    def __call__(self) -> Any:
        from sheer.instance import Instance

        return Instance.from_url(self.url)


def _pickle_run(runner: StepRunner, plan: ExecutionPlan) -> bytes:
    """The runner a worker needs, without this process's state, and the run's steps."""
    from sheer.execution.dask_worker import dumps_run

    shipped = StepRunner(
        graph=runner.graph,
        run_id=runner.run_id,
        resources=runner.resources,
        instance_factory=_shippable_factory(runner.instance_factory),
        keep_values=False,
        run_tags=runner.run_tags,
        run_asset_selection=runner.run_asset_selection,
        partitions=runner.partitions,
    )
    try:
        return dumps_run(shipped, {s.key: s for s in plan.steps})
    except Exception as exc:
        raise ExecutionError(
            f"The run cannot be sent to Dask workers: pickling its asset definitions failed "
            f"({type(exc).__name__}: {exc}). Fix: keep unpicklable objects (connections, "
            "locks, open files) out of what asset functions refer to; open them in a "
            "resource's setup_for_execution instead."
        ) from exc


def _shippable_factory(factory: Callable[[], Any] | None) -> Callable[[], Any] | None:
    """`factory` if it pickles; else one that reopens its instance by URL (None in memory)."""
    import cloudpickle

    if factory is None:
        return None
    try:
        cloudpickle.dumps(factory)
        return factory
    except Exception:  # it holds an open instance (an engine): workers reopen it by URL
        instance = factory()
        return None if instance.is_in_memory else _InstanceFromUrl(instance.url)


# Checks before the run -----------------------------------------------------------------------


def _import_distributed() -> None:
    try:
        import distributed  # noqa: F401
    except ImportError as exc:
        raise ExecutionError(
            "The dask executor needs the `distributed` package, which is not installed. "
            "Fix: pip install 'sheer[dask]'."
        ) from exc


def _refuse_local_io_manager(key: str, resource: Any) -> None:
    if isinstance(resource, InMemoryIOManager):
        raise ExecutionError(
            f"Resource '{key}' is an InMemoryIOManager, which keeps values inside one process, "
            "but the dask executor runs steps in worker processes, possibly on other machines. "
            "Fix: use FilesystemIOManager (the default) with a base_dir every worker can reach, "
            "or the in-process executor."
        )
    # Only look for the DuckDB IO manager if it was imported: duckdb is optional.
    duckdb_io = sys.modules.get("sheer.duckdb.io_manager")
    if duckdb_io is not None and isinstance(resource, duckdb_io.DuckDBIOManager):
        raise ExecutionError(
            f"Resource '{key}' is a DuckDBIOManager, which is local to one machine: its "
            f"database file ({resource.database}) is read and written by one process at a time "
            "on the machine that has it, but the dask executor runs steps in worker processes, "
            "possibly on other machines. Fix: use FilesystemIOManager with a base_dir every "
            "worker can reach, or run DuckDB assets with the in-process executor."
        )


def _check_shippable(key: str, resource: Any) -> None:
    import cloudpickle

    try:
        cloudpickle.dumps(resource)
    except Exception as exc:
        raise ExecutionError(
            f"Resource '{key}' ({type(resource).__name__}) cannot be sent to Dask workers: "
            f"{type(exc).__name__}: {exc}. Fix: give it only picklable fields, and open "
            "connections in its setup_for_execution, which runs on each worker."
        ) from exc


dask_executor = DaskExecutor()
