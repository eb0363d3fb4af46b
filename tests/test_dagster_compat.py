"""Dagster's documented usage, run verbatim with `import sheer as dg`.

Each test is named after the behaviour it pins. The snippets are the shapes Dagster's
docs and users write; the assertions are what Dagster returns for them (checked by
running the same code with `import dagster as dg`).
"""

import sys
import textwrap

import pytest

import sheer as dg
from sheer import AssetKey, MaterializeResult, Output, SourceAsset, asset
from sheer.errors import DefinitionError, ExecutionError, StepExecutionError

# Output[T] ------------------------------------------------------------------------------


def test_output_of_none_annotates_an_asset_that_returns_output():
    @dg.asset
    def my_asset() -> dg.Output[None]:
        return dg.Output(None, metadata={"foo": "bar"})

    result = dg.materialize([my_asset])
    assert result.success
    [mat] = result.asset_materializations_for_node("my_asset")
    assert mat.metadata["foo"].value == "bar"


def test_an_asset_annotated_to_return_nothing_stores_no_value():
    store = dg.InMemoryIOManager()

    @dg.asset
    def creates_table() -> None:
        return None

    @dg.asset
    def reports() -> dg.Output[None]:
        return dg.Output(None, metadata={"rows": 3})

    @dg.asset
    def counted() -> Output[int]:
        return Output(5)

    result = dg.materialize([creates_table, reports, counted], resources={"io_manager": store})
    assert result.success
    assert store.values == {AssetKey("counted"): 5}  # only the asset that returns a value
    stored = {
        e.asset_key.to_user_string(): e.data["stored"]
        for e in result.get_asset_materialization_events()
    }
    assert stored == {"creates_table": False, "reports": False, "counted": True}


def test_reading_an_asset_that_returns_nothing_as_data_is_an_error():
    @dg.asset
    def creates_table() -> None:
        return None

    @dg.asset
    def downstream(creates_table):
        return creates_table

    with pytest.raises(StepExecutionError) as info:
        dg.materialize([creates_table, downstream])
    assert str(info.value).splitlines()[0] == (
        "Asset 'downstream' failed in step downstream: ExecutionError: Asset 'downstream' reads "
        "'creates_table' as data (parameter 'creates_table'), but the function of "
        "'creates_table' is annotated -> None (or -> Output[None]), so it produces no value. "
        "Fix: annotate its real return type, or depend on it with deps=['creates_table'] "
        "instead of a parameter."
    )


def test_output_metadata_is_held_as_metadata_values():
    output = dg.Output(1, metadata={"rows": 1, "link": dg.MetadataValue.url("https://x")})
    assert output.metadata == {
        "rows": dg.MetadataValue.int(1),
        "link": dg.MetadataValue.url("https://x"),
    }


def test_output_of_int_annotates_an_asset_and_keeps_its_value():
    @asset
    def my_asset() -> Output[int]:
        return Output(5, metadata={"some_metadata": "value"})

    assert dg.materialize([my_asset]).output_for_node("my_asset") == 5


# MaterializeResult ----------------------------------------------------------------------


def test_materialize_result_takes_the_asset_key_positionally():
    assert MaterializeResult("a").asset_key == AssetKey("a")
    assert MaterializeResult(["s", "t"], {"rows": 1}).metadata == {"rows": 1}


def test_materialize_result_of_a_type_annotates_an_asset():
    @dg.asset
    def counted() -> dg.MaterializeResult[int]:
        return dg.MaterializeResult(value=3, metadata={"rows": 3})

    assert dg.materialize([counted]).asset_value("counted") == 3


def test_materialize_result_keywords_in_a_multi_asset():
    @dg.multi_asset(specs=[dg.AssetSpec("asset_one"), dg.AssetSpec("asset_two")])
    def my_multi_asset():
        yield dg.MaterializeResult(asset_key="asset_one", metadata={"num_rows": 10})
        yield dg.MaterializeResult(
            asset_key="asset_two", metadata={"num_rows": 24}, data_version=dg.DataVersion("v2")
        )

    result = dg.materialize([my_multi_asset])
    mats = {m.asset_key.to_user_string(): m for m in result.get_asset_materialization_events()}
    assert mats["asset_one"].metadata == {"num_rows": 10}
    assert mats["asset_two"].data_version == dg.DataVersion("v2")


