"""Instance: where Sheer keeps runs, events and stored asset values.

`Instance.ephemeral()` is in memory, `Instance.from_url(url)` opens SQLite or
PostgreSQL, `Instance.get()` opens the project's default (`$SHEER_INSTANCE`, else
SQLite under `$SHEER_HOME`, else `.sheer/` in the project). Reads of runs notice
runs whose process died and mark them failed, so nothing stays "running" forever.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from sheer.errors import RunNotQueuedError, StorageError
from sheer.events import (
    AssetMaterialization,
    AssetObservation,
    EventRecord,
    EventType,
    RunRecord,
    RunStatus,
    metadata_event_data,
)
from sheer.keys import AssetKey, coerce_key
from sheer.processes import HOST, process_alive, process_start_marker
from sheer.storage import LatestRecords, NewEvent, SqlStorage, VersionRow
from sheer.storage.automation import AutomationStorage
from sheer.storage.backfills import BackfillStorage
from sheer.storage.dynamic_partitions import (
    CachingDynamicPartitionsLoader,
    DynamicPartitionsStorage,
)


class Instance:
    """Runs, the event log, the latest-record index and stored values.

    Example:
        >>> instance = Instance.ephemeral()
        >>> instance.report_runless_asset_event(AssetMaterialization("orders", data_version="v1"))
        >>> instance.get_latest_materialization("orders").data_version
        DataVersion(value='v1')
    """

    def __init__(self, storage: SqlStorage, root_dir: Path | None) -> None:
        self._storage = storage
        self._root_dir = root_dir
        self._temp_dir: str | None = None
        # A run this process started beats every `run_heartbeat_interval` seconds; a
        # STARTED run on another host silent for `run_heartbeat_timeout` is taken for dead.
        self.run_heartbeat_interval = _seconds_from_env("SHEER_RUN_HEARTBEAT_INTERVAL", 30.0)
        self.run_heartbeat_timeout = _seconds_from_env("SHEER_RUN_HEARTBEAT_TIMEOUT", 300.0)
        self._heart = _Heart(self)
        self._dynamic_partitions = DynamicPartitionsStorage(storage)

    # Opening -----------------------------------------------------------------
    @classmethod
    def ephemeral(cls) -> Instance:
        """An in-memory instance; stored values go to a temporary folder removed at exit."""
        return cls(SqlStorage("sqlite://"), None)

    @classmethod
    def from_url(cls, url: str, root_dir: str | Path | None = None) -> Instance:
        """Open the instance at a SQLAlchemy URL (`sqlite:///path.db`, `postgresql+psycopg://...`)."""
        if _in_memory(url):  # values go where the database goes: away with the process
            root = Path(root_dir) if root_dir is not None else None
        elif url.startswith("sqlite:///"):
            path = Path(url[len("sqlite:///") :])
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StorageError(
                    f"Cannot open the instance storage at {url}: cannot create the folder "
                    f"{path.parent} ({exc.strerror}). Fix: point the URL at a folder you can "
                    "write to.",
                    file=url,
                ) from exc
            root = Path(root_dir) if root_dir is not None else path.parent
        else:
            root = Path(root_dir) if root_dir is not None else _default_home()
        return cls(SqlStorage(url), root)

    @classmethod
    def get(cls) -> Instance:
        """The project's instance: `$SHEER_INSTANCE` (a URL), else SQLite in `$SHEER_HOME`,
        else in `.sheer/` of the project in the current directory."""
        url = os.environ.get("SHEER_INSTANCE")
        if url:
            return cls.from_url(url)
        home = _default_home()
        home.mkdir(parents=True, exist_ok=True)
        return cls.from_url(f"sqlite:///{home / 'sheer.db'}", root_dir=home)

    @property
    def storage(self) -> SqlStorage:
        return self._storage

    @property
    def automation(self) -> AutomationStorage:
        """The automation tables (ticks, evaluations, leases, the tick's lean reads) of
        this instance's database: the one door automation and the UI use."""
        found: AutomationStorage | None = self.__dict__.get("_automation")
        if found is None:
            found = self.__dict__["_automation"] = AutomationStorage(self._storage)
        return found

    @property
    def backfills(self) -> BackfillStorage:
        """The backfill tables (backfills and the progress of each entity) of this
        instance's database: the one door backfills, the CLI and the UI use."""
        found: BackfillStorage | None = self.__dict__.get("_backfills")
        if found is None:
            found = self.__dict__["_backfills"] = BackfillStorage(self._storage)
        return found

    @property
    def url(self) -> str:
        return self._storage.url

    @property
    def is_in_memory(self) -> bool:
        """True for an in-memory SQLite instance, which no other process can open."""
        return _in_memory(self.url)

    @property
    def storage_directory(self) -> Path:
        """Where the default IO manager stores asset values."""
        if self._root_dir is not None:
            return self._root_dir / "storage"
        if self._temp_dir is None:
            self._temp_dir = tempfile.mkdtemp(prefix="sheer-")
            atexit.register(shutil.rmtree, self._temp_dir, True)
        return Path(self._temp_dir) / "storage"

    def dispose(self) -> None:
        self._heart.stop()
        self._storage.dispose()

    # Asset reads -----------------------------------------------------------
    def get_latest_materialization(self, key: Any) -> EventRecord | None:
        """The latest materialization of one asset, or None."""
        k = coerce_key(key)
        return self.get_latest_materializations([k]).get(k)

    def get_latest_materializations(self, keys: Iterable[Any]) -> dict[AssetKey, EventRecord]:
        """The latest materialization of each key that has one, in one query."""
        records = self._storage.get_latest_records([coerce_key(k) for k in keys])
        return {k: r.materialization for k, r in records.items() if r.materialization}

    def get_latest_records(
        self, keys: Iterable[Any] | None = None
    ) -> dict[AssetKey, LatestRecords]:
        """Latest materialization and observation of each key (all when None), in one query."""
        return self._storage.get_latest_records(
            None if keys is None else [coerce_key(k) for k in keys]
        )

    def get_latest_partition_records(
        self, keys: Iterable[Any] | None, partitions: Iterable[str]
    ) -> dict[tuple[AssetKey, str], LatestRecords]:
        """Latest materialization and observation of each key (all when None) in each of
        `partitions`, keyed by (asset key, partition), in one query."""
        return self._storage.get_latest_partition_records(
            None if keys is None else [coerce_key(k) for k in keys], partitions
        )

    def get_latest_entity_ids(self) -> dict[tuple[str, str], tuple[int, int, str | None]]:
        """Every (asset name, partition) entity's latest materialization and observation
        ids and run ('' for the unpartitioned entity), as a sound cursor, in one query:
        what an automation tick over partitions reads."""
        return self._storage.get_latest_entity_ids()

    def get_latest_entity_versions(self) -> list[tuple[Any, ...]]:
        """The latest versions of every (asset, partition) entity, from the index alone, in
        one query: the read behind a per-entity staleness pass."""
        return self._storage.get_latest_entity_versions()

    def get_latest_provenances(self, key: Any) -> dict[str, str | None]:
        """`{partition: provenance JSON}` of the entities of one asset, in one query."""
        return self._storage.get_latest_provenances(coerce_key(key))

    def get_materialized_partitions(self, asset_key: Any) -> set[str]:
        """The partition keys of `asset_key` that have been materialized (Dagster's
        `DagsterInstance.get_materialized_partitions`), in one query."""
        return self._storage.get_materialized_partitions(coerce_key(asset_key))

    def get_latest_versions(self) -> list[VersionRow]:
        """The latest versions of every unpartitioned entity, from the index alone, in one
        query: the read behind a whole-graph staleness pass (see `SqlStorage`)."""
        return self._storage.get_latest_versions()

    def get_event_records(
        self,
        event_type: EventType | None = None,
        *,
        asset_key: Any = None,
        run_id: str | None = None,
        after_id: int | None = None,
        before_id: int | None = None,
        limit: int | None = None,
        ascending: bool = True,
    ) -> list[EventRecord]:
        """Events filtered by type, asset and run; page with `after_id` (ascending) or
        `before_id` (descending) and `limit`."""
        return self._storage.get_event_records(
            event_type=event_type,
            asset_key=coerce_key(asset_key) if asset_key is not None else None,
            run_id=run_id,
            after_id=after_id,
            before_id=before_id,
            limit=limit,
            ascending=ascending,
        )

    def get_latest_materialization_event(self, asset_key: Any) -> EventRecord | None:
        """Dagster's name for `get_latest_materialization`; read the typed event with
        `.asset_materialization` (`.metadata["rows"].value`)."""
        return self.get_latest_materialization(asset_key)

    def fetch_materializations(self, key: Any, limit: int = 10) -> list[EventRecord]:
        """The newest materializations of one asset, newest first."""
        return self.get_event_records(
            EventType.ASSET_MATERIALIZATION, asset_key=key, limit=limit, ascending=False
        )

    # Asset writes ------------------------------------------------------------
    def report_runless_asset_event(
        self, asset_event: AssetMaterialization | AssetObservation
    ) -> None:
        """Record a materialization or observation that happened outside a run."""
        if isinstance(asset_event, AssetMaterialization):
            kind = EventType.ASSET_MATERIALIZATION
            verb = "materialized (reported)"
        elif isinstance(asset_event, AssetObservation):
            kind = EventType.ASSET_OBSERVATION
            verb = "observed (reported)"
        else:
            raise StorageError(
                f"report_runless_asset_event takes an AssetMaterialization or an "
                f"AssetObservation, not {type(asset_event).__name__}."
            )
        data: dict[str, Any] = {
            **metadata_event_data(asset_event.metadata),
            "description": asset_event.description,
            "tags": dict(asset_event.tags),
            "data_version": asset_event.data_version.value if asset_event.data_version else None,
        }
        self._storage.store_events(
            [
                NewEvent(
                    event_type=kind,
                    timestamp=time.time(),
                    asset_key=asset_event.asset_key,
                    partition=asset_event.partition,
                    message=f"Asset '{asset_event.asset_key.to_user_string()}' {verb}.",
                    data=data,
                )
            ]
        )

    def store_events(self, events: list[NewEvent]) -> list[int]:
        return self._storage.store_events(events)

    # Runs ----------------------------------------------------------------------
    def create_run(
        self,
        asset_selection: Iterable[AssetKey],
        *,
        tags: Mapping[str, str] | None = None,
        executor: str | None = None,
        run_id: str | None = None,
        queued: bool = False,
        awaiting_launch: bool = False,
        values: Mapping[str, str] | None = None,
    ) -> RunRecord:
        """Record a new run, started by this process, and its RUN_START event.

        With `queued=True` the run is only reserved (QUEUED) for a process to claim with
        `claim_run`, so it counts as in progress from the moment it is requested: held by
        this process (which will claim it, or launch the one that does), or with
        `awaiting_launch=True` held by no process yet, as the daemon requests runs: such a
        run is the durable record of the request, launched by whichever daemon finds it
        (`get_runs_awaiting_launch`). `values` are stored (`set_value`) in the same
        transaction as the run: a cursor that moves only if the run exists.
        """
        if run_id is not None:
            _check_run_id(run_id)
        now = time.time()
        run = RunRecord(
            run_id=run_id or uuid.uuid4().hex,
            status=RunStatus.QUEUED if queued else RunStatus.STARTED,
            asset_selection=tuple(sorted(asset_selection)),
            tags=dict(tags or {}),
            executor=executor,
            created_at=now,
            started_at=None if queued else now,
            ended_at=None,
        )
        held = not (queued and awaiting_launch)
        pid = os.getpid() if held else None
        if run_id is not None and self._storage.get_run_rows(run_id=run_id):
            raise _run_exists(run_id, self.get_run(run_id))
        self._storage.add_run(
            run,
            pid=pid,
            pid_started=process_start_marker(pid) if pid is not None else None,
            hostname=HOST if held else None,
            values=values,
        )
        if not queued:
            self._storage.store_events(
                [self._run_start_event(run.run_id, run.asset_selection, now)]
            )
            self._heart.add(run.run_id)
        return run

    def create_queued_runs(
        self,
        requests: Sequence[tuple[Iterable[AssetKey], Mapping[str, str]]],
        *,
        executor: str | None = None,
        values: Mapping[str, str] | None = None,
    ) -> list[RunRecord]:
        """Reserve one QUEUED run per `(asset selection, tags)` request, held by no process
        (`create_run(..., queued=True, awaiting_launch=True)`), and set `values`, in one
        transaction: a daemon requesting several runs on one tick (one per partition)
        moves its cursor only if every one of them exists."""
        now = time.time()
        made = [
            RunRecord(
                run_id=uuid.uuid4().hex,
                status=RunStatus.QUEUED,
                asset_selection=tuple(sorted(selection)),
                tags=dict(tags),
                executor=executor,
                created_at=now,
                started_at=None,
                ended_at=None,
            )
            for selection, tags in requests
        ]
        self._storage.add_runs(made, pid=None, pid_started=None, hostname=None, values=values)
        return made

    def set_run_launcher(self, run_id: str, pid: int) -> None:
        """Record `pid` (on this host) as the process launched to claim a QUEUED run: if
        it exits before claiming, readers mark the run failed."""
        self._storage.set_run_launcher(
            run_id, pid=pid, pid_started=process_start_marker(pid), hostname=HOST
        )

    def get_runs_awaiting_launch(self) -> list[RunRecord]:
        """QUEUED runs no process holds yet (requested by a daemon that has not launched
        them, or that crashed before it could), oldest first."""
        rows = self._storage.get_run_rows(status=RunStatus.QUEUED)
        waiting = [run for run, pid, _, host in rows if pid is None and host is None]
        return sorted(waiting, key=lambda r: (r.created_at, r.run_id))

    def claim_run(self, run_id: str) -> RunRecord:
        """Start a QUEUED run in this process (the one launched to execute it)."""
        run = self.get_run(run_id)
        if run is None or run.status is not RunStatus.QUEUED:
            raise _run_exists(run_id, run)
        pid = os.getpid()
        now = time.time()
        if not self._storage.claim_run(
            run_id,
            pid=pid,
            pid_started=process_start_marker(pid),
            hostname=HOST,
            event=self._run_start_event(run_id, run.asset_selection, now),
        ):
            raise RunNotQueuedError(f"Run {run_id} was claimed by another process first.")
        self._heart.add(run_id)
        claimed = self.get_run(run_id)
        assert claimed is not None
        return claimed

    @staticmethod
    def _run_start_event(run_id: str, keys: Iterable[AssetKey], now: float) -> NewEvent:
        names = [k.to_user_string() for k in keys]
        return NewEvent(
            event_type=EventType.RUN_START,
            run_id=run_id,
            timestamp=now,
            message=f"Run {run_id[:8]} started for {len(names)} assets.",
            data={"asset_selection": names},
        )

    def finish_run(self, run_id: str, success: bool, error: str | None = None) -> None:
        self._heart.remove(run_id)
        status = RunStatus.SUCCESS if success else RunStatus.FAILURE
        kind = EventType.RUN_SUCCESS if success else EventType.RUN_FAILURE
        message = f"Run {run_id[:8]} {'succeeded' if success else 'failed'}."
        if error:
            message = f"{message} {error}"
        self._storage.finish_run(
            run_id,
            status,
            NewEvent(
                event_type=kind,
                run_id=run_id,
                timestamp=time.time(),
                message=message,
                data={"error": error} if error else {},
            ),
            error=error,
        )

    def get_run(self, run_id: str) -> RunRecord | None:
        """One run, or None; a run whose process died is reported (and recorded) as failed."""
        rows = self._storage.get_run_rows(run_id=run_id)
        return self._check_alive(rows)[0] if rows else None

    def get_runs(
        self, status: RunStatus | None = None, limit: int | None = None
    ) -> list[RunRecord]:
        """Runs, newest first."""
        if status is None:
            return self._check_alive(self._storage.get_run_rows(limit=limit))
        if status in (RunStatus.SUCCESS, RunStatus.CANCELED):
            return self._check_alive(self._storage.get_run_rows(status=status, limit=limit))
        # Unfinished runs whose process died turn FAILURE on read: check them first, so
        # asking for STARTED never returns a dead run and FAILURE includes it.
        unfinished = self._check_alive(
            self._storage.get_run_rows(status=RunStatus.STARTED)
            + self._storage.get_run_rows(status=RunStatus.QUEUED)
        )
        if status is not RunStatus.FAILURE:
            found = sorted(
                (r for r in unfinished if r.status is status),
                key=lambda r: (r.created_at, r.run_id),
                reverse=True,
            )
            return found[:limit]
        return self._check_alive(self._storage.get_run_rows(status=status, limit=limit))

    def mark_dead_runs(self) -> list[RunRecord]:
        """Check every unfinished run (one read) and mark failed those whose process is
        gone; what the daemon does each tick. The runs marked now."""
        rows = self._storage.get_run_rows(status=RunStatus.STARTED) + self._storage.get_run_rows(
            status=RunStatus.QUEUED
        )
        checked = self._check_alive(rows)
        return [r for r, (was, *_) in zip(checked, rows, strict=True) if r.status is not was.status]

    def _check_alive(
        self, rows: list[tuple[RunRecord, int | None, str | None, str | None]]
    ) -> list[RunRecord]:
        """Mark failed the unfinished runs whose process is gone: on this host, a pid that
        no longer runs; on another, a STARTED run silent past `run_heartbeat_timeout`
        (by the database's clock)."""
        remote = [
            r.run_id for r, _, _, host in rows if r.status is RunStatus.STARTED and host != HOST
        ]
        ages = self._storage.heartbeat_ages(remote) if remote else {}
        out = []
        for run, pid, marker, host in rows:
            unfinished = run.status in (RunStatus.STARTED, RunStatus.QUEUED)
            age = ages.get(run.run_id)
            if unfinished and pid is not None and host == HOST and not process_alive(pid, marker):
                run = self._mark_dead(
                    run,
                    f"The run's process ({pid}) ended without finishing the run "
                    "(killed or crashed).",
                )
            elif run.run_id in ages and age is not None and age > self.run_heartbeat_timeout:
                run = self._mark_dead(
                    run,
                    f"The run's process ({pid} on {host}) sent no heartbeat for {age:.0f} s "
                    f"(the limit is {self.run_heartbeat_timeout:g} s): it is taken for dead "
                    "(killed, crashed, or its host is down or cut off).",
                )
            out.append(run)
        return out

    def _mark_dead(self, run: RunRecord, error: str) -> RunRecord:
        self._storage.finish_run(
            run.run_id,
            RunStatus.FAILURE,
            NewEvent(
                event_type=EventType.RUN_FAILURE,
                run_id=run.run_id,
                timestamp=time.time(),
                message=f"Run {run.run_id[:8]} failed. {error}",
                data={"error": error},
            ),
            error=error,
            only_if_started=True,
        )
        rows = self._storage.get_run_rows(run_id=run.run_id)
        return rows[0][0] if rows else run

    # Dynamic partitions (the keys of each DynamicPartitionsDefinition) ---------------
    def add_dynamic_partitions(
        self, partitions_def_name: str, partition_keys: Sequence[str]
    ) -> None:
        """Add keys to the `DynamicPartitionsDefinition` named `partitions_def_name`, in
        the order given; keys already there stay where they are. One statement."""
        self._dynamic_partitions.add_dynamic_partitions(partitions_def_name, partition_keys)

    def delete_dynamic_partition(self, partitions_def_name: str, partition_key: str) -> None:
        """Delete one key of the definition; nothing happens when it is not there."""
        self._dynamic_partitions.delete_dynamic_partition(partitions_def_name, partition_key)

    def get_dynamic_partitions(self, partitions_def_name: str) -> list[str]:
        """The definition's keys, in the order they were first added ([] when none)."""
        return self._dynamic_partitions.get_dynamic_partitions(partitions_def_name)

    def has_dynamic_partition(self, partitions_def_name: str, partition_key: str) -> bool:
        """Whether the definition has the key (one query: in a loop, use
        `dynamic_partitions_loader()`)."""
        return self._dynamic_partitions.has_dynamic_partition(partitions_def_name, partition_key)

    def get_existing_dynamic_partitions(
        self, partitions_def_name: str, partition_keys: Sequence[str]
    ) -> set[str]:
        """Which of `partition_keys` the definition has, in one query."""
        return self._dynamic_partitions.get_existing_dynamic_partitions(
            partitions_def_name, partition_keys
        )

    def dynamic_partitions_loader(self) -> CachingDynamicPartitionsLoader:
        """A store for one partitions evaluation: each definition's keys are read once,
        at its first use, and every later read (`has_dynamic_partition` of N keys) comes
        from that copy. Pass it as `dynamic_partitions_store=`; make one per evaluation."""
        return CachingDynamicPartitionsLoader(self)

    # Key/values (the automation cursor and daemon state live here) -------------
    def set_value(self, key: str, value: str) -> None:
        self._storage.set_kv(key, value)

    def get_value(self, key: str) -> str | None:
        return self._storage.get_kv(key)

    def __repr__(self) -> str:
        return f"<Instance {self.url}>"


def _in_memory(url: str) -> bool:
    try:
        parsed = make_url(url)
    except ArgumentError:
        return False  # not a URL: opening the storage says so
    return parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:")


def _default_home() -> Path:
    home = os.environ.get("SHEER_HOME")
    if home:
        return Path(home)
    here = Path.cwd().resolve()
    for candidate in (here, *here.parents):
        if (candidate / "pyproject.toml").is_file():
            return candidate / ".sheer"
    return here / ".sheer"


# Dagster's name for the same class, so `dg.DagsterInstance.ephemeral()` runs unchanged.
DagsterInstance = Instance


_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def _check_run_id(run_id: str) -> None:
    if not isinstance(run_id, str) or not _RUN_ID.fullmatch(run_id):
        raise StorageError(
            f"Run id {run_id!r} is not valid: a run id is 1 to 64 letters, digits, '_', '-' "
            "or '.', starting with a letter or digit. Fix: omit it to get a new id, or "
            "pass one like 'nightly-2026-12-03'."
        )


def _run_exists(run_id: str, run: RunRecord | None) -> RunNotQueuedError:
    state = "does not exist" if run is None else f"already exists ({run.status.value})"
    return RunNotQueuedError(
        f"Run {run_id} cannot be started here: it {state}. Fix: launch a new run "
        "(omit the run id, or choose an unused one) instead of reusing this id."
    )


def _seconds_from_env(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise StorageError(
            f"${name} is {raw!r}, not a number of seconds above 0. Fix: set it to e.g. "
            f"{default:g}, or unset it for the default ({default:g} s)."
        )
    return value


class _Heart:
    """Beats for the runs this process has started, from one background thread that
    lives while there are any: a heartbeat that fails (the database is briefly away)
    is tried again at the next beat, never failing the run."""

    def __init__(self, instance: Instance) -> None:
        self._instance = instance
        self._runs: set[str] = set()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, run_id: str) -> None:
        if self._instance.is_in_memory:  # no other process can see it: nothing to tell
            return
        self._beat([run_id])
        with self._lock:
            self._runs.add(run_id)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name="sheer-run-heartbeat", daemon=True
                )
                self._thread.start()

    def remove(self, run_id: str) -> None:
        with self._lock:
            self._runs.discard(run_id)
            if not self._runs:
                self._wake.set()

    def stop(self) -> None:
        with self._lock:
            self._runs.clear()
            self._wake.set()

    def _loop(self) -> None:
        while True:
            self._wake.wait(self._instance.run_heartbeat_interval)
            with self._lock:
                if not self._runs:  # every run finished (or the instance was disposed)
                    self._thread = None
                    return
                self._wake.clear()
                beating = sorted(self._runs)
            self._beat(beating)

    def _beat(self, run_ids: list[str]) -> None:
        # A failed beat (the database briefly away) is retried at the next one.
        with contextlib.suppress(Exception):
            self._instance._storage.beat_runs(run_ids)
