"""What an asset function returns: `Output` (a value for the IO manager) and
`MaterializeResult` (metadata, and optionally a value, without returning data)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sheer.errors import ExecutionError
from sheer.keys import AssetKey, coerce_key
from sheer.metadata import MetadataValue, normalize_metadata
from sheer.versioning import DataVersion

_NO_VALUE = object()
T = TypeVar("T")


def _version(value: Any) -> DataVersion | None:
    if value is None or isinstance(value, DataVersion):
        return value
    return DataVersion(str(value))


@dataclass(frozen=True, slots=True)
class Output(Generic[T]):
    """A value returned by an asset function, with metadata and an optional data version.

    Generic, as in Dagster, so it can annotate what a function returns
    (`def orders() -> Output[list[int]]:`); the annotation is not checked at run time.
    Its metadata is held as `MetadataValue`s, as Dagster's is.

    Example:
        >>> Output([1, 2], metadata={"rows": 2}, data_version="v1").data_version
        DataVersion(value='v1')
    """

    value: T
    output_name: str
    metadata: Mapping[str, MetadataValue]
    data_version: DataVersion | None
    tags: Mapping[str, str]

    def __init__(
        self,
        value: T,
        output_name: str = "result",
        metadata: Mapping[str, Any] | None = None,
        data_version: Any = None,
        *,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        s = object.__setattr__
        s(self, "value", value)
        s(self, "output_name", output_name)
        s(self, "metadata", normalize_metadata(metadata))
        s(self, "data_version", _version(data_version))
        s(self, "tags", dict(tags or {}))


@dataclass(frozen=True, slots=True)
class MaterializeResult(Generic[T]):
    """The result of an asset function that stores its data itself (a table, a view).

    Nothing is handed to the IO manager unless `value=` is given. The arguments are
    Dagster's, in Dagster's order, so `MaterializeResult("orders")` names the asset.

    Example:
        >>> MaterializeResult("orders", metadata={"rows": 3}).asset_key
        AssetKey(['orders'])
    """

    asset_key: AssetKey | None
    metadata: Mapping[str, Any]
    data_version: DataVersion | None
    tags: Mapping[str, str]
    value: T

    def __init__(
        self,
        asset_key: Any = None,
        metadata: Mapping[str, Any] | None = None,
        check_results: Sequence[Any] | None = None,
        data_version: Any = None,
        tags: Mapping[str, str] | None = None,
        value: T = _NO_VALUE,  # type: ignore[assignment]
    ) -> None:
        if check_results:
            raise ExecutionError(
                "MaterializeResult(check_results=...) was given asset check results, but Sheer "
                "has no asset checks yet, so they would be silently dropped. Fix: remove "
                "check_results= (record the outcome as metadata= instead)."
            )
        s = object.__setattr__
        s(self, "asset_key", coerce_key(asset_key) if asset_key is not None else None)
        s(self, "metadata", dict(metadata or {}))
        s(self, "data_version", _version(data_version))
        s(self, "tags", dict(tags or {}))
        s(self, "value", value)

    @property
    def has_value(self) -> bool:
        return self.value is not _NO_VALUE


@dataclass(frozen=True, slots=True)
class ObserveResult:
    """What an observation function returns: the data version seen, and metadata.

    Example:
        >>> ObserveResult(data_version="etag-42").data_version
        DataVersion(value='etag-42')
    """

    asset_key: AssetKey | None
    metadata: Mapping[str, Any]
    data_version: DataVersion | None
    tags: Mapping[str, str]

    def __init__(
        self,
        *,
        asset_key: Any = None,
        metadata: Mapping[str, Any] | None = None,
        data_version: Any = None,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        s = object.__setattr__
        s(self, "asset_key", coerce_key(asset_key) if asset_key is not None else None)
        s(self, "metadata", dict(metadata or {}))
        s(self, "data_version", _version(data_version))
        s(self, "tags", dict(tags or {}))
