"""Storage: the SQL schema, its migrations, and the read/write API behind `Instance`."""

from sheer.storage.sql import LatestRecords, NewEvent, SqlStorage, VersionRow

__all__ = ["LatestRecords", "NewEvent", "SqlStorage", "VersionRow"]