def test_materialize_result_with_check_results_is_refused_not_dropped():
    with pytest.raises(ExecutionError) as info:
        MaterializeResult("a", check_results=[object()])
    assert str(info.value) == (
        "MaterializeResult(check_results=...) was given asset check results, but Sheer has no "
        "asset checks yet, so they would be silently dropped. Fix: remove check_results= "
        "(record the outcome as metadata= instead)."
    )


# context.run ----------------------------------------------------------------------------


def test_context_run_has_the_run_id_and_tags():
    seen = {}

    @dg.asset
    def my_asset(context: dg.AssetExecutionContext):
        context.log.info(f"run id: {context.run.run_id}, tags: {context.run.tags}")
        seen["run_id"] = context.run.run_id
        seen["tags"] = dict(context.run.tags)
        seen["same"] = context.run.run_id == context.run_id

    result = dg.materialize([my_asset], tags={"team": "growth"})
    assert seen == {"run_id": result.run_id, "tags": {"team": "growth"}, "same": True}


def test_context_run_reaches_multiprocess_steps(tmp_path):
    @dg.asset
    def tagged(context: dg.AssetExecutionContext):
        return dict(context.run.tags)

    instance = dg.Instance.from_url(f"sqlite:///{tmp_path / 'sheer.db'}")
    result = dg.materialize(
        [tagged], instance=instance, executor="multiprocess", tags={"team": "growth"}
    )
    assert result.asset_value("tagged") == {"team": "growth"}


# file_relative_path ---------------------------------------------------------------------


def test_file_relative_path_is_taken_from_the_files_folder(tmp_path):
    here = tmp_path / "defs" / "orders.py"
    assert dg.file_relative_path(str(here), "data/file.csv") == str(
        tmp_path / "defs" / "data" / "file.csv"
    )
    assert dg.file_relative_path(str(here), "../seeds.csv") == str(tmp_path / "seeds.csv")


# multi_asset(specs=...) returning None -----------------------------------------------------


def test_a_multi_asset_of_specs_that_returns_none_materializes_every_spec():
    @dg.multi_asset(specs=[dg.AssetSpec("asset_one"), dg.AssetSpec("asset_two")])
    def my_multi_asset():
        # do something to create the assets
        ...

    result = dg.materialize([my_multi_asset])
    keys = [e.asset_key for e in result.get_asset_materialization_events()]
    assert keys == [AssetKey("asset_one"), AssetKey("asset_two")]


def test_a_subsettable_multi_asset_that_returns_none_is_an_error():
    @dg.multi_asset(specs=[dg.AssetSpec("c"), dg.AssetSpec("d")], can_subset=True)
    def cd():
        return None

    with pytest.raises(StepExecutionError) as info:
        dg.materialize([cd])
    assert str(info.value).splitlines()[0] == (
        "Asset 'c', 'd' failed in step cd: ExecutionError: cd computes several assets (c, d) "
        "but returned None: it can subset (can_subset=True), so returning nothing does not say "
        "which of them it materialized. Fix: yield a MaterializeResult(asset_key=...) or "
        "Output(value, output_name=...) for each asset in context.selected_asset_keys, or "
        "return a tuple with one value per output."
    )


def test_a_multi_asset_of_outs_that_returns_none_is_an_error():
    @dg.multi_asset(outs={"q": dg.AssetOut(), "w": dg.AssetOut()})
    def qw():
        return None

    with pytest.raises(StepExecutionError, match="its outs= are values, and None is not"):
        dg.materialize([qw])


# Generators -------------------------------------------------------------------------------


def test_an_asset_yielding_an_output_with_metadata_materializes_its_value():
    @asset
    def my_asset():
        yield Output(5, metadata={"num_rows": 5})

    result = dg.materialize([my_asset])
    assert result.output_for_node("my_asset") == 5
    [mat] = result.asset_materializations_for_node("my_asset")
    assert mat.metadata["num_rows"].value == 5


