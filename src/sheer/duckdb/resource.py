"""DuckDBResource: a configured DuckDB database, one connection per step."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
from pydantic import Field

from sheer.definitions.resources import ConfigurableResource
from sheer.duckdb.views import quote_identifier, quote_string


class DuckDBResource(ConfigurableResource):
    """A DuckDB database file (or ":memory:"), as Dagster's `DuckDBResource`.

    Example:
        >>> resource = DuckDBResource(database=":memory:")
        >>> with resource.get_connection() as conn:
        ...     conn.execute("select 42").fetchone()[0]
        42
    """

    database: str = Field(description="Path to the database file, or ':memory:'.")
    schema_: str | None = Field(
        default=None, alias="schema", description="Schema used for unqualified names."
    )
    connection_config: dict[str, Any] = Field(default_factory=dict)
    read_only: bool = False

    @contextmanager
    def get_connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection for the duration of a `with` block (one per step)."""
        if self.database != ":memory:":
            Path(self.database).parent.mkdir(parents=True, exist_ok=True)
        conn = duckdb.connect(
            self.database, read_only=self.read_only, config=dict(self.connection_config)
        )
        try:
            if self.schema_:
                schema = quote_identifier(self.schema_)
                conn.execute(f"create schema if not exists {schema}")
                # SET takes a string that DuckDB parses as a qualified name: quote it twice.
                conn.execute(f"set schema = {quote_string(schema)}")
            yield conn
        finally:
            conn.close()
