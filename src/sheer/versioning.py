"""Data versions and provenance: the facts staleness is computed from.

Pure functions only. A non-virtual asset's version is stored with its latest
materialization (or observation); a virtual asset's version is never stored: it is
`hash(code_version, sorted((parent, version(parent))))`, computed from its inputs.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sheer.fingerprints import MISSING_VERSION, virtual_version_sorted
from sheer.keys import AssetKey, coerce_key

if TYPE_CHECKING:
    from sheer.graph import AssetGraph


@dataclass(frozen=True, slots=True)
class DataVersion:
    """An opaque string identifying the contents of an asset.

    Example:
        >>> DataVersion("v1") == DataVersion("v1")
        True
    """

    value: str

    def __post_init__(self) -> None:
        if not isinstance(self.value, str) or not self.value:
            raise ValueError(f"A DataVersion is a non-empty string, not {self.value!r}.")

    def __str__(self) -> str:
        return self.value


# json.dumps with separators builds a new encoder per call; this one gives the same text.
_ENCODER = json.JSONEncoder(separators=(",", ":"), sort_keys=False)


def _digest(payload: Any) -> str:
    text = _ENCODER.encode(payload)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def virtual_version(
    code_version: str | None, parents: Iterable[tuple[AssetKey, str | None]]
) -> str:
    """The version of a virtual asset from its definition and its parents' versions:
    a hash of `["virtual", code_version, sorted([name, version])]`."""
    return virtual_version_by_name(code_version, ((k.to_user_string(), v) for k, v in parents))


def virtual_version_by_name(
    code_version: str | None, parents: Iterable[tuple[str, str | None]]
) -> str:
    """`virtual_version` with the parents named by their user strings."""
    pairs = sorted(parents, key=lambda pair: pair[0])
    return virtual_version_sorted(code_version, [n for n, _ in pairs], [v for _, v in pairs])


def derived_data_version(code_version: str, inputs: Mapping[AssetKey, str | None]) -> str:
    """The default version of an asset with a code version: a hash of it and its inputs."""
    pairs = sorted(
        (k.to_user_string(), v if v is not None else MISSING_VERSION) for k, v in inputs.items()
    )
    return _digest(["derived", code_version, pairs])


def stored_version(materialization: Any, observation: Any, external: bool) -> str | None:
    """A non-virtual asset's current version from its latest records: the latest
    materialization's, or for an external asset the later of materialization and
    observation (records carry `storage_id` and `data`)."""
    latest = materialization
    if (
        external
        and observation is not None
        and (latest is None or observation.storage_id > latest.storage_id)
    ):
        latest = observation
    return latest.data.get("data_version") if latest is not None else None


def unique_data_version() -> str:
    """A fresh version, for assets with neither a user version nor a code version."""
    return uuid.uuid4().hex[:24]


@dataclass(frozen=True, slots=True, kw_only=True)
class Provenance:
    """What a materialization was computed from.

    Attributes:
        code_version: the asset's code version at the time.
        input_versions: each direct parent's version when the inputs were read
            (for a virtual parent, its computed version).
        through_virtual: the versions of the non-virtual ancestors reached through
            virtual parents.
        virtual_code_versions: the code versions of the virtual assets passed through.
    """

    code_version: str | None
    input_versions: Mapping[AssetKey, str | None] = field(default_factory=dict)
    through_virtual: Mapping[AssetKey, str | None] = field(default_factory=dict)
    virtual_code_versions: Mapping[AssetKey, str | None] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        def enc(m: Mapping[AssetKey, Any]) -> dict[str, Any]:
            return {k.to_user_string(): v for k, v in m.items()}

        return {
            "code_version": self.code_version,
            "input_versions": enc(self.input_versions),
            "through_virtual": enc(self.through_virtual),
            "virtual_code_versions": enc(self.virtual_code_versions),
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Provenance:
        return cls(
            code_version=raw.get("code_version"),
            input_versions=_ByName(raw.get("input_versions")),
            through_virtual=_ByName(raw.get("through_virtual")),
            virtual_code_versions=_ByName(raw.get("virtual_code_versions")),
        )


class _ByName(Mapping[AssetKey, Any]):
    """A read-only mapping by key over a stored mapping by key name.

    Staleness reads the provenance of every asset and looks up a few keys in each:
    converting every stored name to a key up front was most of its time.
    """

    __slots__ = ("_raw",)

    def __init__(self, raw: Mapping[str, Any] | None) -> None:
        self._raw: Mapping[str, Any] = raw or {}

    def __getitem__(self, key: object) -> Any:
        if not isinstance(key, AssetKey):
            raise KeyError(key)
        return self._raw[key.to_user_string()]

    def get(self, key: object, default: Any = None) -> Any:
        if not isinstance(key, AssetKey):
            return default
        return self._raw.get(key.to_user_string(), default)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, AssetKey) and key.to_user_string() in self._raw

    def __iter__(self) -> Iterator[AssetKey]:
        return (coerce_key(name) for name in self._raw)

    def __len__(self) -> int:
        return len(self._raw)

    def __repr__(self) -> str:
        return repr(dict(self.items()))


class VersionView:
    """Current versions over a graph: stored ones for non-virtual assets, computed
    (and memoized) ones for virtual assets.

    `stored(key)` gives the latest stored version of a non-virtual asset, or None.
    Set a new version with `update(key, version)` as a run materializes assets; the
    memo of virtual versions is dropped for what depends on it.
    """

    def __init__(self, graph: AssetGraph, stored: Callable[[AssetKey], str | None]) -> None:
        self._graph = graph
        self._stored = stored
        self._overrides: dict[AssetKey, str | None] = {}
        self._memo: dict[AssetKey, str] = {}
        self._virtual = graph.virtual_asset_keys

    def version(self, key: AssetKey) -> str | None:
        memo = self._memo
        found = memo.get(key)
        if found is not None:
            return found
        graph = self._graph
        virtual = self._virtual
        if key not in virtual:
            return self._non_virtual(key)
        # Iterative post-order so long virtual chains cannot exhaust the stack.
        stack = [key]
        while stack:
            top = stack[-1]
            parents = graph.get(top).parent_keys
            pending = [p for p in parents if p in virtual and p not in memo]
            if pending:
                stack.extend(pending)
                continue
            stack.pop()
            if top in memo:
                continue
            memo[top] = virtual_version(
                graph.get(top).code_version,
                ((p, memo[p] if p in virtual else self._non_virtual(p)) for p in parents),
            )
        return memo[key]

    def _non_virtual(self, key: AssetKey) -> str | None:
        if key in self._overrides:
            return self._overrides[key]
        value = self._stored(key)
        if value is None and key not in self._graph:
            raise self._graph.unknown_key_error(coerce_key(key))
        return value

    def update(self, key: AssetKey, version: str | None) -> None:
        self._overrides[key] = version
        # Drop the memo of the virtual assets whose version reads `key`'s: those reached
        # through virtual children only (a non-virtual child's stored version stands in
        # for it). A memoized virtual asset has all its virtual parents memoized, so the
        # walk stops at the first child not memoized; it never visits the whole
        # downstream graph, which made a run of every asset quadratic.
        memo = self._memo
        graph = self._graph
        stack = [key]
        while stack and memo:
            for child in graph.get(stack.pop()).child_keys:
                if memo.pop(child, None) is not None:
                    stack.append(child)

    def provenance(self, key: AssetKey) -> Provenance:
        """The provenance of a materialization of `key` computed from the current versions."""
        graph = self._graph
        node = graph.get(key)
        inputs = {p: self.version(p) for p in sorted(node.parent_keys)}
        through: dict[AssetKey, str | None] = {}
        virtual_codes: dict[AssetKey, str | None] = {}
        virtual_parents = [p for p in node.parent_keys if graph.get(p).is_virtual]
        if virtual_parents:
            reached = set().union(*(graph.non_virtual_ancestors(p) for p in virtual_parents))
            for a in sorted(reached):
                through[a] = self.version(a)
            for v in graph.virtual.between(key):
                virtual_codes[v] = graph.get(v).code_version
        return Provenance(
            code_version=node.code_version,
            input_versions=inputs,
            through_virtual=through,
            virtual_code_versions=virtual_codes,
        )
