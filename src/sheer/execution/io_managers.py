"""IO managers: how asset values are stored after a step and loaded by later steps.

The default, `FilesystemIOManager`, pickles each value to a file named after the
asset key under the instance's storage folder (values are user data, never the
instance database). Virtual assets are derived on the fly, so an IO manager stores
their outputs only if it says so (`handles_virtual_assets = True`, e.g. one that
creates database views); the default ones never do.
"""

from __future__ import annotations

import os
import pickle
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from sheer.definitions.resources import ConfigurableResource
from sheer.errors import DefinitionError, ExecutionError
from sheer.keys import AssetKey
from sheer.partitions.base import PartitionKeyRange, PartitionsDefinition
from sheer.partitions.time_window import TimeWindow


class _AssetPartitionReads:
    """Dagster's partition reads of an IO manager's contexts, from the context's asset
    key, partition keys and partitions definition."""

    __slots__ = ()
    asset_key: AssetKey
    asset_partition_keys: tuple[str, ...]
    asset_partitions_def: PartitionsDefinition | None

    @property
    def has_asset_key(self) -> bool:
        return True

    @property
    def has_asset_partitions(self) -> bool:
        return self.asset_partitions_def is not None

    @property
    def has_partition_key(self) -> bool:
        return len(self.asset_partition_keys) == 1

    @property
    def asset_partition_key(self) -> str:
        return _one_key(self.asset_key, self.asset_partition_keys, self.asset_partitions_def)

    @property
    def asset_partition_key_range(self) -> PartitionKeyRange:
        keys = _some_keys(self.asset_key, self.asset_partition_keys, self.asset_partitions_def)
        return PartitionKeyRange(keys[0], keys[-1])

    @property
    def asset_partitions_time_window(self) -> TimeWindow:
        return _time_window(self.asset_key, self.asset_partition_keys, self.asset_partitions_def)


@dataclass(frozen=True, slots=True, kw_only=True)
class OutputContext(_AssetPartitionReads):
    """What an IO manager knows when storing an output."""

    asset_key: AssetKey
    run_id: str
    step_key: str
    name: str = "result"
    metadata: Mapping[str, Any] = field(default_factory=dict)
    definition_metadata: Mapping[str, Any] = field(default_factory=dict)
    is_virtual: bool = False
    asset_partition_keys: tuple[str, ...] = ()
    asset_partitions_def: PartitionsDefinition | None = None

    @property
    def partition_key(self) -> str:
        return self.asset_partition_key


@dataclass(frozen=True, slots=True, kw_only=True)
class InputContext(_AssetPartitionReads):
    """What an IO manager knows when loading an input: the upstream asset and who reads it."""

    asset_key: AssetKey
    downstream_asset_key: AssetKey | None
    run_id: str
    name: str
    metadata: Mapping[str, Any] = field(default_factory=dict)
    definition_metadata: Mapping[str, Any] = field(default_factory=dict)
    upstream_is_virtual: bool = False
    asset_partition_keys: tuple[str, ...] = ()
    asset_partitions_def: PartitionsDefinition | None = None


def _some_keys(
    key: AssetKey, keys: tuple[str, ...], pdef: PartitionsDefinition | None
) -> tuple[str, ...]:
    if pdef is None or not keys:
        raise ExecutionError(
            f"The IO manager asked for the partitions of asset '{key.to_user_string()}', which "
            "is not partitioned here. Fix: check context.has_asset_partitions first."
        )
    return keys


def _one_key(key: AssetKey, keys: tuple[str, ...], pdef: PartitionsDefinition | None) -> str:
    keys = _some_keys(key, keys, pdef)
    if len(keys) != 1:
        raise ExecutionError(
            f"The IO manager asked for the one partition key of asset "
            f"'{key.to_user_string()}', but this context has {len(keys)} "
            f"({keys[0]}...{keys[-1]}). Fix: read context.asset_partition_keys."
        )
    return keys[0]


def _time_window(
    key: AssetKey, keys: tuple[str, ...], pdef: PartitionsDefinition | None
) -> TimeWindow:
    from sheer.execution.context import PartitionScope  # context imports nothing of ours

    keys = _some_keys(key, keys, pdef)
    assert pdef is not None
    return PartitionScope(partitions_def=pdef, keys=keys).time_window(key.to_user_string())


