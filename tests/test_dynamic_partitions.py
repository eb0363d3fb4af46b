"""Dynamic partitions stored in the instance (sheer.storage.dynamic_partitions), on SQLite
and PostgreSQL (see conftest.py): Dagster's semantics, read beside `DagsterInstance`
(skipped with a reason when `dagster` is not installed), one statement per add, one read
per definition per evaluation, the migration, and the messages for bad input."""

from __future__ import annotations

import inspect as pyinspect
import threading
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

import sheer as dg
from fixtures.sql import counting_queries
from sheer.errors import DefinitionError, MultipleDefinitionErrors
from sheer.partitions.base import DynamicPartitionsStore, PartitionKeyRange
from sheer.partitions.dynamic import DynamicPartitionsDefinition, InMemoryDynamicPartitions
from sheer.partitions.multi import MultiPartitionsDefinition
from sheer.partitions.static import StaticPartitionsDefinition
from sheer.storage import schema
from sheer.storage.dynamic_partitions import MAX_KEY_BYTES, CachingDynamicPartitionsLoader

try:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import dagster
except ImportError:  # the bench extra is not installed
    dagster = None


@pytest.fixture
def dagster_instance() -> Iterator[Any]:
    if dagster is None:
        pytest.skip("dagster is not installed (bench extra): nothing to compare with")
    with dagster.DagsterInstance.ephemeral() as instance:
        yield instance


def exercise(store: Any) -> list[Any]:
    """The same calls on any store; what each read answered, in order."""
    seen: list[Any] = []
    store.add_dynamic_partitions("fruits", ["pear", "apple"])
    store.add_dynamic_partitions("fruits", ["apple", "fig", "pear"])
    seen.append(list(store.get_dynamic_partitions("fruits")))
    store.delete_dynamic_partition("fruits", "plum")
    store.delete_dynamic_partition("never", "plum")
    store.delete_dynamic_partition("fruits", "pear")
    seen.append(list(store.get_dynamic_partitions("fruits")))
    store.add_dynamic_partitions("fruits", ["pear"])
    store.add_dynamic_partitions("fruits", [])
    seen.append(list(store.get_dynamic_partitions("fruits")))
    seen.append(list(store.get_dynamic_partitions("never")))
    seen.append([store.has_dynamic_partition("fruits", k) for k in ["pear", "plum"]])
    seen.append(store.has_dynamic_partition("never", "pear"))
    store.add_dynamic_partitions("veg", ["pear"])
    seen.append(list(store.get_dynamic_partitions("veg")))
    seen.append(list(store.get_dynamic_partitions("fruits")))
    return seen


# Semantics ---------------------------------------------------------------------------------


def test_the_instance_keeps_keys_as_dagsters_instance_does(instance, dagster_instance):
    """First-add order; re-adding and deleting a missing key do nothing; a re-added key
    goes last; an unknown name has no keys; names are apart."""
    ours = exercise(instance)

    assert ours == exercise(dagster_instance)
    assert ours == exercise(InMemoryDynamicPartitions())
    assert ours[2] == ["apple", "fig", "pear"]


def test_a_deleted_key_added_again_goes_last(instance):
    instance.add_dynamic_partitions("fruits", ["a", "b", "c"])
    instance.delete_dynamic_partition("fruits", "c")  # the highest id: not reused first
    instance.delete_dynamic_partition("fruits", "a")
    instance.add_dynamic_partitions("fruits", ["c", "a", "b"])

    assert instance.get_dynamic_partitions("fruits") == ["b", "c", "a"]


def test_a_repeat_within_one_add_is_added_once_where_it_first_appears(instance):
    # Dagster's SQLite instance raises IntegrityError here and adds nothing
    instance.add_dynamic_partitions("fruits", ["pear", "apple", "pear", "fig", "apple"])

    assert instance.get_dynamic_partitions("fruits") == ["pear", "apple", "fig"]


def test_keys_outlive_the_instance_object_that_added_them(make_instance):
    first = make_instance()
    first.add_dynamic_partitions("fruits", ["pear", "apple"])
    first.dispose()

    again = make_instance()

    assert again.get_dynamic_partitions("fruits") == ["pear", "apple"]
    assert again.has_dynamic_partition("fruits", "apple")


