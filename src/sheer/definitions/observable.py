"""`@observable_source_asset`: an external asset whose data version a function observes.

The function looks at the outside world (a file's hash, a table's last-modified
time, an API's ETag) and returns a `DataVersion` or an `ObserveResult`. `sheer.observe`
runs it and records an observation; nothing is materialized.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from sheer.definitions.assets import AssetsDefinition, analyse_params, function_location
from sheer.definitions.decorators import _asset_key, _doc
from sheer.definitions.specs import AssetSpec, freeze_set
from sheer.errors import DefinitionError
from sheer.keys import CoercibleToAssetKeyPrefix


def observable_source_asset(
    observe_fn: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    key_prefix: CoercibleToAssetKeyPrefix | None = None,
    key: Any = None,
    description: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    group_name: str | None = None,
    required_resource_keys: Iterable[str] | None = None,
    io_manager_key: str | None = None,
    automation_condition: Any = None,
    owners: Sequence[str] | None = None,
    tags: Mapping[str, str] | None = None,
    kinds: Iterable[str] | None = None,
) -> Any:
    """Define an external asset observed by the decorated function.

    Example:
        >>> from sheer import DataVersion
        >>> @observable_source_asset
        ... def raw_file():
        ...     return DataVersion("sha-1234")
        >>> raw_file.is_observation
        True
    """

    def build(fn: Callable[..., Any]) -> AssetsDefinition:
        where = function_location(fn)
        asset_key = _asset_key(fn, name=name, key_prefix=key_prefix, key=key, where=where)
        params = analyse_params(fn, {}, where, f"'{asset_key.to_user_string()}'")
        if params.open:
            raise DefinitionError(
                f"Observable source asset '{asset_key.to_user_string()}' (defined at {where}) "
                f"takes parameters {', '.join(params.open)}; an observation reads no assets. "
                "Fix: keep only `context` and resources (typed as ConfigurableResource, or "
                "through required_resource_keys and context.resources).",
                key=asset_key,
                file=where,
            )
        spec = AssetSpec(
            asset_key,
            description=description if description is not None else _doc(fn),
            metadata=metadata,
            group_name=group_name,
            automation_condition=automation_condition,
            owners=owners,
            tags=tags,
            kinds=kinds,
            source=where,
        )
        return AssetsDefinition(
            specs=(spec,),
            fn=fn,
            node_name=asset_key.to_python_identifier(),
            params=params,
            io_manager_key=io_manager_key or "io_manager",
            required_resource_keys=freeze_set(required_resource_keys),
            source=where,
            is_observation=True,
        )

    if observe_fn is not None:
        return build(observe_fn)
    return build
