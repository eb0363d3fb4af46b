"""Definitions: specs, decorators, asset definitions, resources and loading user code.

Users import these names from `sheer`; this package only groups the roles
(record / builder / loader) of one concept.
"""

from sheer.definitions.assets import AssetsDefinition
from sheer.definitions.decorators import asset, multi_asset
from sheer.definitions.definitions import Definitions, LazyDefinitions, definitions
from sheer.definitions.loading import file_relative_path, load_definitions, load_from_defs_folder
from sheer.definitions.module_assets import (
    load_assets_from_modules,
    load_assets_from_package_module,
)
from sheer.definitions.observable import observable_source_asset
from sheer.definitions.resources import ConfigurableResource
from sheer.definitions.source_asset import SourceAsset
from sheer.definitions.specs import AssetDep, AssetIn, AssetOut, AssetSpec

__all__ = [
    "AssetDep",
    "AssetIn",
    "AssetOut",
    "AssetSpec",
    "AssetsDefinition",
    "ConfigurableResource",
    "Definitions",
    "LazyDefinitions",
    "SourceAsset",
    "asset",
    "definitions",
    "file_relative_path",
    "load_assets_from_modules",
    "load_assets_from_package_module",
    "load_definitions",
    "load_from_defs_folder",
    "multi_asset",
    "observable_source_asset",
]
