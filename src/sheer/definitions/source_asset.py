"""`SourceAsset`: Dagster's older spelling of an external asset.

In Sheer a source asset is an external asset node: an `AssetSpec` with no function,
updated by reports and observations, readable by downstream assets through its IO
manager. It is an `AssetSpec`, so everything that takes specs takes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sheer.definitions.specs import AssetSpec, caller_location
from sheer.errors import DefinitionError

_IO_MANAGER_KEY = "sheer/io_manager_key"


class SourceAsset(AssetSpec):
    """An asset produced outside Sheer that other assets read (an external asset).

    Example:
        >>> raw = SourceAsset("raw/orders", description="Loaded by the ingest service")
        >>> raw.key, raw.io_manager_key
        (AssetKey(['raw', 'orders']), 'io_manager')
    """

    __slots__ = ()

    def __init__(
        self,
        key: Any,
        metadata: Mapping[str, Any] | None = None,
        io_manager_key: str | None = None,
        io_manager_def: Any = None,
        description: str | None = None,
        partitions_def: Any = None,
        group_name: str | None = None,
        resource_defs: Mapping[str, Any] | None = None,
        observe_fn: Any = None,
        op_tags: Mapping[str, Any] | None = None,
        *,
        auto_observe_interval_minutes: float | None = None,
        legacy_freshness_policy: Any = None,
        automation_condition: Any = None,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        _refuse_unsupported(
            key,
            {
                "io_manager_def": io_manager_def,
                "resource_defs": resource_defs,
                "observe_fn": observe_fn,
                "op_tags": op_tags,
                "auto_observe_interval_minutes": auto_observe_interval_minutes,
                "legacy_freshness_policy": legacy_freshness_policy,
            },
        )
        all_metadata = dict(metadata or {})
        if io_manager_key is not None:
            all_metadata[_IO_MANAGER_KEY] = io_manager_key
        super().__init__(
            key,
            description=description,
            metadata=all_metadata,
            group_name=group_name,
            automation_condition=automation_condition,
            tags=tags,
            partitions_def=partitions_def,
            source=caller_location(),
        )

    @property
    def io_manager_key(self) -> str:
        """The IO manager that loads this asset's value for the assets that read it."""
        return str(self.metadata.get(_IO_MANAGER_KEY, "io_manager"))

    def __repr__(self) -> str:
        return f"SourceAsset({self.key.to_user_string()!r})"


_FIXES = {
    "io_manager_def": "pass the IO manager in Definitions(resources={'<key>': ...}) and "
    "io_manager_key='<key>'",
    "resource_defs": "pass the resources in Definitions(resources=...)",
    "observe_fn": "define it with @observable_source_asset",
    "op_tags": "remove op_tags= (a source asset without observe_fn runs no op)",
    "auto_observe_interval_minutes": "observe it with @observable_source_asset and an "
    "automation condition",
    "legacy_freshness_policy": "remove legacy_freshness_policy=",
}


def _refuse_unsupported(key: Any, given: Mapping[str, Any]) -> None:
    names = [name for name, value in given.items() if value is not None]
    if not names:
        return
    fixes = "; ".join(f"{name}: {_FIXES[name]}" for name in names)
    raise DefinitionError(
        f"SourceAsset {key!r} got {', '.join(names)}, which Sheer's SourceAsset does not "
        f"take (it is an external asset node, with no function or resources of its own). "
        f"Fix: {fixes}."
    )
