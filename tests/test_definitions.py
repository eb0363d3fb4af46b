"""Specs, the @asset and @multi_asset decorators, and Definitions."""

import dataclasses
from types import SimpleNamespace

import pytest

import sheer as dg
from sheer.definitions.definitions import LazyDefinitions
from sheer.errors import DefinitionError, UnknownAssetError, UnresolvedInputError

# The two snippets of the seed spec, verbatim.
# fmt: off


@dg.asset(is_virtual=True)
def my_virtual_asset(upstream_asset):
    return upstream_asset


my_virtual_spec = dg.AssetSpec(
    "my_virtual_asset", deps=["upstream_asset"], is_virtual=True
)
# end_spec
# fmt: on


class Warehouse(dg.ConfigurableResource):
    path: str


resources_ns = SimpleNamespace(Warehouse=Warehouse)


@pytest.fixture
def upstream_asset():
    @dg.asset
    def upstream_asset():
        return 1

    return upstream_asset


def _keys(keys):
    return sorted(k.to_user_string() for k in keys)


# The seed ------------------------------------------------------------------


def test_seed_decorator_defines_a_virtual_asset(upstream_asset):
    graph = dg.Definitions(assets=[upstream_asset, my_virtual_asset]).resolve_asset_graph()
    node = graph.get("my_virtual_asset")
    assert my_virtual_asset.is_virtual
    assert node.is_virtual
    assert node.is_materializable
    assert not node.is_external
    assert node.parent_keys == {dg.AssetKey("upstream_asset")}
    assert node.input_params == {"upstream_asset": dg.AssetKey("upstream_asset")}
    assert graph.virtual_asset_keys == {dg.AssetKey("my_virtual_asset")}


def test_seed_decorator_function_is_callable_directly():
    assert my_virtual_asset(5) == 5


def test_seed_spec_defines_a_virtual_lineage_node():
    graph = dg.Definitions(assets=[my_virtual_spec]).resolve_asset_graph()
    node = graph.get("my_virtual_asset")
    assert my_virtual_spec.is_virtual
    assert node.is_virtual
    assert not node.is_materializable
    assert node.assets_def is None
    assert node.parent_keys == {dg.AssetKey("upstream_asset")}
    assert graph.get("upstream_asset").is_external
    assert graph.virtual_asset_keys == {dg.AssetKey("my_virtual_asset")}


# AssetSpec -----------------------------------------------------------------


def test_asset_spec_defaults():
    spec = dg.AssetSpec("x")
    assert spec.key == dg.AssetKey("x")
    assert spec.deps == ()
    assert spec.description is None
    assert dict(spec.metadata) == {}
    assert spec.group_name is None
    assert spec.code_version is None
    assert spec.automation_condition is None
    assert spec.owners == ()
    assert dict(spec.tags) == {}
    assert spec.kinds == frozenset()
    assert spec.is_virtual is False
    assert spec.skippable is False
    assert spec.partitions_def is None


def test_asset_spec_records_where_it_was_written():
    spec = dg.AssetSpec("x")
    assert spec.source is not None
    path, line = spec.source.rsplit(":", 1)
    assert path == __file__
    assert int(line) > 0


def test_asset_spec_fields():
    spec = dg.AssetSpec(
        ["s", "x"],
        deps=["a", dg.AssetDep("b")],
        description="X.",
        metadata={"m": 1},
        group_name="g",
        code_version="v1",
        owners=["me@example.com"],
        tags={"t": "1"},
        kinds=["table"],
        is_virtual=True,
        skippable=True,
    )
    assert spec.key == dg.AssetKey(["s", "x"])
    assert spec.dep_keys == (dg.AssetKey("a"), dg.AssetKey("b"))
    assert spec.deps[1] == dg.AssetDep("b")
    assert spec.description == "X."
    assert dict(spec.metadata) == {"m": 1}
    assert spec.group_name == "g"
    assert spec.code_version == "v1"
    assert spec.owners == ("me@example.com",)
    assert dict(spec.tags) == {"t": "1"}
    assert spec.kinds == {"table"}
    assert spec.is_virtual is True
    assert spec.skippable is True


def test_asset_spec_is_immutable():
    spec = dg.AssetSpec("x", metadata={"m": 1}, tags={"t": "1"})
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.group_name = "g"
    with pytest.raises(TypeError):
        spec.metadata["n"] = 2
    with pytest.raises(TypeError):
        spec.tags["u"] = "2"


