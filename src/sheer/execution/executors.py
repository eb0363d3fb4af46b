"""Executors: where and in what order the steps of a plan run.

Every executor drives a `StepQueue` (a ready queue fed by counting down each step's
remaining upstream steps), so all honour the same ordering, including the ordering
through unselected virtual assets. A failed step skips what waits on it, transitively,
and nothing else. Executors call back the run's coordinator (`RunHooks`) when a step
starts and ends; the coordinator does all the recording. A distributed engine plugs
in by subclassing `Executor`. The multiprocess executor gives each worker process its
own pipe, so a worker that dies fails only the step it was running.
"""

from __future__ import annotations

import contextlib
import heapq
import multiprocessing
import os
import signal
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, replace
from multiprocessing import connection
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
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
    """End this worker when the run's process is gone (killed, say).

    Otherwise an orphaned worker waits forever for steps, or keeps running a step of
    a run already reported failed.
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


def _serve(conn: Connection, coordinator: int, inherited: list[Connection]) -> None:
    """A worker process: run each step key received, send back its outcome."""
    for other in inherited:  # the coordinator's ends: only it may hold them, so that
        other.close()  # a dead worker's pipe reads as closed
    _exit_with_coordinator(coordinator)
    while True:
        try:
            step_key = conn.recv()
        except EOFError:
            return
        if step_key is None:
            return
        outcome = _run_in_worker(step_key)
        try:
            conn.send(outcome)
        except Exception as exc:  # metadata or logs that do not pickle
            conn.send(_unsendable(_WORKER_STEPS[step_key], outcome.started_at, exc))


@dataclass(eq=False)
class _Worker:
    process: BaseProcess
    conn: Connection
    step: Step | None = None
    submitted_at: float = 0.0


class _WorkerPool:
    """Up to `size` forked worker processes, each with its own pipe.

    A worker that dies (killed, out of memory, `os._exit`) is known by its pipe and
    its process, so only the step it was running fails, with the exit code or signal;
    the other workers keep running theirs, and a new worker takes its place.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._context = multiprocessing.get_context("fork")
        self._workers: list[_Worker] = []

    @property
    def busy(self) -> int:
        return sum(1 for w in self._workers if w.step is not None)

    def submit(self, step: Step) -> None:
        worker = next((w for w in self._workers if w.step is None), None)
        while True:
            worker = worker or self._start()
            try:
                worker.conn.send(step.key)
                break
            except OSError:  # an idle worker that died (killed from outside)
                self._discard(worker)
                worker = None
        worker.step, worker.submitted_at = step, time.time()

    def _start(self) -> _Worker:
        ours, theirs = self._context.Pipe()
        inherited = [w.conn for w in self._workers] + [ours]
        process = self._context.Process(
            target=_serve, args=(theirs, os.getpid(), inherited), name="sheer-worker"
        )
        process.start()
        theirs.close()
        worker = _Worker(process=process, conn=ours)
        self._workers.append(worker)
        return worker

    def wait(self) -> list[tuple[Step, StepOutcome]]:
        """Block until at least one busy worker finishes or dies; their outcomes."""
        busy = [w for w in self._workers if w.step is not None]
        ready = set(connection.wait([w.conn for w in busy] + [w.process.sentinel for w in busy]))
        done = [self._collect(w) for w in busy if w.conn in ready or w.process.sentinel in ready]
        return sorted(done, key=lambda pair: pair[0].key)

    def _collect(self, worker: _Worker) -> tuple[Step, StepOutcome]:
        step = worker.step
        assert step is not None
        outcome: StepOutcome | None = None
        try:
            if worker.conn.poll():
                outcome = worker.conn.recv()
        except (EOFError, OSError):  # its end closed: it died before sending all
            outcome = None
        worker.step = None
        if outcome is not None:
            if not worker.process.is_alive():
                self._discard(worker)
            return step, outcome
        worker.process.join(timeout=5)
        exitcode = worker.process.exitcode
        self._discard(worker)
        return step, _died(step, worker.submitted_at, exitcode)

    def _discard(self, worker: _Worker) -> None:
        self._workers.remove(worker)
        worker.conn.close()
        if worker.process.is_alive():
            worker.process.kill()
        worker.process.join(timeout=5)

    def shutdown(self, *, interrupted: bool) -> None:
        """Stop every worker: idle ones are asked to exit, busy ones (or all, when the
        run was interrupted) are killed, so no step of this run keeps running."""
        for worker in self._workers:
            if interrupted or worker.step is not None:
                worker.process.kill()
            else:
                with contextlib.suppress(OSError):
                    worker.conn.send(None)
        for worker in list(self._workers):
            worker.process.join(timeout=10)
            self._discard(worker)


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
        queue = StepQueue(plan)
        _WORKER_RUNNER = runner
        _WORKER_STEPS = {s.key: s for s in plan.steps}
        pool = _WorkerPool(self.max_concurrent or os.cpu_count() or 2)
        interrupted = True
        try:
            while not queue.finished:
                while queue.has_ready() and pool.busy < pool.size:
                    step = queue.pop()
                    hooks.on_step_start(step)
                    pool.submit(step)
                if not pool.busy:
                    break
                for step, outcome in pool.wait():
                    _finish(queue, step, outcome, hooks)
            interrupted = False
        finally:
            pool.shutdown(interrupted=interrupted)
            _WORKER_RUNNER = None
            _WORKER_STEPS = {}


def _died(step: Step, started_at: float, exitcode: int | None) -> StepOutcome:
    names = ", ".join(f"'{k.to_user_string()}'" for k in step.asset_keys)
    return _failure(
        step,
        started_at,
        "WorkerProcessDied",
        f"The worker process running asset {names} (step {step.key}) died: "
        f"{_how_it_ended(exitcode)}. The other steps went on in their own workers. Fix: if "
        "it ran out of memory (the kernel's out-of-memory killer sends SIGKILL), give it "
        "more memory or lower max_concurrent; if the asset's code ends its own process "
        "(os._exit, os.kill), raise an exception instead.",
    )


def _unsendable(step: Step, started_at: float, exc: Exception) -> StepOutcome:
    names = ", ".join(f"'{k.to_user_string()}'" for k in step.asset_keys)
    return _failure(
        step,
        started_at,
        type(exc).__name__,
        f"The worker process running asset {names} (step {step.key}) could not send its "
        f"outcome back: {type(exc).__name__}: {exc}. Fix: give metadata and log messages "
        "values that pickle (text, numbers, lists and dicts of them).",
    )


def _failure(step: Step, started_at: float, cls_name: str, message: str) -> StepOutcome:
    from sheer.execution.step import ErrorInfo

    return StepOutcome(
        step_key=step.key,
        success=False,
        started_at=started_at,
        finished_at=time.time(),
        error=ErrorInfo(cls_name=cls_name, message=message, traceback=""),
    )


def _how_it_ended(exitcode: int | None) -> str:
    if exitcode is None:
        return "it could not be asked how it ended"
    if exitcode < 0:
        try:
            return f"killed by signal {-exitcode} ({signal.Signals(-exitcode).name})"
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"it exited with code {exitcode}"


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
