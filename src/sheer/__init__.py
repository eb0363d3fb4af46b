"""Sheer: a fast, light asset orchestrator with first-class virtual assets.

The public API uses Dagster's names, so `import sheer as dg` runs Dagster-style code
for everything Sheer covers. Everything not listed in `__all__` is internal.
"""

from sheer.definitions import (
    AssetDep,
    AssetIn,
    AssetsDefinition,
    AssetSpec,
    ConfigurableResource,
    Definitions,
    asset,
    definitions,
    load_definitions,
    load_from_defs_folder,
    multi_asset,
)
from sheer.graph import AssetGraph, AssetNode
from sheer.keys import AssetKey
from sheer.selection import AssetSelection

__version__ = "0.1.0"

__all__ = [
    "AssetDep",
    "AssetGraph",
    "AssetIn",
    "AssetKey",
    "AssetNode",
    "AssetSelection",
    "AssetSpec",
    "AssetsDefinition",
    "ConfigurableResource",
    "Definitions",
    "asset",
    "definitions",
    "load_definitions",
    "load_from_defs_folder",
    "multi_asset",
]
