"""The asset graph: nodes, parents and children, topological order (`core`), and every
walk through virtual assets (`virtual`), cached on the immutable graph."""

from sheer.graph.core import AssetGraph, AssetNode

__all__ = ["AssetGraph", "AssetNode"]