def test_asset_spec_copies_the_mappings_it_is_given():
    metadata = {"m": 1}
    spec = dg.AssetSpec("x", metadata=metadata)
    metadata["n"] = 2
    assert dict(spec.metadata) == {"m": 1}


def test_asset_specs_compare_by_content_not_by_where_they_were_written():
    first = dg.AssetSpec("x", deps=["a"])
    second = dg.AssetSpec("x", deps=["a"])
    assert first == second
    assert hash(first) == hash(second)
    assert first != dg.AssetSpec("x", deps=["b"])


def test_asset_spec_repr_marks_virtual():
    assert repr(dg.AssetSpec("s/x", is_virtual=True)) == "AssetSpec('s/x', is_virtual=True)"
    assert repr(dg.AssetSpec("x")) == "AssetSpec('x')"


def test_replace_attributes_returns_a_changed_copy():
    spec = dg.AssetSpec("x", deps=["a"], group_name="g")
    changed = spec.replace_attributes(key="y", deps=["b"], is_virtual=True)
    assert changed.key == dg.AssetKey("y")
    assert changed.dep_keys == (dg.AssetKey("b"),)
    assert changed.is_virtual
    assert changed.group_name == "g"
    assert changed.source == spec.source
    assert spec.key == dg.AssetKey("x")
    assert spec.dep_keys == (dg.AssetKey("a"),)
    assert not spec.is_virtual


def test_replace_attributes_rejects_unknown_names():
    with pytest.raises(TypeError, match=r"AssetSpec.replace_attributes got unknown \['bogus'\]"):
        dg.AssetSpec("x").replace_attributes(bogus=1)


def test_merge_attributes_adds_to_what_the_spec_has():
    spec = dg.AssetSpec(
        "x", deps=["a"], metadata={"m": 1}, owners=["o1"], tags={"t": "1"}, kinds=["table"]
    )
    merged = spec.merge_attributes(
        deps=["b", "a"], metadata={"n": 2}, owners=["o1", "o2"], tags={"u": "2"}, kinds=["view"]
    )
    assert merged.dep_keys == (dg.AssetKey("a"), dg.AssetKey("b"))
    assert dict(merged.metadata) == {"m": 1, "n": 2}
    assert merged.owners == ("o1", "o2")
    assert dict(merged.tags) == {"t": "1", "u": "2"}
    assert merged.kinds == {"table", "view"}
    assert spec.dep_keys == (dg.AssetKey("a"),)


def test_a_spec_that_depends_on_itself_is_an_error():
    with pytest.raises(DefinitionError) as info:
        dg.AssetSpec("x", deps=["x"])
    source = info.value.file
    assert source is not None and source.startswith(__file__)
    assert str(info.value) == (
        f"Asset 'x' lists itself in deps (defined at {source}). Fix: remove it from deps=."
    )
    assert info.value.key == dg.AssetKey("x")


def test_a_group_name_with_a_dash_is_an_error():
    with pytest.raises(DefinitionError) as info:
        dg.AssetSpec("x", group_name="my-group")
    source = info.value.file
    assert str(info.value) == (
        f"Asset 'x' has group_name 'my-group' (defined at {source}): a group name is one or "
        "more parts of letters, digits and '_', separated by '/'. Fix: rename the group, e.g. "
        "'marts' or 'marketing/emails'."
    )


@pytest.mark.parametrize("name", ["marketing/emails", "a/b/c", "1a", "Ab_9"])
def test_a_group_name_with_slashes_is_allowed_as_in_dagster(name):
    assert dg.AssetSpec("x", group_name=name).group_name == name


@pytest.mark.parametrize("name", ["a//b", "/a", "a/", "a.b", "a b"])
def test_a_group_name_outside_dagsters_pattern_is_an_error(name):
    with pytest.raises(DefinitionError, match="separated by '/'"):
        dg.AssetSpec("x", group_name=name)


def test_an_empty_group_name_is_an_error():
    with pytest.raises(DefinitionError) as info:
        dg.AssetSpec("x", group_name="")
    assert str(info.value) == (
        f"Asset 'x' has an empty group_name (defined at {info.value.file}). Fix: pass "
        "group_name=None for the default group, or a name such as 'marts'."
    )


def test_asset_in_takes_key_or_key_prefix_not_both():
    with pytest.raises(DefinitionError) as info:
        dg.AssetIn(key="a", key_prefix="p")
    assert str(info.value) == (
        "AssetIn takes key= or key_prefix=, not both: key_prefix is prepended to the "
        "parameter name when no key is given."
    )


