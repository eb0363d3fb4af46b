"""Staleness through virtual assets, not at them.

A non-virtual asset is STALE when what it was computed from changed: its own code
version; a direct parent's version; a non-virtual ancestor seen through virtual
parents; the definition (code version) of a virtual asset in between; a dependency
added or removed; or when any such ancestor is itself stale. A virtual asset is never
stale because upstream was updated: it is MISSING only while none of its non-virtual
ancestors has been materialized, and STALE only when it was run before and its code
version changed. Versions, not timestamps, are compared everywhere.

A resolver reads the latest-record index once, on first use (one query, no event
body decoded), computes the status and current version of every asset in one pass in
topological order over the graph's integer index, and answers every later call from
memory. Causes are built only when asked for, and memoized. It never writes.

Causes have Dagster's shape: `get_stale_causes(D)` gives causes keyed by D whose
`dependency` is the non-virtual ancestor reached (through virtual parents, as Dagster
sets it) and whose `children` are the causes behind it; `get_stale_root_causes(D)`
gives the leaves, keyed by the root: the changed ancestor (DATA) or the asset whose
definition changed (CODE). Sheer adds `via`, the virtual path, and `str(cause)`, the
sentence "A has a new data version (via C, B)".
"""

from sheer.staleness.causes import StaleCause, StaleCauseCategory, StaleStatus
from sheer.staleness.resolver import StaleStatusResolver, stale_status_of

__all__ = [
    "StaleCause",
    "StaleCauseCategory",
    "StaleStatus",
    "StaleStatusResolver",
    "stale_status_of",
]