def test_an_ephemeral_instance_keeps_keys_too():
    instance = dg.Instance.ephemeral()
    instance.add_dynamic_partitions("fruits", ["pear"])

    assert instance.get_dynamic_partitions("fruits") == ["pear"]
    assert exercise(dg.Instance.ephemeral()) == exercise(InMemoryDynamicPartitions())


def test_a_multi_partition_key_is_stored_as_its_plain_string(instance):
    key = dg.MultiPartitionKey({"date": "2026-01-02", "region": "eu"})
    instance.add_dynamic_partitions("combos", [key])

    (stored,) = instance.get_dynamic_partitions("combos")
    assert type(stored) is str and stored == "2026-01-02|eu"
    assert instance.has_dynamic_partition("combos", key)


def test_which_of_many_keys_exist_is_one_query(instance):
    instance.add_dynamic_partitions("fruits", ["pear", "apple", "fig"])
    asked = [f"k{i}" for i in range(5000)] + ["fig", "pear"]

    with counting_queries(instance) as statements:
        found = instance.get_existing_dynamic_partitions("fruits", asked)

    assert found == {"fig", "pear"}
    assert len(statements) == 1
    assert instance.get_existing_dynamic_partitions("never", ["fig"]) == set()
    assert instance.get_existing_dynamic_partitions("fruits", []) == set()


# Cost and concurrency ----------------------------------------------------------------------


def test_ten_thousand_keys_are_added_in_one_statement_in_the_order_given(instance):
    keys = [f"file-{(i * 7919) % 10_000:05d}" for i in range(10_000)]  # not sorted

    with counting_queries(instance) as statements:
        instance.add_dynamic_partitions("files", keys)

    assert len(statements) == 1
    assert instance.get_dynamic_partitions("files") == keys


def test_adding_keys_that_are_all_there_already_changes_nothing(instance):
    instance.add_dynamic_partitions("fruits", ["pear", "apple"])

    instance.add_dynamic_partitions("fruits", ["apple", "pear"])

    assert instance.get_dynamic_partitions("fruits") == ["pear", "apple"]


def test_adding_no_keys_sends_nothing(instance):
    with counting_queries(instance) as statements:
        instance.add_dynamic_partitions("fruits", [])
    assert statements == []


def test_concurrent_adders_of_the_same_keys_never_fail(make_instance):
    """Writers add the same 300 keys at the same moment, half of them in reverse order
    (on PostgreSQL, without taking turns, two such adders each wait for a row the other
    inserted, and one is aborted as a deadlock): none fails, every key is stored once."""
    keys = [f"k{i:03d}" for i in range(300)]
    writers = [make_instance() for _ in range(6)]
    rounds = 8
    errors: list[BaseException] = []
    start = threading.Barrier(len(writers))

    def add(instance: dg.Instance, order: list[str]) -> None:
        for r in range(rounds):
            try:
                start.wait()
                instance.add_dynamic_partitions(f"shared-{r}", order)
            except BaseException as exc:
                errors.append(exc)

    threads = [
        threading.Thread(target=add, args=(w, keys if i % 2 else keys[::-1]))
        for i, w in enumerate(writers)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    for r in range(rounds):
        stored = writers[0].get_dynamic_partitions(f"shared-{r}")
        assert stored in (keys, keys[::-1])  # one adder's order, each key once


def test_the_table_holds_one_row_per_name_and_key(instance):
    instance.add_dynamic_partitions("fruits", ["pear"])

    with pytest.raises(IntegrityError), instance.storage.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO dynamic_partitions (partitions_def_name, partition, created_at) "
                "VALUES ('fruits', 'pear', 0)"
            )
        )


# The instance as the definitions' store -----------------------------------------------------


def test_the_instance_has_the_methods_of_the_dynamic_partitions_store_protocol():
    for name in ("get_dynamic_partitions", "has_dynamic_partition"):
        wanted = pyinspect.signature(getattr(DynamicPartitionsStore, name))
        given = pyinspect.signature(getattr(dg.Instance, name))
        assert list(given.parameters) == list(wanted.parameters), name
    store: DynamicPartitionsStore = dg.Instance.ephemeral()  # mypy checks src's use
    assert store.get_dynamic_partitions("fruits") == []