def test_a_multi_asset_yields_only_the_optional_outputs_it_produces():
    @dg.multi_asset(
        outs={"evens": dg.AssetOut(is_required=False), "odds": dg.AssetOut(is_required=False)}
    )
    def split_numbers():
        numbers = [2, 4, 6]
        if any(n % 2 == 0 for n in numbers):
            yield Output([n for n in numbers if n % 2 == 0], output_name="evens")
        if any(n % 2 for n in numbers):
            yield Output([n for n in numbers if n % 2], output_name="odds")

    @asset
    def even_total(evens):
        return sum(evens)

    result = dg.materialize([split_numbers, even_total])
    assert result.output_for_node("even_total") == 12
    keys = sorted(e.asset_key.to_user_string() for e in result.get_asset_materialization_events())
    assert keys == ["even_total", "evens"]


def test_an_asset_yielding_a_plain_value_fails_its_step():
    @asset
    def my_asset():
        yield 5

    with pytest.raises(StepExecutionError) as info:
        dg.materialize([my_asset])
    assert str(info.value).splitlines()[0] == (
        "Asset 'my_asset' failed in step my_asset: ExecutionError: Asset 'my_asset' yielded a "
        "value of type int, not an Output or MaterializeResult: the body of a generator asset "
        "is iterated, and each item must be a result for an output. Fix: yield Output(value), "
        "or return the value instead of yielding it."
    )


def test_an_asset_yielding_its_output_twice_fails_its_step():
    @asset
    def my_asset():
        yield Output(1)
        yield Output(2)

    result = dg.materialize([my_asset], raise_on_error=False)
    assert not result.success
    assert result.asset_materializations_for_node("my_asset") == []


# group names ------------------------------------------------------------------------------


def test_a_group_name_with_a_slash_is_allowed():
    @dg.asset(group_name="marketing/emails")
    def campaigns():
        return 1

    assert campaigns.group_names_by_key == {AssetKey("campaigns"): "marketing/emails"}


# DagsterInstance --------------------------------------------------------------------------


def test_dagster_instance_is_the_instance():
    assert dg.DagsterInstance is dg.Instance
    instance = dg.DagsterInstance.ephemeral()

    @dg.asset
    def a():
        return 1

    dg.materialize([a], instance=instance)
    assert instance.get_latest_materialization_event(a.key).asset_key == AssetKey("a")


def test_dagster_instance_get_opens_the_project_instance(tmp_path, monkeypatch):
    monkeypatch.setenv("SHEER_HOME", str(tmp_path))
    monkeypatch.delenv("SHEER_INSTANCE", raising=False)
    instance = dg.DagsterInstance.get()
    assert instance.url == f"sqlite:///{tmp_path / 'sheer.db'}"


# SourceAsset ------------------------------------------------------------------------------


def test_a_source_asset_is_an_external_asset_usable_as_a_dep():
    my_source_asset = SourceAsset(key=AssetKey("a_source_asset"))

    @asset(deps=[my_source_asset])
    def my_derived_asset():
        return 5

    defs = dg.Definitions(assets=[my_source_asset, my_derived_asset])
    graph = defs.resolve_asset_graph()
    assert graph.get("a_source_asset").is_external
    assert graph.get("my_derived_asset").parent_keys == {AssetKey("a_source_asset")}
    assert dg.materialize([my_source_asset, my_derived_asset]).success


def test_a_source_asset_value_is_loaded_by_its_io_manager():
    store = dg.InMemoryIOManager()
    store.values[AssetKey("raw_orders")] = [1, 2, 3]
    raw_orders = SourceAsset(
        key="raw_orders", description="Loaded by ingest", io_manager_key="warehouse"
    )

    @asset
    def order_count(raw_orders):
        return len(raw_orders)

    result = dg.materialize([raw_orders, order_count], resources={"warehouse": store})
    assert result.asset_value("order_count") == 3
    assert raw_orders.io_manager_key == "warehouse"
    assert raw_orders.description == "Loaded by ingest"


def test_a_source_asset_cannot_be_materialized():
    raw = SourceAsset("raw")
    with pytest.raises(ExecutionError, match="is an external asset"):
        dg.materialize([raw], selection=["raw"])


