"""Definitions: the set of assets and resources a project declares.

`Definitions` is an immutable bag; its graph is built (and validated) once, on first
use, by `resolve_asset_graph()`.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sheer.definitions.assets import AssetsDefinition, function_location
from sheer.definitions.specs import AssetSpec
from sheer.errors import DefinitionError
from sheer.keys import AssetKey, coerce_key

if TYPE_CHECKING:
    from sheer.graph import AssetGraph


class Definitions:
    """The assets and resources of a project.

    Example:
        >>> defs = Definitions(assets=[AssetSpec("a"), AssetSpec("b", deps=["a"], is_virtual=True)])
        >>> defs.resolve_asset_graph().get("b").is_virtual
        True
    """

    __slots__ = ("_assets", "_executor", "_graph", "_lock", "_metadata", "_resources")

    def __init__(
        self,
        assets: Iterable[AssetsDefinition | AssetSpec] | None = None,
        resources: Mapping[str, Any] | None = None,
        executor: Any = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        items = list(assets or ())
        for item in items:
            if not isinstance(item, (AssetsDefinition, AssetSpec)):
                raise DefinitionError(
                    f"Definitions(assets=...) got {item!r} ({type(item).__name__}). "
                    "Fix: pass functions decorated with @asset or @multi_asset, or AssetSpecs."
                )
        self._assets: tuple[AssetsDefinition | AssetSpec, ...] = tuple(items)
        self._resources: Mapping[str, Any] = dict(resources or {})
        self._executor = executor
        self._metadata: Mapping[str, Any] = dict(metadata or {})
        self._graph: AssetGraph | None = None
        self._lock = threading.Lock()

    @property
    def assets(self) -> tuple[AssetsDefinition | AssetSpec, ...]:
        return self._assets

    @property
    def resources(self) -> Mapping[str, Any]:
        return self._resources

    @property
    def executor(self) -> Any:
        return self._executor

    @property
    def metadata(self) -> Mapping[str, Any]:
        return self._metadata

    def resolve_asset_graph(self) -> AssetGraph:
        """The validated asset graph, built once and cached."""
        if self._graph is None:
            from sheer.graph import AssetGraph

            with self._lock:
                if self._graph is None:
                    self._graph = AssetGraph.from_definitions(self._assets, self._resources)
        return self._graph

    def get_asset_graph(self) -> AssetGraph:
        return self.resolve_asset_graph()

    def resolve_all_asset_keys(self) -> list[AssetKey]:
        return list(self.resolve_asset_graph().toposorted_asset_keys)

    def get_assets_def(self, key: Any) -> AssetsDefinition:
        """The definition that computes `key`; raises if it is a spec-only asset."""
        node = self.resolve_asset_graph().get(key)
        if node.assets_def is None:
            raise DefinitionError(
                f"Asset '{node.key.to_user_string()}' has no function (it is an AssetSpec), so "
                "it has no AssetsDefinition. Fix: look it up with "
                "defs.resolve_asset_graph().get(key) instead.",
                key=node.key,
            )
        return node.assets_def

    def get_asset_spec(self, key: Any) -> AssetSpec:
        return self.resolve_asset_graph().get(coerce_key(key)).spec

    def materialize(
        self,
        selection: Any = None,
        *,
        instance: Any = None,
        resources: Mapping[str, Any] | None = None,
        executor: Any = None,
        raise_on_error: bool = True,
        tags: Mapping[str, str] | None = None,
    ) -> Any:
        """Materialize `selection` (all materializable ones when None); see `sheer.materialize`."""
        from sheer.execution.run import execute_selection

        return execute_selection(
            self,
            selection,
            instance=instance,
            resources=resources,
            executor=executor,
            raise_on_error=raise_on_error,
            tags=tags,
        )

    def stale_status(self, instance: Any) -> Mapping[AssetKey, Any]:
        """The StaleStatus of every asset given what `instance` recorded (one batched read)."""
        from sheer.staleness import stale_status_of

        return stale_status_of(self, instance)

    @staticmethod
    def merge(*defs: Definitions) -> Definitions:
        """One Definitions with the assets and resources of all; a resource key given
        twice with different objects is an error."""
        assets: list[AssetsDefinition | AssetSpec] = []
        resources: dict[str, Any] = {}
        executor = None
        metadata: dict[str, Any] = {}
        for d in defs:
            assets.extend(d.assets)
            for name, res in d.resources.items():
                if name in resources and resources[name] is not res and resources[name] != res:
                    raise DefinitionError(
                        f"Definitions.merge: resource '{name}' is given twice with different "
                        "values. Fix: define it once, or give one of them another key."
                    )
                resources[name] = res
            executor = d.executor if d.executor is not None else executor
            metadata.update(d.metadata)
        return Definitions(assets=assets, resources=resources, executor=executor, metadata=metadata)

    def __repr__(self) -> str:
        return (
            f"<Definitions: {len(self._assets)} asset definitions, "
            f"{len(self._resources)} resources>"
        )


@dataclass(frozen=True, slots=True)
class LazyDefinitions:
    """What `@definitions` returns: a function that builds `Definitions` when called.

    Loaders (`load_definitions`, `load_from_defs_folder`, the CLI) find these by type
    in a module and call them; nothing is built when the module is imported. Each
    call builds the definitions again, as Dagster's does.
    """

    load_fn: Callable[[], Definitions]
    has_context_arg: bool = False

    def __call__(self) -> Definitions:
        result = self.load_fn()
        if not isinstance(result, Definitions):
            raise DefinitionError(
                f"@definitions function {_fn_name(self.load_fn)} returned "
                f"{type(result).__name__}, not Definitions. Fix: return "
                "Definitions(assets=[...]).",
                file=function_location(self.load_fn),
            )
        return result

    @property
    def __name__(self) -> str:
        return _fn_name(self.load_fn)


def _fn_name(fn: Callable[..., Any]) -> str:
    return getattr(fn, "__name__", repr(fn))


def definitions(fn: Callable[[], Definitions]) -> LazyDefinitions:
    """Mark a function that returns `Definitions`; loaders find it by type and call it.

    Example:
        >>> @definitions
        ... def defs():
        ...     return Definitions(assets=[AssetSpec("a")])
        >>> defs().assets
        (AssetSpec('a'),)
    """
    params = list(inspect.signature(fn).parameters.values())
    if params:
        raise DefinitionError(
            f"@definitions function {_fn_name(fn)} (defined at {function_location(fn)}) takes "
            f"parameters ({', '.join(p.name for p in params)}). Dagster passes a "
            "ComponentLoadContext there; Sheer has no components, so it passes nothing. "
            "Fix: take no parameters.",
            file=function_location(fn),
        )
    return LazyDefinitions(load_fn=fn)
