"""Typed metadata values: inferred kinds, the stored kinds map, and reading back."""

import datetime
from pathlib import Path

import pytest

import sheer as dg
from sheer.metadata import (
    MetadataKind,
    decode_metadata,
    metadata_kinds,
    normalize_metadata_value,
)


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        ("x", MetadataKind.TEXT),
        (True, MetadataKind.BOOL),  # a bool is not read as an int
        (3, MetadataKind.INT),
        (1.5, MetadataKind.FLOAT),
        (None, MetadataKind.NULL),
        ({"a": 1}, MetadataKind.JSON),
        ([1, 2], MetadataKind.JSON),
        (Path("/tmp/x"), MetadataKind.PATH),
        (datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC), MetadataKind.TIMESTAMP),
        (dg.AssetKey(["s", "t"]), MetadataKind.ASSET),
        (dg.TableSchema([dg.TableColumn("a")]), MetadataKind.TABLE_SCHEMA),
    ],
)
def test_a_raw_value_gets_dagsters_kind(raw, kind):
    assert normalize_metadata_value("k", raw).kind is kind


def test_only_kinds_json_cannot_show_are_written_to_the_kinds_map():
    metadata = {
        "rows": dg.MetadataValue.int(3),
        "plain": 3,
        "link": dg.MetadataValue.url("https://x"),
        "config": dg.MetadataValue.json({"a": 1}),
        "scalar_json": dg.MetadataValue.json(5),
        "schema": dg.TableSchema([dg.TableColumn("a")]),
    }
    assert metadata_kinds(metadata) == {
        "link": "url",
        "scalar_json": "json",
        "schema": "table_schema",
    }


def test_stored_metadata_decodes_to_the_values_written():
    written = {
        "link": dg.MetadataValue.url("https://x"),
        "doc": dg.MetadataValue.md("# t"),
        "when": dg.MetadataValue.timestamp(10.0),
        "up": dg.MetadataValue.asset("s/t"),
        "schema": dg.MetadataValue.table_schema(dg.TableSchema([dg.TableColumn("a", "int")])),
        "n": 1,
    }
    from sheer.events import clean_metadata

    decoded = decode_metadata(clean_metadata(written), metadata_kinds(written))
    assert decoded == {**written, "n": dg.MetadataValue.int(1)}
