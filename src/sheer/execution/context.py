"""AssetExecutionContext: what an asset function can ask about the step it runs in."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from sheer.errors import ExecutionError
from sheer.keys import AssetKey, coerce_key

if TYPE_CHECKING:
    from sheer.definitions.assets import AssetsDefinition
    from sheer.instance import Instance

_logger = logging.getLogger("sheer")


class StepLog:
    """`context.log`: Python-logging-style calls, kept as log events of the step."""

    def __init__(self, step_key: str) -> None:
        self._step_key = step_key
        self.records: list[dict[str, Any]] = []

    def _log(self, level: int, msg: str, *args: Any) -> None:
        text = msg % args if args else str(msg)
        self.records.append(
            {"level": logging.getLevelName(level), "message": text, "timestamp": time.time()}
        )
        _logger.log(level, "[%s] %s", self._step_key, text)

    def debug(self, msg: str, *args: Any) -> None:
        self._log(logging.DEBUG, msg, *args)

    def info(self, msg: str, *args: Any) -> None:
        self._log(logging.INFO, msg, *args)

    def warning(self, msg: str, *args: Any) -> None:
        self._log(logging.WARNING, msg, *args)

    warn = warning

    def error(self, msg: str, *args: Any) -> None:
        self._log(logging.ERROR, msg, *args)

    def exception(self, msg: str, *args: Any) -> None:
        self._log(logging.ERROR, msg, *args)

    def critical(self, msg: str, *args: Any) -> None:
        self._log(logging.CRITICAL, msg, *args)


class AssetExecutionContext:
    """Passed as the first parameter (named `context`) of an asset function.

    Example:
        >>> # @asset
        >>> # def orders(context: AssetExecutionContext):
        >>> #     context.log.info("loading")
        >>> #     context.add_output_metadata({"rows": 3})
    """

    def __init__(
        self,
        *,
        assets_def: AssetsDefinition,
        selected_asset_keys: frozenset[AssetKey],
        run_id: str,
        step_key: str,
        instance: Callable[[], Instance | None],
        resources: Mapping[str, Any],
    ) -> None:
        self._assets_def = assets_def
        self._selected = selected_asset_keys
        self._run_id = run_id
        self._get_instance = instance
        self._resources = SimpleNamespace(**dict(resources))
        self.log = StepLog(step_key)
        self._step_key = step_key
        self.output_metadata: dict[AssetKey, dict[str, Any]] = {}

    @property
    def run_id(self) -> str:
        return self._run_id

    @property
    def instance(self) -> Instance:
        instance = self._get_instance()
        if instance is None:
            raise ExecutionError(
                "context.instance is not available here: the run's instance is in memory, in "
                "another process. Fix: use an instance on disk (Instance.from_url) or the "
                "in-process executor."
            )
        return instance

    @property
    def resources(self) -> Any:
        """The run's resources, by key: `context.resources.warehouse`."""
        return self._resources

    @property
    def assets_def(self) -> AssetsDefinition:
        return self._assets_def

    @property
    def asset_key(self) -> AssetKey:
        """The key of the one asset this step computes."""
        if len(self._selected) != 1:
            names = ", ".join(sorted(k.to_user_string() for k in self._selected))
            raise ExecutionError(
                f"context.asset_key needs a step of exactly one asset; this step computes "
                f"{names}. Fix: use context.selected_asset_keys."
            )
        return next(iter(self._selected))

    @property
    def asset_keys(self) -> frozenset[AssetKey]:
        return self._selected

    @property
    def selected_asset_keys(self) -> frozenset[AssetKey]:
        """The keys this step must produce (a subset of the definition's when subsetting)."""
        return self._selected

    @property
    def step_key(self) -> str:
        return self._step_key

    @property
    def op_execution_context(self) -> AssetExecutionContext:
        return self

    @property
    def has_partition_key(self) -> bool:
        return False

    def add_output_metadata(
        self,
        metadata: Mapping[str, Any],
        output_name: str | None = None,
        asset_key: Any = None,
    ) -> None:
        """Attach metadata to the materialization of an asset of this step."""
        if asset_key is not None:
            key = coerce_key(asset_key)
        elif output_name is not None:
            key = self._assets_def.get_asset_key_for_output_name(output_name)
        else:
            key = self.asset_key
        self.output_metadata.setdefault(key, {}).update(metadata)

    def add_asset_metadata(self, metadata: Mapping[str, Any], asset_key: Any = None) -> None:
        self.add_output_metadata(metadata, asset_key=asset_key)
