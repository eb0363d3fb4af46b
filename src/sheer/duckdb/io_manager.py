"""DuckDBIOManager: asset values as DuckDB tables, and views as virtual assets.

A returned pandas / polars DataFrame or pyarrow Table becomes the table named after
the asset key (`schema.table`: the key's last two components, schema `main` for a
one-part key). A `SQLView` returned by a virtual asset becomes `CREATE OR REPLACE
VIEW`. Downstream assets read both the same way, with a SELECT: no data is copied
for a view.

A partitioned asset is one table whose partition column is named by
`metadata={"partition_expr": "col"}` (a dict by dimension for a multi definition), as
dagster-duckdb has it: each run deletes its partitions' rows and inserts the new ones in
one transaction, and a read selects the partitions it needs. Column names are quoted
identifiers and partition values are bound parameters, never pasted into the SQL.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC
from pathlib import Path
from typing import Any, ClassVar, Literal

import duckdb
from pydantic import Field

from sheer.duckdb.views import (
    ONE_SELECT,
    SQLView,
    parse_view_sql,
    qualified,
    quote_identifier,
    table_name,
)
from sheer.errors import DefinitionError, ExecutionError
from sheer.execution.io_managers import (
    ConfigurableIOManager,
    InputContext,
    NoStoredValueError,
    OutputContext,
)
from sheer.keys import AssetKey
from sheer.partitions.base import PartitionsDefinition
from sheer.partitions.multi import MultiPartitionsDefinition
from sheer.partitions.time_window import TimeWindowPartitionsDefinition


class DuckDBIOManager(ConfigurableIOManager):
    """Stores asset values as tables of a DuckDB database and creates views.

    Example:
        >>> manager = DuckDBIOManager(database=".sheer/warehouse.duckdb")
        >>> manager.handles_virtual_assets
        True
    """

    database: str
    schema_: str = Field(default="main", alias="schema")
    output_type: Literal["pandas", "polars", "arrow"] = "pandas"

    handles_virtual_assets: ClassVar[bool] = True  # views are created and read in the database

    def _connect(self) -> duckdb.DuckDBPyConnection:
        if self.database != ":memory:":
            Path(self.database).parent.mkdir(parents=True, exist_ok=True)
        return duckdb.connect(self.database)

    def handle_output(self, context: OutputContext, obj: Any) -> None:
        schema, table = table_name(context.asset_key, self.schema_)
        name = qualified(context.asset_key, self.schema_)
        conn = self._connect()
        try:
            conn.execute(f"create schema if not exists {quote_identifier(schema)}")
            if isinstance(obj, SQLView):
                self._create_view(conn, context.asset_key, name, obj.sql)
            elif obj is None:
                return  # the asset stored its data itself (e.g. with DuckDBResource)
            elif _is_frame(obj) and context.has_asset_partitions:
                where, params = _partition_filter(
                    context.asset_key,
                    context.definition_metadata,
                    context.asset_partitions_def,
                    context.asset_partition_keys,
                )
                _replace_partitions(conn, name, obj, where, params)
            elif _is_frame(obj):
                conn.register("__sheer_output", obj)
                try:
                    conn.execute(f"create or replace table {name} as select * from __sheer_output")
                finally:
                    conn.unregister("__sheer_output")
            else:
                raise ExecutionError(
                    f"Asset '{context.asset_key.to_user_string()}' returned "
                    f"{type(obj).__name__}, which the DuckDB IO manager cannot store as table "
                    f"{schema}.{table}. Fix: return a pandas or polars DataFrame or a pyarrow "
                    "Table (or a SQLView from a virtual asset).",
                    key=context.asset_key,
                )
        finally:
            conn.close()

    def _create_view(
        self, conn: duckdb.DuckDBPyConnection, key: AssetKey, name: str, sql: str
    ) -> None:
        try:  # sql_view checked its SQL already; a SQLView built by hand was not
            parse_view_sql(sql, key)
        except DefinitionError as exc:
            raise ExecutionError(exc.message, key=key) from None
        try:
            # DuckDB runs every statement it is given: ask its own parser how many it sees,
            # in case its tokens ever differ from sqlglot's.
            statements = conn.extract_statements(sql)
            if len(statements) != 1 or statements[0].type != duckdb.StatementType.SELECT:
                raise ExecutionError(
                    f"View '{key.to_user_string()}': DuckDB reads its SQL as "
                    f"{', '.join(s.type.name for s in statements) or 'no statement'}, "
                    f"not one SELECT.\nSQL:\n{sql}\nFix: {ONE_SELECT}",
                    key=key,
                )
            conn.execute(f"create or replace view {name} as {sql}")
        except duckdb.Error as exc:
            raise ExecutionError(
                f"View '{key.to_user_string()}' could not be created: DuckDB says: {exc}\n"
                f"SQL:\n{sql}\nFix: correct the SQL (or materialize the tables it reads first).",
                key=key,
            ) from None

    def load_input(self, context: InputContext) -> Any:
        name = qualified(context.asset_key, self.schema_)
        where, params = "", list[Any]()
        if context.has_asset_partitions and not context.upstream_is_virtual:
            clause, params = _partition_filter(
                context.asset_key,
                context.definition_metadata,
                context.asset_partitions_def,
                context.asset_partition_keys,
            )
            where = f" where {clause}"
        conn = self._connect()
        try:
            relation = conn.sql(f"select * from {name}{where}", params=params or None)
            if self.output_type == "polars":
                return relation.pl()
            if self.output_type == "arrow":
                return relation.arrow()
            return relation.df()
        except duckdb.CatalogException:
            what = "view" if context.upstream_is_virtual else "table"
            reader = (
                context.downstream_asset_key.to_user_string()
                if context.downstream_asset_key
                else "this run"
            )
            upstream = context.asset_key.to_user_string()
            hint = (
                f"run the view once: sheer launch --assets {upstream}"
                if context.upstream_is_virtual
                else f"materialize it first: sheer launch --assets {upstream}"
            )
            raise NoStoredValueError(
                f"Asset '{reader}' reads '{upstream}', but the {what} {name} does not exist in "
                f"{self.database}. Fix: {hint}.",
                key=context.asset_key,
            ) from None
        except duckdb.Error as exc:
            raise ExecutionError(
                f"Reading '{context.asset_key.to_user_string()}' from {name} failed: {exc}",
                key=context.asset_key,
            ) from None
        finally:
            conn.close()

    def validate_assets(self, keys: Iterable[AssetKey]) -> None:
        """Two keys must not map to one table (e.g. 'orders' and 'main/orders')."""
        seen: dict[tuple[str, str], AssetKey] = {}
        for key in sorted(keys):
            name = table_name(key, self.schema_)
            if name in seen:
                raise DefinitionError(
                    f"Assets '{seen[name].to_user_string()}' and '{key.to_user_string()}' would "
                    f"both be stored as DuckDB table {name[0]}.{name[1]}. Fix: rename one, or give "
                    "it another key prefix (the prefix is the schema).",
                    key=key,
                )
            seen[name] = key


def _replace_partitions(
    conn: duckdb.DuckDBPyConnection, name: str, frame: Any, where: str, params: list[Any]
) -> None:
    """Delete the partitions' rows and insert the frame's, in one transaction (the table
    is created from the frame's columns the first time)."""
    conn.register("__sheer_output", frame)
    try:
        conn.execute("begin transaction")
        try:
            conn.execute(
                f"create table if not exists {name} as select * from __sheer_output limit 0"
            )
            conn.execute(f"delete from {name} where {where}", params)
            conn.execute(f"insert into {name} by name select * from __sheer_output")
        except BaseException:
            conn.execute("rollback")
            raise
        conn.execute("commit")
    finally:
        conn.unregister("__sheer_output")


def _partition_filter(
    key: AssetKey,
    metadata: Any,
    pdef: PartitionsDefinition | None,
    keys: tuple[str, ...],
) -> tuple[str, list[Any]]:
    """The WHERE clause (quoted columns, `?` parameters) selecting `keys` of `pdef`."""
    expr = metadata.get("partition_expr") if metadata else None
    asset = key.to_user_string()
    if expr is None:
        raise ExecutionError(
            f"Asset '{asset}' is partitioned, but the DuckDB IO manager does not know which "
            "column holds its partition, so it cannot replace or read one partition. Fix: "
            'name it in the asset\'s metadata, e.g. metadata={"partition_expr": "day"} (a '
            "dict by dimension name for a MultiPartitionsDefinition).",
            key=key,
        )
    if isinstance(pdef, MultiPartitionsDefinition):
        if not isinstance(expr, dict) or set(expr) != set(pdef.partition_dimension_names):
            example = {d: "<column>" for d in pdef.partition_dimension_names}
            raise ExecutionError(
                f"Asset '{asset}' has a MultiPartitionsDefinition, so its partition_expr "
                f"must be a dict naming a column for each dimension "
                f"({', '.join(pdef.partition_dimension_names)}); it is {expr!r}. Fix: e.g. "
                f"metadata={{'partition_expr': {example}}}.",
                key=key,
            )
        clauses, params = [], []
        for dim in pdef.partitions_defs:
            values = sorted({k.keys_by_dimension[dim.name] for k in _multi_keys(pdef, keys)})
            clause, more = _one_filter(str(expr[dim.name]), dim.partitions_def, tuple(values))
            clauses.append(clause)
            params += more
        return " and ".join(clauses), params
    if not isinstance(expr, str):
        raise ExecutionError(
            f"Asset '{asset}' has partition_expr {expr!r}; it must be a column name. Fix: "
            'e.g. metadata={"partition_expr": "day"}.',
            key=key,
        )
    assert pdef is not None
    return _one_filter(expr, pdef, keys)


def _multi_keys(pdef: MultiPartitionsDefinition, keys: tuple[str, ...]) -> list[Any]:
    return [pdef.get_partition_key_from_str(k) for k in keys]


def _one_filter(
    column: str, pdef: PartitionsDefinition, keys: tuple[str, ...]
) -> tuple[str, list[Any]]:
    col = quote_identifier(column)
    if isinstance(pdef, TimeWindowPartitionsDefinition):
        # The span from the first window's start to the last's end, as dagster-duckdb
        # reads a time range: naive UTC timestamps compare with TIMESTAMP and DATE columns.
        indices = sorted(i for i in (pdef.index_of(k) for k in keys) if i is not None)
        start = pdef.time_window_at(indices[0]).start
        end = pdef.time_window_at(indices[-1]).end
        return f"{col} >= ?::timestamp and {col} < ?::timestamp", [_naive(start), _naive(end)]
    if not keys:
        return "false", []
    return f"{col} in ({', '.join('?' for _ in keys)})", [str(k) for k in keys]


def _naive(moment: Any) -> str:
    return str(moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" "))


def _is_frame(obj: Any) -> bool:
    module = type(obj).__module__.split(".")[0]
    return module in ("pandas", "polars", "pyarrow")