# @asset ---------------------------------------------------------------------


def test_bare_asset_is_named_after_the_function():
    @dg.asset
    def orders():
        return 1

    assert isinstance(orders, dg.AssetsDefinition)
    assert orders.key == dg.AssetKey("orders")
    assert orders.keys == {dg.AssetKey("orders")}
    assert orders.node_name == "orders"
    assert not orders.is_virtual
    assert orders.io_manager_key == "io_manager"
    assert orders() == 1


def test_asset_name_and_key_prefix():
    @dg.asset(name="orders", key_prefix=["raw", "shop"])
    def load():
        pass

    @dg.asset(name="items", key_prefix="raw")
    def load_items():
        pass

    assert load.key == dg.AssetKey(["raw", "shop", "orders"])
    assert load.node_name == "raw__shop__orders"
    assert load_items.key == dg.AssetKey(["raw", "items"])


def test_asset_key_is_the_whole_key():
    @dg.asset(key="s/t")
    def anything():
        pass

    assert anything.key == dg.AssetKey(["s", "t"])


def test_asset_key_with_name_is_an_error():
    def fn():
        pass

    where = f"{__file__}:{fn.__code__.co_firstlineno}"
    with pytest.raises(DefinitionError) as info:
        dg.asset(key="a", name="b")(fn)
    assert str(info.value) == (
        f"@asset at {where} passes key= together with name= or key_prefix=. "
        "Fix: pass key= alone (it is the whole key), or name= with key_prefix=."
    )
    assert info.value.file == where


def test_asset_parameters_are_data_dependencies(upstream_asset):
    @dg.asset
    def down(upstream_asset):
        return upstream_asset + 1

    graph = dg.Definitions(assets=[upstream_asset, down]).resolve_asset_graph()
    assert graph.get("down").parent_keys == {dg.AssetKey("upstream_asset")}
    assert graph.get("down").input_params == {"upstream_asset": dg.AssetKey("upstream_asset")}
    assert graph.get("upstream_asset").child_keys == {dg.AssetKey("down")}


def test_asset_in_with_key_maps_a_parameter_to_another_asset():
    @dg.asset(ins={"rows": dg.AssetIn(key="raw/orders")})
    def clean(rows):
        return rows

    graph = dg.Definitions(assets=[dg.AssetSpec("raw/orders"), clean]).resolve_asset_graph()
    assert graph.get("clean").input_params == {"rows": dg.AssetKey(["raw", "orders"])}


def test_asset_in_positional_key():
    @dg.asset(ins={"rows": dg.AssetIn("A")})
    def clean(rows):
        return rows

    assert clean.specs[0].dep_keys == (dg.AssetKey("A"),)


def test_asset_in_with_key_prefix_prepends_to_the_parameter_name():
    @dg.asset(ins={"orders": dg.AssetIn(key_prefix=["raw", "shop"])})
    def clean(orders):
        return orders

    graph = dg.Definitions(assets=[clean]).resolve_asset_graph()
    assert graph.get("clean").input_params == {"orders": dg.AssetKey(["raw", "shop", "orders"])}
    assert graph.get("raw/shop/orders").is_external


def test_ins_for_a_parameter_the_function_lacks_is_an_error():
    def clean(rows):
        return rows

    where = f"{__file__}:{clean.__code__.co_firstlineno}"
    with pytest.raises(DefinitionError) as info:
        dg.asset(ins={"other": dg.AssetIn("a")})(clean)
    assert str(info.value) == (
        f"Asset 'clean' (defined at {where}) has ins= for other, which the function does "
        "not take as parameters. Fix: add the parameter(s) to the function or remove them "
        "from ins=."
    )


def test_asset_deps_are_dependencies_without_data(upstream_asset):
    @dg.asset(deps=[upstream_asset, "other/table"])
    def report():
        pass

    graph = dg.Definitions(assets=[upstream_asset, report]).resolve_asset_graph()
    node = graph.get("report")
    assert node.parent_keys == {dg.AssetKey("upstream_asset"), dg.AssetKey(["other", "table"])}
    assert node.input_params == {}
    assert graph.get("other/table").is_external


def test_asset_is_virtual():
    @dg.asset(is_virtual=True)
    def view():
        pass

    assert view.is_virtual
    assert view.specs[0].is_virtual


