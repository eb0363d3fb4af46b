"""The automation daemon: evaluate a tick, launch what it requests, record it, repeat.

Each tick reads the cursor from the instance, evaluates every condition, stores the
requested run (QUEUED, its asset keys in storage) and the new cursor in one
transaction, launches the run (the plan orders its assets) in a subprocess that reads
its work from storage, and records the tick with the evaluations worth keeping: as Dagster
does, an asset's evaluation is recorded when it is true, when it failed, or when it
differs from the last one recorded (a fingerprint per asset is kept in the instance),
so an unchanged asset costs nothing and its latest record still explains it. A lease in
storage lets only one daemon act on an instance; a restarted daemon continues from
the stored cursor, so nothing is requested twice, and first launches the runs requested
before a crash that no process holds yet, so nothing requested is lost.
"""

from __future__ import annotations

import gc
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sheer.automation.entities import PARTITION_TAG
from sheer.automation.evaluator import (
    AutomationCursor,
    AutomationTickResult,
    evaluate_automation_conditions,
)
from sheer.backfills import advance_backfills
from sheer.backfills.plan import RANGE_END_TAG, RANGE_START_TAG
from sheer.events import RunRecord, RunStatus
from sheer.graph import AssetGraph
from sheer.instance import Instance
from sheer.keys import AssetKey
from sheer.partitions.subset import subset_with_partition_keys
from sheer.storage.automation import TickStatus

_FROM_AUTOMATION = "sheer/from_automation"
_AUTOMATION_TAGS = {_FROM_AUTOMATION: "true"}
CURSOR_KEY = "automation/cursor"
FINGERPRINTS_KEY = "automation/fingerprints"
LEASE_NAME = "automation/daemon"


@dataclass(frozen=True, slots=True, kw_only=True)
class TickOutcome:
    """What one tick did."""

    tick_id: int | None
    result: AutomationTickResult | None
    run_ids: tuple[str, ...]
    requested: tuple[AssetKey, ...]
    skipped_reason: str | None = None


def expand_for_launch(graph: AssetGraph, keys: frozenset[AssetKey]) -> list[AssetKey]:
    """Requested keys plus the siblings that non-subsettable multi_assets must run with."""
    out = set(keys)
    for k in keys:
        assets_def = graph.get(k).assets_def
        if assets_def is not None and not assets_def.can_subset and len(assets_def.specs) > 1:
            out.update(s.key for s in assets_def.specs if graph.get(s.key).is_materializable)
    return graph.toposort(out)


def runs_to_request(
    graph: AssetGraph, result: AutomationTickResult, requested: Sequence[AssetKey]
) -> list[tuple[list[AssetKey], dict[str, str]]]:
    """The runs one tick requests, as (assets, tags), in topological order of their
    first asset: the unpartitioned assets in one run; a partitioned asset requested for
    one partition, or without a `BackfillPolicy`, in a run per partition
    (`dagster/partition`) shared by the assets of one definition requested for that key;
    one with a policy and several partitions in runs over consecutive keys
    (`dagster/asset_partition_range_start` / `_end`), each as long as the policy allows
    (all of them for `single_run()`, at most n for `multi_run(n)`), shared by the
    assets of one definition and policy requested for the same keys: Dagster's split."""
    plain: list[AssetKey] = []
    by_partition: dict[tuple[Any, str], list[AssetKey]] = {}
    by_range: dict[tuple[Any, Any, frozenset[str]], list[AssetKey]] = {}
    for key in requested:  # topological order
        node = graph.get(key)
        pdef = node.spec.partitions_def
        if pdef is None:
            plain.append(key)
            continue
        parts = result.get_requested_partitions(key)
        siblings = node.assets_def
        if not parts:  # a sibling a non-subsettable multi_asset brings along
            parts = {
                p
                for s in (siblings.specs if siblings is not None else ())
                for p in result.get_requested_partitions(s.key)
            }
        keys = frozenset(p for p in parts if p is not None)
        policy = siblings.backfill_policy if siblings is not None else None
        if policy is not None and len(keys) > 1:
            by_range.setdefault((pdef, policy, keys), []).append(key)
            continue
        for part in sorted(keys):
            by_partition.setdefault((pdef, part), []).append(key)
    out: list[tuple[list[AssetKey], dict[str, str]]] = []
    if plain:
        out.append((plain, dict(_AUTOMATION_TAGS)))
    for (_, part), keys_ in by_partition.items():
        out.append((keys_, {**_AUTOMATION_TAGS, PARTITION_TAG: part}))
    for (pdef, policy, keys), assets in by_range.items():
        for first, last in _policy_ranges(pdef, policy.max_partitions_per_run, keys):
            out.append((assets, {**_AUTOMATION_TAGS, RANGE_START_TAG: first, RANGE_END_TAG: last}))
    return out