def test_a_dynamic_definition_reads_its_keys_from_the_instance(instance):
    fruits = DynamicPartitionsDefinition(name="fruits")
    instance.add_dynamic_partitions(fruits.name, ["pear", "apple", "fig"])

    assert fruits.get_partition_keys(dynamic_partitions_store=instance) == ["pear", "apple", "fig"]
    assert fruits.has_partition_key("fig", dynamic_partitions_store=instance)
    assert not fruits.has_partition_key("plum", dynamic_partitions_store=instance)
    assert fruits.get_last_partition_key(dynamic_partitions_store=instance) == "fig"
    assert fruits.get_partition_keys_in_range(PartitionKeyRange("apple", "fig"), instance) == [
        "apple",
        "fig",
    ]


def test_dynamic_reads_through_the_instance_match_dagster(instance, dagster_instance):
    theirs = dagster.DynamicPartitionsDefinition(name="fruits")
    ours = DynamicPartitionsDefinition(name="fruits")
    for store in (instance, dagster_instance):
        store.add_dynamic_partitions("fruits", ["pear", "apple", "fig"])
        store.delete_dynamic_partition("fruits", "pear")
        store.add_dynamic_partitions("fruits", ["pear", "kiwi"])

    assert ours.get_partition_keys(dynamic_partitions_store=instance) == theirs.get_partition_keys(
        dynamic_partitions_store=dagster_instance
    )
    for key in ["pear", "plum", "kiwi"]:
        assert ours.has_partition_key(
            key, dynamic_partitions_store=instance
        ) == theirs.has_partition_key(key, dynamic_partitions_store=dagster_instance)


def test_a_multi_definition_with_a_dynamic_dimension_reads_the_instance(instance):
    multi = MultiPartitionsDefinition(
        {
            "fruit": DynamicPartitionsDefinition(name="fruits"),
            "size": StaticPartitionsDefinition(["s", "l"]),
        }
    )
    instance.add_dynamic_partitions("fruits", ["pear", "apple"])

    keys = multi.get_partition_keys(dynamic_partitions_store=instance)

    assert [str(k) for k in keys] == ["pear|s", "pear|l", "apple|s", "apple|l"]


# The cached read path ----------------------------------------------------------------------


def test_a_loader_reads_each_definition_once_however_many_keys_are_checked(instance):
    instance.add_dynamic_partitions("fruits", [f"f{i}" for i in range(500)])
    instance.add_dynamic_partitions("veg", ["leek"])
    fruits = DynamicPartitionsDefinition(name="fruits")

    with counting_queries(instance) as statements:
        loader = instance.dynamic_partitions_loader()
        found = [
            fruits.has_partition_key(f"f{i}", dynamic_partitions_store=loader) for i in range(1000)
        ]
        keys = fruits.get_partition_keys(dynamic_partitions_store=loader)
        leek = loader.has_dynamic_partition("veg", "leek")
        none = loader.get_dynamic_partitions("never")

    assert found == [True] * 500 + [False] * 500
    assert keys == [f"f{i}" for i in range(500)]
    assert (leek, none) == (True, ())
    assert len(statements) == 3  # fruits, veg, never: one read each


def test_without_a_loader_each_check_is_a_query_of_its_own(instance):
    instance.add_dynamic_partitions("fruits", ["pear"])
    with counting_queries(instance) as statements:
        for _ in range(3):
            instance.has_dynamic_partition("fruits", "pear")
    assert len(statements) == 3


def test_a_loader_keeps_the_keys_it_read_and_a_new_one_sees_changes(instance):
    instance.add_dynamic_partitions("fruits", ["pear"])
    loader = instance.dynamic_partitions_loader()
    assert loader.get_dynamic_partitions("fruits") == ("pear",)

    instance.add_dynamic_partitions("fruits", ["apple"])
    instance.delete_dynamic_partition("fruits", "pear")

    assert loader.get_dynamic_partitions("fruits") == ("pear",)
    assert loader.has_dynamic_partition("fruits", "pear")
    fresh = instance.dynamic_partitions_loader()
    assert fresh.get_dynamic_partitions("fruits") == ("apple",)
    assert not fresh.has_dynamic_partition("fruits", "pear")