def test_asset_description_defaults_to_the_cleaned_docstring():
    @dg.asset
    def documented():
        """First line.

        Second paragraph.
        """

    @dg.asset(description="Given.")
    def described():
        """Ignored."""

    @dg.asset
    def bare():
        pass

    assert documented.specs[0].description == "First line.\n\nSecond paragraph."
    assert described.specs[0].description == "Given."
    assert bare.specs[0].description is None


def test_asset_attributes_reach_the_spec_and_the_graph_node():
    @dg.asset(
        metadata={"m": 1},
        group_name="marts",
        code_version="v2",
        kinds={"table"},
        compute_kind="sql",
        tags={"tier": "gold"},
        owners=["me@example.com", "team:data"],
    )
    def revenue():
        pass

    spec = revenue.specs[0]
    assert dict(spec.metadata) == {"m": 1}
    assert spec.group_name == "marts"
    assert spec.code_version == "v2"
    assert spec.kinds == {"table", "sql"}
    assert dict(spec.tags) == {"tier": "gold"}
    assert spec.owners == ("me@example.com", "team:data")
    assert revenue.code_version == "v2"
    node = dg.Definitions(assets=[revenue]).resolve_asset_graph().get("revenue")
    assert node.group_name == "marts"
    assert node.code_version == "v2"
    assert node.kinds == {"table", "sql"}
    assert dict(node.tags) == {"tier": "gold"}
    assert node.owners == ("me@example.com", "team:data")
    assert dict(node.metadata) == {"m": 1}


def test_group_name_defaults_to_default_in_the_graph():
    node = dg.Definitions(assets=[dg.AssetSpec("x")]).resolve_asset_graph().get("x")
    assert node.group_name == "default"


def test_asset_io_manager_key_and_required_resource_keys():
    @dg.asset(io_manager_key="warehouse_io", required_resource_keys={"db", "api"})
    def stored():
        pass

    assert stored.io_manager_key == "warehouse_io"
    assert stored.required_resource_keys == {"db", "api"}


def test_a_first_parameter_named_context_is_not_an_input(upstream_asset):
    @dg.asset
    def down(context, upstream_asset):
        return upstream_asset

    assert down.params.context == "context"
    node = dg.Definitions(assets=[upstream_asset, down]).resolve_asset_graph().get("down")
    assert node.input_params == {"upstream_asset": dg.AssetKey("upstream_asset")}
    assert node.parent_keys == {dg.AssetKey("upstream_asset")}


def test_a_parameter_naming_a_resource_is_a_resource_not_a_dependency(upstream_asset):
    @dg.asset
    def down(upstream_asset, database):
        return upstream_asset

    defs = dg.Definitions(assets=[upstream_asset, down], resources={"database": object()})
    graph = defs.resolve_asset_graph()
    node = graph.get("down")
    assert node.resource_params == ("database",)
    assert node.parent_keys == {dg.AssetKey("upstream_asset")}
    assert node.spec.dep_keys == (dg.AssetKey("upstream_asset"),)
    assert not graph.has("database")


def test_a_parameter_annotated_with_a_configurable_resource_is_a_resource():
    @dg.asset
    def direct(store: Warehouse):
        pass

    @dg.asset
    def quoted(store: "Warehouse"):
        pass

    @dg.asset
    def dotted(store: "resources_ns.Warehouse"):
        pass

    graph = dg.Definitions(
        assets=[direct, quoted, dotted], resources={"store": Warehouse(path="db")}
    ).resolve_asset_graph()
    for name in ("direct", "quoted", "dotted"):
        node = graph.get(name)
        assert node.resource_params == ("store",), name
        assert node.parent_keys == frozenset(), name


def test_a_resource_annotation_is_a_resource_without_a_definitions_entry():
    @dg.asset
    def uses(store: Warehouse):
        pass

    assert uses.params.resources == ("store",)
    assert uses.specs[0].deps == ()


def test_an_asset_with_the_parameter_name_wins_over_a_resource(upstream_asset):
    @dg.asset
    def down(upstream_asset):
        return upstream_asset

    defs = dg.Definitions(assets=[upstream_asset, down], resources={"upstream_asset": 1})
    node = defs.resolve_asset_graph().get("down")
    assert node.input_params == {"upstream_asset": dg.AssetKey("upstream_asset")}
    assert node.resource_params == ()


def test_configurable_resource_is_frozen_and_validated():
    warehouse = Warehouse(path="db")
    with pytest.raises(ValueError):
        warehouse.path = "other"
    with pytest.raises(ValueError):
        Warehouse(path="db", extra=1)


