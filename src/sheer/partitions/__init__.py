"""Partitions: definitions, keys, subsets, mappings and the relations they compose."""

from sheer.partitions.base import DynamicPartitionsStore, PartitionKeyRange, PartitionsDefinition

__all__ = ["DynamicPartitionsStore", "PartitionKeyRange", "PartitionsDefinition"]
