"""Executors: where and in what order the steps of a plan run.

Every executor drives a `StepQueue` (a ready queue fed by counting down each step's
remaining upstream steps), so all honour the same ordering, including the ordering
through unselected virtual assets. A failed step skips what waits on it, transitively,
and nothing else. Executors call back the run's coordinator (`RunHooks`) when a step
starts and ends; the coordinator does all the recording. A distributed engine plugs
in by subclassing `Executor`.
"""

from __future__ import annotations

import heapq
import multiprocessing
import os
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from typing import Any, Protocol

from sheer.errors import ExecutionError
from sheer.execution.plan import ExecutionPlan, Step
from sheer.execution.step import StepOutcome, StepRunner, TeardownFailure


class RunHooks(Protocol):
    def on_step_start(self, step: Step) -> None: ...

    def on_step_done(self, step: Step, outcome: StepOutcome) -> None:
        """Also records `outcome.teardown_failures` (resources torn down after the step)."""

    def on_step_skipped(self, step: Step, failed_upstream: str) -> None: ...

    def on_teardown_failed(self, failure: TeardownFailure) -> None:
        """A resource of the run failed to tear down after the last step that used it."""


class StepQueue:
    """Ready steps in plan order; completing a step releases its children."""

    def __init__(self, plan: ExecutionPlan) -> None:
        self._rank = {s.key: i for i, s in enumerate(plan.steps)}
        self._steps = {s.key: s for s in plan.steps}
        self._children: dict[str, list[str]] = {s.key: [] for s in plan.steps}
        self._remaining = {k: len(v) for k, v in plan.step_deps.items()}
        for key, ups in plan.step_deps.items():
            for up in ups:
                self._children[up].append(key)
        self._ready = [(self._rank[k], k) for k, n in self._remaining.items() if n == 0]
        heapq.heapify(self._ready)
        self._open = len(plan.steps)

    def has_ready(self) -> bool:
        return bool(self._ready)

    def pop(self) -> Step:
        return self._steps[heapq.heappop(self._ready)[1]]

    @property
    def finished(self) -> bool:
        return self._open == 0

    def succeeded(self, step: Step) -> None:
        self._open -= 1
        for child in self._children[step.key]:
            self._remaining[child] -= 1
            if self._remaining[child] == 0:
                heapq.heappush(self._ready, (self._rank[child], child))

    def failed(self, step: Step) -> list[Step]:
        """Mark `step` failed; returns the steps skipped because of it, in plan order
        (not those an earlier failure already skipped)."""
        self._open -= 1
        skipped: set[str] = set()
        frontier = list(self._children[step.key])
        while frontier:
            k = frontier.pop()
            if k in skipped or self._remaining[k] < 0:
                continue
            skipped.add(k)
            frontier.extend(self._children[k])
        self._open -= len(skipped)
        for k in skipped:
            self._remaining[k] = -1  # never becomes ready
        return sorted((self._steps[k] for k in skipped), key=lambda s: self._rank[s.key])


class Executor(ABC):
    """Runs the steps of a plan in an order that respects `plan.step_deps`."""

    name: str = "executor"
    runs_in_process: bool = False

    @abstractmethod
    def execute(self, plan: ExecutionPlan, runner: StepRunner, hooks: RunHooks) -> None:
        """Run every step; report each start, end and skip through `hooks`."""

    def check(self, resources: Mapping[str, Any]) -> None:  # noqa: B027 (a hook; most accept all)
        """Refuse resources this executor cannot use (called before the run starts)."""

    def configured(self, config: Mapping[str, Any]) -> Executor:
        """A copy with options set (Dagster's `executor.configured({...})`)."""
        fields = {k: v for k, v in config.items()}
        try:
            return replace(self, **fields)  # type: ignore[type-var]
        except TypeError as exc:
            raise ExecutionError(
                f"{self.name} executor does not take {sorted(config)}: {exc}."
            ) from exc


def _finish(queue: StepQueue, step: Step, outcome: StepOutcome, hooks: RunHooks) -> None:
    hooks.on_step_done(step, outcome)
    if outcome.success:
        queue.succeeded(step)
    else:
        for skipped in queue.failed(step):
            hooks.on_step_skipped(skipped, step.key)


@dataclass(frozen=True)
class InProcessExecutor(Executor):
    """Runs steps one at a time in this process, in the plan's deterministic order."""

    name: str = "in_process"
    runs_in_process: bool = True

    def execute(self, plan: ExecutionPlan, runner: StepRunner, hooks: RunHooks) -> None:
        queue = StepQueue(plan)
        runner.open()
        try:
            while queue.has_ready():
                step = queue.pop()
                hooks.on_step_start(step)
                _finish(queue, step, runner.run(step), hooks)
        finally:
            for failure in runner.close():
                hooks.on_teardown_failed(failure)


