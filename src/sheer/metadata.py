"""Typed metadata values (`MetadataValue.url(...)`, `TableSchema`, ...), with Dagster's names.

Metadata is stored as plain JSON (what the UI and the event log read) plus, for the
kinds JSON cannot tell apart from text or a dict (a URL, a path, markdown, a table
schema, a timestamp, an asset key), a small map of key -> kind. Reading an event
back as Dagster users do (`materialization.metadata["rows"].value`) turns each stored
value into its `MetadataValue` again. This module must not import storage or execution.
"""

from __future__ import annotations

import builtins
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

from sheer.errors import DefinitionError
from sheer.keys import AssetKey, coerce_key


class MetadataKind(StrEnum):
    TEXT = "text"
    INT = "int"
    FLOAT = "float"
    BOOL = "bool"
    NULL = "null"
    JSON = "json"
    URL = "url"
    PATH = "path"
    MARKDOWN = "md"
    TIMESTAMP = "timestamp"
    TABLE_SCHEMA = "table_schema"
    ASSET = "asset"


# Kinds a plain JSON value already says; only the others are written to the kinds map.
_IMPLIED = frozenset(
    {MetadataKind.TEXT, MetadataKind.INT, MetadataKind.FLOAT, MetadataKind.BOOL, MetadataKind.NULL}
)


@dataclass(frozen=True, slots=True)
class TableColumnConstraints:
    """Constraints on one column: nullability, uniqueness and free-text others."""

    nullable: bool = True
    unique: bool = False
    other: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "other", tuple(self.other))  # a list (Dagster's habit) too

    def to_json(self) -> dict[str, Any]:
        return {"nullable": self.nullable, "unique": self.unique, "other": list(self.other)}


@dataclass(frozen=True, slots=True)
class TableConstraints:
    """Constraints on a whole table, as free text."""

    other: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "other", tuple(self.other))

    def to_json(self) -> dict[str, Any]:
        return {"other": list(self.other)}


@dataclass(frozen=True, slots=True)
class TableColumn:
    """One column of a `TableSchema`.

    Example:
        >>> TableColumn("id", "int", description="order id").type
        'int'
    """

    name: str
    type: str = "string"
    description: str | None = None
    constraints: TableColumnConstraints = field(default_factory=TableColumnConstraints)
    tags: Mapping[str, str] = field(default_factory=dict)

    def __init__(
        self,
        name: str,
        type: str = "string",
        description: str | None = None,
        constraints: TableColumnConstraints | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        s = object.__setattr__
        s(self, "name", name)
        s(self, "type", type)
        s(self, "description", description)
        s(self, "constraints", constraints or TableColumnConstraints())
        s(self, "tags", dict(tags or {}))

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "description": self.description,
            "constraints": self.constraints.to_json(),
            "tags": dict(self.tags),
        }


@dataclass(frozen=True, slots=True)
class TableSchema:
    """The columns of a table, for `MetadataValue.table_schema` or as a metadata value.

    Example:
        >>> schema = TableSchema(columns=[TableColumn("id", "int"), TableColumn("name")])
        >>> [c.name for c in schema.columns]
        ['id', 'name']
    """

    columns: tuple[TableColumn, ...]
    constraints: TableConstraints

    def __init__(
        self, columns: Sequence[TableColumn], constraints: TableConstraints | None = None
    ) -> None:
        object.__setattr__(self, "columns", tuple(columns))
        object.__setattr__(self, "constraints", constraints or TableConstraints())

    def to_json(self) -> dict[str, Any]:
        return {
            "columns": [c.to_json() for c in self.columns],
            "constraints": self.constraints.to_json(),
        }

    @staticmethod
    def from_json(raw: Mapping[str, Any]) -> TableSchema:
        columns = []
        for col in raw.get("columns", ()):
            cons = col.get("constraints") or {}
            columns.append(
                TableColumn(
                    col["name"],
                    col.get("type", "string"),
                    col.get("description"),
                    TableColumnConstraints(
                        nullable=cons.get("nullable", True),
                        unique=cons.get("unique", False),
                        other=tuple(cons.get("other", ())),
                    ),
                    col.get("tags"),
                )
            )
        other = (raw.get("constraints") or {}).get("other", ())
        return TableSchema(columns, TableConstraints(other=tuple(other)))


