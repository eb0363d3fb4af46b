"""DuckDB: a resource, an IO manager, and SQL views as virtual assets.

Needs the `duckdb` extra (`pip install 'sheer[duckdb]'`): duckdb, sqlglot, pandas.
The DuckDB IO manager is local to one machine: a distributed executor cannot use it.
"""

from sheer.duckdb.io_manager import DuckDBIOManager
from sheer.duckdb.resource import DuckDBResource
from sheer.duckdb.views import SQLView, sql_view

__all__ = ["DuckDBIOManager", "DuckDBResource", "SQLView", "sql_view"]