def test_a_loader_works_over_any_store():
    store = InMemoryDynamicPartitions()
    store.add_dynamic_partitions("fruits", ["pear", "apple"])
    loader = CachingDynamicPartitionsLoader(store)

    assert DynamicPartitionsDefinition(name="fruits").get_partition_keys(
        dynamic_partitions_store=loader
    ) == ["pear", "apple"]


# The migration -----------------------------------------------------------------------------


def test_a_version_4_database_gets_the_table_keeping_its_data(make_instance):
    old = make_instance()
    old.report_runless_asset_event(dg.AssetMaterialization("a", data_version="v1"))
    with old.storage.engine.begin() as conn:  # back to version 4: no dynamic partitions
        conn.execute(text("DROP TABLE dynamic_partitions"))
        conn.execute(text("UPDATE sheer_schema SET version = 4 WHERE id = 1"))
    old.dispose()

    upgraded = make_instance()

    with upgraded.storage.engine.connect() as conn:
        version = conn.execute(text("SELECT version FROM sheer_schema WHERE id = 1")).scalar()
        indexes = inspect(conn).get_indexes("dynamic_partitions")
    assert version == schema.CURRENT_VERSION >= 5
    assert upgraded.get_latest_materialization("a").data_version == dg.DataVersion("v1")
    (unique,) = [i for i in indexes if i["name"] == "ux_dynamic_partitions"]
    assert unique["unique"] and unique["column_names"] == ["partitions_def_name", "partition"]
    upgraded.add_dynamic_partitions("fruits", ["pear"])
    assert upgraded.get_dynamic_partitions("fruits") == ["pear"]


# Bad input ---------------------------------------------------------------------------------

KEYS_PROBLEM = "Cannot add keys to dynamic partitions 'fruits' (nothing was added): "


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        (
            ["ok", "a...b"],
            KEYS_PROBLEM + "Partition key 'a...b' contains '...', which a partition key may not "
            "contain ('...' separates the ends of a range; control characters do not display). "
            "Fix: remove or replace them, e.g. 'a_b'.",
        ),
        (
            ["ok", "tab\there"],
            KEYS_PROBLEM + "Partition key 'tab\\there' contains '\\t', which a partition key may "
            "not contain ('...' separates the ends of a range; control characters do not "
            "display). Fix: remove or replace them, e.g. 'tabhere'.",
        ),
        (
            ["ok", 1],
            KEYS_PROBLEM + "Partition key 1 is a int, not a string. Fix: give the key as a "
            "string, e.g. '1'.",
        ),
        (
            ["ok", "x" * 1100],
            KEYS_PROBLEM + f"Partition key {'x' * 40!r}... is 1,100 bytes long (UTF-8), and a "
            "dynamic partition key may be at most 1,024 bytes (the instance indexes every key). "
            "Fix: use a shorter key, e.g. an id or a hash of what it names.",
        ),
        (
            "pear",
            "add_dynamic_partitions got the string 'pear' for the keys of dynamic partitions "
            "'fruits', where it needs a list of keys (a string would be read letter by letter). "
            "Fix: wrap it in a list: instance.add_dynamic_partitions('fruits', ['pear']).",
        ),
        (
            {"pear", "apple"},
            "add_dynamic_partitions got a set for the keys of dynamic partitions 'fruits': a set "
            "has no order, and dynamic partitions keep their keys in the order they were added. "
            "Fix: pass a list, e.g. instance.add_dynamic_partitions('fruits', sorted(keys)).",
        ),
        (
            None,
            "add_dynamic_partitions needs a list of keys for dynamic partitions 'fruits', got "
            "None (NoneType). Fix: pass a list of strings, e.g. "
            "instance.add_dynamic_partitions('fruits', ['apple', 'pear']).",
        ),
    ],
)
def test_bad_keys_are_refused_naming_the_definition_and_nothing_is_added(instance, keys, message):
    with pytest.raises(DefinitionError) as err:
        instance.add_dynamic_partitions("fruits", keys)

    assert str(err.value) == message
    assert instance.get_dynamic_partitions("fruits") == []


