"""Partitions: definitions, keys, subsets, mappings and the relations they compose."""

from sheer.partitions.base import DynamicPartitionsStore, PartitionKeyRange, PartitionsDefinition

# The mappings span three modules that import one another; loading them here, in their
# one working order, lets any of them be imported first.
from sheer.partitions import mappings as _mappings  # noqa: F401  # isort: skip

__all__ = ["DynamicPartitionsStore", "PartitionKeyRange", "PartitionsDefinition"]
