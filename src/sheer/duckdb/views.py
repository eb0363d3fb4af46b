"""SQL views as virtual assets: `sql_view(name, sql, deps=...)`.

A view is a virtual asset: running it executes `CREATE OR REPLACE VIEW` (through the
DuckDB IO manager), and downstream assets read it like a table. Its code version
defaults to a hash of its SQL, so editing the SQL makes the view STALE and its
non-virtual descendants STALE with the definition change as root cause. The tables
the SQL reads are found with sqlglot and checked against the declared deps.

Every identifier Sheer writes into SQL goes through `quote_identifier`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import sqlglot
from sqlglot import exp

from sheer.definitions.assets import AssetsDefinition
from sheer.definitions.decorators import asset
from sheer.definitions.specs import AssetDep, caller_location, coerce_deps
from sheer.errors import DefinitionError
from sheer.keys import AssetKey, CoercibleToAssetKeyPrefix, coerce_key, coerce_prefix

_PLACEHOLDER = re.compile(r"\{([A-Za-z0-9_./-]+)\}")
DEFAULT_SCHEMA = "main"


@dataclass(frozen=True, slots=True)
class SQLView:
    """What a view asset returns: the SELECT the IO manager turns into a view."""

    sql: str


def table_name(key: AssetKey, default_schema: str = DEFAULT_SCHEMA) -> tuple[str, str]:
    """(schema, table) for a key: the last component is the table, the one before the schema."""
    parts = key.parts
    return (parts[-2] if len(parts) > 1 else default_schema), parts[-1]


def quote_identifier(name: str) -> str:
    """`name` as a double-quoted SQL identifier: an embedded `"` is doubled, so it cannot end it.

    Example:
        >>> quote_identifier('my "odd" schema')
        '"my ""odd"" schema"'
    """
    return '"' + name.replace('"', '""') + '"'


def quote_string(text: str) -> str:
    """`text` as a single-quoted SQL string literal: an embedded `'` is doubled.

    Example:
        >>> quote_string("it's")
        "'it''s'"
    """
    return "'" + text.replace("'", "''") + "'"


def qualified(key: AssetKey, default_schema: str = DEFAULT_SCHEMA) -> str:
    """The quoted `"schema"."table"` of a key's table or view."""
    schema, table = table_name(key, default_schema)
    return f"{quote_identifier(schema)}.{quote_identifier(table)}"


def render_sql(sql: str) -> tuple[str, list[AssetKey]]:
    """Replace `{asset}` placeholders by table names; returns the SQL and the keys named."""
    keys: list[AssetKey] = []

    def sub(match: re.Match[str]) -> str:
        key = AssetKey(match.group(1))
        keys.append(key)
        return qualified(key)

    return _PLACEHOLDER.sub(sub, sql), keys


def tables_read(sql: str, view: str) -> set[AssetKey]:
    """The tables and views a SELECT reads (CTE names excluded), as asset keys."""
    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
    except sqlglot.errors.ParseError as exc:
        raise DefinitionError(
            f"The SQL of view '{view}' does not parse: {exc}. Fix: correct the SQL.\nSQL:\n{sql}",
            key=AssetKey(view),
        ) from exc
    ctes = {c.alias_or_name for c in tree.find_all(exp.CTE)}
    out: set[AssetKey] = set()
    for table in tree.find_all(exp.Table):
        name = table.name
        if not name or name in ctes or isinstance(table.this, exp.Anonymous):
            continue  # table functions such as read_csv(...) read no asset
        schema = table.db or DEFAULT_SCHEMA
        out.add(AssetKey([name]) if schema == DEFAULT_SCHEMA else AssetKey([schema, name]))
    return out


def sql_view(
    name: str,
    sql: str,
    *,
    deps: Iterable[Any] | None = None,
    key_prefix: CoercibleToAssetKeyPrefix | None = None,
    group_name: str | None = None,
    description: str | None = None,
    code_version: str | None = None,
    automation_condition: Any = None,
    io_manager_key: str = "io_manager",
    tags: Mapping[str, str] | None = None,
    owners: Iterable[str] | None = None,
) -> AssetsDefinition:
    """Define a SQL view as a virtual asset.

    `{asset}` placeholders in the SQL become the asset's table name. Without `deps`,
    the tables the SQL reads are its deps; with `deps`, they must agree.

    Example:
        >>> view = sql_view("recent_orders", "select * from {orders} where amount > 0")
        >>> view.is_virtual, sorted(k.to_user_string() for k in view.specs[0].dep_keys)
        (True, ['orders'])
    """
    key = AssetKey([*coerce_prefix(key_prefix), name])
    label = key.to_user_string()
    rendered, named = render_sql(sql)
    read = tables_read(rendered, label) | set(named)
    if deps is None:
        dep_list = [AssetDep(k) for k in sorted(read)]
    else:
        dep_list = list(coerce_deps(deps))
        _check_deps(label, {d.asset_key for d in dep_list}, read, rendered)
    version = code_version or hashlib.sha256(rendered.encode()).hexdigest()[:12]

    def view(context: Any) -> SQLView:
        return SQLView(rendered)

    view.__name__ = key.to_python_identifier()
    view.__qualname__ = view.__name__
    where = caller_location()
    defined = asset(
        key=key,
        deps=dep_list,
        is_virtual=True,
        group_name=group_name,
        description=description or f"View: {' '.join(rendered.split())}",
        code_version=version,
        automation_condition=automation_condition,
        io_manager_key=io_manager_key,
        kinds={"view", "duckdb"},
        tags=tags,
        owners=owners,
        metadata={"sql": rendered},
    )(view)
    # Errors should point at the user's sql_view(...) call, not at this module.
    spec = defined.specs[0].replace_attributes(source=where)
    return replace(defined, specs=(spec,), source=where or defined.source)


def _check_deps(view: str, declared: set[AssetKey], read: set[AssetKey], sql: str) -> None:
    missing = sorted(read - declared)
    extra = sorted(declared - read)
    if not missing and not extra:
        return
    problems = []
    if missing:
        problems.append(
            "its SQL reads "
            + ", ".join(f"'{k.to_user_string()}'" for k in missing)
            + " which deps= does not list"
        )
    if extra:
        problems.append(
            "deps= lists "
            + ", ".join(f"'{k.to_user_string()}'" for k in extra)
            + " which its SQL does not read"
        )
    fix_deps = ", ".join(f'"{k.to_user_string()}"' for k in sorted(read))
    raise DefinitionError(
        f"View '{view}': {' and '.join(problems)}. Fix: make them agree, e.g. "
        f"deps=[{fix_deps}], or leave deps= out to take them from the SQL.\nSQL:\n{sql}",
        key=coerce_key(view),
    )