class MetadataValue:
    """A typed metadata value; build one with the static constructors.

    Example:
        >>> MetadataValue.url("https://example.com/orders").value
        'https://example.com/orders'
    """

    __slots__ = ()
    kind: ClassVar[MetadataKind]

    @property
    def value(self) -> Any:
        raise NotImplementedError  # every subclass defines it

    def to_json_value(self) -> Any:
        """The value as plain JSON, as the event log stores it."""
        return self.value

    @staticmethod
    def text(text: str) -> TextMetadataValue:
        return TextMetadataValue(text)

    @staticmethod
    def int(value: int) -> IntMetadataValue:
        return IntMetadataValue(value)

    @staticmethod
    def float(value: float) -> FloatMetadataValue:
        return FloatMetadataValue(value)

    @staticmethod
    def bool(value: bool) -> BoolMetadataValue:
        return BoolMetadataValue(value)

    @staticmethod
    def null() -> NullMetadataValue:
        return NullMetadataValue()

    @staticmethod
    def json(data: Any) -> JsonMetadataValue:
        return JsonMetadataValue(data)

    @staticmethod
    def url(url: str) -> UrlMetadataValue:
        return UrlMetadataValue(url)

    @staticmethod
    def path(path: str | os.PathLike[str]) -> PathMetadataValue:
        return PathMetadataValue(os.fspath(path))

    @staticmethod
    def md(data: str) -> MarkdownMetadataValue:
        return MarkdownMetadataValue(data)

    @staticmethod
    def timestamp(value: builtins.float | datetime) -> TimestampMetadataValue:
        if isinstance(value, datetime):
            return TimestampMetadataValue(value.timestamp())
        return TimestampMetadataValue(float(value))

    @staticmethod
    def table_schema(schema: TableSchema) -> TableSchemaMetadataValue:
        return TableSchemaMetadataValue(schema)

    @staticmethod
    def asset(asset_key: Any) -> AssetMetadataValue:
        return AssetMetadataValue(coerce_key(asset_key))


@dataclass(frozen=True, slots=True)
class TextMetadataValue(MetadataValue):
    text: str  # type: ignore[assignment]  # Dagster's field name, shadowing the constructor
    kind: ClassVar[MetadataKind] = MetadataKind.TEXT

    @property
    def value(self) -> str:
        return self.text


@dataclass(frozen=True, slots=True)
class IntMetadataValue(MetadataValue):
    value: int
    kind: ClassVar[MetadataKind] = MetadataKind.INT


@dataclass(frozen=True, slots=True)
class FloatMetadataValue(MetadataValue):
    value: float
    kind: ClassVar[MetadataKind] = MetadataKind.FLOAT


@dataclass(frozen=True, slots=True)
class BoolMetadataValue(MetadataValue):
    value: bool
    kind: ClassVar[MetadataKind] = MetadataKind.BOOL


@dataclass(frozen=True, slots=True)
class NullMetadataValue(MetadataValue):
    kind: ClassVar[MetadataKind] = MetadataKind.NULL

    @property
    def value(self) -> None:
        return None


@dataclass(frozen=True, slots=True)
class JsonMetadataValue(MetadataValue):
    data: Any
    kind: ClassVar[MetadataKind] = MetadataKind.JSON

    @property
    def value(self) -> Any:
        return self.data


@dataclass(frozen=True, slots=True)
class UrlMetadataValue(MetadataValue):
    url: str  # type: ignore[assignment]  # Dagster's field name, shadowing the constructor
    kind: ClassVar[MetadataKind] = MetadataKind.URL

    @property
    def value(self) -> str:
        return self.url


@dataclass(frozen=True, slots=True)
class PathMetadataValue(MetadataValue):
    fspath: str
    kind: ClassVar[MetadataKind] = MetadataKind.PATH

    @property
    def value(self) -> str:
        return self.fspath


@dataclass(frozen=True, slots=True)
class MarkdownMetadataValue(MetadataValue):
    md_str: str
    kind: ClassVar[MetadataKind] = MetadataKind.MARKDOWN

    @property
    def value(self) -> str:
        return self.md_str