def _policy_ranges(pdef: Any, most: int | None, keys: frozenset[str]) -> list[tuple[str, str]]:
    """`keys` as runs of consecutive keys of `pdef`, each at most `most` long (None: no
    limit), as (first, last)."""
    out: list[tuple[str, str]] = []
    for key_range in subset_with_partition_keys(pdef, keys).get_partition_key_ranges(pdef):
        if most is None:
            out.append((key_range.start, key_range.end))
            continue
        run = pdef.get_partition_keys_in_range(key_range)
        out.extend((run[i], run[min(i + most, len(run)) - 1]) for i in range(0, len(run), most))
    return out


class AutomationDaemon:
    """Runs ticks for one project against one instance.

    Args:
        defs: the project's definitions.
        instance: where the cursor, ticks and runs live.
        launch_args: how a subprocess finds the definitions (`["-f", "defs.py"]`,
            `["-m", "pkg.defs"]`, or `[]` for the project's defs folder); None runs
            requested assets in this process instead (for tests and embedding).
        owner: this daemon's name in the lease.
    """

    def __init__(
        self,
        defs: Any,
        instance: Instance,
        *,
        launch_args: Sequence[str] | None = None,
        owner: str | None = None,
        lease_ttl: float = 120.0,
        cwd: str | None = None,
    ) -> None:
        self.defs = defs
        self.instance = instance
        self.launch_args = list(launch_args) if launch_args is not None else None
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.lease_ttl = lease_ttl
        self.cwd = cwd
        self.store = instance.automation
        self._children: dict[str, subprocess.Popen[bytes]] = {}
        self._stop = threading.Event()

    def tick(self, evaluation_time: float | None = None) -> TickOutcome:
        """Evaluate once and launch what is requested, if this daemon holds the lease."""
        self._reap()
        if not self.store.acquire_lease(LEASE_NAME, self.owner, self.lease_ttl):
            return TickOutcome(
                tick_id=None,
                result=None,
                run_ids=(),
                requested=(),
                skipped_reason="another daemon holds the lease on this instance",
            )
        self.instance.mark_dead_runs()  # runs gone silent on any host stop blocking assets
        self.launch_waiting_runs()
        advance_backfills(self.defs, self.instance, owner=self.owner, launch=self._launch)
        started = time.time()
        cursor = AutomationCursor.from_json(self.instance.get_value(CURSOR_KEY))
        result = evaluate_automation_conditions(
            self.defs, self.instance, cursor=cursor, evaluation_time=evaluation_time
        )
        graph = self.defs.resolve_asset_graph()
        requested = expand_for_launch(graph, result.get_requested_keys())
        requests = runs_to_request(graph, result, requested)
        run_ids: list[str] = []
        error = None
        # A long tick may outlive its lease: renew it before acting, and act only if it
        # is still ours, so two daemons never launch for the same tick.
        if not self.store.acquire_lease(LEASE_NAME, self.owner, self.lease_ttl):
            return TickOutcome(
                tick_id=None,
                result=None,
                run_ids=(),
                requested=(),
                skipped_reason="the lease was taken by another daemon during this tick",
            )
        # The run is the record of the request: it and the new cursor commit together,
        # so a crash can neither lose a request nor make one twice; launching comes after.
        cursor_json = result.cursor.to_json()
        if requests:
            made = self.instance.create_queued_runs(
                requests, executor="in_process", values={CURSOR_KEY: cursor_json}
            )
            run_ids.extend(run.run_id for run in made)
            errors = [e for e in (self._launch(run) for run in made) if e]
            error = "; ".join(errors) if errors else None
        else:
            self.instance.set_value(CURSOR_KEY, cursor_json)
        evaluations, fingerprints = self._evaluations_to_record(result)
        if error:
            status = TickStatus.FAILURE
        else:
            status = TickStatus.SUCCESS if requested else TickStatus.SKIPPED
        errors = [e["error"] for e in evaluations if e.get("error")]
        tick_id = self.store.add_tick(
            timestamp=result.evaluation_time,
            evaluation_id=result.cursor.evaluation_id,
            status=status,
            requested=requested,
            run_ids=run_ids,
            error=error or ("; ".join(errors) if errors else None),
            duration=time.time() - started,
            evaluations=evaluations,
        )
        if fingerprints is not None:
            self.instance.set_value(FINGERPRINTS_KEY, json.dumps(fingerprints))
        return TickOutcome(
            tick_id=tick_id, result=result, run_ids=tuple(run_ids), requested=tuple(requested)
        )

    def _evaluations_to_record(
        self, result: AutomationTickResult
    ) -> tuple[list[dict[str, Any]], dict[str, str] | None]:
        """The evaluations that are true, failed, or changed since last recorded, as JSON;
        and the new fingerprints (None when unchanged)."""
        ids = result.cursor.condition_ids
        now = {
            k.to_user_string(): f"{ids[k]}:{digest}" for k, digest in result.fingerprints().items()
        }
        before = json.loads(self.instance.get_value(FINGERPRINTS_KEY) or "{}")
        chosen = [
            e
            for k, e in result.results.items()
            if e.value or e.error or before.get(k.to_user_string()) != now.get(k.to_user_string())
        ]
        gc_was_enabled = gc.isenabled()
        gc.disable()  # explanation trees: many small objects, no cycles
        try:
            evaluations = [e.to_json() for e in chosen]
        finally:
            if gc_was_enabled:
                gc.enable()
        return evaluations, (None if now == before else now)

    def launch_waiting_runs(self) -> list[str]:
        """Launch the requested runs no process holds (a daemon that crashed after
        requesting them); their ids."""
        waiting = [
            r for r in self.instance.get_runs_awaiting_launch() if r.tags.get(_FROM_AUTOMATION)
        ]
        for run in waiting:
            self._launch(run)
        return [r.run_id for r in waiting]

    def _launch(self, run: RunRecord) -> str | None:
        """Start the process that claims and executes the QUEUED `run` (or execute it
        here); an error message if it could not be started (the run is then failed)."""
        if self.launch_args is None:
            from sheer.execution.run import execute_selection

            try:
                execute_selection(
                    self.defs,
                    list(run.asset_selection),
                    instance=self.instance,
                    tags=dict(run.tags),
                    run_id=run.run_id,
                    raise_on_error=False,
                )
            except Exception as exc:  # recorded on the tick and the run; the loop goes on
                message = f"Running run {run.run_id[:8]} failed: {type(exc).__name__}: {exc}"
                self.instance.finish_run(run.run_id, False, message)
                return message
            return None
        # The child reads its assets from the run row and the instance from its
        # environment: no argument list grows with the request, no URL shows in `ps`.
        cmd = [sys.executable, "-m", "sheer", "launch", "--run-id", run.run_id, "--quiet"]
        env = {**os.environ, "SHEER_INSTANCE": self.instance.url}
        try:
            child = subprocess.Popen(
                [*cmd, *self.launch_args],
                cwd=self.cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        except OSError as exc:
            message = (
                f"Launching run {run.run_id[:8]} for {len(run.asset_selection)} assets "
                f"failed: {exc}"
            )
            self.instance.finish_run(run.run_id, False, message)
            return message
        self.instance.set_run_launcher(run.run_id, child.pid)
        self._children[run.run_id] = child
        return None

    def _reap(self) -> None:
        """Mark runs whose launcher exited before starting them as failed."""
        for run_id, child in list(self._children.items()):
            code = child.poll()
            if code is None:
                continue
            del self._children[run_id]
            run = self.instance.get_run(run_id)
            if run is not None and run.status is RunStatus.QUEUED:
                self.instance.finish_run(
                    run_id,
                    False,
                    f"The run's process exited with code {code} before "
                    "starting the run (see the daemon's output).",
                )

    def run_forever(
        self, interval: float, max_ticks: int | None = None, on_tick: Any = None
    ) -> None:
        """Tick every `interval` seconds until `stop()` (or `max_ticks`)."""
        count = 0
        try:
            while not self._stop.is_set():
                outcome = self.tick()
                if on_tick is not None:
                    on_tick(outcome)
                count += 1
                if max_ticks is not None and count >= max_ticks:
                    break
                self._stop.wait(interval)
        finally:
            self.store.release_lease(LEASE_NAME, self.owner)

    def stop(self) -> None:
        self._stop.set()

    def wait_for_children(self, timeout: float = 60.0) -> None:
        deadline = time.time() + timeout
        for child in list(self._children.values()):
            child.wait(timeout=max(0.0, deadline - time.time()))
        self._reap()