# @multi_asset --------------------------------------------------------------


@pytest.fixture
def table_and_view():
    @dg.multi_asset(
        specs=[
            dg.AssetSpec("table"),
            dg.AssetSpec("view", deps=["table"], is_virtual=True),
        ],
        can_subset=True,
    )
    def table_and_view(source):
        pass

    return table_and_view


def test_multi_asset_keys(table_and_view):
    assert table_and_view.keys == {dg.AssetKey("table"), dg.AssetKey("view")}
    assert table_and_view.node_name == "table_and_view"
    assert table_and_view.can_subset


def test_multi_asset_may_mix_virtual_and_non_virtual_specs(table_and_view):
    defs = dg.Definitions(assets=[dg.AssetSpec("source"), table_and_view])
    graph = defs.resolve_asset_graph()
    assert not table_and_view.is_virtual
    assert not graph.get("table").is_virtual
    assert graph.get("view").is_virtual
    assert graph.get("table").assets_def is table_and_view
    assert graph.get("view").assets_def is table_and_view


def test_multi_asset_internal_deps_and_shared_inputs(table_and_view):
    graph = dg.Definitions(assets=[dg.AssetSpec("source"), table_and_view]).resolve_asset_graph()
    assert graph.get("table").parent_keys == {dg.AssetKey("source")}
    assert graph.get("view").parent_keys == {dg.AssetKey("source"), dg.AssetKey("table")}
    assert graph.get("view").input_params == {"source": dg.AssetKey("source")}
    assert graph.toposorted_asset_keys == (
        dg.AssetKey("source"),
        dg.AssetKey("table"),
        dg.AssetKey("view"),
    )


def test_multi_asset_subset(table_and_view):
    subset = table_and_view.subset_for(["view"])
    assert subset.keys == {dg.AssetKey("view")}
    assert table_and_view.subset_for(["view", "table"]).selected_keys is None


def test_multi_asset_without_can_subset_cannot_be_split():
    @dg.multi_asset(specs=[dg.AssetSpec("a"), dg.AssetSpec("b")])
    def both():
        pass

    with pytest.raises(DefinitionError) as info:
        both.subset_for(["a"])
    assert str(info.value) == (
        "both computes a, b together and cannot run for only some of them. Fix: select all "
        "of them, or pass can_subset=True to @multi_asset and yield only "
        "context.selected_asset_keys."
    )


def test_multi_asset_applies_shared_attributes_to_specs_lacking_them():
    @dg.multi_asset(
        specs=[dg.AssetSpec("a"), dg.AssetSpec("b", group_name="own")],
        name="pair",
        group_name="shared",
        code_version="v1",
        deps=["upstream"],
    )
    def fn():
        pass

    by_key = fn.specs_by_key
    assert fn.node_name == "pair"
    assert by_key[dg.AssetKey("a")].group_name == "shared"
    assert by_key[dg.AssetKey("b")].group_name == "own"
    assert by_key[dg.AssetKey("a")].code_version == "v1"
    assert by_key[dg.AssetKey("b")].dep_keys == (dg.AssetKey("upstream"),)


def test_multi_asset_outputs_are_named_by_key():
    @dg.multi_asset(specs=[dg.AssetSpec("s/a"), dg.AssetSpec("b")])
    def fn():
        pass

    assert fn.get_output_name_for_asset_key(dg.AssetKey(["s", "a"])) == "s__a"
    assert fn.get_asset_key_for_output_name("b") == dg.AssetKey("b")


def test_multi_asset_key_property_needs_one_asset(table_and_view):
    with pytest.raises(DefinitionError) as info:
        _ = table_and_view.key
    assert str(info.value) == (
        "table_and_view defines 2 assets; .key needs exactly one. Fix: use .keys."
    )


def test_multi_asset_without_specs_is_an_error():
    def empty():
        pass

    where = f"{__file__}:{empty.__code__.co_firstlineno}"
    with pytest.raises(DefinitionError) as info:
        dg.multi_asset(specs=[])(empty)
    assert str(info.value) == (
        f"@multi_asset 'empty' (defined at {where}) has no specs. "
        "Fix: pass specs=[AssetSpec('a'), AssetSpec('b'), ...] or outs={'a': AssetOut()}."
    )


