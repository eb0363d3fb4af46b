"""AssetsDefinition: one function and the assets it computes.

Made by `@asset` (one asset) and `@multi_asset` (several). It records how the
function's parameters map to upstream assets, resources and the context, but never
runs anything itself: execution lives in `sheer.execution`.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from types import FunctionType, NoneType
from typing import Any, get_args, get_origin

from sheer.definitions.backfill_policy import BackfillPolicy
from sheer.definitions.resources import is_resource_annotation
from sheer.definitions.specs import DEFAULT_GROUP_NAME, AssetIn, AssetSpec, location
from sheer.errors import DefinitionError
from sheer.keys import AssetKey, coerce_key, coerce_keys
from sheer.partitions.base import PartitionsDefinition

_CONTEXT_NAMES = frozenset({"context", "_context"})


@dataclass(frozen=True, slots=True, kw_only=True)
class FunctionParams:
    """How a function's parameters are used; resolved further by `Definitions`.

    Attributes:
        context: the name of the context parameter, if any.
        inputs: parameter -> upstream key, for parameters given in `ins=`.
        resources: parameters annotated with a ConfigurableResource type.
        open: parameters that name an upstream asset or a resource, decided when the
            resources are known (a parameter named after a resource key is a resource).
        var_kwargs: the function takes **kwargs, so `ins` need no named parameter.
    """

    context: str | None
    inputs: Mapping[str, AssetKey]
    resources: tuple[str, ...]
    open: tuple[str, ...]
    var_kwargs: bool

    def data_keys(self) -> list[AssetKey]:
        """Upstream keys as first assumed: every open parameter names an asset."""
        return [*self.inputs.values(), *(AssetKey([p]) for p in self.open)]


def analyse_params(
    fn: Callable[..., Any], ins: Mapping[str, AssetIn], where: str, label: str
) -> FunctionParams:
    params = _parameters(fn)
    context = None
    if params:
        first, _, annotation = params[0]
        if first in _CONTEXT_NAMES or _is_context_annotation(annotation):
            context = first
            params = params[1:]
    var_kwargs = any(kind is _VAR_KEYWORD for _, kind, _ in params)
    named = [(name, ann) for name, kind, ann in params if kind in _NAMED]
    unknown_ins = set(ins).difference(name for name, _ in named)
    if unknown_ins and not var_kwargs:
        raise DefinitionError(
            f"Asset {label} (defined at {where}) has ins= for "
            f"{', '.join(sorted(unknown_ins))}, which the function does not take as "
            f"parameters. Fix: add the parameter(s) to the function or remove them from ins=.",
            file=where,
        )
    fn_globals = getattr(fn, "__globals__", {})
    inputs: dict[str, AssetKey] = {}
    resources: list[str] = []
    open_params: list[str] = []
    for name, annotation in named:
        if name in ins:
            inputs[name] = ins[name].resolve_key(name)
        elif is_resource_annotation(annotation, fn_globals):
            resources.append(name)
        else:
            open_params.append(name)
    for name in sorted(unknown_ins):
        inputs[name] = ins[name].resolve_key(name)
    return FunctionParams(
        context=context,
        inputs=inputs,
        resources=tuple(resources),
        open=tuple(open_params),
        var_kwargs=var_kwargs,
    )


_Parameter = tuple[str, Any, Any]  # name, kind (an inspect.Parameter kind), annotation
_EMPTY = inspect.Parameter.empty
_POSITIONAL_ONLY = inspect.Parameter.POSITIONAL_ONLY
_POSITIONAL_OR_KEYWORD = inspect.Parameter.POSITIONAL_OR_KEYWORD
_VAR_POSITIONAL = inspect.Parameter.VAR_POSITIONAL
_KEYWORD_ONLY = inspect.Parameter.KEYWORD_ONLY
_VAR_KEYWORD = inspect.Parameter.VAR_KEYWORD
_NAMED = (_POSITIONAL_OR_KEYWORD, _KEYWORD_ONLY)


def _parameters(fn: Callable[..., Any]) -> list[_Parameter]:
    """The parameters of `fn` in signature order, as `inspect.signature` gives them.

    `inspect.signature` took a quarter of the time to define a large project with
    `@asset`, so a plain function is read straight from its code object. Anything else
    (partials, callable objects, methods, functions wrapped with `functools.wraps` or
    carrying a `__signature__`) goes through `inspect.signature`, which knows those cases.
    """
    # hasattr, not `in fn.__dict__`: reading __dict__ would create one for every function.
    if type(fn) is not FunctionType or hasattr(fn, "__wrapped__") or hasattr(fn, "__signature__"):
        return [(p.name, p.kind, p.annotation) for p in inspect.signature(fn).parameters.values()]
    code = fn.__code__
    names = code.co_varnames
    annotations = fn.__annotations__
    positional = code.co_argcount
    keyword_only = positional + code.co_kwonlyargcount
    params: list[tuple[str, inspect._ParameterKind]] = [
        (names[i], _POSITIONAL_ONLY if i < code.co_posonlyargcount else _POSITIONAL_OR_KEYWORD)
        for i in range(positional)
    ]
    # co_varnames lists *args and **kwargs after the keyword-only names; a signature
    # puts *args before them.
    rest = keyword_only
    if code.co_flags & inspect.CO_VARARGS:
        params.append((names[rest], _VAR_POSITIONAL))
        rest += 1
    params.extend((names[i], _KEYWORD_ONLY) for i in range(positional, keyword_only))
    if code.co_flags & inspect.CO_VARKEYWORDS:
        params.append((names[rest], _VAR_KEYWORD))
    return [(name, kind, annotations.get(name, _EMPTY)) for name, kind in params]


def _is_context_annotation(annotation: Any) -> bool:
    name = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    return isinstance(name, str) and name.endswith("ExecutionContext")


# `-> None` or `-> Output[None]` (any module prefix), as a string annotation.
_NOTHING_TEXT = re.compile(r"None|([\w.]+\.)?Output\[None\]")


def returns_nothing(fn: Callable[..., Any]) -> bool:
    """True when `fn` is annotated `-> None` or `-> Output[None]`: Dagster's Nothing output,
    which has no value for an IO manager to store."""
    annotations = getattr(fn, "__annotations__", None) or {}
    if "return" not in annotations:
        return False
    ann = annotations["return"]
    if isinstance(ann, str):
        return _NOTHING_TEXT.fullmatch(ann.replace(" ", "")) is not None
    if ann is None or ann is NoneType:
        return True
    origin = get_origin(ann)
    return getattr(origin, "__name__", "") == "Output" and get_args(ann) == (NoneType,)


def function_location(fn: Callable[..., Any]) -> str:
    code = getattr(fn, "__code__", None)
    if code is None:
        return repr(fn)
    return location(code.co_filename, code.co_firstlineno)


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class AssetsDefinition:
    """A function and the assets (specs) it computes.

    Attributes:
        specs: the assets, in declaration order.
        fn: the compute function.
        node_name: the step name (the function name for `@asset`, `name=` for multi_asset).
        params: how the function's parameters map to inputs, resources and the context.
        can_subset: whether a run may compute only some of `specs`.
        selected_keys: the subset this definition is restricted to, or None for all.
        io_manager_key: the IO manager used for every output (an `AssetOut` may name its own).
        required_resource_keys: resources the function reads through `context.resources`.
        source: 'file:line' of the function, for error messages.
        output_names: asset key -> output name, for `@multi_asset(outs=...)`; otherwise an
            output is named after its key ('result' for a single asset).
        has_value_outputs: the outputs are values for the IO manager (`outs=`, `@asset`),
            not specs whose function may store the data itself.
        returns_nothing: the function is annotated `-> None` or `-> Output[None]`, so a
            None it returns is not a value: nothing is stored, as with Dagster's Nothing.
        backfill_policy: how a backfill splits this definition's partitions into runs
            (None: Dagster's default, one partition per run).
    """

    specs: tuple[AssetSpec, ...]
    fn: Callable[..., Any]
    node_name: str
    params: FunctionParams
    can_subset: bool = False
    selected_keys: frozenset[AssetKey] | None = None
    io_manager_key: str = "io_manager"
    required_resource_keys: frozenset[str] = frozenset()
    op_tags: Mapping[str, Any] | None = None
    source: str = ""
    is_observation: bool = False
    output_names: Mapping[AssetKey, str] | None = None
    has_value_outputs: bool = False
    returns_nothing: bool = False
    backfill_policy: BackfillPolicy | None = None

    @property
    def keys(self) -> frozenset[AssetKey]:
        """The keys of the assets this definition computes (its selected subset)."""
        if self.selected_keys is not None:
            return self.selected_keys
        return frozenset(s.key for s in self.specs)

    @property
    def key(self) -> AssetKey:
        """The key, for a definition of exactly one asset."""
        if len(self.specs) != 1:
            raise DefinitionError(
                f"{self.node_name} defines {len(self.specs)} assets; .key needs exactly one. "
                "Fix: use .keys.",
                file=self.source,
            )
        return self.specs[0].key

    @property
    def specs_by_key(self) -> Mapping[AssetKey, AssetSpec]:
        return {s.key: s for s in self.specs}

    @property
    def is_virtual(self) -> bool:
        """True when every asset of this definition is virtual."""
        return all(s.is_virtual for s in self.specs)

    @property
    def partitions_def(self) -> PartitionsDefinition | None:
        """The partitions definition of this definition's partitioned assets (they share
        one unless the definition can subset), or None when none is partitioned."""
        return next((s.partitions_def for s in self.specs if s.partitions_def is not None), None)

    def get_partition_mapping(self, in_asset_key: Any) -> Any:
        """The partition mapping declared on the dependency on `in_asset_key` (through
        `AssetIn` or `AssetDep`), or None when it is inferred."""
        key = coerce_key(in_asset_key)
        for spec in self.specs:
            for dep in spec.deps:
                if dep.asset_key == key and dep.partition_mapping is not None:
                    return dep.partition_mapping
        return None

    @property
    def op(self) -> AssetsDefinition:
        return self

    @property
    def code_version(self) -> str | None:
        return self.specs[0].code_version if len(self.specs) == 1 else None

    @property
    def group_names_by_key(self) -> Mapping[AssetKey, str]:
        """The group of each asset of this definition ('default' when none was given)."""
        return {s.key: s.group_name or DEFAULT_GROUP_NAME for s in self.specs}

    @property
    def asset_deps(self) -> Mapping[AssetKey, frozenset[AssetKey]]:
        """The upstream keys of each asset of this definition, as declared."""
        return {s.key: frozenset(s.dep_keys) for s in self.specs}

    def get_output_name_for_asset_key(self, key: AssetKey) -> str:
        if self.output_names is not None and key in self.output_names:
            return self.output_names[key]
        if len(self.specs) == 1 and self.specs[0].key == key:
            return "result"
        return key.to_python_identifier()

    def get_asset_key_for_output_name(self, output_name: str) -> AssetKey:
        for spec in self.specs:
            if self.get_output_name_for_asset_key(spec.key) == output_name:
                return spec.key
        names = [self.get_output_name_for_asset_key(s.key) for s in self.specs]
        raise DefinitionError(
            f"{self.node_name} has no output named {output_name!r}; its outputs are "
            f"{', '.join(names)}. Fix: use one of those names in Output(output_name=...).",
            file=self.source,
        )

    def subset_for(self, keys: Iterable[Any]) -> AssetsDefinition:
        """This definition restricted to `keys`; needs `can_subset` unless all are taken."""
        wanted = frozenset(coerce_keys(keys))
        own = frozenset(s.key for s in self.specs)
        if wanted == own:
            return replace(self, selected_keys=None)
        if not self.can_subset:
            raise DefinitionError(
                f"{self.node_name} computes {', '.join(sorted(k.to_user_string() for k in own))} "
                "together and cannot run for only some of them. Fix: select all of them, or "
                "pass can_subset=True to @multi_asset and yield only context.selected_asset_keys.",
                file=self.source,
            )
        return replace(self, selected_keys=wanted & own)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the underlying function directly, as in a unit test.

        A context from `build_asset_context()` is bound to this definition, and the
        resources it holds are passed to the parameters that name them.
        """
        bind = getattr(args[0], "bind_to_assets_def", None) if args else None
        if self.params.context is not None and callable(bind):
            context = bind(self)
            args = (context, *args[1:])
            if len(args) == 1:
                available = context.resource_values
                for name in (*self.params.resources, *self.params.open):
                    if name not in kwargs and name in available:
                        kwargs[name] = available[name]
        return self.fn(*args, **kwargs)

    def __repr__(self) -> str:
        keys = ", ".join(sorted(k.to_user_string() for k in self.keys))
        return f"<AssetsDefinition {self.node_name}: {keys}>"