def test_a_source_asset_with_an_observe_fn_points_to_observable_source_asset():
    with pytest.raises(DefinitionError) as info:
        SourceAsset("raw", observe_fn=lambda: None)
    assert str(info.value) == (
        "SourceAsset 'raw' got observe_fn, which Sheer's SourceAsset does not take (it is an "
        "external asset node, with no function or resources of its own). Fix: observe_fn: "
        "define it with @observable_source_asset."
    )


# AssetOut and multi_asset(outs=...) -------------------------------------------------------


def test_a_multi_asset_of_outs_returns_a_tuple_in_the_order_of_outs():
    @dg.multi_asset(outs={"my_string_asset": dg.AssetOut(), "my_int_asset": dg.AssetOut()})
    def my_function():
        return "abc", 123

    result = dg.materialize([my_function])
    assert result.output_for_node("my_function", "my_string_asset") == "abc"
    assert result.asset_value("my_int_asset") == 123


def test_a_subsettable_multi_asset_yields_only_its_selected_output_names():
    @dg.multi_asset(
        outs={
            "a": dg.AssetOut(is_required=False),
            "b": dg.AssetOut(is_required=False),
        },
        can_subset=True,
    )
    def split_actions(context: dg.AssetExecutionContext):
        if "a" in context.op_execution_context.selected_output_names:
            yield dg.Output(value=123, output_name="a")
        if "b" in context.op_execution_context.selected_output_names:
            yield dg.Output(value=456, output_name="b")

    only_b = dg.materialize([split_actions], selection=["b"])
    assert [e.asset_key for e in only_b.get_asset_materialization_events()] == [AssetKey("b")]
    assert only_b.asset_value("b") == 456
    both = dg.materialize([split_actions])
    assert both.asset_value("a") == 123


def test_asset_out_key_prefix_and_key_name_the_assets():
    @dg.multi_asset(outs={"orders": dg.AssetOut(key_prefix="raw"), "x": dg.AssetOut(key="y")})
    def load():
        yield dg.Output([1], output_name="orders")
        yield dg.Output(2, output_name="x")

    assert load.keys == {AssetKey(["raw", "orders"]), AssetKey("y")}
    assert dg.materialize([load]).asset_value("raw/orders") == [1]


def test_internal_asset_deps_give_each_out_its_own_upstream_assets():
    @dg.asset
    def c():
        return 1

    @dg.multi_asset(
        outs={"a": dg.AssetOut(), "b": dg.AssetOut()},
        internal_asset_deps={"a": {dg.AssetKey("c")}, "b": {dg.AssetKey("a")}},
    )
    def a_and_b(c):
        return c + 1, c + 2

    assert a_and_b.asset_deps == {AssetKey("a"): {AssetKey("c")}, AssetKey("b"): {AssetKey("a")}}
    result = dg.materialize([c, a_and_b])
    assert (result.asset_value("a"), result.asset_value("b")) == (2, 3)


def test_internal_asset_deps_naming_an_unknown_key_is_an_error():
    with pytest.raises(DefinitionError) as info:

        @dg.multi_asset(
            outs={"q": dg.AssetOut(), "w": dg.AssetOut()},
            internal_asset_deps={"q": {dg.AssetKey("nope")}},
        )
        def qw():
            return 1, 2

    assert str(info.value) == (
        f"@multi_asset 'qw' (defined at {info.value.file}) lists nope in "
        "internal_asset_deps['q'], but that is neither an input of the function nor one of its "
        "own assets. Fix: add it to ins= or deps=, or remove it from internal_asset_deps."
    )


def test_an_input_that_no_internal_asset_deps_lists_is_an_error():
    with pytest.raises(DefinitionError) as info:

        @dg.multi_asset(
            outs={"a": dg.AssetOut(), "b": dg.AssetOut()},
            internal_asset_deps={"a": set(), "b": set()},
        )
        def ab(c):
            return c, c

    assert str(info.value) == (
        f"@multi_asset 'ab' (defined at {info.value.file}) takes c as input, but no output "
        "lists it in internal_asset_deps, so no asset it produces would depend on it. Fix: add "
        "it to the internal_asset_deps of the outputs computed from it, or remove the input."
    )