def test_multi_asset_with_a_repeated_spec_is_an_error():
    def twice():
        pass

    where = f"{__file__}:{twice.__code__.co_firstlineno}"
    with pytest.raises(DefinitionError) as info:
        dg.multi_asset(specs=[dg.AssetSpec("a"), dg.AssetSpec("a")])(twice)
    assert str(info.value) == (
        f"@multi_asset 'twice' (defined at {where}) lists a more than once. "
        "Fix: give each spec its own key."
    )


# Definitions ---------------------------------------------------------------


def test_definitions_rejects_plain_functions():
    def not_an_asset():
        pass

    with pytest.raises(DefinitionError, match=r"Definitions\(assets=\.\.\.\) got <function"):
        dg.Definitions(assets=[not_an_asset])


def test_definitions_graph_is_built_once(upstream_asset):
    defs = dg.Definitions(assets=[upstream_asset])
    assert defs.resolve_asset_graph() is defs.resolve_asset_graph()
    assert defs.get_asset_graph() is defs.resolve_asset_graph()
    assert defs.resolve_all_asset_keys() == [dg.AssetKey("upstream_asset")]


def test_definitions_merge_combines_assets_and_resources(upstream_asset):
    shared = object()
    first = dg.Definitions(assets=[upstream_asset], resources={"db": shared}, metadata={"a": 1})
    second = dg.Definitions(
        assets=[my_virtual_asset], resources={"db": shared, "api": 1}, executor="in_process"
    )
    merged = dg.Definitions.merge(first, second)
    assert merged.assets == (upstream_asset, my_virtual_asset)
    assert dict(merged.resources) == {"db": shared, "api": 1}
    assert merged.executor == "in_process"
    assert dict(merged.metadata) == {"a": 1}
    assert _keys(merged.resolve_asset_graph().get_all_asset_keys()) == [
        "my_virtual_asset",
        "upstream_asset",
    ]


def test_definitions_merge_rejects_one_resource_key_with_two_values():
    with pytest.raises(DefinitionError) as info:
        dg.Definitions.merge(
            dg.Definitions(resources={"db": object()}), dg.Definitions(resources={"db": object()})
        )
    assert str(info.value) == (
        "Definitions.merge: resource 'db' is given twice with different values. "
        "Fix: define it once, or give one of them another key."
    )


def test_get_assets_def_returns_the_computing_definition(table_and_view):
    defs = dg.Definitions(assets=[dg.AssetSpec("source"), table_and_view])
    assert defs.get_assets_def("view") is table_and_view
    assert defs.get_assets_def(dg.AssetKey("table")) is table_and_view
    assert defs.get_asset_spec("view").is_virtual


def test_get_assets_def_of_a_spec_is_an_error():
    defs = dg.Definitions(assets=[dg.AssetSpec("ext")])
    with pytest.raises(DefinitionError) as info:
        defs.get_assets_def("ext")
    assert str(info.value) == (
        "Asset 'ext' has no function (it is an AssetSpec), so it has no AssetsDefinition. "
        "Fix: look it up with defs.resolve_asset_graph().get(key) instead."
    )
    assert info.value.key == dg.AssetKey("ext")


def test_get_assets_def_of_an_unknown_key_suggests_close_names(upstream_asset):
    defs = dg.Definitions(assets=[upstream_asset])
    with pytest.raises(UnknownAssetError) as info:
        defs.get_assets_def("upstream_aset")
    assert str(info.value) == (
        "No asset named 'upstream_aset' in the definitions. Did you mean 'upstream_asset'? "
        "Fix: use one of the 1 defined keys (`sheer list defs` lists them)."
    )


def test_definitions_decorator_returns_lazy_definitions_found_by_type():
    calls = []

    @dg.definitions
    def defs():
        calls.append(1)
        return dg.Definitions(assets=[my_virtual_spec])

    assert isinstance(defs, LazyDefinitions)
    assert calls == []  # nothing is built until a loader (or the user) calls it
    assert defs().assets == (my_virtual_spec,)
    assert calls == [1]


def test_an_unresolved_parameter_is_reported_when_the_graph_is_built():
    @dg.asset
    def lonely(missing):
        pass

    defs = dg.Definitions(assets=[lonely])
    with pytest.raises(UnresolvedInputError):
        defs.resolve_asset_graph()


def test_specs_written_on_one_line_share_one_source_string():
    specs = [dg.AssetSpec(f"x{i}") for i in range(3)]
    assert specs[0].source == specs[2].source and specs[0].source is specs[2].source
    assert specs[0].source.startswith(f"{__file__}:")