@dataclass(frozen=True, slots=True)
class TimestampMetadataValue(MetadataValue):
    value: float
    kind: ClassVar[MetadataKind] = MetadataKind.TIMESTAMP


@dataclass(frozen=True, slots=True)
class TableSchemaMetadataValue(MetadataValue):
    schema: TableSchema
    kind: ClassVar[MetadataKind] = MetadataKind.TABLE_SCHEMA

    @property
    def value(self) -> TableSchema:
        return self.schema

    def to_json_value(self) -> Any:
        return self.schema.to_json()


@dataclass(frozen=True, slots=True)
class AssetMetadataValue(MetadataValue):
    asset_key: AssetKey
    kind: ClassVar[MetadataKind] = MetadataKind.ASSET

    @property
    def value(self) -> AssetKey:
        return self.asset_key

    def to_json_value(self) -> Any:
        return self.asset_key.to_user_string()


def normalize_metadata_value(name: str, value: Any) -> MetadataValue:
    """The `MetadataValue` for a raw value, as Dagster infers it (str is text, dict is json)."""
    if isinstance(value, MetadataValue):
        return value
    if isinstance(value, TableSchema):
        return TableSchemaMetadataValue(value)
    if isinstance(value, AssetKey):
        return AssetMetadataValue(value)
    if value is None:
        return NullMetadataValue()
    if isinstance(value, bool):  # before int: True is an int
        return BoolMetadataValue(value)
    if isinstance(value, int):
        return IntMetadataValue(value)
    if isinstance(value, float):
        return FloatMetadataValue(value)
    if isinstance(value, str):
        return TextMetadataValue(value)
    if isinstance(value, (dict, list)):
        return JsonMetadataValue(value)
    if isinstance(value, datetime):
        return TimestampMetadataValue(value.timestamp())
    if isinstance(value, os.PathLike):
        return PathMetadataValue(os.fspath(value))
    raise DefinitionError(
        f"Metadata entry {name!r} is a {type(value).__name__}, which has no metadata kind. "
        "Fix: pass a str, int, float, bool, dict, list, None or a MetadataValue "
        "(e.g. MetadataValue.text(str(value)))."
    )


def normalize_metadata(metadata: Mapping[str, Any] | None) -> dict[str, MetadataValue]:
    return {str(k): normalize_metadata_value(str(k), v) for k, v in (metadata or {}).items()}


def metadata_kinds(metadata: Mapping[str, Any]) -> dict[str, str]:
    """key -> kind for the entries whose kind their stored JSON does not show."""
    kinds = {}
    for name, value in metadata.items():
        if isinstance(value, TableSchema):
            kinds[str(name)] = MetadataKind.TABLE_SCHEMA.value
        elif isinstance(value, MetadataValue) and value.kind not in _IMPLIED:
            if isinstance(value, JsonMetadataValue) and isinstance(value.data, (dict, list)):
                continue  # JSON of a dict or a list reads back as json anyway
            kinds[str(name)] = value.kind.value
    return kinds


def decode_metadata(
    raw: Mapping[str, Any], kinds: Mapping[str, str] | None
) -> dict[str, MetadataValue]:
    """Stored metadata (JSON and its kinds map) back as `MetadataValue`s."""
    kinds = kinds or {}
    return {name: _decode(value, kinds.get(name)) for name, value in raw.items()}


def _decode(value: Any, kind: str | None) -> MetadataValue:
    if kind is None:
        return normalize_metadata_value("", value)  # JSON types always have a kind
    match MetadataKind(kind):
        case MetadataKind.URL:
            return UrlMetadataValue(value)
        case MetadataKind.PATH:
            return PathMetadataValue(value)
        case MetadataKind.MARKDOWN:
            return MarkdownMetadataValue(value)
        case MetadataKind.TIMESTAMP:
            return TimestampMetadataValue(float(value))
        case MetadataKind.TABLE_SCHEMA:
            return TableSchemaMetadataValue(TableSchema.from_json(value))
        case MetadataKind.ASSET:
            return AssetMetadataValue(coerce_key(value))
        case MetadataKind.JSON:
            return JsonMetadataValue(value)
        case _:
            return normalize_metadata_value("", value)