def test_internal_asset_deps_for_an_unknown_output_is_an_error():
    with pytest.raises(DefinitionError, match="'zz', which is not one of its outs"):

        @dg.multi_asset(outs={"q": dg.AssetOut()}, internal_asset_deps={"zz": set()})
        def q():
            return 1


def test_a_multi_asset_takes_specs_or_outs_not_both():
    with pytest.raises(DefinitionError, match="has both specs= and outs="):

        @dg.multi_asset(specs=[dg.AssetSpec("a")], outs={"b": dg.AssetOut()})
        def ab():
            return None


def test_an_asset_out_with_its_own_io_manager_key_is_stored_there():
    store = dg.InMemoryIOManager()

    @dg.multi_asset(outs={"kept": dg.AssetOut(io_manager_key="mem"), "other": dg.AssetOut()})
    def two():
        return 1, 2

    dg.materialize([two], resources={"mem": store})
    assert store.values == {AssetKey("kept"): 1}


# MetadataValue, TableSchema, add_output_metadata ------------------------------------------


def test_add_output_metadata_is_read_back_from_the_instance_as_metadata_values():
    @dg.asset
    def my_asset(context: dg.AssetExecutionContext):
        context.add_output_metadata({"foo": "bar"})
        context.add_output_metadata(
            {
                "num_rows": 10,
                "ratio": 0.5,
                "ok": dg.MetadataValue.bool(True),
                "nothing": dg.MetadataValue.null(),
                "dashboard": dg.MetadataValue.url("https://example.com/d"),
                "file": dg.MetadataValue.path("/data/out.csv"),
                "report": dg.MetadataValue.md("# Report"),
                "config": dg.MetadataValue.json({"a": [1, 2]}),
                "seen_at": dg.MetadataValue.timestamp(1700000000.0),
                "text": dg.MetadataValue.text("hello"),
                "count": dg.MetadataValue.int(3),
                "score": dg.MetadataValue.float(1.5),
            }
        )
        return 1

    instance = dg.DagsterInstance.ephemeral()
    dg.materialize([my_asset], instance=instance)
    event = instance.get_latest_materialization_event(my_asset.key)
    materialization = event.asset_materialization
    values = {k: v.value for k, v in materialization.metadata.items()}
    assert values == {
        "foo": "bar",
        "num_rows": 10,
        "ratio": 0.5,
        "ok": True,
        "nothing": None,
        "dashboard": "https://example.com/d",
        "file": "/data/out.csv",
        "report": "# Report",
        "config": {"a": [1, 2]},
        "seen_at": 1700000000.0,
        "text": "hello",
        "count": 3,
        "score": 1.5,
    }
    assert materialization.metadata["dashboard"] == dg.MetadataValue.url("https://example.com/d")
    assert materialization.metadata["report"] == dg.MetadataValue.md("# Report")
    assert type(materialization.metadata["foo"]).__name__ == "TextMetadataValue"
    # The stored record keeps plain JSON, which the UI and the CLI read.
    assert event.metadata["dashboard"] == "https://example.com/d"


