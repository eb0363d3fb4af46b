"""SQL views as virtual assets: `sql_view(name, sql, deps=...)`.

A view is a virtual asset: running it executes `CREATE OR REPLACE VIEW` (through the
DuckDB IO manager), and downstream assets read it like a table. Its code version
defaults to a hash of its SQL, so editing the SQL makes the view STALE and its
non-virtual descendants STALE with the definition change as root cause. The tables
the SQL reads are found with sqlglot and checked against the declared deps.

A view's SQL is pasted into `CREATE OR REPLACE VIEW ... AS`, and DuckDB runs every
statement it is given, so the SQL must be exactly one query: anything else (a second
statement, DML, COPY, ATTACH) is refused when `sql_view(...)` is called, not run.
Every identifier Sheer writes into SQL goes through `quote_identifier`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import sqlglot
from sqlglot import Token, TokenType, exp

from sheer.definitions.assets import AssetsDefinition
from sheer.definitions.decorators import asset
from sheer.definitions.specs import AssetDep, caller_location, coerce_deps
from sheer.errors import DefinitionError
from sheer.keys import AssetKey, CoercibleToAssetKeyPrefix, coerce_key, coerce_prefix

_PLACEHOLDER = re.compile(r"\{([A-Za-z0-9_./-]+)\}")
DEFAULT_SCHEMA = "main"
ONE_SELECT = (
    "a view's SQL must be exactly one SELECT (or WITH ... SELECT) statement; "
    "run other statements in a materialized @asset."
)
# What a view may be at the top: a query. Set operations are listed one by one because
# older sqlglot releases have no common SetOperation class.
_QUERIES = (exp.Select, exp.Union, exp.Intersect, exp.Except, exp.Values, exp.Subquery)
# Statements sqlglot can find nested in a query, e.g. `with x as (delete ... returning *)`.
_WRITES = (exp.Insert, exp.Delete, exp.Update, exp.Merge, exp.Copy, exp.Create, exp.Drop, exp.Into)


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


def parse_view_sql(sql: str, key: AssetKey) -> exp.Expression:
    """The one query of a view's SQL (placeholders rendered), parsed with sqlglot.

    Raises DefinitionError, naming the view and quoting the statement, when the SQL
    does not parse, holds no statement or more than one, or is not a query.
    """
    view = key.to_user_string()
    try:
        statements = _statements(sql)
        if len(statements) != 1:
            raise _not_one_select(view, statements, key)
        tree = sqlglot.parse_one(render_sql(statements[0])[0], read="duckdb")
    except (sqlglot.errors.ParseError, sqlglot.errors.TokenError) as exc:
        raise DefinitionError(
            f"View '{view}': its SQL does not parse: {_parse_problem(exc)}. "
            f"Fix: correct the SQL; {ONE_SELECT}\nSQL:\n{sql}",
            key=key,
        ) from exc
    if not isinstance(tree, _QUERIES):
        problem = ""
    elif write := next(tree.find_all(*_WRITES), None):
        problem = f": it contains `{_excerpt(write.sql('duckdb'))}`"
    else:
        return tree
    raise DefinitionError(
        f"View '{view}': `{_excerpt(statements[0])}` is not a SELECT{problem}. Fix: {ONE_SELECT}",
        key=key,
    )


def tables_read(tree: exp.Expression) -> set[AssetKey]:
    """The tables and views a parsed query reads (CTE names excluded), as asset keys."""
    ctes = {c.alias_or_name for c in tree.find_all(exp.CTE)}
    out: set[AssetKey] = set()
    for table in tree.find_all(exp.Table):
        name = table.name
        if not name or name in ctes or isinstance(table.this, exp.Anonymous):
            continue  # table functions such as read_csv(...) read no asset
        schema = table.db or DEFAULT_SCHEMA
        out.add(AssetKey([name]) if schema == DEFAULT_SCHEMA else AssetKey([schema, name]))
    return out


def _statements(sql: str) -> list[str]:
    """The text of each statement, split at `;` tokens (not inside strings or comments).

    Split on the user's text, placeholders included, so messages quote what they wrote.
    """
    spans: list[list[Token]] = [[]]
    for token in sqlglot.tokenize(sql, read="duckdb"):
        if token.token_type is TokenType.SEMICOLON:
            spans.append([])
        else:
            spans[-1].append(token)
    return [sql[span[0].start : span[-1].end + 1] for span in spans if span]


def _not_one_select(view: str, statements: list[str], key: AssetKey) -> DefinitionError:
    if statements:
        what = f"has {len(statements)} statements: the second statement `{_excerpt(statements[1])}`"
        why = " would run too each time the view is created"
    else:
        what, why = "has no statement", ""
    return DefinitionError(f"View '{view}': its SQL {what}{why}. Fix: {ONE_SELECT}", key=key)


def _parse_problem(exc: sqlglot.errors.SqlglotError) -> str:
    errors = getattr(exc, "errors", None)
    if not errors:
        return str(exc)
    first = errors[0]
    near = f" near `{first['highlight']}`" if first.get("highlight") else ""
    return f"{first['description']}{near} (line {first['line']}, column {first['col']})"


def _excerpt(text: str, limit: int = 100) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


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
    tree = parse_view_sql(sql, key)
    rendered, named = render_sql(sql)
    read = tables_read(tree) | set(named)
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
