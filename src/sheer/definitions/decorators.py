"""The `@asset` and `@multi_asset` decorators, with Dagster's names and signatures."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from typing import Any, overload

from sheer.definitions.assets import (
    AssetsDefinition,
    FunctionParams,
    analyse_params,
    function_location,
    returns_nothing,
)
from sheer.definitions.backfill_policy import BackfillPolicy
from sheer.definitions.specs import AssetDep, AssetIn, AssetOut, AssetSpec, coerce_deps, freeze_set
from sheer.errors import DefinitionError
from sheer.keys import AssetKey, CoercibleToAssetKeyPrefix, coerce_key, coerce_keys, coerce_prefix


@overload
def asset(compute_fn: Callable[..., Any]) -> AssetsDefinition: ...


@overload
def asset(
    compute_fn: None = None,
    *,
    name: str | None = None,
    key_prefix: CoercibleToAssetKeyPrefix | None = None,
    ins: Mapping[str, AssetIn] | None = None,
    deps: Iterable[Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
    tags: Mapping[str, str] | None = None,
    description: str | None = None,
    required_resource_keys: Iterable[str] | None = None,
    io_manager_key: str | None = None,
    partitions_def: Any = None,
    op_tags: Mapping[str, Any] | None = None,
    group_name: str | None = None,
    automation_condition: Any = None,
    code_version: str | None = None,
    key: Any = None,
    owners: Iterable[str] | None = None,
    kinds: Iterable[str] | None = None,
    compute_kind: str | None = None,
    is_virtual: bool = False,
    backfill_policy: BackfillPolicy | None = None,
) -> Callable[[Callable[..., Any]], AssetsDefinition]: ...


def asset(
    compute_fn: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    key_prefix: CoercibleToAssetKeyPrefix | None = None,
    ins: Mapping[str, AssetIn] | None = None,
    deps: Iterable[Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
    tags: Mapping[str, str] | None = None,
    description: str | None = None,
    required_resource_keys: Iterable[str] | None = None,
    io_manager_key: str | None = None,
    partitions_def: Any = None,
    op_tags: Mapping[str, Any] | None = None,
    group_name: str | None = None,
    automation_condition: Any = None,
    code_version: str | None = None,
    key: Any = None,
    owners: Iterable[str] | None = None,
    kinds: Iterable[str] | None = None,
    compute_kind: str | None = None,
    is_virtual: bool = False,
    backfill_policy: BackfillPolicy | None = None,
) -> AssetsDefinition | Callable[[Callable[..., Any]], AssetsDefinition]:
    """Define an asset computed by the decorated function.

    Parameters of the function name its upstream assets (their values are passed in),
    except a first parameter named `context` and parameters that name resources.

    Example:
        >>> @asset(is_virtual=True)
        ... def my_virtual_asset(upstream_asset):
        ...     return upstream_asset
        >>> my_virtual_asset.key, my_virtual_asset.is_virtual
        (AssetKey(['my_virtual_asset']), True)
    """

    def build(fn: Callable[..., Any]) -> AssetsDefinition:
        where = function_location(fn)
        asset_key = _asset_key(fn, name=name, key_prefix=key_prefix, key=key, where=where)
        label = f"'{asset_key.to_user_string()}'"
        params = analyse_params(fn, ins or {}, where, label)
        all_kinds = set(kinds or ())
        if compute_kind:
            all_kinds.add(compute_kind)
        spec = AssetSpec(
            asset_key,
            deps=[*_input_deps(params, ins), *coerce_deps(deps)],
            description=description if description is not None else _doc(fn),
            metadata=metadata,
            group_name=group_name,
            code_version=code_version,
            automation_condition=automation_condition,
            owners=None if owners is None else tuple(owners),
            tags=tags,
            kinds=all_kinds,
            is_virtual=is_virtual,
            partitions_def=partitions_def,
            source=where,
        )
        return AssetsDefinition(
            specs=(spec,),
            fn=fn,
            node_name=asset_key.to_python_identifier(),
            params=params,
            io_manager_key=io_manager_key or "io_manager",
            required_resource_keys=freeze_set(required_resource_keys),
            op_tags=op_tags,
            source=where,
            has_value_outputs=True,
            returns_nothing=returns_nothing(fn),
            backfill_policy=_checked_policy(backfill_policy, where),
        )

    if compute_fn is not None:
        return build(compute_fn)
    return build


def _asset_key(
    fn: Callable[..., Any],
    *,
    name: str | None,
    key_prefix: CoercibleToAssetKeyPrefix | None,
    key: Any,
    where: str,
) -> AssetKey:
    if key is not None:
        if name is not None or key_prefix is not None:
            raise DefinitionError(
                f"@asset at {where} passes key= together with name= or key_prefix=. "
                "Fix: pass key= alone (it is the whole key), or name= with key_prefix=.",
                file=where,
            )
        return coerce_key(key)
    return AssetKey([*coerce_prefix(key_prefix), name or fn.__name__])


def _doc(fn: Callable[..., Any]) -> str | None:
    doc = fn.__doc__
    return inspect.cleandoc(doc) if doc else None


def multi_asset(
    *,
    outs: Mapping[str, AssetOut] | None = None,
    specs: Sequence[AssetSpec] | None = None,
    name: str | None = None,
    ins: Mapping[str, AssetIn] | None = None,
    deps: Iterable[Any] | None = None,
    description: str | None = None,
    internal_asset_deps: Mapping[str, AbstractSet[AssetKey]] | None = None,
    can_subset: bool = False,
    required_resource_keys: Iterable[str] | None = None,
    io_manager_key: str | None = None,
    group_name: str | None = None,
    partitions_def: Any = None,
    op_tags: Mapping[str, Any] | None = None,
    code_version: str | None = None,
    backfill_policy: BackfillPolicy | None = None,
) -> Callable[[Callable[..., Any]], AssetsDefinition]:
    """Define several assets computed by one function.

    With `specs=`, the function returns or yields `MaterializeResult(asset_key=...)` per
    asset (or returns None to say it materialized all of them, unless it can subset).
    With `outs=`, each output is a value: return a tuple in the order of `outs`, or yield
    `Output(value, output_name=...)`. The specs may mix virtual and non-virtual assets.
    Function inputs (`ins=` or parameters) and `deps=` become dependencies of every asset,
    except those whose dependencies `internal_asset_deps={output name: {keys}}` lists.

    Example:
        >>> @multi_asset(specs=[AssetSpec("a"), AssetSpec("b", deps=["a"], is_virtual=True)])
        ... def a_and_b():
        ...     ...
        >>> sorted(k.to_user_string() for k in a_and_b.keys)
        ['a', 'b']
    """

    def build(fn: Callable[..., Any]) -> AssetsDefinition:
        where = function_location(fn)
        node_name = name or fn.__name__
        params = analyse_params(fn, ins or {}, where, repr(node_name))
        shared = coerce_deps([*_input_deps(params, ins), *coerce_deps(deps)])
        own_specs, output_names = _own_specs(
            node_name, where, specs, outs, internal_asset_deps, shared
        )
        fixed = {
            k for k, out_name in output_names.items() if out_name in (internal_asset_deps or {})
        }
        own_keys = {s.key for s in own_specs}
        built = []
        for spec in own_specs:
            extra = [d for d in shared if d.asset_key != spec.key and spec.key not in fixed]
            changes: dict[str, Any] = {"source": where}
            if extra:
                changes["deps"] = coerce_deps([*spec.deps, *extra])
            if group_name is not None and spec.group_name is None:
                changes["group_name"] = group_name
            if code_version is not None and spec.code_version is None:
                changes["code_version"] = code_version
            if partitions_def is not None and spec.partitions_def is None:
                changes["partitions_def"] = partitions_def
            elif partitions_def is not None and spec.partitions_def != partitions_def:
                raise DefinitionError(
                    f"@multi_asset {node_name!r} (defined at {where}) has partitions_def="
                    f"{partitions_def!r}, but its spec {spec.key.to_user_string()!r} has "
                    f"partitions_def={spec.partitions_def!r}. Fix: give the spec the same "
                    "partitions_def, or leave it unset to inherit the multi_asset's.",
                    key=spec.key,
                    file=where,
                )
            if description is not None and spec.description is None:
                changes["description"] = description
            built.append(spec.replace_attributes(**changes))
        if len(own_keys) != len(own_specs):
            dupes = sorted(
                {s.key.to_user_string() for s in own_specs if _count(own_specs, s.key) > 1}
            )
            raise DefinitionError(
                f"@multi_asset {node_name!r} (defined at {where}) lists "
                f"{', '.join(dupes)} more than once. Fix: give each spec its own key.",
                file=where,
            )
        _check_one_partitions_def(node_name, where, built, can_subset)
        return AssetsDefinition(
            specs=tuple(built),
            fn=fn,
            node_name=node_name,
            params=params,
            can_subset=can_subset,
            io_manager_key=io_manager_key or "io_manager",
            required_resource_keys=freeze_set(required_resource_keys),
            op_tags=op_tags,
            source=where,
            output_names=output_names or None,
            has_value_outputs=outs is not None,
            backfill_policy=_checked_policy(backfill_policy, where),
        )

    return build


def _input_deps(params: FunctionParams, ins: Mapping[str, AssetIn] | None) -> list[Any]:
    """The function's upstream keys as deps, each with the partition mapping its
    `AssetIn` gives (a plain key when none)."""
    if not ins or not any(i.partition_mapping is not None for i in ins.values()):
        return params.data_keys()
    by_key = {
        params.inputs[name]: i.partition_mapping
        for name, i in ins.items()
        if i.partition_mapping is not None and name in params.inputs
    }
    return [
        AssetDep(k, partition_mapping=by_key[k]) if k in by_key else k for k in params.data_keys()
    ]


def _check_one_partitions_def(
    node_name: str, where: str, specs: Sequence[AssetSpec], can_subset: bool
) -> None:
    """Dagster's rule: the assets of one function share a partitions definition (the
    unpartitioned ones aside), unless the function can run for a subset of them."""
    defined = {s.partitions_def for s in specs if s.partitions_def is not None}
    if len(defined) > 1 and not can_subset:
        listed = ", ".join(
            f"{s.key.to_user_string()} ({s.partitions_def!r})"
            for s in specs
            if s.partitions_def is not None
        )
        raise DefinitionError(
            f"@multi_asset {node_name!r} (defined at {where}) computes assets with different "
            f"partitions definitions: {listed}. One run computes one set of partitions for all "
            "of them. Fix: give them the same partitions_def, split them into separate "
            "assets, or pass can_subset=True so each runs on its own.",
            file=where,
        )


def _checked_policy(policy: BackfillPolicy | None, where: str) -> BackfillPolicy | None:
    if policy is not None and not isinstance(policy, BackfillPolicy):
        raise DefinitionError(
            f"The asset defined at {where} has backfill_policy={policy!r}, which is not a "
            "BackfillPolicy. Fix: pass BackfillPolicy.single_run() or "
            "BackfillPolicy.multi_run(max_partitions_per_run=N).",
            file=where,
        )
    return policy


def _own_specs(
    node_name: str,
    where: str,
    specs: Sequence[AssetSpec] | None,
    outs: Mapping[str, AssetOut] | None,
    internal_asset_deps: Mapping[str, AbstractSet[AssetKey]] | None,
    shared: Sequence[AssetDep],
) -> tuple[list[AssetSpec], dict[AssetKey, str]]:
    """The specs of a multi_asset, and the output name of each when it has `outs=`."""
    label = f"@multi_asset {node_name!r} (defined at {where})"
    if specs and outs:
        raise DefinitionError(
            f"{label} has both specs= and outs=. Fix: describe the assets one way: "
            "specs=[AssetSpec(...)] or outs={name: AssetOut(...)}.",
            file=where,
        )
    if not specs and not outs:
        raise DefinitionError(
            f"{label} has no specs. "
            "Fix: pass specs=[AssetSpec('a'), AssetSpec('b'), ...] or outs={'a': AssetOut()}.",
            file=where,
        )
    if specs:
        if internal_asset_deps:
            raise DefinitionError(
                f"{label} has internal_asset_deps= with specs=; it applies to outs= only. "
                "Fix: give each AssetSpec its own deps=[...].",
                file=where,
            )
        return list(specs), {}
    assert outs is not None
    internal = dict(internal_asset_deps or {})
    unknown = sorted(set(internal) - set(outs))
    if unknown:
        raise DefinitionError(
            f"{label} has internal_asset_deps for {', '.join(repr(u) for u in unknown)}, which "
            f"is not one of its outs ({', '.join(repr(o) for o in outs)}). Fix: key "
            "internal_asset_deps by output name.",
            file=where,
        )
    own = {out.resolve_key(out_name) for out_name, out in outs.items()}
    allowed = own | {d.asset_key for d in shared}
    built = []
    for out_name, out in outs.items():
        if out_name in internal:
            listed = coerce_keys(internal[out_name])
            bad = sorted(k.to_user_string() for k in listed if k not in allowed)
            if bad:
                raise DefinitionError(
                    f"{label} lists {', '.join(bad)} in internal_asset_deps[{out_name!r}], but "
                    "that is neither an input of the function nor one of its own assets. Fix: "
                    "add it to ins= or deps=, or remove it from internal_asset_deps.",
                    file=where,
                )
            own_deps = [k for k in listed if k != out.resolve_key(out_name)]
        else:
            own_deps = []
        built.append(out.to_spec(out_name, own_deps, where))
    if set(outs) <= set(internal):  # no out takes every input by default
        used = {k for spec in built for k in spec.dep_keys}
        unused = sorted(d.asset_key.to_user_string() for d in shared if d.asset_key not in used)
        if unused:
            raise DefinitionError(
                f"{label} takes {', '.join(unused)} as input, but no output lists it in "
                "internal_asset_deps, so no asset it produces would depend on it. Fix: add it "
                "to the internal_asset_deps of the outputs computed from it, or remove the input.",
                file=where,
            )
    return built, {spec.key: out_name for spec, out_name in zip(built, outs, strict=True)}


def _count(specs: Sequence[AssetSpec], key: AssetKey) -> int:
    return sum(1 for s in specs if s.key == key)