def test_a_table_schema_is_read_back_as_a_table_schema():
    @dg.asset
    def table1(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        return dg.MaterializeResult(
            metadata={
                "dagster/column_schema": dg.TableSchema(
                    columns=[
                        dg.TableColumn("name", "string", description="The name of the person"),
                        dg.TableColumn("age", "int", description="The age of the person"),
                    ]
                ),
                "schema": dg.MetadataValue.table_schema(
                    dg.TableSchema(
                        columns=[
                            dg.TableColumn(
                                "id",
                                "int",
                                constraints=dg.TableColumnConstraints(nullable=False, unique=True),
                            )
                        ],
                        constraints=dg.TableConstraints(other=["id > 0"]),
                    )
                ),
            }
        )

    result = dg.materialize([table1])
    [mat] = result.asset_materializations_for_node("table1")
    schema = mat.metadata["dagster/column_schema"].value
    assert [(c.name, c.type, c.description) for c in schema.columns] == [
        ("name", "string", "The name of the person"),
        ("age", "int", "The age of the person"),
    ]
    other = mat.metadata["schema"].value
    assert other.columns[0].constraints == dg.TableColumnConstraints(nullable=False, unique=True)
    assert other.constraints == dg.TableConstraints(other=["id > 0"])


def test_add_output_metadata_names_an_output_of_a_multi_asset():
    @dg.multi_asset(outs={"a": dg.AssetOut(), "b": dg.AssetOut()})
    def ab(context: dg.AssetExecutionContext):
        context.add_output_metadata({"rows": 2}, output_name="b")
        return 1, 2

    result = dg.materialize([ab])
    assert result.asset_materializations_for_node("ab")[1].metadata["rows"].value == 2
    assert result.asset_materializations_for_node("ab")[0].metadata == {}


def test_observation_metadata_is_read_back_with_its_kind():
    @dg.observable_source_asset
    def raw_file():
        return dg.ObserveResult(
            data_version="etag-1", metadata={"source": dg.MetadataValue.url("https://x/raw")}
        )

    instance = dg.DagsterInstance.ephemeral()
    dg.observe([raw_file], instance=instance)
    [record] = instance.get_event_records(dg.EventType.ASSET_OBSERVATION)
    assert record.asset_observation.metadata["source"] == dg.MetadataValue.url("https://x/raw")


def test_a_reported_materialization_holds_metadata_values():
    mat = dg.AssetMaterialization("orders", metadata={"rows": 3, "link": "x"})
    assert mat.metadata["rows"] == dg.MetadataValue.int(3)
    assert mat.metadata["link"].value == "x"


def test_metadata_of_no_known_kind_is_an_error_on_an_asset_event():
    with pytest.raises(DefinitionError) as info:
        dg.AssetMaterialization("orders", metadata={"when": object()})
    assert str(info.value) == (
        "Metadata entry 'when' is a object, which has no metadata kind. Fix: pass a str, int, "
        "float, bool, dict, list, None or a MetadataValue (e.g. MetadataValue.text(str(value)))."
    )


# materialize_to_memory and build_asset_context --------------------------------------------


def test_materialize_to_memory_keeps_values_in_memory():
    @dg.asset
    def asset_one():
        return 1

    @dg.asset
    def asset_two(asset_one):
        return asset_one + 1

    result = dg.materialize_to_memory([asset_one, asset_two])
    assert result.success
    assert result.output_for_node("asset_two") == 2


def test_materialize_to_memory_refuses_io_managers_in_resources():
    @dg.asset
    def a():
        return 1

    with pytest.raises(ExecutionError) as info:
        dg.materialize_to_memory([a], resources={"io_manager": dg.FilesystemIOManager()})
    assert str(info.value) == (
        "materialize_to_memory got an IO manager for 'io_manager' in resources=, but it serves "
        "every IO manager key from memory, so yours would never be used. Fix: leave IO managers "
        "out of resources=, or use materialize() to run with them."
    )


def test_an_asset_called_with_build_asset_context_runs_its_function():
    @dg.asset
    def my_asset(context: dg.AssetExecutionContext):
        context.log.info("called directly")
        return context.asset_key.to_user_string()

    context = dg.build_asset_context()
    assert my_asset(context) == "my_asset"
    assert context.run_id == "EPHEMERAL"


def test_build_asset_context_gives_resources_to_the_function():
    class MyResource(dg.ConfigurableResource):
        value: str

    @dg.asset(required_resource_keys={"foo"})
    def uses_context_resources(context):
        return context.resources.foo

    @dg.asset
    def uses_resource_param(context, my_resource: MyResource):
        return my_resource.value

    context = dg.build_asset_context(resources={"foo": "bar"})
    assert uses_context_resources(context) == "bar"
    with dg.build_asset_context(resources={"my_resource": MyResource(value="x")}) as context:
        assert uses_resource_param(context) == "x"


def test_context_run_is_not_available_in_a_direct_call():
    @dg.asset
    def my_asset(context):
        return context.run

    with pytest.raises(ExecutionError) as info:
        my_asset(dg.build_asset_context())
    assert str(info.value) == (
        "context.run is not available: this asset function was called directly (with "
        "build_asset_context()), not in a run. Fix: run it with materialize([...]) to get a "
        "run, or read context.run_id, which is 'EPHEMERAL' here."
    )


def test_build_asset_context_refuses_what_sheer_does_not_support():
    with pytest.raises(ExecutionError) as info:
        dg.build_asset_context(asset_config={"n": 1})
    assert str(info.value) == (
        "build_asset_context() got asset_config, which Sheer does not support yet (no run "
        "config or async assets in direct calls). Fix: leave asset_config out; "
        "configure resources by constructing them, and pass them in resources=."
    )


def test_build_asset_context_with_a_partition_key_gives_it_to_the_asset():
    daily = dg.DailyPartitionsDefinition(start_date="2024-01-01")

    @dg.asset(partitions_def=daily)
    def orders(context: dg.AssetExecutionContext) -> tuple[str, str]:
        window = context.partition_time_window
        return context.partition_key, f"{window.start:%Y-%m-%d}..{window.end:%Y-%m-%d}"

    context = dg.build_asset_context(partition_key="2024-01-03")
    assert context.partition_key == "2024-01-03"  # before it is bound, as in Dagster
    assert context.has_partition_key
    assert orders(context) == ("2024-01-03", "2024-01-03..2024-01-04")


def test_build_asset_context_with_a_partition_key_range_gives_every_key():
    daily = dg.DailyPartitionsDefinition(start_date="2024-01-01")

    @dg.asset(partitions_def=daily)
    def orders(context: dg.AssetExecutionContext) -> list[str]:
        assert context.partition_key_range == dg.PartitionKeyRange("2024-01-02", "2024-01-04")
        return context.partition_keys

    context = dg.build_asset_context(
        partition_key_range=dg.PartitionKeyRange("2024-01-02", "2024-01-04")
    )
    assert orders(context) == ["2024-01-02", "2024-01-03", "2024-01-04"]


def test_build_asset_context_with_a_multi_partition_key_gives_its_dimensions():
    multi = dg.MultiPartitionsDefinition(
        {
            "date": dg.DailyPartitionsDefinition(start_date="2024-01-01"),
            "region": dg.StaticPartitionsDefinition(["eu", "us"]),
        }
    )

    @dg.asset(partitions_def=multi)
    def sales(context: dg.AssetExecutionContext) -> dict[str, str]:
        return context.partition_key.keys_by_dimension  # type: ignore[attr-defined,no-any-return]

    context = dg.build_asset_context(partition_key="2024-01-02|eu")
    assert sales(context) == {"date": "2024-01-02", "region": "eu"}


def test_build_asset_context_with_an_unknown_partition_names_the_asset_and_key():
    daily = dg.DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-02-01")

    @dg.asset(partitions_def=daily)
    def orders(context: dg.AssetExecutionContext) -> str:
        return context.partition_key

    with pytest.raises(ExecutionError) as info:
        orders(dg.build_asset_context(partition_key="2023-12-31"))
    assert str(info.value) == (
        "Asset 'orders' was called with a context built with partition_key='2023-12-31', but "
        "'2023-12-31' is not a partition of "
        f"{daily!r} (its keys: from '2024-01-01' to '2024-01-31'). Fix: pass one of its keys."
    )


def test_build_asset_context_with_a_partition_for_an_unpartitioned_asset_says_so():
    @dg.asset
    def orders(context: dg.AssetExecutionContext) -> int:
        return 1

    with pytest.raises(ExecutionError, match=r"it has no partitions_def\. Fix: give the asset"):
        orders(dg.build_asset_context(partition_key="2024-01-01"))


def test_build_asset_context_refuses_both_a_key_and_a_range():
    with pytest.raises(ExecutionError, match="got both partition_key and partition_key_range"):
        dg.build_asset_context(
            partition_key="2024-01-01", partition_key_range=dg.PartitionKeyRange("a", "b")
        )


def test_an_unbound_context_says_how_to_bind_it():
    with pytest.raises(ExecutionError, match="not bound to an asset yet"):
        dg.build_asset_context().asset_key  # noqa: B018


# load_assets_from_modules -----------------------------------------------------------------


@pytest.fixture
def assets_package(tmp_path, monkeypatch):
    """A package `compat_pkg` with two modules of assets, importable for the test."""
    pkg = tmp_path / "compat_pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "my_assets.py").write_text(
        textwrap.dedent(
            """
            import sheer as dg

            raw = dg.SourceAsset("raw")
            spec = dg.AssetSpec("spec_only")

            @dg.asset
            def up():
                return 1

            @dg.asset
            def down(up):
                return up + 1

            @dg.asset(deps=[raw])
            def uses_raw():
                return 3
            """
        )
    )
    (pkg / "sub" / "more.py").write_text(
        textwrap.dedent(
            """
            import sheer as dg

            @dg.asset(group_name="kept")
            def deep():
                return 4

            listed = [dg.AssetSpec("in_a_list")]
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield pkg
    for name in [m for m in sys.modules if m == "compat_pkg" or m.startswith("compat_pkg.")]:
        del sys.modules[name]


def _keys(items):
    return sorted(
        k.to_user_string()
        for item in items
        for k in (item.keys if isinstance(item, dg.AssetsDefinition) else [item.key])
    )


def test_load_assets_from_modules_collects_assets_and_source_assets(assets_package):
    from compat_pkg import my_assets

    my_assets_list = dg.load_assets_from_modules([my_assets])
    defs = dg.Definitions(assets=my_assets_list)
    assert _keys(my_assets_list) == ["down", "raw", "up", "uses_raw"]
    assert defs.resolve_asset_graph().get("raw").is_external
    with_specs = dg.load_assets_from_modules([my_assets], include_specs=True)
    assert _keys(with_specs) == ["down", "raw", "spec_only", "up", "uses_raw"]


def test_load_assets_from_modules_applies_key_prefixes_to_deps_too(assets_package):
    from compat_pkg import my_assets

    loaded = dg.load_assets_from_modules([my_assets], key_prefix="pre", source_key_prefix="src")
    assert _keys(loaded) == ["pre/down", "pre/up", "pre/uses_raw", "src/raw"]
    by_key = {k.to_user_string(): a for a in loaded for k in _keys_of(a)}
    assert by_key["pre/down"].asset_deps == {AssetKey(["pre", "down"]): {AssetKey(["pre", "up"])}}
    assert by_key["pre/uses_raw"].asset_deps == {
        AssetKey(["pre", "uses_raw"]): {AssetKey(["src", "raw"])}
    }
    assert isinstance(by_key["src/raw"], SourceAsset)
    runnable = [by_key["pre/up"], by_key["pre/down"]]
    assert dg.materialize(runnable).asset_value("pre/down") == 2


def _keys_of(item):
    return item.keys if isinstance(item, dg.AssetsDefinition) else [item.key]


def test_load_assets_from_modules_sets_the_group(assets_package):
    from compat_pkg import my_assets

    loaded = dg.load_assets_from_modules([my_assets], group_name="marketing/emails")
    groups = {
        k: g
        for a in loaded
        if isinstance(a, dg.AssetsDefinition)
        for k, g in a.group_names_by_key.items()
    }
    assert set(groups.values()) == {"marketing/emails"}


def test_load_assets_from_modules_refuses_to_override_a_group(assets_package):
    from compat_pkg.sub import more

    with pytest.raises(DefinitionError) as info:
        dg.load_assets_from_modules([more], group_name="other")
    assert str(info.value) == (
        "Asset 'deep' has group_name 'kept', which conflicts with group_name='other' given to "
        "load_assets_from_modules. Fix: remove group_name= from the asset, or load it without "
        "group_name=."
    )


def test_load_assets_from_package_module_walks_subpackages(assets_package):
    import compat_pkg

    loaded = dg.load_assets_from_package_module(compat_pkg, include_specs=True)
    assert _keys(loaded) == ["deep", "down", "in_a_list", "raw", "spec_only", "up", "uses_raw"]


def test_group_names_by_key_defaults_to_the_default_group():
    @dg.multi_asset(specs=[dg.AssetSpec("a", group_name="g"), dg.AssetSpec("b")])
    def ab():
        return None

    assert ab.group_names_by_key == {AssetKey("a"): "g", AssetKey("b"): "default"}