def test_every_bad_key_is_reported_at_once(instance):
    with pytest.raises(MultipleDefinitionErrors) as err:
        instance.add_dynamic_partitions("fruits", ["a...b", "ok", 2])

    assert str(err.value) == (
        "2 problems in the definitions:\n"
        f"  1. {KEYS_PROBLEM}Partition key 'a...b' contains '...', which a partition key may "
        "not contain ('...' separates the ends of a range; control characters do not "
        "display). Fix: remove or replace them, e.g. 'a_b'.\n"
        f"  2. {KEYS_PROBLEM}Partition key 2 is a int, not a string. Fix: give the key as a "
        "string, e.g. '2'."
    )
    assert instance.get_dynamic_partitions("fruits") == []


def test_a_key_of_the_largest_size_is_accepted(instance):
    key = "é" * (MAX_KEY_BYTES // 2)  # two bytes each in UTF-8
    instance.add_dynamic_partitions("fruits", [key])
    assert instance.has_dynamic_partition("fruits", key)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            3,
            "get_dynamic_partitions needs the name of a DynamicPartitionsDefinition (a non-empty "
            "string) as partitions_def_name, got 3 (int). Fix: pass the name the definition was "
            "given, e.g. instance.get_dynamic_partitions('fruits', ...) for "
            "DynamicPartitionsDefinition(name='fruits').",
        ),
        (
            "",
            "get_dynamic_partitions needs the name of a DynamicPartitionsDefinition (a non-empty "
            "string) as partitions_def_name, got an empty string. Fix: pass the name the "
            "definition was given, e.g. instance.get_dynamic_partitions('fruits', ...) for "
            "DynamicPartitionsDefinition(name='fruits').",
        ),
        (
            DynamicPartitionsDefinition(name="fruits"),
            "get_dynamic_partitions takes the name of a DynamicPartitionsDefinition, not the "
            "definition: got DynamicPartitionsDefinition(partition_fn=None, name='fruits'). "
            "Fix: pass its name, instance.get_dynamic_partitions('fruits', ...) (or "
            "partitions_def.name).",
        ),
    ],
)
def test_a_name_that_is_not_a_string_is_refused_with_what_to_pass(instance, name, message):
    with pytest.raises(DefinitionError) as err:
        instance.get_dynamic_partitions(name)
    assert str(err.value) == message


def test_every_method_checks_the_name(instance):
    calls = [
        lambda: instance.add_dynamic_partitions(None, ["pear"]),
        lambda: instance.delete_dynamic_partition(None, "pear"),
        lambda: instance.has_dynamic_partition(None, "pear"),
        lambda: instance.get_existing_dynamic_partitions(None, ["pear"]),
    ]
    for call in calls:
        with pytest.raises(DefinitionError, match="got None \\(NoneType\\)"):
            call()


def test_deleting_several_keys_at_once_says_to_delete_one_at_a_time(instance):
    instance.add_dynamic_partitions("fruits", ["pear"])

    with pytest.raises(DefinitionError) as err:
        instance.delete_dynamic_partition("fruits", ["pear"])

    assert str(err.value) == (
        "delete_dynamic_partition needs one key (a string) of dynamic partitions 'fruits', got "
        "['pear'] (list). Fix: call it once per key: for key in keys: "
        "instance.delete_dynamic_partition('fruits', key)."
    )
    assert instance.get_dynamic_partitions("fruits") == ["pear"]


def test_checking_a_key_that_is_not_a_string_says_to_pass_one(instance):
    with pytest.raises(DefinitionError) as err:
        instance.has_dynamic_partition("fruits", 7)

    assert str(err.value) == (
        "has_dynamic_partition needs one key (a string) of dynamic partitions 'fruits', got 7 "
        "(int). Fix: pass the key as a string, e.g. instance.has_dynamic_partition('fruits', '7')."
    )
