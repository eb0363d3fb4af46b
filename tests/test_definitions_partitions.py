"""partitions_def=, backfill_policy= and partition mappings on asset definitions."""

import pytest

import sheer as dg
from sheer.definitions.backfill_policy import resolve_backfill_policy
from sheer.errors import DefinitionError

daily = dg.DailyPartitionsDefinition(start_date="2026-01-01")
letters = dg.StaticPartitionsDefinition(["a", "b"])


def test_partitions_def_is_kept_on_specs_assets_and_virtual_assets():
    spec = dg.AssetSpec("view", partitions_def=daily, is_virtual=True)

    @dg.asset(partitions_def=daily)
    def table(): ...

    assert spec.partitions_def == daily
    assert table.partitions_def == daily
    assert table.specs[0].partitions_def == daily


def test_an_unpartitioned_asset_has_no_partitions_def():
    @dg.asset
    def plain(): ...

    assert plain.partitions_def is None
    assert plain.backfill_policy is None


def test_a_partitions_def_that_is_not_one_names_the_asset_and_the_fix():
    with pytest.raises(DefinitionError) as info:
        dg.AssetSpec("orders", partitions_def="daily")
    message = str(info.value)
    assert "Asset 'orders' has partitions_def='daily' (a str)" in message
    assert "Fix: pass one of Sheer's, e.g. DailyPartitionsDefinition" in message


def test_a_dagster_partitions_def_is_named_as_dagsters():
    dagster = pytest.importorskip("dagster", reason="the bench extra installs Dagster")
    with pytest.raises(DefinitionError, match="Dagster's StaticPartitionsDefinition: import it"):

        @dg.asset(partitions_def=dagster.StaticPartitionsDefinition(["a"]))
        def orders(): ...


def test_multi_asset_partitions_def_is_inherited_by_specs_without_one():
    @dg.multi_asset(specs=[dg.AssetSpec("a"), dg.AssetSpec("b")], partitions_def=daily)
    def both(): ...

    assert {s.partitions_def for s in both.specs} == {daily}
    assert both.partitions_def == daily


def test_multi_asset_spec_with_another_partitions_def_than_the_decorator_is_an_error():
    with pytest.raises(DefinitionError) as info:

        @dg.multi_asset(specs=[dg.AssetSpec("a", partitions_def=letters)], partitions_def=daily)
        def both(): ...

    assert "its spec 'a' has partitions_def=" in str(info.value)
    assert "Fix: give the spec the same partitions_def" in str(info.value)


def test_multi_asset_specs_with_different_partitions_defs_need_can_subset():
    specs = [dg.AssetSpec("a", partitions_def=letters), dg.AssetSpec("b", partitions_def=daily)]
    with pytest.raises(DefinitionError, match=r"different partitions definitions.*can_subset"):

        @dg.multi_asset(specs=specs)
        def both(): ...

    @dg.multi_asset(specs=specs, can_subset=True)
    def each(): ...

    assert {s.key.to_user_string(): s.partitions_def for s in each.specs} == {
        "a": letters,
        "b": daily,
    }


def test_multi_asset_may_mix_partitioned_and_unpartitioned_specs():
    @dg.multi_asset(specs=[dg.AssetSpec("a", partitions_def=letters), dg.AssetSpec("b")])
    def mixed(): ...

    assert mixed.partitions_def == letters


def test_asset_in_partition_mapping_reaches_the_dependency():
    mapping = object()  # any value: checked once mappings are validated at graph build

    @dg.asset(partitions_def=daily, ins={"up": dg.AssetIn(partition_mapping=mapping)})
    def down(up): ...

    (dep,) = down.specs[0].deps
    assert dep.asset_key == dg.AssetKey("up")
    assert dep.partition_mapping is mapping
    assert down.get_partition_mapping("up") is mapping


def test_asset_dep_partition_mapping_is_read_by_get_partition_mapping():
    mapping = object()

    @dg.asset(partitions_def=daily, deps=[dg.AssetDep("raw", partition_mapping=mapping), "other"])
    def down(): ...

    assert down.get_partition_mapping(dg.AssetKey("raw")) is mapping
    assert down.get_partition_mapping("other") is None


def test_backfill_policy_single_and_multi_run_as_dagster():
    assert dg.BackfillPolicy.single_run().max_partitions_per_run is None
    assert dg.BackfillPolicy.single_run().policy_type is dg.BackfillPolicyType.SINGLE_RUN
    assert dg.BackfillPolicy.multi_run().max_partitions_per_run == 1
    assert dg.BackfillPolicy.multi_run(5).policy_type is dg.BackfillPolicyType.MULTI_RUN
    assert (
        str(dg.BackfillPolicy.multi_run(5)) == "BackfillPolicy.multi_run(max_partitions_per_run=5)"
    )
    assert str(dg.BackfillPolicy.single_run()) == "BackfillPolicy.single_run()"


def test_backfill_policy_multi_run_refuses_fewer_than_one_partition():
    with pytest.raises(DefinitionError, match="at least 1"):
        dg.BackfillPolicy.multi_run(0)


def test_backfill_policy_on_asset_and_multi_asset():
    @dg.asset(partitions_def=daily, backfill_policy=dg.BackfillPolicy.single_run())
    def table(): ...

    @dg.multi_asset(
        specs=[dg.AssetSpec("a")],
        partitions_def=daily,
        backfill_policy=dg.BackfillPolicy.multi_run(7),
    )
    def many(): ...

    assert table.backfill_policy == dg.BackfillPolicy.single_run()
    assert many.backfill_policy == dg.BackfillPolicy.multi_run(7)


def test_a_backfill_policy_that_is_not_one_is_an_error():
    with pytest.raises(DefinitionError, match="is not a BackfillPolicy"):

        @dg.asset(backfill_policy="single")  # type: ignore[arg-type]
        def table(): ...


def test_assets_backfilled_together_follow_the_most_restrictive_policy():
    single = dg.BackfillPolicy.single_run()
    assert (
        resolve_backfill_policy([single, dg.BackfillPolicy.multi_run(3)]).max_partitions_per_run
        == 3
    )
    assert resolve_backfill_policy([single, None]) == dg.BackfillPolicy.multi_run(1)
    assert resolve_backfill_policy([single]) == single
    assert resolve_backfill_policy([]) == dg.BackfillPolicy.multi_run(1)


def test_backfill_policy_matches_dagster():
    dagster = pytest.importorskip("dagster", reason="the bench extra installs Dagster")
    from dagster._core.definitions.backfill_policy import (
        resolve_backfill_policy as dagster_resolve,
    )

    for ours, theirs in [
        (dg.BackfillPolicy.single_run(), dagster.BackfillPolicy.single_run()),
        (dg.BackfillPolicy.multi_run(), dagster.BackfillPolicy.multi_run()),
        (dg.BackfillPolicy.multi_run(4), dagster.BackfillPolicy.multi_run(4)),
    ]:
        assert ours.max_partitions_per_run == theirs.max_partitions_per_run
        assert ours.policy_type.value == theirs.policy_type.value
        assert str(ours) == str(theirs)
    mixed = [dagster.BackfillPolicy.single_run(), None, dagster.BackfillPolicy.multi_run(3)]
    ours_mixed = [dg.BackfillPolicy.single_run(), None, dg.BackfillPolicy.multi_run(3)]
    assert (
        resolve_backfill_policy(ours_mixed).max_partitions_per_run
        == dagster_resolve(mixed).max_partitions_per_run
    )
