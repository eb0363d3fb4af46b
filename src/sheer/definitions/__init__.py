"""Definitions: specs, decorators, asset definitions, resources and loading user code.

Users import these names from `sheer`; this package only groups the roles
(record / builder / loader) of one concept.
"""

from sheer.definitions.assets import AssetsDefinition
from sheer.definitions.decorators import asset, multi_asset
from sheer.definitions.definitions import Definitions, definitions
from sheer.definitions.loading import load_definitions, load_from_defs_folder
from sheer.definitions.observable import observable_source_asset
from sheer.definitions.resources import ConfigurableResource
from sheer.definitions.specs import AssetDep, AssetIn, AssetSpec

__all__ = [
    "AssetDep",
    "AssetIn",
    "AssetSpec",
    "AssetsDefinition",
    "ConfigurableResource",
    "Definitions",
    "asset",
    "definitions",
    "load_definitions",
    "load_from_defs_folder",
    "multi_asset",
    "observable_source_asset",
]
