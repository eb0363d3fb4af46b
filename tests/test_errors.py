"""Definition errors: one test per error, the message asserted word for word."""

import pytest

import sheer as dg
from sheer.errors import (
    CycleError,
    DefinitionError,
    DuplicateKeyError,
    InvalidKeyError,
    MultipleDefinitionErrors,
    SheerError,
    UnresolvedInputError,
    VirtualInputError,
    did_you_mean,
)


def where(defined):
    """'file:line' of an asset function, as error messages print it."""
    return f"{__file__}:{defined.fn.__code__.co_firstlineno}"


def build(*assets, resources=None):
    return dg.Definitions(assets=list(assets), resources=resources).resolve_asset_graph()


def test_every_definition_error_is_a_sheer_error():
    for error in (
        CycleError,
        DuplicateKeyError,
        InvalidKeyError,
        MultipleDefinitionErrors,
        UnresolvedInputError,
        VirtualInputError,
    ):
        assert issubclass(error, DefinitionError)
        assert issubclass(error, SheerError)


def test_a_dependency_cycle():
    @dg.asset
    def a(b):
        pass

    @dg.asset
    def b(a):
        pass

    with pytest.raises(CycleError) as info:
        build(a, b)
    assert str(info.value) == (
        "The asset dependencies form a cycle: a -> b -> a. An asset cannot depend on itself "
        "through its descendants. Fix: remove one of these dependencies (a parameter, an "
        "ins= entry or a deps= entry)."
    )
    assert info.value.cycle == [dg.AssetKey("a"), dg.AssetKey("b")]
    assert info.value.key == dg.AssetKey("a")
    assert info.value.file is None


def test_one_key_defined_twice_names_both_places():
    spec = dg.AssetSpec("orders")

    @dg.asset(name="orders")
    def load_orders():
        pass

    with pytest.raises(DuplicateKeyError) as info:
        build(spec, load_orders)
    assert spec.source is not None and spec.source.startswith(f"{__file__}:")
    assert str(info.value) == (
        f"Asset 'orders' is defined twice: at {spec.source} and at {where(load_orders)}. "
        "Fix: remove one of them, or give one another key (name= or key_prefix=)."
    )
    assert info.value.key == dg.AssetKey("orders")
    assert info.value.file == where(load_orders)


def test_one_spec_object_listed_twice_is_not_a_duplicate():
    spec = dg.AssetSpec("orders")
    assert len(build(spec, spec)) == 1


def test_a_data_input_on_a_virtual_spec_without_a_function():
    view = dg.AssetSpec("view", is_virtual=True)

    @dg.asset(ins={"rows": dg.AssetIn("view")})
    def report(rows):
        pass

    with pytest.raises(VirtualInputError) as info:
        build(view, report)
    assert str(info.value) == (
        f"Asset 'report' (defined at {where(report)}) reads 'view' as data (parameter "
        f"'rows'), but 'view' is a virtual AssetSpec with no function (defined at "
        f"{view.source}), so it has no value to pass. Fix: define 'view' with "
        "@asset(is_virtual=True) and a function that computes its value, or depend on it "
        "without data: remove the parameter and pass deps=['view']."
    )
    assert info.value.key == dg.AssetKey("report")
    assert info.value.file == where(report)


def test_a_non_data_dependency_on_a_virtual_spec_is_fine():
    view = dg.AssetSpec("view", is_virtual=True)

    @dg.asset(deps=[view])
    def report():
        pass

    assert build(view, report).get("report").parent_keys == {dg.AssetKey("view")}


def test_an_invalid_key():
    with pytest.raises(InvalidKeyError) as info:

        @dg.asset(name="daily revenue")
        def revenue():
            pass

    assert str(info.value) == (
        "Invalid asset key ['daily revenue']: component 'daily revenue' must be a non-empty "
        "string of letters, digits, '_', '-' or '.', not starting with '-' or '.'. Fix: rename "
        "it, e.g. 'daily_revenue', or split a path into a list: AssetKey(['schema', 'table'])."
    )
    assert info.value.key == "['daily revenue']"
    assert info.value.file is None


def test_a_parameter_that_names_neither_an_asset_nor_a_resource():
    @dg.asset
    def upstream():
        pass

    @dg.asset
    def downstream(upstrem):
        pass

    with pytest.raises(UnresolvedInputError) as info:
        build(upstream, downstream, resources={"warehouse": object()})
    assert str(info.value) == (
        f"Parameter 'upstrem' of asset 'downstream' (defined at {where(downstream)}) names "
        "neither an asset nor a resource. Did you mean 'upstream'? Fix: define an asset "
        "named 'upstrem', map the parameter to another asset with "
        "ins={'upstrem': AssetIn(key=...)}, or provide a resource with "
        "Definitions(resources={'upstrem': ...})."
    )
    assert info.value.key == dg.AssetKey("downstream")
    assert info.value.file == where(downstream)


def test_an_unresolved_parameter_suggests_resource_names_too():
    @dg.asset
    def uses(warehous):
        pass

    with pytest.raises(UnresolvedInputError, match=r"Did you mean 'warehouse'\?"):
        build(uses, resources={"warehouse": object()})


def test_several_problems_are_raised_at_once():
    spec = dg.AssetSpec("orders")

    @dg.asset(name="orders")
    def load_orders():
        pass

    @dg.asset
    def report(ordrs):
        pass

    view = dg.AssetSpec("view", is_virtual=True)

    @dg.asset
    def reads_view(view):
        pass

    @dg.asset
    def a(b):
        pass

    @dg.asset
    def b(a):
        pass

    with pytest.raises(MultipleDefinitionErrors) as info:
        build(spec, load_orders, report, view, reads_view, a, b)
    errors = info.value.errors
    assert [type(e) for e in errors] == [
        DuplicateKeyError,
        UnresolvedInputError,
        VirtualInputError,
        CycleError,
    ]
    assert str(info.value) == "\n".join(
        ["4 problems in the definitions:"] + [f"  {i}. {e}" for i, e in enumerate(errors, 1)]
    )
    assert str(info.value).splitlines()[1] == (
        f"  1. Asset 'orders' is defined twice: at {spec.source} and at {where(load_orders)}. "
        "Fix: remove one of them, or give one another key (name= or key_prefix=)."
    )
    assert str(errors[1]).startswith(
        f"Parameter 'ordrs' of asset 'report' (defined at {where(report)}) names neither an "
        "asset nor a resource. Did you mean 'orders'? "
    )
    assert str(errors[2]).startswith(
        f"Asset 'reads_view' (defined at {where(reads_view)}) reads 'view' as data "
    )
    assert str(errors[3]).startswith("The asset dependencies form a cycle: a -> b -> a. ")
    assert info.value.key == dg.AssetKey("orders")
    assert info.value.file == where(load_orders)


def test_did_you_mean_names_the_closest_candidates():
    assert did_you_mean("ordrs", ["orders", "order_items", "zzz"]) == (
        " Did you mean 'orders' or 'order_items'?"
    )
    assert did_you_mean("zzz", ["orders"]) == ""
