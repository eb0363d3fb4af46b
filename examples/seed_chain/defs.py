"""The seed's chain A -> B -> C -> D, with B and C virtual.

A is a table loaded from somewhere, B and C are views over it (virtual: derived on
the fly, never materialized on their own), D is a table built from C.
"""

import sheer as dg


@dg.asset(name="A", group_name="quickstart", kinds={"table"})
def a() -> list[dict]:
    """Raw orders."""
    return [{"id": 1, "amount": 30}, {"id": 2, "amount": -5}, {"id": 3, "amount": 12}]


@dg.asset(
    name="B",
    is_virtual=True,
    ins={"rows": dg.AssetIn("A")},
    group_name="quickstart",
    kinds={"view"},
)
def b(rows: list[dict]) -> list[dict]:
    """Valid orders: a view over A."""
    return [r for r in rows if r["amount"] > 0]


@dg.asset(
    name="C",
    is_virtual=True,
    ins={"rows": dg.AssetIn("B")},
    group_name="quickstart",
    kinds={"view"},
)
def c(rows: list[dict]) -> list[dict]:
    """Large orders: a view over B."""
    return [r for r in rows if r["amount"] >= 10]


@dg.asset(name="D", ins={"rows": dg.AssetIn("C")}, group_name="quickstart", kinds={"table"})
def d(rows: list[dict]) -> int:
    """Revenue from large valid orders."""
    return sum(r["amount"] for r in rows)


defs = dg.Definitions(assets=[a, b, c, d])
