"""Storage: the SQL schema, its migrations, and the read/write API behind `Instance`."""

from sheer.storage.rows import LatestRecords, NewEvent, VersionRow
from sheer.storage.sql import SqlStorage

__all__ = ["LatestRecords", "NewEvent", "SqlStorage", "VersionRow"]
