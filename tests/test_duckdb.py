"""DuckDB views as virtual assets, and the quickstart warehouse end to end."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import duckdb
import pandas as pd
import pytest

import sheer as dg
from sheer.duckdb import DuckDBIOManager, DuckDBResource, SQLView, sql_view
from sheer.duckdb.views import qualified, quote_identifier
from sheer.errors import DefinitionError, StepExecutionError

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "examples" / "quickstart"


def load_warehouse():
    spec = importlib.util.spec_from_file_location(
        "quickstart_warehouse", QUICKSTART / "warehouse.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def warehouse(tmp_path, monkeypatch):
    monkeypatch.setenv("QUICKSTART_HOME", str(tmp_path / "qs"))
    return load_warehouse()


def statuses(defs, instance):
    return {k.to_user_string(): v.value for k, v in defs.stale_status(instance).items()}


def revenue(home: Path) -> dict[str, float]:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        rows = conn.execute("select order_date, revenue from daily_revenue order by 1").fetchall()
    return {str(day)[:10]: round(value, 2) for day, value in rows}


def test_the_quickstart_story_end_to_end(warehouse, tmp_path):
    home = tmp_path / "qs"
    defs = warehouse.make_defs(home)
    instance = dg.Instance.from_url(f"sqlite:///{tmp_path / 'i.db'}")

    assert defs.materialize(instance=instance).success
    assert set(statuses(defs, instance).values()) == {"FRESH"}
    assert revenue(home) == {
        "2026-11-01": 329.15,
        "2026-11-02": 99.99,
        "2026-11-03": 150.0,
        "2026-11-04": 76.1,
        "2026-11-05": 220.0,
    }

    with warehouse.orders_csv(home).open("a") as f:
        f.write("1013,2026-11-05,acme,500.00,complete\n1014,2026-11-06,hooli,80.00,complete\n")
    defs.materialize(["orders"], instance=instance)
    assert statuses(defs, instance) == {
        "orders": "FRESH",
        "valid_orders": "FRESH",
        "recent_orders": "FRESH",
        "daily_revenue": "STALE",
    }
    causes = dg.StaleStatusResolver(instance, defs).get_stale_root_causes("daily_revenue")
    assert [str(c) for c in causes] == [
        "orders has a new data version (via recent_orders, valid_orders)"
    ]

    # Launched together without the views: orders first, through both views.
    result = defs.materialize(["orders", "daily_revenue"], instance=instance)
    starts = [e.step_key for e in result.all_events if e.event_type is dg.EventType.STEP_START]
    assert starts == ["orders", "daily_revenue"]
    assert revenue(home)["2026-11-05"] == 720.0
    assert revenue(home)["2026-11-06"] == 80.0
    assert set(statuses(defs, instance).values()) == {"FRESH"}


def test_reloading_the_same_csv_makes_nothing_stale(warehouse, tmp_path):
    defs = warehouse.make_defs(tmp_path / "qs")
    instance = dg.Instance.ephemeral()
    defs.materialize(instance=instance)
    defs.materialize(["orders"], instance=instance)
    assert statuses(defs, instance)["daily_revenue"] == "FRESH"


def test_editing_a_views_sql_makes_it_and_its_tables_stale(warehouse, tmp_path):
    home = tmp_path / "qs"
    instance = dg.Instance.ephemeral()
    warehouse.make_defs(home).materialize(instance=instance)
    edited = warehouse.make_defs(
        home, valid_orders_sql="select * from {orders} where status = 'complete' and amount > 50"
    )
    assert statuses(edited, instance) == {
        "orders": "FRESH",
        "valid_orders": "STALE",
        "recent_orders": "FRESH",
        "daily_revenue": "STALE",
    }
    causes = dg.StaleStatusResolver(instance, edited).get_stale_root_causes("daily_revenue")
    assert [str(c) for c in causes] == ["valid_orders has a new code version (via recent_orders)"]

    edited.materialize(["valid_orders", "daily_revenue"], instance=instance)
    assert set(statuses(edited, instance).values()) == {"FRESH"}
    assert all(v > 50 for v in revenue(home).values())


def test_the_view_code_version_is_a_hash_of_its_sql():
    a = sql_view("v", "select * from {t}")
    b = sql_view("v", "select * from {t} where 1 = 1")
    assert a.specs[0].code_version != b.specs[0].code_version
    assert sql_view("v", "select * from {t}", code_version="7").specs[0].code_version == "7"


def test_a_view_is_a_virtual_asset_whose_deps_come_from_its_sql():
    view = sql_view(
        "recent", "with x as (select * from {orders}) select * from x join customers using (id)"
    )
    assert view.is_virtual
    assert sorted(k.to_user_string() for k in view.specs[0].dep_keys) == ["customers", "orders"]
    assert isinstance(view.fn(None), SQLView)


def test_declared_deps_that_disagree_with_the_sql_are_an_error():
    with pytest.raises(DefinitionError) as info:
        sql_view("v", "select * from {a} join b using (id)", deps=["a", "c"])
    assert info.value.message.startswith(
        "View 'v': its SQL reads 'b' which deps= does not list and deps= lists 'c' which its "
        'SQL does not read. Fix: make them agree, e.g. deps=["a", "b"], or leave deps= out '
        "to take them from the SQL."
    )


def test_a_view_in_another_schema_reads_the_prefix_as_schema():
    view = sql_view("v", "select * from {raw/orders}")
    assert view.specs[0].dep_keys == (dg.AssetKey(["raw", "orders"]),)
    assert '"raw"."orders"' in view.fn(None).sql


def _small_defs(tmp_path, view_sql="select * from {numbers} where n > 1"):
    database = str(tmp_path / "w.duckdb")

    @dg.asset
    def numbers() -> pd.DataFrame:
        return pd.DataFrame({"n": [1, 2, 3]})

    view = sql_view("big_numbers", view_sql)

    @dg.asset
    def total(big_numbers: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"total": [int(big_numbers["n"].sum())]})

    return dg.Definitions(
        assets=[numbers, view, total],
        resources={
            "io_manager": DuckDBIOManager(database=database),
            "duckdb": DuckDBResource(database=database),
        },
    )


def test_downstream_assets_read_a_view_like_a_table(tmp_path):
    defs = _small_defs(tmp_path)
    result = defs.materialize(instance=dg.Instance.ephemeral())
    assert result.asset_value("total")["total"].tolist() == [5]
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as conn:
        kinds = dict(
            conn.execute("select table_name, table_type from information_schema.tables").fetchall()
        )
    assert kinds == {"numbers": "BASE TABLE", "big_numbers": "VIEW", "total": "BASE TABLE"}


def test_a_view_whose_sql_fails_fails_the_run_cleanly_with_duckdbs_error_and_the_sql(tmp_path):
    defs = _small_defs(tmp_path, view_sql="select * from {numbers} where no_such_column > 1")
    instance = dg.Instance.ephemeral()
    with pytest.raises(StepExecutionError) as info:
        defs.materialize(instance=instance)
    text = str(info.value)
    assert "View 'big_numbers' could not be created: DuckDB says:" in text
    assert "no_such_column" in text
    assert 'SQL:\nselect * from "main"."numbers" where no_such_column > 1' in text
    # numbers was recorded before the failure; total was skipped
    assert instance.get_latest_materialization("numbers") is not None
    assert instance.get_latest_materialization("total") is None


def test_reading_a_view_that_was_never_created_says_to_run_it_once(tmp_path):
    defs = _small_defs(tmp_path)
    instance = dg.Instance.ephemeral()
    defs.materialize(["numbers"], instance=instance)
    with pytest.raises(StepExecutionError) as info:
        defs.materialize(["total"], instance=instance)
    assert (
        "Asset 'total' reads 'big_numbers', but the view \"main\".\"big_numbers\" does not exist in"
    ) in str(info.value)
    assert "Fix: run the view once: sheer launch --assets big_numbers." in str(info.value)


def test_two_keys_on_one_table_is_an_error(tmp_path):
    @dg.asset(key="orders")
    def a() -> pd.DataFrame:
        return pd.DataFrame({"x": [1]})

    @dg.asset(key=["main", "orders"])
    def b() -> pd.DataFrame:
        return pd.DataFrame({"x": [1]})

    defs = dg.Definitions(
        assets=[a, b],
        resources={"io_manager": DuckDBIOManager(database=str(tmp_path / "w.duckdb"))},
    )
    with pytest.raises(DefinitionError) as info:
        defs.materialize(instance=dg.Instance.ephemeral())
    assert info.value.message == (
        "Assets 'main/orders' and 'orders' would both be stored as DuckDB table main.orders. "
        "Fix: rename one, or give it another key prefix (the prefix is the schema)."
    )


FIX_ONE_SELECT = (
    "Fix: a view's SQL must be exactly one SELECT (or WITH ... SELECT) statement; "
    "run other statements in a materialized @asset."
)


def refusal(sql: str) -> str:
    with pytest.raises(DefinitionError) as info:
        sql_view("v", sql, key_prefix="raw")
    assert info.value.key == dg.AssetKey(["raw", "v"])
    return info.value.message


def test_sql_view_refuses_a_second_statement():
    assert refusal("select 1; drop table {orders}") == (
        "View 'raw/v': its SQL has 2 statements: the second statement `drop table {orders}` "
        f"would run too each time the view is created. {FIX_ONE_SELECT}"
    )


def test_sql_view_refuses_a_second_select_too():
    assert refusal("select 1;\nselect 2;") == (
        "View 'raw/v': its SQL has 2 statements: the second statement `select 2` "
        f"would run too each time the view is created. {FIX_ONE_SELECT}"
    )


@pytest.mark.parametrize(
    "sql",
    [
        "delete from {orders}",
        "insert into {orders} select 1",
        "update {orders} set amount = 0",
        "copy (select 1) to '/tmp/x.csv'",
        "attach 'x.db'",
        "create table t as select 1",
        "drop table {orders}",
    ],
)
def test_sql_view_refuses_a_statement_that_is_not_a_select(sql):
    assert refusal(sql) == f"View 'raw/v': `{sql}` is not a SELECT. {FIX_ONE_SELECT}"


def test_sql_view_refuses_a_write_hidden_in_a_cte():
    sql = "with gone as (delete from {orders} returning *) select * from gone"
    assert refusal(sql) == (
        f"View 'raw/v': `{sql}` is not a SELECT: it contains "
        f'`DELETE FROM "main"."orders" RETURNING *`. {FIX_ONE_SELECT}'
    )


def test_sql_view_refuses_sql_that_does_not_parse_naming_the_view():
    message = refusal("select * from (delete from {orders} returning *)")
    assert message.startswith(
        "View 'raw/v': its SQL does not parse: Expecting ) near `from` (line 1, column 26). "
        "Fix: correct the SQL; a view's SQL must be exactly one SELECT"
    )
    assert message.endswith("SQL:\nselect * from (delete from {orders} returning *)")


@pytest.mark.parametrize("sql", ["", "  ;  ", "-- nothing here"])
def test_sql_view_refuses_sql_without_a_statement(sql):
    assert refusal(sql) == f"View 'raw/v': its SQL has no statement. {FIX_ONE_SELECT}"


@pytest.mark.parametrize(
    ("sql", "deps"),
    [
        ("with x as (select * from {orders}) select * from x", ["orders"]),
        ("select * from {orders} union all select * from {returns}", ["orders", "returns"]),
        ("select id from {orders} intersect select id from {returns}", ["orders", "returns"]),
        ("select id from {orders} except select id from {returns}", ["orders", "returns"]),
        ("select * from {orders};", ["orders"]),
        ("-- recent ones\nselect * /* all; of them */ from {orders}; -- the end", ["orders"]),
        ("values (1, 'a'), (2, 'b')", []),
        ("(select * from {orders})", ["orders"]),
        ("select ';' as semicolon, * from {orders}", ["orders"]),
    ],
)
def test_sql_view_accepts_one_query(sql, deps):
    view = sql_view("v", sql)
    assert [k.to_user_string() for k in view.specs[0].dep_keys] == deps


def test_a_hand_built_sql_view_with_a_second_statement_fails_and_runs_nothing(tmp_path):
    database = str(tmp_path / "w.duckdb")

    @dg.asset
    def numbers() -> pd.DataFrame:
        return pd.DataFrame({"n": [1, 2, 3]})

    @dg.asset(deps=[numbers], is_virtual=True)
    def sneaky() -> SQLView:
        return SQLView('select 1; drop table "main"."numbers"')

    defs = dg.Definitions(
        assets=[numbers, sneaky], resources={"io_manager": DuckDBIOManager(database=database)}
    )
    with pytest.raises(StepExecutionError) as info:
        defs.materialize(instance=dg.Instance.ephemeral())
    assert (
        "View 'sneaky': its SQL has 2 statements: the second statement "
        '`drop table "main"."numbers"` would run too'
    ) in str(info.value)
    with duckdb.connect(database, read_only=True) as conn:
        assert conn.execute('select count(*) from "main"."numbers"').fetchone() == (3,)


def test_quote_identifier_doubles_embedded_double_quotes():
    assert quote_identifier('sch"ema x') == '"sch""ema x"'
    assert qualified(dg.AssetKey("t"), 'a"; drop table x; --') == '"a""; drop table x; --"."t"'


ODD_SCHEMA = "sch\"ema x'y"


def test_a_schema_name_with_quotes_and_a_space_works_with_the_io_manager_and_resource(tmp_path):
    database = str(tmp_path / "w.duckdb")

    @dg.asset
    def numbers() -> pd.DataFrame:
        return pd.DataFrame({"n": [1, 2, 3]})

    # Unqualified: DuckDB resolves a view's names in the view's own schema.
    view = sql_view("big_numbers", "select * from numbers where n > 1")

    @dg.asset
    def total(big_numbers: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"total": [int(big_numbers["n"].sum())]})

    @dg.asset(deps=[total])
    def report(duckdb: DuckDBResource) -> None:
        with duckdb.get_connection() as conn:
            conn.execute("create or replace table report as select total * 10 as x from total")

    defs = dg.Definitions(
        assets=[numbers, view, total, report],
        resources={
            "io_manager": DuckDBIOManager(database=database, schema=ODD_SCHEMA),
            "duckdb": DuckDBResource(database=database, schema=ODD_SCHEMA),
        },
    )
    result = defs.materialize(instance=dg.Instance.ephemeral())
    assert result.success
    assert result.asset_value("total")["total"].tolist() == [5]
    with duckdb.connect(database, read_only=True) as conn:
        rows = conn.execute(
            "select table_schema, table_name, table_type from information_schema.tables "
            "order by table_name"
        ).fetchall()
        assert conn.execute('select x from "sch""ema x\'y".report').fetchall() == [(50,)]
    assert rows == [
        (ODD_SCHEMA, "big_numbers", "VIEW"),
        (ODD_SCHEMA, "numbers", "BASE TABLE"),
        (ODD_SCHEMA, "report", "BASE TABLE"),
        (ODD_SCHEMA, "total", "BASE TABLE"),
    ]


def test_the_io_manager_also_asks_duckdb_how_many_statements_a_view_holds(tmp_path, monkeypatch):
    # Stands for SQL where sqlglot's tokens and DuckDB's would disagree about a `;`.
    monkeypatch.setattr("sheer.duckdb.io_manager.parse_view_sql", lambda sql, key: None)
    database = str(tmp_path / "w.duckdb")

    @dg.asset
    def numbers() -> pd.DataFrame:
        return pd.DataFrame({"n": [1, 2, 3]})

    @dg.asset(deps=[numbers], is_virtual=True)
    def sneaky() -> SQLView:
        return SQLView('select 1; drop table "main"."numbers"')

    defs = dg.Definitions(
        assets=[numbers, sneaky], resources={"io_manager": DuckDBIOManager(database=database)}
    )
    with pytest.raises(StepExecutionError) as info:
        defs.materialize(instance=dg.Instance.ephemeral())
    assert "View 'sneaky': DuckDB reads its SQL as SELECT, DROP, not one SELECT." in str(info.value)
    with duckdb.connect(database, read_only=True) as conn:
        assert conn.execute('select count(*) from "main"."numbers"').fetchone() == (3,)


# Partitioned assets: one table, a partition column, delete-then-insert per partition ----
def _daily_orders(db: Path, metadata: dict | None = None):
    from sheer.partitions.time_window import DailyPartitionsDefinition

    daily = DailyPartitionsDefinition(start_date="2026-01-01", end_date="2026-01-10")
    version = {"n": 1}

    @dg.asset(partitions_def=daily, metadata=metadata)
    def orders(context) -> pd.DataFrame:
        day = pd.Timestamp(context.partition_key)
        return pd.DataFrame({"day": [day] * version["n"], "n": list(range(version["n"]))})

    @dg.asset(partitions_def=daily)
    def per_day(orders: pd.DataFrame) -> None:
        seen.append(sorted({str(d)[:10] for d in orders["day"]}))

    seen: list = []
    manager = DuckDBIOManager(database=str(db))
    return orders, per_day, manager, version, seen


def _rows(db: Path) -> list[tuple[str, int]]:
    with duckdb.connect(str(db), read_only=True) as conn:
        rows = conn.execute("select day, count(*) from orders group by 1 order by 1").fetchall()
    return [(str(d)[:10], c) for d, c in rows]


def test_a_partitioned_asset_is_one_table_replaced_one_partition_at_a_time(tmp_path):
    db = tmp_path / "w.duckdb"
    orders, _, manager, version, _ = _daily_orders(db, {"partition_expr": "day"})
    instance = dg.Instance.ephemeral()
    run = {"resources": {"io_manager": manager}, "instance": instance}
    dg.materialize([orders], partition_key="2026-01-02", **run)
    dg.materialize([orders], partition_key="2026-01-03", **run)
    version["n"] = 3
    dg.materialize([orders], partition_key="2026-01-02", **run)
    assert _rows(db) == [("2026-01-02", 3), ("2026-01-03", 1)]


def test_a_partition_read_selects_only_its_rows(tmp_path):
    db = tmp_path / "w.duckdb"
    orders, per_day, manager, _, seen = _daily_orders(db, {"partition_expr": "day"})
    instance = dg.Instance.ephemeral()
    run = {"resources": {"io_manager": manager}, "instance": instance}
    for day in ("2026-01-02", "2026-01-03", "2026-01-04"):
        dg.materialize([orders], partition_key=day, **run)
    dg.materialize([orders, per_day], selection=["per_day"], partition_key="2026-01-03", **run)
    dg.materialize(
        [orders, per_day],
        selection=["per_day"],
        tags={
            "dagster/asset_partition_range_start": "2026-01-02",
            "dagster/asset_partition_range_end": "2026-01-03",
        },
        **run,
    )
    assert seen == [["2026-01-03"], ["2026-01-02", "2026-01-03"]]


def test_a_partitioned_asset_without_partition_expr_is_an_error_with_the_fix(tmp_path):
    orders, _, manager, _, _ = _daily_orders(tmp_path / "w.duckdb")
    with pytest.raises(StepExecutionError) as err:
        dg.materialize([orders], partition_key="2026-01-02", resources={"io_manager": manager})
    assert (
        "Asset 'orders' is partitioned, but the DuckDB IO manager does not know which column "
        "holds its partition, so it cannot replace or read one partition. Fix: name it in the "
        'asset\'s metadata, e.g. metadata={"partition_expr": "day"} (a dict by dimension '
        "name for a MultiPartitionsDefinition)."
    ) in str(err.value)


def test_static_partition_values_are_parameters_not_sql(tmp_path):
    from sheer.partitions.static import StaticPartitionsDefinition

    odd = "o'brien\"; drop table x; --"
    pdef = StaticPartitionsDefinition(["plain", odd])

    @dg.asset(partitions_def=pdef, metadata={"partition_expr": 'who "quoted"'})
    def people(context) -> pd.DataFrame:
        return pd.DataFrame({'who "quoted"': [context.partition_key], "x": [1]})

    db = tmp_path / "w.duckdb"
    manager = DuckDBIOManager(database=str(db))
    instance = dg.Instance.ephemeral()
    for key in ("plain", odd, odd):
        dg.materialize(
            [people], partition_key=key, resources={"io_manager": manager}, instance=instance
        )
    with duckdb.connect(str(db), read_only=True) as conn:
        rows = conn.execute('select "who ""quoted""" from people order by 1').fetchall()
    assert sorted(r[0] for r in rows) == sorted(["plain", odd])
