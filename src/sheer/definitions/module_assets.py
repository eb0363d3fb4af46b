"""Collecting assets from Python modules and packages, as Dagster's
`load_assets_from_modules` and `load_assets_from_package_module` do.

A group name and key prefixes are applied on the way out. Prefixing re-keys the
dependencies between the collected assets too, so a loaded graph keeps its edges.
Nothing here builds a graph or runs anything.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from types import ModuleType
from typing import Any

from sheer.definitions.assets import AssetsDefinition
from sheer.definitions.source_asset import SourceAsset
from sheer.definitions.specs import AssetDep, AssetSpec, freeze_mapping
from sheer.errors import DefinitionError
from sheer.keys import AssetKey, CoercibleToAssetKeyPrefix, coerce_prefix

Loaded = AssetsDefinition | AssetSpec


def load_assets_from_modules(
    modules: Iterable[ModuleType],
    group_name: str | None = None,
    key_prefix: CoercibleToAssetKeyPrefix | None = None,
    *,
    automation_condition: Any = None,
    backfill_policy: Any = None,
    source_key_prefix: CoercibleToAssetKeyPrefix | None = None,
    include_specs: bool = False,
) -> list[Loaded]:
    """The assets defined at module level (alone or in lists) in `modules`.

    `SourceAsset`s and observable source assets are always included, other `AssetSpec`s
    only with `include_specs=True`. `key_prefix` prefixes the keys of the assets (and
    specs), `source_key_prefix` those of source assets; dependencies between loaded
    assets follow. `group_name` sets the group of every loaded asset.

    Example:
        >>> import types
        >>> from sheer import asset
        >>> my_assets = types.ModuleType("my_assets")
        >>> @asset
        ... def orders():
        ...     return 1
        >>> my_assets.orders = orders
        >>> [a.key for a in load_assets_from_modules([my_assets], key_prefix="shop")]
        [AssetKey(['shop', 'orders'])]
    """
    if backfill_policy is not None:
        raise DefinitionError(
            "load_assets_from_modules got backfill_policy=, which Sheer does not support yet. "
            "Fix: remove backfill_policy=."
        )
    found = _collect(modules, include_specs)
    prefix = coerce_prefix(key_prefix) if key_prefix is not None else ()
    source_prefix = coerce_prefix(source_key_prefix) if source_key_prefix is not None else ()
    renames: dict[AssetKey, AssetKey] = {}
    for item in found:
        item_prefix = source_prefix if _is_source(item) else prefix
        if item_prefix:
            for key in _keys(item):
                renames[key] = AssetKey([*item_prefix, *key.parts])
    out: list[Loaded] = []
    for item in found:
        changes = _group_changes(item, group_name, automation_condition)
        if isinstance(item, AssetsDefinition):
            out.append(_rekey_definition(item, renames, changes))
        else:
            out.append(_rekey_spec(item, renames, changes.get(item.key, {})))
    return out


def load_assets_from_package_module(
    package_module: ModuleType,
    group_name: str | None = None,
    key_prefix: CoercibleToAssetKeyPrefix | None = None,
    *,
    automation_condition: Any = None,
    backfill_policy: Any = None,
    source_key_prefix: CoercibleToAssetKeyPrefix | None = None,
    include_specs: bool = False,
) -> list[Loaded]:
    """The assets of a package and of every module under it (see `load_assets_from_modules`)."""
    return load_assets_from_modules(
        _package_modules(package_module),
        group_name,
        key_prefix,
        automation_condition=automation_condition,
        backfill_policy=backfill_policy,
        source_key_prefix=source_key_prefix,
        include_specs=include_specs,
    )


def _package_modules(package: ModuleType) -> list[ModuleType]:
    modules = [package]
    path = getattr(package, "__path__", None)
    if path is None:  # a plain module: just itself
        return modules
    for info in pkgutil.walk_packages(path, prefix=f"{package.__name__}."):
        modules.append(importlib.import_module(info.name))
    return modules


def _collect(modules: Iterable[ModuleType], include_specs: bool) -> list[Loaded]:
    found: dict[int, Loaded] = {}
    for module in modules:
        for value in list(vars(module).values()):
            candidates = value if isinstance(value, (list, tuple)) else (value,)
            for item in candidates:
                if isinstance(item, AssetsDefinition) or (
                    isinstance(item, AssetSpec) and (include_specs or isinstance(item, SourceAsset))
                ):
                    found.setdefault(id(item), item)
    return list(found.values())


def _is_source(item: Loaded) -> bool:
    if isinstance(item, AssetsDefinition):
        return item.is_observation
    return isinstance(item, SourceAsset)


def _keys(item: Loaded) -> list[AssetKey]:
    return [s.key for s in item.specs] if isinstance(item, AssetsDefinition) else [item.key]


def _group_changes(
    item: Loaded, group_name: str | None, automation_condition: Any
) -> dict[AssetKey, dict[str, Any]]:
    specs = item.specs if isinstance(item, AssetsDefinition) else (item,)
    changes: dict[AssetKey, dict[str, Any]] = {}
    for spec in specs:
        change: dict[str, Any] = {}
        if group_name is not None:
            if spec.group_name is not None and spec.group_name != group_name:
                raise DefinitionError(
                    f"Asset '{spec.key.to_user_string()}' has group_name {spec.group_name!r}, "
                    f"which conflicts with group_name={group_name!r} given to "
                    "load_assets_from_modules. Fix: remove group_name= from the asset, or "
                    "load it without group_name=.",
                    key=spec.key,
                    file=spec.source,
                )
            change["group_name"] = group_name
        if automation_condition is not None:
            change["automation_condition"] = automation_condition
        changes[spec.key] = change
    return changes


def _rekey_deps(deps: Sequence[AssetDep], renames: Mapping[AssetKey, AssetKey]) -> list[AssetDep]:
    return [
        AssetDep(renames.get(d.asset_key, d.asset_key), partition_mapping=d.partition_mapping)
        for d in deps
    ]


def _rekey_spec(
    spec: AssetSpec, renames: Mapping[AssetKey, AssetKey], changes: Mapping[str, Any]
) -> AssetSpec:
    if not changes and spec.key not in renames and not any(d in renames for d in spec.dep_keys):
        return spec
    fields = dict(changes)
    fields["deps"] = _rekey_deps(spec.deps, renames)
    if isinstance(spec, SourceAsset):  # keep the type: `isinstance(x, SourceAsset)` still holds
        return SourceAsset(
            renames.get(spec.key, spec.key),
            metadata=spec.metadata,
            description=spec.description,
            partitions_def=spec.partitions_def,
            group_name=fields.get("group_name", spec.group_name),
            automation_condition=fields.get("automation_condition", spec.automation_condition),
            tags=spec.tags,
        )
    return spec.replace_attributes(key=renames.get(spec.key, spec.key), **fields)


def _rekey_definition(
    assets_def: AssetsDefinition,
    renames: Mapping[AssetKey, AssetKey],
    changes: Mapping[AssetKey, Mapping[str, Any]],
) -> AssetsDefinition:
    touched = any(changes.values()) or any(
        s.key in renames or any(d in renames for d in s.dep_keys) for s in assets_def.specs
    )
    if not touched:
        return assets_def
    specs = tuple(_rekey_spec(s, renames, changes.get(s.key, {})) for s in assets_def.specs)
    params = assets_def.params
    inputs = {p: renames.get(k, k) for p, k in params.inputs.items()}
    still_open = []
    for name in params.open:
        renamed = renames.get(AssetKey([name]))
        if renamed is not None:  # the parameter named a loaded asset, now prefixed
            inputs[name] = renamed
        else:
            still_open.append(name)
    selected = assets_def.selected_keys
    return replace(
        assets_def,
        specs=specs,
        params=replace(params, inputs=freeze_mapping(inputs), open=tuple(still_open)),
        selected_keys=frozenset(renames.get(k, k) for k in selected) if selected else selected,
        # Output names are the function's, so `Output(..., output_name=...)` still works.
        output_names={
            renames.get(s.key, s.key): assets_def.get_output_name_for_asset_key(s.key)
            for s in assets_def.specs
        },
    )
