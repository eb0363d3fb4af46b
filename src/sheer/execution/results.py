"""What an asset function returns: `Output` (a value for the IO manager) and
`MaterializeResult` (metadata, and optionally a value, without returning data), and
`collect_results`, which maps a return value or a generator to one result per asset.

It checks what the user's function gave; it never calls the function or stores anything.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sheer.definitions.assets import AssetsDefinition
from sheer.errors import ExecutionError, did_you_mean
from sheer.events import AssetMaterialization, AssetObservation
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


Result = Output[Any] | MaterializeResult[Any]


def collect_results(
    assets_def: AssetsDefinition, selected: frozenset[AssetKey], result: Any
) -> dict[AssetKey, Result]:
    """One result per selected asset, from what the function returned or yielded.

    As in Dagster, a generator (a generator function's body, or one it returns) is
    iterated, and each item must be an `Output` or `MaterializeResult` for an output not
    seen before; any other iterable returned is a value. A selected asset left without a
    result is skipped if it is optional, materialized implicitly if its output carries
    no value (a multi_asset of specs that cannot subset), and an error otherwise: never
    a silent last element.
    """
    if inspect.iscoroutine(result) or inspect.isasyncgen(result):
        raise _async_error(assets_def, result)
    if inspect.isgenerator(result):
        with closing(result):
            items = [_yielded(assets_def, item) for item in result]
        verb = "yielded"
    else:
        items = _returned(assets_def, selected, result)
        verb = "returned"
    out: dict[AssetKey, Result] = {}
    seen: set[AssetKey] = set()
    for item in items:
        key = _key_of(assets_def, item, verb)
        if key in seen:
            raise ExecutionError(
                f"{_subject(assets_def)} {verb} two results for {_output_of(assets_def, key)}: "
                "an output takes one result, and keeping either would silently drop the other. "
                "Fix: yield one Output or MaterializeResult per output (merge their metadata "
                "into one).",
                key=key,
                file=assets_def.source,
            )
        seen.add(key)
        if key in selected:
            out[key] = item
        elif key not in assets_def.specs_by_key:
            raise ExecutionError(
                f"{assets_def.node_name} {verb} a result for '{key.to_user_string()}', which "
                "it does not define. Fix: use one of its own keys.",
                key=key,
            )
        # else: a subset step ignores results for assets it does not run
    for key in sorted(selected - out.keys()):
        implicit = _missing(assets_def, key)
        if implicit is not None:
            out[key] = implicit
    return out


def _returned(
    assets_def: AssetsDefinition, selected: frozenset[AssetKey], result: Any
) -> list[Result]:
    if isinstance(result, (Output, MaterializeResult)):
        return [result]
    if len(assets_def.specs) == 1:
        return [Output(result)]
    if isinstance(result, tuple) and len(result) == len(selected):
        order = [s.key for s in assets_def.specs if s.key in selected]
        return [
            r
            if isinstance(r, (Output, MaterializeResult))
            else Output(r, output_name=assets_def.get_output_name_for_asset_key(k))
            for k, r in zip(order, result, strict=True)
        ]
    if result is None:
        return _none_result(assets_def, selected)
    raise ExecutionError(
        f"{assets_def.node_name} computes several assets but returned "
        f"{type(result).__name__}. Fix: return or yield a MaterializeResult(asset_key=...) "
        "or Output(value, output_name=...) per asset.",
        file=assets_def.source,
    )


def _yielded(assets_def: AssetsDefinition, item: Any) -> Result:
    """An item a generator yielded, if it is a result; Dagster's rule, with a fix."""
    if isinstance(item, (Output, MaterializeResult)):
        return item
    if isinstance(item, (AssetMaterialization, AssetObservation)):
        raise ExecutionError(
            f"{_subject(assets_def)} yielded an {type(item).__name__} for "
            f"'{item.asset_key.to_user_string()}', but Sheer does not record events yielded "
            "by an asset function yet, so it would be silently dropped. Fix: put its metadata "
            "on the asset's own Output(metadata=...) or MaterializeResult(metadata=...), or "
            "report it with instance.report_runless_asset_event(...).",
            key=item.asset_key,
            file=assets_def.source,
        )
    what = f"a value of type {type(item).__name__}, not an Output or MaterializeResult"
    if len(assets_def.specs) > 1:
        message = (
            f"{_subject(assets_def)} yielded {what}: with several outputs, each item must say "
            "which asset it is for. Fix: yield Output(value, output_name=...) or "
            "MaterializeResult(asset_key=...) for each asset."
        )
    elif inspect.isgeneratorfunction(assets_def.fn):
        message = (
            f"{_subject(assets_def)} yielded {what}: the body of a generator asset is "
            "iterated, and each item must be a result for an output. Fix: yield "
            "Output(value), or return the value instead of yielding it."
        )
    else:
        message = (
            f"{_subject(assets_def)} returned a generator, which is iterated for results, "
            f"and it yielded {what}. Fix: return the value itself (a list(...), not a "
            "generator), or yield Output(value)."
        )
    raise ExecutionError(message, key=assets_def.specs[0].key, file=assets_def.source)


def _missing(assets_def: AssetsDefinition, key: AssetKey) -> MaterializeResult[Any] | None:
    """The result of a selected asset its function gave none for, as Dagster decides it.

    Optional outputs (`skippable`, `AssetOut(is_required=False)`, and in a multi_asset
    of specs that can subset) are skipped: None. Outputs of specs carry no value, so
    they are materialized implicitly, like Dagster's Nothing outputs. An output of a
    value is an error.
    """
    spec = assets_def.specs_by_key[key]
    if spec.skippable or (assets_def.can_subset and not assets_def.has_value_outputs):
        return None
    if not assets_def.has_value_outputs:
        return MaterializeResult(asset_key=key)
    raise ExecutionError(
        f"Asset '{key.to_user_string()}' was selected, but {assets_def.node_name} did "
        "not return or yield a result for it. Fix: yield MaterializeResult(asset_key="
        f"'{key.to_user_string()}') or Output(..., output_name="
        f"'{assets_def.get_output_name_for_asset_key(key)}').",
        key=key,
    )


def _none_result(assets_def: AssetsDefinition, selected: frozenset[AssetKey]) -> list[Result]:
    """A multi_asset body that returned None.

    As in Dagster: a multi_asset of specs that cannot subset has materialized every
    spec (its outputs carry no value); one that can subset, or one of `outs=` (whose
    outputs are values), must say which assets it produced.
    """
    if not assets_def.can_subset and not assets_def.has_value_outputs:
        return [MaterializeResult(asset_key=k) for k in sorted(selected)]
    keys = ", ".join(sorted(k.to_user_string() for k in assets_def.keys))
    why = (
        "it can subset (can_subset=True), so returning nothing does not say which of them it "
        "materialized"
        if assets_def.can_subset
        else "its outs= are values, and None is not a value for each of them"
    )
    raise ExecutionError(
        f"{assets_def.node_name} computes several assets ({keys}) but returned None: {why}. "
        "Fix: yield a MaterializeResult(asset_key=...) or Output(value, output_name=...) for "
        "each asset in context.selected_asset_keys, or return a tuple with one value per output.",
        file=assets_def.source,
    )


def _key_of(assets_def: AssetsDefinition, item: Result, verb: str) -> AssetKey:
    if isinstance(item, MaterializeResult):
        if item.asset_key is not None:
            return item.asset_key
        if len(assets_def.specs) == 1:
            return assets_def.specs[0].key
        raise ExecutionError(
            f"{assets_def.node_name} computes several assets, so each MaterializeResult needs "
            "asset_key=. Fix: MaterializeResult(asset_key='...').",
            file=assets_def.source,
        )
    if item.output_name == "result" and len(assets_def.specs) == 1:
        return assets_def.specs[0].key
    names = {assets_def.get_output_name_for_asset_key(s.key): s.key for s in assets_def.specs}
    if item.output_name in names:
        return names[item.output_name]
    raise ExecutionError(
        f"{_subject(assets_def)} {verb} an Output for output '{item.output_name}', which it "
        f"does not have (its outputs: {', '.join(names)}).{did_you_mean(item.output_name, names)}"
        " Fix: set Output(output_name=...) to one of its outputs.",
        key=assets_def.specs[0].key if len(assets_def.specs) == 1 else None,
        file=assets_def.source,
    )


def _async_error(assets_def: AssetsDefinition, result: Any) -> ExecutionError:
    if inspect.iscoroutine(result):
        result.close()  # never awaited on purpose: no "coroutine was never awaited" warning
    kind = "a coroutine" if inspect.iscoroutine(result) else "an async generator"
    return ExecutionError(
        f"{_subject(assets_def)} returned {kind}, as an async def function does, and Sheer "
        "does not run async assets yet, so its body would never run. Fix: define it with "
        "def, and run the async code inside it with asyncio.run(...).",
        key=assets_def.specs[0].key if len(assets_def.specs) == 1 else None,
        file=assets_def.source,
    )


def _subject(assets_def: AssetsDefinition) -> str:
    if len(assets_def.specs) == 1:
        return f"Asset '{assets_def.specs[0].key.to_user_string()}'"
    return f"The multi_asset '{assets_def.node_name}'"


def _output_of(assets_def: AssetsDefinition, key: AssetKey) -> str:
    name = assets_def.get_output_name_for_asset_key(key)
    if len(assets_def.specs) == 1:
        return f"its output '{name}'"
    return f"asset '{key.to_user_string()}' (output '{name}')"