# The runner and steps of the current run, inherited by forked workers: only step
# keys cross the process boundary on the way in, only outcomes on the way out.
_WORKER_RUNNER: StepRunner | None = None
_WORKER_STEPS: dict[str, Step] = {}


def _exit_with_coordinator(coordinator: int) -> None:
    """Worker initializer: end this worker when the run's process is gone (killed, say).

    Otherwise an orphaned worker waits forever for steps (it holds both ends of the
    pool's queues, so it never sees them close), or keeps running a step of a run
    already reported failed.
    """

    def watch() -> None:
        while os.getppid() == coordinator:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="sheer-coordinator-watch", daemon=True).start()


def _run_in_worker(step_key: str) -> StepOutcome:
    assert _WORKER_RUNNER is not None
    outcome = _WORKER_RUNNER.run(_WORKER_STEPS[step_key])
    # Resources live for one step in a worker, as in a process per step: a worker is
    # never told when the run ends, so it could not tear them down later.
    outcome.teardown_failures = _WORKER_RUNNER.close()
    outcome.exception = None  # exceptions may not pickle; the text travels in `error`
    outcome.values = {}
    return outcome


@dataclass(frozen=True)
class MultiprocessExecutor(Executor):
    """Runs up to `max_concurrent` steps at once, each in a worker process.

    Values pass between steps through IO managers, so every IO manager must store
    values where all processes can read them (the filesystem one does).
    """

    max_concurrent: int | None = None
    name: str = "multiprocess"

    def check(self, resources: Mapping[str, Any]) -> None:
        from sheer.execution.io_managers import InMemoryIOManager

        for key, res in resources.items():
            if isinstance(res, InMemoryIOManager):
                raise ExecutionError(
                    f"Resource '{key}' is an InMemoryIOManager, which keeps values inside one "
                    "process, but the multiprocess executor runs steps in several. Fix: use "
                    "FilesystemIOManager (the default) or the in-process executor."
                )

    def execute(self, plan: ExecutionPlan, runner: StepRunner, hooks: RunHooks) -> None:
        global _WORKER_RUNNER, _WORKER_STEPS
        workers = self.max_concurrent or os.cpu_count() or 2
        queue = StepQueue(plan)
        _WORKER_RUNNER = runner
        _WORKER_STEPS = {s.key: s for s in plan.steps}
        pool = _new_pool(workers)
        try:
            running: dict[Future[StepOutcome], Step] = {}
            while not queue.finished:
                while queue.has_ready() and len(running) < workers:
                    step = queue.pop()
                    hooks.on_step_start(step)
                    try:
                        future = pool.submit(_run_in_worker, step.key)
                    except BrokenProcessPool:
                        # A worker died (killed, out of memory): the steps it took down are
                        # reported failed; the rest of the run goes on in a fresh pool.
                        pool.shutdown(wait=False)
                        pool = _new_pool(workers)
                        future = pool.submit(_run_in_worker, step.key)
                    running[future] = step
                if not running:
                    break
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in sorted(done, key=lambda f: running[f].key):
                    step = running.pop(future)
                    _finish(queue, step, _outcome_of(future, step), hooks)
        finally:
            pool.shutdown()
            _WORKER_RUNNER = None
            _WORKER_STEPS = {}


def _new_pool(workers: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("fork"),
        initializer=_exit_with_coordinator,
        initargs=(os.getpid(),),
    )


def _outcome_of(future: Future[StepOutcome], step: Step) -> StepOutcome:
    try:
        return future.result()
    except Exception as exc:  # the worker died (killed, out of memory) or could not pickle
        from sheer.execution.step import ErrorInfo

        return StepOutcome(
            step_key=step.key,
            success=False,
            started_at=0.0,
            finished_at=0.0,
            error=ErrorInfo(
                cls_name=type(exc).__name__,
                message=f"the worker process running {step.key} failed: {exc}",
                traceback="",
            ),
            exception=exc,
        )


in_process_executor = InProcessExecutor()
multiprocess_executor = MultiprocessExecutor()

_BY_NAME: dict[str, Executor] = {
    "in_process": in_process_executor,
    "multiprocess": multiprocess_executor,
}


def coerce_executor(value: Executor | str | None) -> Executor:
    if value is None:
        return in_process_executor
    if isinstance(value, Executor):
        return value
    if isinstance(value, str) and value in _BY_NAME:
        return _BY_NAME[value]
    if value == "dask":  # imported here: Dask is optional, and only this executor needs it
        from sheer.execution.dask_executor import dask_executor

        return dask_executor
    names = ", ".join(sorted([*_BY_NAME, "dask"]))
    raise ExecutionError(
        f"Unknown executor {value!r}. Fix: use one of {names}, or an Executor object such as "
        "multiprocess_executor.configured({'max_concurrent': 4})."
    )
