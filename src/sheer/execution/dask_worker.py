"""The worker side of the Dask executor: one `StepRunner` per run in each worker.

A run ships its runner once, as a Dask worker plugin: the scheduler installs it on
every worker, including workers that join or are restarted during the run. A worker
unpickles the runner the first time it gets a step of the run and keeps it until the
coordinator removes the plugin at the end of the run, so resources are set up once
per worker and torn down once. Steps go out as keys and come back as `StepOutcome`s.

This module imports `distributed`; only the Dask executor and Dask workers import it.
It must not record anything: the coordinator records every outcome.
"""

from __future__ import annotations

import contextlib
import io
import marshal
import pickle
import threading
import types
from collections import ChainMap
from typing import Any

import cloudpickle
from distributed import WorkerPlugin

from sheer.execution.plan import Step
from sheer.execution.step import StepOutcome, StepRunner

# Runs installed in this worker process, by run id; the lock guards building and
# opening a runner when a worker runs several steps at once (threads_per_worker > 1).
_RUNS: dict[str, RunPlugin] = {}
_LOCK = threading.Lock()


def _reduce_code(code: types.CodeType) -> tuple[Any, tuple[bytes]]:
    return marshal.loads, (marshal.dumps(code),)


class _RunPickler(cloudpickle.Pickler):  # type: ignore[misc]  # cloudpickle is untyped (Any)
    """cloudpickle, keeping the file name of code shipped by value.

    cloudpickle renames it `<dynamic-code>`; marshal keeps it, so a step's traceback
    names the user's file and line (workers run the coordinator's Python version
    anyway: code shipped by value needs it).
    """

    dispatch_table = ChainMap({types.CodeType: _reduce_code}, cloudpickle.Pickler.dispatch_table)


def dumps_run(runner: StepRunner, steps: dict[str, Step]) -> bytes:
    """The payload of a run's plugin: its runner and its steps by key."""
    buffer = io.BytesIO()
    _RunPickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump((runner, steps))
    return buffer.getvalue()


def plugin_name(run_id: str) -> str:
    return f"sheer-run-{run_id}"


class RunPlugin(WorkerPlugin):
    """Carries one run's pickled runner and steps to each worker; see the module doc."""

    idempotent = False

    def __init__(self, run_id: str, payload: bytes) -> None:
        self.run_id = run_id
        self.name = plugin_name(run_id)
        self._payload = payload
        self._runner: StepRunner | None = None
        self._steps: dict[str, Step] = {}

    def __getstate__(self) -> dict[str, Any]:
        # Only the payload travels; a worker builds its runner from it.
        return {
            "run_id": self.run_id,
            "name": self.name,
            "_payload": self._payload,
            "_runner": None,
            "_steps": {},
        }

    def setup(self, worker: Any) -> None:
        _RUNS[self.run_id] = self

    def teardown(self, worker: Any) -> None:
        with _LOCK:
            _RUNS.pop(self.run_id, None)
            if self._runner is not None:
                self._runner.close()
            self._runner = None

    def runner_for(self, step_key: str) -> tuple[StepRunner, Step]:
        with _LOCK:
            if self._runner is None:
                self._runner, self._steps = pickle.loads(self._payload)
            runner = self._runner
            # A resource that fails to set up fails the step: runner.run opens it again
            # and reports the error with the user's traceback.
            with contextlib.suppress(Exception):
                runner.open()
        return runner, self._steps[step_key]


def run_step(run_id: str, step_key: str) -> StepOutcome:
    """The Dask task: run one step of a run with this worker's runner for it."""
    plugin = _RUNS.get(run_id)
    if plugin is None:
        raise RuntimeError(
            f"Run {run_id} is not installed on this Dask worker (its worker plugin "
            f"'{plugin_name(run_id)}' is missing), so step {step_key} cannot run here."
        )
    runner, step = plugin.runner_for(step_key)
    outcome = runner.run(step)
    outcome.exception = None  # exceptions may not pickle; the text travels in `error`
    outcome.values = {}
    return outcome