class IOManager(ABC):
    """Stores outputs and loads inputs. Subclass and define both methods."""

    handles_virtual_assets: ClassVar[bool] = False

    @abstractmethod
    def handle_output(self, context: OutputContext, obj: Any) -> None:
        """Store `obj`, the value of `context.asset_key`."""

    @abstractmethod
    def load_input(self, context: InputContext) -> Any:
        """Load the stored value of `context.asset_key`."""


class ConfigurableIOManager(ConfigurableResource, IOManager, ABC):
    """An IO manager configured by typed fields, like a `ConfigurableResource`."""


_NAME_MAX = 255  # bytes in a file name on the common filesystems (ext4, xfs, APFS, NTFS)
_TEMP_EXTRA = len(".") + len(".") + 8  # what `tempfile.mkstemp(prefix=".<name>.")` adds


class NoStoredValueError(ExecutionError):
    """An input was asked for that its IO manager never stored."""


class FilesystemIOManager(ConfigurableIOManager):
    """Pickles each asset value to `<base_dir>/<key path>`; the default IO manager.

    Example:
        >>> FilesystemIOManager(base_dir="/tmp/values").base_dir
        '/tmp/values'
    """

    base_dir: str | None = None

    def _path(self, key: AssetKey) -> Path:
        if self.base_dir is None:
            raise ExecutionError(
                "FilesystemIOManager has no base_dir. Fix: pass base_dir=..., or let Sheer "
                "use the default (the instance's storage folder)."
            )
        return Path(self.base_dir).joinpath(*key.parts)

    def validate_assets(self, keys: Iterable[AssetKey]) -> None:
        """Every key must make a file name the filesystem takes, and no key may be a
        folder of another's file ('raw' beside 'raw/orders'): checked before anything
        runs, where a run would fail half-way with a bare OSError."""
        ordered = sorted(keys)
        for key in ordered:
            for n, part in enumerate(key.parts, 1):
                # The file is written as ".<name>.<8 random characters>" first.
                extra = _TEMP_EXTRA if n == len(key.parts) else 0
                if len(part.encode()) + extra > _NAME_MAX:
                    raise DefinitionError(
                        f"Asset '{key.to_user_string()}' cannot be stored by the filesystem "
                        f"IO manager: its key component '{part[:40]}...' is "
                        f"{len(part.encode())} bytes, and a file name holds at most "
                        f"{_NAME_MAX - extra} here. Fix: give it a shorter name or key, "
                        "or an IO manager that does not store it as a file.",
                        key=key,
                    )
        paths = {key.parts: key for key in ordered}
        for key in ordered:
            for n in range(1, len(key.parts)):
                folder = paths.get(key.parts[:n])
                if folder is not None:
                    raise DefinitionError(
                        f"Assets '{folder.to_user_string()}' and '{key.to_user_string()}' "
                        "cannot both be stored by the filesystem IO manager: the value of "
                        f"'{folder.to_user_string()}' is the file where '{key.to_user_string()}' "
                        "needs a folder. Fix: rename one (e.g. "
                        f"'{folder.to_user_string()}_all'), or store one with another IO manager.",
                        key=key,
                    )

    def _partition_path(self, key: AssetKey, partition: str, pdef: Any) -> Path:
        """Dagster's layout: `<base>/<key path>/<partition key>`; a multi key is one folder
        per dimension, in dimension-name order."""
        by_dimension = getattr(partition, "keys_by_dimension", None)
        if (
            by_dimension is None
            and pdef is not None
            and hasattr(pdef, "get_partition_key_from_str")
        ):
            by_dimension = pdef.get_partition_key_from_str(partition).keys_by_dimension
        parts = [by_dimension[d] for d in sorted(by_dimension)] if by_dimension else [partition]
        return self._path(key).joinpath(*parts)

    def _output_path(self, context: OutputContext) -> Path:
        if not context.has_asset_partitions:
            return self._path(context.asset_key)
        keys = context.asset_partition_keys
        if len(keys) != 1:
            raise ExecutionError(
                f"Asset '{context.asset_key.to_user_string()}' returned one value for "
                f"{len(keys)} partitions ({keys[0]}...{keys[-1]}), and the filesystem IO "
                "manager stores one file per partition, so it cannot tell which part of the "
                "value is which partition's. Fix: run one partition per run (partition_key=), "
                "or store the data yourself and return None or a MaterializeResult.",
                key=context.asset_key,
            )
        path = self._partition_path(context.asset_key, keys[0], context.asset_partitions_def)
        if path.parent.is_file():  # the asset was unpartitioned before: its file goes
            path.parent.unlink()
        return path

    def handle_output(self, context: OutputContext, obj: Any) -> None:
        path = self._output_path(context)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename, so a reader never sees half a file.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            with os.fdopen(fd, "wb") as f:
                pickle.dump(obj, f, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    def load_input(self, context: InputContext) -> Any:
        if not context.has_asset_partitions:
            return self._load_path(context, self._path(context.asset_key))
        keys, pdef = context.asset_partition_keys, context.asset_partitions_def
        if len(keys) == 1:
            return self._load_path(context, self._partition_path(context.asset_key, keys[0], pdef))
        return {
            k: self._load_path(context, self._partition_path(context.asset_key, k, pdef))
            for k in keys
        }

    def _load_path(self, context: InputContext, path: Path) -> Any:
        try:
            with open(path, "rb") as f:
                return pickle.load(f)
        except FileNotFoundError:
            raise NoStoredValueError(
                f"Asset '{_name(context.downstream_asset_key)}' reads "
                f"'{context.asset_key.to_user_string()}', but no value of it is stored "
                f"(looked in {path}). Fix: materialize "
                f"'{context.asset_key.to_user_string()}' first, or select it in the same run.",
                key=context.asset_key,
            ) from None


class InMemoryIOManager(IOManager):
    """Keeps values in this process's memory; for tests and in-process runs."""

    def __init__(self) -> None:
        self.values: dict[AssetKey, Any] = {}
        self.partition_values: dict[tuple[AssetKey, str], Any] = {}

    def handle_output(self, context: OutputContext, obj: Any) -> None:
        if not context.has_asset_partitions:
            self.values[context.asset_key] = obj
            return
        keys = context.asset_partition_keys
        if len(keys) != 1:
            raise ExecutionError(
                f"Asset '{context.asset_key.to_user_string()}' returned one value for "
                f"{len(keys)} partitions ({keys[0]}...{keys[-1]}), and the in-memory IO "
                "manager keeps one value per partition. Fix: run one partition per run "
                "(partition_key=), or return None or a MaterializeResult.",
                key=context.asset_key,
            )
        self.partition_values[context.asset_key, keys[0]] = obj

    def load_input(self, context: InputContext) -> Any:
        if context.has_asset_partitions:
            keys = context.asset_partition_keys
            found = {k: self._partition(context, k) for k in keys}
            return found[keys[0]] if len(keys) == 1 else found
        if context.asset_key not in self.values:
            raise NoStoredValueError(
                f"Asset '{_name(context.downstream_asset_key)}' reads "
                f"'{context.asset_key.to_user_string()}', which this in-memory IO manager has "
                "not stored (values live only in the process that made them). Fix: select "
                f"'{context.asset_key.to_user_string()}' in the same run, or use the "
                "filesystem IO manager.",
                key=context.asset_key,
            )
        return self.values[context.asset_key]

    def _partition(self, context: InputContext, partition: str) -> Any:
        if (context.asset_key, partition) not in self.partition_values:
            raise NoStoredValueError(
                f"Asset '{_name(context.downstream_asset_key)}' reads partition "
                f"'{partition}' of '{context.asset_key.to_user_string()}', which this "
                "in-memory IO manager has not stored. Fix: materialize that partition in this "
                "process first, or use the filesystem IO manager.",
                key=context.asset_key,
            )
        return self.partition_values[context.asset_key, partition]


def _name(key: AssetKey | None) -> str:
    return key.to_user_string() if key is not None else "<direct load>"


def validate_stored_assets(graph: Any, resources: Mapping[str, Any]) -> None:
    """Let each IO manager check, before anything runs, the assets it will store (its
    `validate_assets(keys)`, if it has one): the materializable assets under its key,
    and the virtual ones only if it stores them (`handles_virtual_assets`). The default
    "io_manager" is the filesystem one unless `resources` names another."""
    from sheer.execution.step import io_manager_key_of  # step imports this module

    by_manager: dict[str, list[Any]] = {}
    for node in graph:
        if node.assets_def is not None:
            by_manager.setdefault(io_manager_key_of(node), []).append(node)
    for name, nodes in by_manager.items():
        manager = resources.get(name)
        if manager is None and name == "io_manager":
            manager = FilesystemIOManager()
        hook = getattr(manager, "validate_assets", None)
        if not callable(hook):
            continue
        stores_virtual = bool(getattr(manager, "handles_virtual_assets", False))
        hook([n.key for n in nodes if stores_virtual or not n.is_virtual])
