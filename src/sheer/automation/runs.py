"""TickRuns: what one tick knows about runs, read once and answered from memory.

The operands about runs (`in_progress`, `execution_failed`, `executed_with_root_target`,
`executed_with_tags`, `any_new_update_has_run_tags`, `all_new_updates_have_run_tags`)
read every run once per tick, newest first, on first use; the runs of the
materializations since the previous tick come from one more query, also on first use.
A run newer than the tick's read (it started while the tick ran) is read by id. It
never writes to storage.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from sheer.events import RunRecord, RunStatus
from sheer.keys import AssetKey

if TYPE_CHECKING:
    from sheer.automation.index import GraphIndex
    from sheer.automation.operands import RunTags

_RECENT_RUNS = 1000  # how far back execution_failed() looks for an asset's latest run
_UNFINISHED = (RunStatus.QUEUED, RunStatus.STARTED)

T = TypeVar("T")


def latest_run_failed(
    runs: Sequence[RunRecord],
    targets: Callable[[RunRecord], Iterable[T]],
    latest_run: Callable[[T], str | None],
) -> set[T]:
    """The rule behind `execution_failed()`, for assets or (asset, partition) entities
    alike: the targets whose latest finished run (among the newest `_RECENT_RUNS` of
    `runs`, newest first) failed without materializing them (`latest_run(t)`: the run of
    t's latest materialization)."""
    failed: set[T] = set()
    seen: set[T] = set()
    for run in runs[:_RECENT_RUNS]:
        if not run.is_finished:
            continue
        for t in targets(run):
            if t in seen:
                continue
            seen.add(t)
            if run.status is RunStatus.FAILURE and latest_run(t) != run.run_id:
                failed.add(t)
    return failed


class TickRuns:
    """The runs of one tick, by index of the graph. `latest_run` maps an asset index to
    the run of its latest materialization (absent, or None, when there is none)."""

    def __init__(self, instance: Any, ix: GraphIndex, latest_run: Mapping[int, str | None]) -> None:
        self.instance = instance
        self.ix = ix
        self.latest_run = latest_run
        self._runs: list[RunRecord] | None = None
        self._by_id: dict[str, RunRecord | None] = {}
        self._members: dict[str, frozenset[int]] = {}
        self._new_updates: dict[int, frozenset[str | None]] | None = None

    def all(self) -> list[RunRecord]:
        """Every run, newest first, read once per tick."""
        if self._runs is None:
            self._runs = self.instance.get_runs()
        return self._runs

    def get(self, run_id: str) -> RunRecord | None:
        """A run by id, from the tick's one read of the runs."""
        runs = self._by_id
        if not runs:
            runs.update((run.run_id, run) for run in self.all())
        if run_id not in runs:  # a run newer than this tick's read of the runs
            runs[run_id] = self.instance.get_run(run_id)
        return runs[run_id]

    def _indices(self, keys: Iterable[AssetKey]) -> set[int]:
        index = self.ix.index
        return {index[k] for k in keys if k in index}

    # Facts about targets -----------------------------------------------------------------
    def in_progress(self) -> set[int]:
        """The assets some unfinished run targets."""
        return self._indices(
            k for run in self.all() if run.status in _UNFINISHED for k in run.asset_selection
        )

    def execution_failed(self) -> set[int]:
        """The assets whose latest finished run failed before materializing them."""
        return latest_run_failed(
            self.all(), lambda run: self._indices(run.asset_selection), self.latest_run.get
        )

    def executed_with_root(self, root: int, target: int) -> bool:
        """The run of `target`'s latest materialization also targeted `root`."""
        run_id = self.latest_run.get(target)
        return run_id is not None and self.run_targets(run_id, root)

    def run_targets(self, run_id: str, asset: int) -> bool:
        """The run `run_id` targeted the asset."""
        members = self._members.get(run_id)
        if members is None:
            run = self.get(run_id)
            members = frozenset(self._indices(run.asset_selection if run else ()))
            self._members[run_id] = members
        return asset in members

    def latest_run_matches(self, tags: RunTags, targets: Iterable[int]) -> set[int]:
        """The targets whose latest materialization was made by a run with `tags` (a
        report outside any run has no tags)."""
        matches: dict[str, bool] = {}
        out = set()
        for t in targets:
            run_id = self.latest_run.get(t)
            if run_id is None:
                continue
            found = matches.get(run_id)
            if found is None:
                run = self.get(run_id)
                found = matches[run_id] = run is not None and tags.match(run.tags)
            if found:
                out.add(t)
        return out

    def new_updates_match(
        self,
        tags: RunTags,
        every: bool,
        targets: Iterable[int],
        *,
        after_id: int,
        up_to_id: int,
    ) -> set[int]:
        """The targets materialized in the event ids (after_id, up_to_id] by a run with
        `tags`: by at least one such run, or (`every`) only by such runs."""
        if self._new_updates is None:
            self._new_updates = self._read_new_updates(after_id, up_to_id)
        matches: dict[str | None, bool] = {None: False}  # a report outside any run
        out = set()
        for t in targets:
            run_ids = self._new_updates.get(t)
            if not run_ids:
                continue
            for run_id in run_ids:
                if run_id is not None and run_id not in matches:
                    run = self.get(run_id)
                    matches[run_id] = run is not None and tags.match(run.tags)
            hits = [matches[run_id] for run_id in run_ids]
            if all(hits) if every else any(hits):
                out.add(t)
        return out

    def _read_new_updates(self, after_id: int, up_to_id: int) -> dict[int, frozenset[str | None]]:
        by_name = self.ix.by_name
        runs = self.instance.automation.get_materialization_runs(
            after_id=after_id, up_to_id=up_to_id
        )
        return {by_name[name]: frozenset(ids) for name, ids in runs.items() if name in by_name}
