"""Staleness per entity: every (asset, partition) of a graph with partitions, in one pass.

The rules are staleness.py's, applied to entities (DESIGN.md, "Entities and
partitions"); an unpartitioned asset is the single entity (asset, None). What an
entity reads of each parent comes from the graph's partition relations (one hop, each
in the reader's own definition); through virtual assets the reads compose because a
virtual entity's version, dirtiness and presence are computed from the entities it
reads, hop by hop, in topological order. So the pass is linear in the edges between
entities: an identity edge costs one list shared with the parent, a mapped edge one
look-up list built once per load.

Versions are computed exactly as a run records them (`execution.partition_versions`): a
virtual entity's version hashes its code version and, per parent (by name), the version
of what it reads; what reads several partitions of a parent reads one hash of the sorted
(partition, version) pairs. A non-virtual entity is STALE when its recorded inputs text
differs from the one its parents give now, or when an entity it reads (directly or
through virtual ones) is stale. Causes are built on demand; the provenance behind them
is read for one asset's partitions at once.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sheer.fingerprints import (
    _US,
    _encode_string,
    exact_inputs_text,
    inputs_prefix,
    legacy_exact_equal,
    virtual_template,
    virtual_version_sorted,
)
from sheer.graph import AssetGraph
from sheer.keys import AssetKeyPartitionKey
from sheer.partitions.layout import IDENTITY, EntityLayout
from sheer.versioning import virtual_version_by_name

_FRESH, _STALE, _MISSING = 0, 1, 2
# Bulk row fields: (asset, partition, mat id, data version, code version, inputs text,
# observation id, observation version).
_ROW_MAT, _ROW_DV, _ROW_CV, _ROW_INPUTS, _ROW_OBS, _ROW_ODV = range(2, 8)
_IDENTITY: Any = IDENTITY  # a read list that is the identity
CAP = 10  # more partitions of one ancestor than this make one capped cause


def combined_version(keys: Sequence[str | None], versions: Iterable[str | None]) -> str | None:
    """The version of several partitions read together (one partition: its own)."""
    pairs = list(zip(keys, versions, strict=True))
    if len(pairs) == 1:
        return pairs[0][1]
    return virtual_version_by_name("partitions", pairs)  # type: ignore[arg-type]


class EntityPass:
    """Statuses and versions of every entity of `graph`, from one read of the index."""

    def __init__(
        self,
        graph: AssetGraph,
        rows: Iterable[Sequence[Any]],
        dynamic_partitions_store: Any = None,
        current_time: datetime | None = None,
    ) -> None:
        self.graph = graph
        self.layout = layout = EntityLayout(graph, current_time, dynamic_partitions_store)
        idx = self.idx = layout.idx
        self.current_time = current_time
        self.store = dynamic_partitions_store
        n = len(idx.keys)
        self.keys: list[tuple[Any, ...]] = layout.keys
        self.pos: list[dict[str, int]] = layout.pos
        self.rows: list[list[Any]] = [[None] * len(k) for k in self.keys]
        by_name = idx.by_name
        for row in rows:
            i = by_name.get(row[0])
            if i is not None:
                j = self.pos[i].get(row[1])
                if j is not None:
                    self.rows[i][j] = row
        # Per asset: its parents by name, each with what every partition reads of it.
        self.parents: list[list[tuple[int, str, Any]]] = []
        for i in range(n):
            named = sorted((idx.names[p], p) for p in idx.parents[i])
            self.parents.append([(p, name, self._reads(i, p)) for name, p in named])
        self.status = [bytearray(len(k)) for k in self.keys]
        self.version: list[list[str | None]] = [[None] * len(k) for k in self.keys]
        self.dirty = [bytearray(len(k)) for k in self.keys]
        self.present = [bytearray(len(k)) for k in self.keys]
        self.updated: list[list[int]] = [[0] * len(k) for k in self.keys]
        self._provenance: dict[int, dict[int, dict[str, Any]]] = {}
        self._compute()

    # What each partition reads -------------------------------------------------------
    def _reads(self, i: int, p: int) -> Any:
        """For each partition of asset `i`, the indices of the partitions of parent `p`
        it reads: `_IDENTITY` when partition j reads partition j."""
        return self.layout.reads(i, p)

    def _at(self, p: int, reads: Any, values: Any, combine: Any) -> Any:
        """`values` of parent `p` as each partition of the reader sees them."""
        if reads is _IDENTITY:
            return values
        return [values[r[0]] if len(r) == 1 else combine(p, r, values) for r in reads]

    def _combined(self, p: int, r: tuple[int, ...], values: list[Any]) -> str | None:
        keys = self.keys[p]
        return combined_version([keys[x] for x in r], [values[x] for x in r])

    @staticmethod
    def _any(p: int, r: tuple[int, ...], values: Any) -> int:
        return 1 if any(values[x] for x in r) else 0

    @staticmethod
    def _max(p: int, r: tuple[int, ...], values: list[int]) -> int:
        return max((values[x] for x in r), default=0)

    # The pass --------------------------------------------------------------------------
    def _compute(self) -> None:
        """Asset by asset in topological order, each asset's partitions as columns: the
        parents' values at every partition are lists zipped together, so the per-entity
        work is a few C calls (an identity edge shares the parent's list)."""
        idx = self.idx
        us, encode, sha256 = _US, _encode_string, hashlib.sha256
        for i in range(len(idx.keys)):
            node = self.graph.get(idx.keys[i])
            parents = self.parents[i]
            names = [name for _, name, _ in parents]
            n = len(self.rows[i])
            pv = [self._at(p, r, self.version[p], self._combined) for p, _, r in parents]
            cols: list[tuple[Any, ...]] = list(zip(*pv, strict=True)) if pv else [()] * n
            pd = [self._at(p, r, self.dirty[p], self._any) for p, _, r in parents]
            if any(map(any, pd)):
                self.dirty[i] = bytearray(map(any, zip(*pd, strict=True)))
            rows, status, version = self.rows[i], self.status[i], self.version[i]
            code = idx.code_versions[i]
            pu = [self._at(p, r, self.updated[p], self._max) for p, _, r in parents]
            if node.is_virtual:
                template = virtual_template(code, names)
                for j, vs in enumerate(cols):
                    try:
                        text = template.format(*map(encode, vs))
                        version[j] = sha256(text.encode()).hexdigest()[:24]
                    except TypeError:  # a parent never materialized
                        version[j] = virtual_version_sorted(code, names, list(vs))
                pp = [self._at(p, r, self.present[p], self._any) for p, _, r in parents]
                if pp:
                    self.present[i] = present = bytearray(map(any, zip(*pp, strict=True)))
                    self.updated[i] = list(map(max, zip(*pu, strict=True)))
                else:
                    present = self.present[i]
                for j in range(n):
                    row = rows[j]
                    ran = row is not None and row[_ROW_MAT] is not None
                    if not present[j] and (parents or not ran):
                        status[j] = _MISSING
                    elif ran and row[_ROW_CV] != code:
                        status[j] = _STALE
                continue
            updated, present, dirty = self.updated[i], self.present[i], self.dirty[i]
            external = node.is_external
            prefix = inputs_prefix(code, names)
            separators = None if prefix is None else prefix.count(us) + max(len(names) - 1, 0)
            for j, row in enumerate(rows):
                if row is None:
                    status[j] = _MISSING
                    continue
                mat, obs = row[_ROW_MAT], row[_ROW_OBS]
                updated[j] = max(mat or 0, obs or 0)
                if external:
                    later_obs = obs is not None and (mat is None or obs > mat)
                    version[j] = row[_ROW_ODV] if later_obs else row[_ROW_DV]
                    present[j] = 1
                    continue
                if mat is None:
                    status[j] = _MISSING
                    continue
                present[j] = 1
                version[j] = row[_ROW_DV]
                recorded = row[_ROW_INPUTS]
                if recorded is None:  # reported outside a run: stale once an input moves
                    changed = any(u[j] > mat for u in pu)
                else:
                    vs = cols[j]
                    try:
                        now = prefix + us.join(vs)  # type: ignore[operator]
                    except TypeError:  # no fast form for its code version, or a missing version
                        now = None
                    if now is None or (now != recorded and now.count(us) != separators):
                        now = exact_inputs_text(code, names, list(vs))
                    changed = now != recorded and not legacy_exact_equal(recorded, now)
                if changed or dirty[j]:
                    status[j] = _STALE
                    dirty[j] = 1

    # Look-ups ----------------------------------------------------------------------------
    def locate(self, i: int, partition_key: str | None) -> int | None:
        """The index of `partition_key` among asset `i`'s partitions (None: not one)."""
        if partition_key is None:
            return 0 if self.keys[i] == (None,) else None
        return self.pos[i].get(str(partition_key))

    def entity(self, i: int, j: int) -> AssetKeyPartitionKey:
        k = self.keys[i][j]
        return AssetKeyPartitionKey(self.idx.keys[i], None if k is None else str(k))

    def provenance(self, i: int, j: int, read: Any) -> dict[str, Any]:
        """The recorded provenance of entity (i, j): one read for all of asset i's
        partitions, on first use (`read(asset_key)` gives {partition: JSON text})."""
        found = self._provenance.get(i)
        if found is None:
            texts = read(self.idx.keys[i])
            found = {}
            for part, text in texts.items():
                where = self.pos[i].get(part)
                if where is not None and text is not None:
                    found[where] = json.loads(text)
            self._provenance[i] = found
        return found.get(j, {})

    def read_indices(self, i: int, j: int, p: int, reads: Any) -> tuple[int, ...]:
        return (j,) if reads is _IDENTITY else reads[j]

    def counts(self, i: int) -> dict[int, int]:
        status = self.status[i]
        stale, missing = status.count(_STALE), status.count(_MISSING)
        return {_FRESH: len(status) - stale - missing, _STALE: stale, _MISSING: missing}
