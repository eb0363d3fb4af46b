"""Automation ticks: the seed's behaviour through virtual assets, tick by tick, with the cursor.

Each scenario steps through materializations and `evaluate_automation_conditions`
calls, handing each tick's cursor to the next, as the daemon does, on an instance of
each storage backend (SQLite and PostgreSQL, see conftest.py); the property tests run
once, on in-memory instances.
"""

import sys
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sheer as dg
from fixtures.sql import statements_during
from sheer.automation import AutomationCursor
from sheer.automation.conditions import (
    AndCondition,
    AssetMatches,
    DepsCondition,
    NewlyTrueCondition,
    NotCondition,
    OrCondition,
    SinceCondition,
)

AC = dg.AutomationCondition
_make_instance = dg.Instance.ephemeral


def empty_instance():
    """An instance on an empty database of the backend under test."""
    return _make_instance()


@pytest.fixture(autouse=True)
def _on_each_backend(backend, request, monkeypatch):
    # The property tests make hundreds of instances: they stay in memory, and run once.
    if getattr(request.function, "is_hypothesis_test", False):
        if backend != "sqlite":
            pytest.skip("the property tests run once, on in-memory instances")
        return
    monkeypatch.setattr(
        sys.modules[__name__], "_make_instance", request.getfixturevalue("new_instance")
    )


def seed_defs(condition, *, d_code_version=None):
    """The seed's graph: A -> B(v) -> C(v) -> D, with `condition` on D."""

    @dg.asset
    def A():
        return 1

    @dg.asset(is_virtual=True, deps=[A])
    def B():
        return None

    @dg.asset(is_virtual=True, deps=[B])
    def C():
        return None

    @dg.asset(deps=[C], automation_condition=condition, code_version=d_code_version)
    def D():
        return 1

    return dg.Definitions(assets=[A, B, C, D])


class Ticker:
    """Evaluates ticks on one instance, handing each tick's cursor to the next."""

    def __init__(self, defs, instance=None):
        self.defs = defs
        self.instance = instance or empty_instance()
        self.cursor = None
        self.result = None

    def tick(self, evaluation_time=None, defs=None):
        if defs is not None:
            self.defs = defs
        self.result = dg.evaluate_automation_conditions(
            defs=self.defs,
            instance=self.instance,
            cursor=self.cursor,
            evaluation_time=evaluation_time,
        )
        self.cursor = self.result.cursor
        return self.result

    def requested(self, evaluation_time=None):
        return {k.to_user_string() for k in self.tick(evaluation_time).get_requested_keys()}

    def materialize(self, *keys):
        self.defs.materialize(list(keys), instance=self.instance)

    def report(self, *keys, version="v"):
        for key in keys:
            self.instance.report_runless_asset_event(
                dg.AssetMaterialization(key, data_version=version)
            )


def true_labels(tree):
    """Labels of the true nodes, depth first, as explanations read them."""
    out = [tree.label] if tree.value else []
    for child in tree.children:
        out += true_labels(child)
    return out


def find(tree, label):
    if tree.label == label:
        return tree
    for child in tree.children:
        found = find(child, label)
        if found is not None:
            return found
    return None


# The seed: A -> B(v) -> C(v) -> D -----------------------------------------------


def test_any_deps_match_newly_updated_does_not_see_a_behind_the_views():
    t = Ticker(seed_defs(AC.any_deps_match(AC.newly_updated())))
    assert t.requested() == set()
    t.materialize("A")
    assert t.requested() == set()
    tree = t.result.get_evaluation("D").tree
    assert [(c.target.to_user_string(), c.value) for c in tree.children] == [("C", False)]


def test_resolve_through_virtual_sees_a_behind_the_views():
    t = Ticker(seed_defs(AC.any_deps_match(AC.newly_updated()).resolve_through_virtual()))
    assert t.requested() == set()
    t.materialize("A")
    assert t.requested() == {"D"}
    tree = t.result.get_evaluation("D").tree
    assert [(c.target.to_user_string(), c.value) for c in tree.children] == [("A", True)]
    assert t.requested() == set()  # newly_updated is about one tick only


def test_an_update_before_the_first_tick_is_not_newly_updated():
    t = Ticker(seed_defs(AC.any_deps_match(AC.newly_updated()).resolve_through_virtual()))
    t.materialize("A")
    assert t.requested() == set()  # as in Dagster: no previous tick, nothing is "newly" updated


def two_views_defs(condition):
    """A1 -> V1(v) -> D <- V2(v) <- A2."""
    a1 = dg.AssetSpec("A1")
    a2 = dg.AssetSpec("A2")
    v1 = dg.AssetSpec("V1", deps=["A1"], is_virtual=True)
    v2 = dg.AssetSpec("V2", deps=["A2"], is_virtual=True)

    @dg.asset(deps=["V1", "V2"], automation_condition=condition)
    def D():
        return 1

    return dg.Definitions(assets=[a1, a2, v1, v2, D])


def test_all_deps_match_through_virtual_requests_only_when_both_ancestors_match():
    t = Ticker(two_views_defs(AC.all_deps_match(AC.newly_updated()).resolve_through_virtual()))
    assert t.requested() == set()
    t.report("A1")
    assert t.requested() == set()
    t.report("A2")
    assert t.requested() == set()
    t.report("A1")
    t.report("A2")
    assert t.requested() == {"D"}
    tree = t.result.get_evaluation("D").tree
    assert [(c.target.to_user_string(), c.value) for c in tree.children] == [
        ("A1", True),
        ("A2", True),
    ]


def test_all_deps_match_not_missing_through_virtual_waits_for_both_ancestors():
    cond = AC.all_deps_match(~AC.missing())
    plain = Ticker(two_views_defs(cond))
    through = Ticker(two_views_defs(cond.resolve_through_virtual()), plain.instance)
    assert plain.requested() == set() and through.requested() == set()
    plain.report("A1")
    # a view is present as soon as anything behind it is: the plain condition is satisfied
    # by V1 and V2 only once A2 is there too, and so is the resolved one
    assert plain.requested() == set()
    assert through.requested() == set()
    plain.report("A2")
    assert plain.requested() == {"D"}
    assert through.requested() == {"D"}


def test_eager_does_not_see_a_behind_the_views_but_eager_through_virtual_does():
    plain = Ticker(seed_defs(AC.eager()))
    through = Ticker(seed_defs(AC.eager().resolve_through_virtual()), plain.instance)
    assert plain.requested() == set() and through.requested() == set()
    plain.materialize("A")
    assert plain.requested() == set()
    assert through.requested() == {"D"}
    eager = through.result.get_evaluation("D").tree
    assert eager.label == "eager (through virtual)"
    # the request is handled: no second request on the next ticks
    assert through.requested() == set()
    assert plain.requested() == set()
    assert through.requested() == set()


def test_eager_requests_d_when_the_view_itself_is_run():
    t = Ticker(seed_defs(AC.eager()))
    t.materialize("A")
    assert t.requested() == set()
    t.materialize("C")  # re-creating the view is an update of C
    assert t.requested() == {"D"}


def test_eager_through_virtual_waits_while_a_is_missing_then_requests_d_again_on_each_update():
    t = Ticker(seed_defs(AC.eager().resolve_through_virtual()))
    assert t.requested() == set()
    tree = t.result.get_evaluation("D").tree
    assert find(tree, "any_deps_missing (through virtual)").value is True
    t.materialize("A")
    assert t.requested() == {"D"}
    t.materialize("D")
    assert t.requested() == set()
    t.materialize("A")
    assert t.requested() == {"D"}


def test_eager_through_virtual_does_not_request_d_after_a_run_that_targeted_d():
    t = Ticker(seed_defs(AC.eager().resolve_through_virtual()))
    t.tick()
    t.materialize("A", "D")  # A was updated by a run that also updated D
    assert t.requested() == set()
    tree = t.result.get_evaluation("D").tree
    assert find(tree, "newly_updated_without_root").value is False


def three_ancestors_defs(condition):
    """A1, A2 -> V(v) -> D, and A3 -> D directly."""
    specs = [dg.AssetSpec(k) for k in ("A1", "A2", "A3")]
    view = dg.AssetSpec("V", deps=["A1", "A2"], is_virtual=True)

    @dg.asset(deps=["V", "A3"], automation_condition=condition)
    def D():
        return 1

    return dg.Definitions(assets=[*specs, view, D])


@pytest.mark.parametrize("order", ["resolve-first", "resolve-last"])
def test_ignore_combined_with_resolve_through_virtual_skips_an_ancestor_behind_a_view(order):
    base = AC.any_deps_match(AC.newly_updated())
    ignore = dg.AssetSelection.assets("A1")
    cond = (
        base.resolve_through_virtual().ignore(ignore)
        if order == "resolve-first"
        else base.ignore(ignore).resolve_through_virtual()
    )
    t = Ticker(three_ancestors_defs(cond))
    t.tick()
    t.report("A1")
    assert t.requested() == set()
    t.report("A2")
    assert t.requested() == {"D"}
    deps = [c.target.to_user_string() for c in t.result.get_evaluation("D").tree.children]
    assert deps == ["A2", "A3"]


@pytest.mark.parametrize("order", ["resolve-first", "resolve-last"])
def test_allow_combined_with_resolve_through_virtual_keeps_only_the_allowed_ancestors(order):
    base = AC.any_deps_match(AC.newly_updated())
    allow = dg.AssetSelection.assets("A1", "A3")
    cond = (
        base.resolve_through_virtual().allow(allow)
        if order == "resolve-first"
        else base.allow(allow).resolve_through_virtual()
    )
    t = Ticker(three_ancestors_defs(cond))
    t.tick()
    t.report("A2")
    assert t.requested() == set()
    t.report("A1")
    assert t.requested() == {"D"}
    t.report("A3")
    assert t.requested() == {"D"}
    deps = [c.target.to_user_string() for c in t.result.get_evaluation("D").tree.children]
    assert deps == ["A1", "A3"]


def test_allow_without_resolve_through_virtual_looks_at_the_view_itself():
    t = Ticker(
        three_ancestors_defs(
            AC.any_deps_match(AC.newly_updated()).allow(dg.AssetSelection.assets("V"))
        )
    )
    t.tick()
    t.report("A1")
    assert t.requested() == set()
    deps = [c.target.to_user_string() for c in t.result.get_evaluation("D").tree.children]
    assert deps == ["V"]


def test_eager_through_virtual_with_a_blocked_ancestor_ignored():
    cond = (
        AC.eager()
        .resolve_through_virtual()
        .replace("any_deps_missing", AC.any_deps_missing().ignore(dg.AssetSelection.assets("A2")))
    )
    t = Ticker(three_ancestors_defs(cond.resolve_through_virtual()))
    t.tick()
    t.report("A1", "A3")
    assert t.requested() == {"D"}  # A2 is still missing, but ignored


# on_cron -------------------------------------------------------------------------


def at(hour, minute):
    return datetime(2024, 1, 1, hour, minute, tzinfo=UTC)


def test_on_cron_fires_once_per_cron_tick_after_its_deps_update():
    t = Ticker(seed_defs(AC.on_cron("0 * * * *").resolve_through_virtual()))
    assert t.requested(at(9, 30)) == set()
    assert t.requested(at(10, 5)) == set()  # the 10:00 tick passed, but A has not updated
    t.materialize("A")
    assert t.requested(at(10, 15)) == {"D"}
    assert t.requested(at(10, 20)) == set()  # handled for this cron tick
    t.materialize("A")
    assert t.requested(at(10, 40)) == set()  # a second update in the same hour: no second run
    assert t.requested(at(11, 1)) == set()  # new cron tick: A has not updated since 11:00
    t.materialize("A")
    assert t.requested(at(11, 10)) == {"D"}
    assert t.requested(at(11, 20)) == set()


def test_on_cron_without_resolve_through_virtual_never_sees_a_behind_the_views():
    t = Ticker(seed_defs(AC.on_cron("0 * * * *")))
    t.tick(at(9, 30))
    t.materialize("A")
    assert t.requested(at(10, 5)) == set()
    assert t.requested(at(11, 5)) == set()


def test_on_cron_in_a_time_zone():
    t = Ticker(seed_defs(AC.on_cron("0 9 * * *", "Europe/Paris").resolve_through_virtual()))
    t.tick(at(7, 0))  # 08:00 in Paris
    t.materialize("A")
    assert t.requested(at(7, 30)) == set()
    assert t.requested(at(8, 1)) == set()  # 09:01 in Paris: A updated before 09:00
    t.materialize("A")
    assert t.requested(at(8, 10)) == {"D"}
    t.materialize("A")
    assert t.requested(at(8, 59)) == set()  # 09:59 in Paris: same cron tick


def test_cron_tick_passed_is_false_on_the_first_tick_and_true_once_per_tick():
    t = Ticker(seed_defs(AC.cron_tick_passed("0 * * * *")))
    assert t.requested(at(10, 0)) == set()
    assert t.requested(at(10, 30)) == set()
    assert t.requested(at(11, 0)) == {"D"}
    assert t.requested(at(11, 0)) == set()
    assert t.requested(at(13, 59)) == {"D"}  # two ticks passed: still one request


# Virtual operands -------------------------------------------------------------------


def test_missing_of_a_view_is_false_once_anything_behind_it_is_materialized():
    defs = dg.Definitions(
        assets=[
            dg.AssetSpec("A1"),
            dg.AssetSpec("A2"),
            dg.AssetSpec(
                "V", deps=["A1", "A2"], is_virtual=True, automation_condition=AC.missing()
            ),
        ]
    )
    t = Ticker(defs)
    assert t.tick().get_evaluation("V").value is True
    t.report("A2")
    assert t.tick().get_evaluation("V").value is False


def test_a_view_never_blocks_not_any_deps_missing_forever():
    t = Ticker(seed_defs(~AC.any_deps_missing()))
    assert t.requested() == set()
    t.materialize("A")  # B and C are never run; C is present because A is
    assert t.requested() == {"D"}


@st.composite
def virtual_graphs(draw):
    n = draw(st.integers(min_value=1, max_value=8))
    specs = []
    for i in range(n):
        parents = draw(st.lists(st.integers(0, i - 1), unique=True, max_size=3)) if i else []
        virtual = draw(st.booleans())
        specs.append(
            dg.AssetSpec(
                f"n{i}",
                deps=[f"n{p}" for p in parents],
                is_virtual=virtual,
                automation_condition=AC.missing(),
            )
        )
    reported = draw(st.sets(st.integers(0, n - 1)))
    return specs, sorted(f"n{i}" for i in reported)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(virtual_graphs())
def test_missing_of_a_virtual_asset_is_exactly_stale_status_missing(case):
    specs, reported = case
    defs = dg.Definitions(assets=specs)
    t = Ticker(defs)
    t.report(*reported)
    result = t.tick()
    status = defs.stale_status(t.instance)
    for spec in specs:
        assert result.get_evaluation(spec.key).value is (
            status[spec.key] is dg.StaleStatus.MISSING
        ), spec.key


def test_newly_updated_of_a_view_is_true_only_when_the_view_itself_was_run():
    @dg.asset
    def A():
        return 1

    @dg.asset(is_virtual=True, deps=[A], automation_condition=AC.newly_updated())
    def B():
        return None

    t = Ticker(dg.Definitions(assets=[A, B]))
    assert t.tick().get_evaluation("B").value is False
    t.materialize("A")
    assert t.tick().get_evaluation("B").value is False
    t.materialize("B")
    assert t.tick().get_evaluation("B").value is True
    assert t.tick().get_evaluation("B").value is False


# The cursor -----------------------------------------------------------------------


def test_the_cursor_round_trips_through_json():
    t = Ticker(seed_defs(AC.eager().resolve_through_virtual()))
    t.tick(at(9, 0))
    t.materialize("A")
    cursor = t.tick(at(9, 1)).cursor
    assert cursor.requested == {dg.AssetKey("D")}
    assert cursor.state  # since_last_handled keeps state
    again = AutomationCursor.from_json(cursor.to_json())
    assert again == cursor
    assert again.to_json() == cursor.to_json()
    assert AutomationCursor.from_json(None) is None
    assert AutomationCursor.from_json("") is None


def test_evaluating_with_a_round_tripped_cursor_gives_the_same_result():
    t = Ticker(seed_defs(AC.on_cron("0 * * * *").resolve_through_virtual()))
    t.tick(at(9, 30))
    first = t.tick(at(10, 5)).cursor  # the cron tick passed: waiting for A
    t.materialize("A")
    direct = dg.evaluate_automation_conditions(
        defs=t.defs, instance=t.instance, cursor=first, evaluation_time=at(10, 10)
    )
    loaded = dg.evaluate_automation_conditions(
        defs=t.defs,
        instance=t.instance,
        cursor=AutomationCursor.from_json(first.to_json()),
        evaluation_time=at(10, 10),
    )
    assert direct.get_requested_keys() == loaded.get_requested_keys() == {dg.AssetKey("D")}
    assert direct.cursor.to_json() == loaded.cursor.to_json()
    assert direct.get_evaluation("D").tree == loaded.get_evaluation("D").tree


def test_keys_with_prefixes_round_trip_in_the_cursor():
    defs = dg.Definitions(
        assets=[dg.AssetSpec(["raw", "orders"], automation_condition=AC.missing())]
    )
    cursor = dg.evaluate_automation_conditions(defs=defs, instance=empty_instance()).cursor
    assert AutomationCursor.from_json(cursor.to_json()) == cursor
    assert (
        dg.AssetKey(["raw", "orders"]) in AutomationCursor.from_json(cursor.to_json()).condition_ids
    )


# Errors -----------------------------------------------------------------------------


def test_a_condition_that_raises_fails_only_its_own_asset():
    @dg.asset
    def A():
        return 1

    broken = AC.asset_matches("Aa", AC.newly_updated())

    @dg.asset(deps=[A], automation_condition=broken)
    def bad():
        return 1

    @dg.asset(deps=[A], automation_condition=AC.any_deps_match(AC.newly_updated()))
    def good():
        return 1

    t = Ticker(dg.Definitions(assets=[A, bad, good]))
    t.tick()
    t.materialize("A")
    result = t.tick()
    assert result.get_requested_keys() == {dg.AssetKey("good")}
    evaluation = result.get_evaluation("bad")
    assert evaluation.requested is False and evaluation.tree is None
    assert evaluation.error == (
        "Evaluating the automation condition of 'bad' failed: UnknownAssetError: No asset "
        "named 'Aa' in the definitions. Did you mean 'A'? Fix: use one of the 3 defined keys "
        "(`sheer list defs` lists them)."
    )
    assert result.errors == {dg.AssetKey("bad"): evaluation.error}
    assert result.get_evaluation("good").error is None


# Operands ----------------------------------------------------------------------------


def one_asset(condition, **kwargs):
    @dg.asset(automation_condition=condition, **kwargs)
    def X():
        return 1

    return dg.Definitions(assets=[X])


def test_code_version_changed_is_true_on_the_tick_after_the_code_version_changes():
    t = Ticker(one_asset(AC.code_version_changed(), code_version="1"))
    assert t.requested() == set()
    assert t.requested() == set()
    t.defs = one_asset(AC.code_version_changed(), code_version="2")
    assert t.requested() == {"X"}
    assert t.requested() == set()


def test_initial_evaluation_is_true_on_the_first_tick_and_when_the_condition_changes():
    first = AC.initial_evaluation()
    t = Ticker(one_asset(first))
    assert t.requested() == {"X"}
    assert t.requested() == set()
    t.defs = one_asset(first | AC.execution_failed())
    assert t.requested() == {"X"}
    assert t.requested() == set()


def parent_child(parent_condition, child_condition, *, view=False):
    @dg.asset(automation_condition=parent_condition)
    def P():
        return 1

    assets = [P]
    parent = "P"
    if view:
        assets.append(dg.AssetSpec("V", deps=["P"], is_virtual=True))
        parent = "V"

    @dg.asset(deps=[parent], automation_condition=child_condition)
    def Q():
        return 1

    return dg.Definitions(assets=[*assets, Q])


def test_newly_requested_is_true_on_the_tick_after_a_request():
    t = Ticker(parent_child(AC.initial_evaluation(), AC.any_deps_match(AC.newly_requested())))
    assert t.requested() == {"P"}
    assert t.requested() == {"Q"}
    assert t.requested() == set()


def test_will_be_requested_sees_a_parent_requested_on_the_same_tick():
    t = Ticker(parent_child(AC.initial_evaluation(), AC.any_deps_match(AC.will_be_requested())))
    assert t.requested() == {"P", "Q"}
    assert t.requested() == set()


def test_will_be_requested_through_a_view():
    cond = AC.any_deps_match(AC.will_be_requested())
    plain = Ticker(parent_child(AC.initial_evaluation(), cond, view=True))
    assert plain.requested() == {"P"}
    through = Ticker(
        parent_child(AC.initial_evaluation(), cond.resolve_through_virtual(), view=True)
    )
    assert through.requested() == {"P", "Q"}


def test_in_progress_is_true_while_a_run_is_queued_or_started():
    t = Ticker(
        parent_child(
            AC.in_progress(), AC.any_deps_in_progress().resolve_through_virtual(), view=True
        )
    )
    assert t.requested() == set()
    run = t.instance.create_run([dg.AssetKey("P")], queued=True)
    assert t.requested() == {"P", "Q"}
    tree = t.result.get_evaluation("Q").tree
    assert [(c.target.to_user_string(), c.value) for c in tree.children] == [("P", True)]
    t.instance.claim_run(run.run_id)
    assert t.requested() == {"P", "Q"}
    t.instance.finish_run(run.run_id, True)
    assert t.requested() == set()


def test_eager_through_virtual_waits_while_an_ancestor_is_in_progress():
    t = Ticker(seed_defs(AC.eager().resolve_through_virtual()))
    t.tick()
    t.materialize("A")
    run = t.instance.create_run([dg.AssetKey("A")], queued=True)
    assert t.requested() == set()
    t.instance.finish_run(run.run_id, False)
    assert t.requested() == {"D"}  # the earlier update of A is still unhandled


def test_execution_failed_is_true_after_a_failed_run_until_a_successful_one():
    fail = {"now": True}

    @dg.asset(automation_condition=AC.execution_failed())
    def X():
        if fail["now"]:
            raise ValueError("boom")
        return 1

    @dg.asset(deps=[X], automation_condition=AC.execution_failed())
    def Y():
        return 1

    defs = dg.Definitions(assets=[X, Y])
    t = Ticker(defs)
    assert t.requested() == set()
    defs.materialize(["X", "Y"], instance=t.instance, raise_on_error=False)
    assert t.requested() == {"X", "Y"}  # Y was targeted and skipped: it failed to update too
    fail["now"] = False
    defs.materialize(["X"], instance=t.instance)
    assert t.requested() == {"Y"}
    defs.materialize(["Y"], instance=t.instance)
    assert t.requested() == set()


def test_execution_failed_is_false_for_an_asset_the_failed_run_did_materialize():
    @dg.asset(automation_condition=AC.execution_failed())
    def X():
        return 1

    @dg.asset(deps=[X], automation_condition=AC.execution_failed())
    def Y():
        raise ValueError("boom")

    defs = dg.Definitions(assets=[X, Y])
    t = Ticker(defs)
    defs.materialize(["X", "Y"], instance=t.instance, raise_on_error=False)
    assert t.requested() == {"Y"}


def test_a_spec_with_a_true_condition_is_evaluated_but_never_requested():
    defs = dg.Definitions(assets=[dg.AssetSpec("ext", automation_condition=AC.missing())])
    result = Ticker(defs).tick()
    assert result.get_evaluation("ext").value is True
    assert result.get_requested_keys() == frozenset()
    assert result.total_requested == 0
    assert result.get_num_requested("ext") == 0


def test_result_counts_requests():
    t = Ticker(parent_child(AC.initial_evaluation(), AC.any_deps_match(AC.will_be_requested())))
    result = t.tick()
    assert result.total_requested == 2
    assert result.get_num_requested("P") == 1
    assert result.get_num_requested(dg.AssetKey("Q")) == 1


# Explanations ---------------------------------------------------------------------


def test_the_evaluation_tree_says_which_sub_condition_was_true_through_virtual_assets():
    t = Ticker(seed_defs(AC.eager().resolve_through_virtual()))
    t.tick()
    t.materialize("A")
    tree = t.tick().get_evaluation("D").tree
    assert tree.value is True and tree.label == "eager (through virtual)"
    assert [(c.label, c.value) for c in tree.children] == [
        ("in_latest_time_window", True),
        ("(newly_missing | any_deps_updated (through virtual)) since (handled)", True),
        ("~any_deps_missing (through virtual)", True),
        ("~any_deps_in_progress (through virtual)", True),
        ("~in_progress", True),
    ]
    updated = find(tree, "any_deps_updated (through virtual)")
    assert updated.value is True
    assert updated.note == "through virtual assets"
    assert [(c.target.to_user_string(), c.value) for c in updated.children] == [("A", True)]
    assert find(updated, "newly_updated_without_root").value is True
    assert find(tree, "newly_missing").value is False
    assert "any_deps_updated (through virtual)" in true_labels(tree)
    as_json = t.result.get_evaluation("D").to_json()
    assert as_json["key"] == "D" and as_json["requested"] is True
    deps_json = as_json["tree"]["children"][1]["children"][0]["children"][1]
    assert deps_json["label"] == "any_deps_updated (through virtual)"
    assert deps_json["note"] == "through virtual assets"
    assert deps_json["children"][0]["target"] == "A"


def test_without_resolve_through_virtual_the_tree_shows_the_view_and_no_note():
    t = Ticker(seed_defs(AC.eager()))
    t.tick()
    t.materialize("A")
    tree = t.tick().get_evaluation("D").tree
    updated = find(tree, "any_deps_updated")
    assert updated.note is None
    assert [(c.target.to_user_string(), c.value) for c in updated.children] == [("C", False)]


# Batched reads ---------------------------------------------------------------------


def wide_defs(n):
    """`n` assets: a chain of layers with views between, eager through views on the rest."""
    cond = AC.eager().resolve_through_virtual()
    assets = []
    for i in range(n):
        parents = [f"a{j}" for j in (i - 1, i - 3, i - 7) if j >= 0]
        virtual = i % 3 == 1

        @dg.asset(
            name=f"a{i}",
            deps=parents,
            is_virtual=virtual,
            automation_condition=None if virtual else cond,
        )
        def _fn():
            return 1

        assets.append(_fn)
    return dg.Definitions(assets=assets)


def statements_per_tick(n):
    """SQL statements of a first tick, and of a tick after every non-virtual asset was
    updated by a run of its own, with one run still queued."""
    defs = wide_defs(n)
    graph = defs.resolve_asset_graph()
    instance = empty_instance()
    t = Ticker(defs, instance)
    first = statements_during(instance, t.tick)
    for key in graph.toposorted_asset_keys:
        if not graph.get(key).is_virtual:
            defs.materialize([key], instance=instance)
    instance.create_run([dg.AssetKey("a0")], queued=True)
    busy = statements_during(instance, t.tick)
    assert t.result.total_requested == 0  # a0 is in progress: everything waits
    again = statements_during(instance, t.tick)
    instance.dispose()
    return len(first), len(busy), len(again)


def test_one_tick_reads_storage_in_a_small_constant_number_of_statements():
    small = statements_per_tick(20)
    large = statements_per_tick(200)
    assert small == large  # not proportional to assets (or to runs)
    assert max(large) <= 3, large


# Explanation trees follow the operators' meaning, tick after tick ----------------------

LEAVES = [
    "missing",
    "newly_updated",
    "in_progress",
    "newly_requested",
    "will_be_requested",
    "initial_evaluation",
    "in_latest_time_window",
    "executed_with_root_target",
    "data_version_changed",
    "executed_with_tags",
]


def with_selection(cond, method, key):
    """`cond.allow(...)` / `cond.ignore(...)` of one asset, where `cond` has them."""
    if not hasattr(cond, method):
        return cond
    return getattr(cond, method)(dg.AssetSelection.assets(key))


def deps_match(operand, mode, through_virtual):
    cond = AC.any_deps_match(operand) if mode == "any" else AC.all_deps_match(operand)
    return cond.resolve_through_virtual() if through_virtual else cond


def conditions(depth=3):
    leaf = st.sampled_from(LEAVES).map(lambda name: getattr(AC, name)())
    builders = st.sampled_from(
        [AC.eager, AC.on_missing, AC.any_deps_updated, AC.any_deps_missing]
    ).map(lambda b: b())

    def extend(inner):
        return st.one_of(
            st.tuples(inner, inner).map(lambda p: p[0] & p[1]),
            st.tuples(inner, inner).map(lambda p: p[0] | p[1]),
            inner.map(lambda c: ~c),
            st.tuples(inner, inner).map(lambda p: p[0].since(p[1])),
            inner.map(lambda c: c.newly_true()),
            st.builds(deps_match, inner, st.sampled_from(["any", "all"]), st.booleans()),
            inner.map(lambda c: AC.asset_matches("n0", c)),
            st.builds(
                with_selection,
                inner,
                st.sampled_from(["allow", "ignore"]),
                st.sampled_from(["n0", "n1"]),
            ),
        )

    return st.one_of(
        builders,
        builders.map(lambda c: c.resolve_through_virtual()),
        st.recursive(leaf, extend, max_leaves=depth * 2),
    )


@st.composite
def automated_graphs(draw):
    n = draw(st.integers(min_value=2, max_value=7))
    assets = []
    for i in range(n):
        parents = draw(st.lists(st.integers(0, i - 1), unique=True, max_size=3)) if i else []
        virtual = bool(i) and draw(st.booleans())
        condition = draw(st.one_of(st.none(), conditions()))

        @dg.asset(
            name=f"n{i}",
            deps=[f"n{p}" for p in parents],
            is_virtual=virtual,
            automation_condition=condition,
        )
        def _fn():
            return 1

        assets.append(_fn)
    updates = draw(st.lists(st.lists(st.integers(0, n - 1), max_size=3), min_size=2, max_size=4))
    return dg.Definitions(assets=assets), updates


def check_tree(cond, tree, before, graph, requested, first, root):
    """`tree` (this tick) agrees with the meaning of `cond`, given `before` (last tick)."""
    values = [c.value for c in tree.children]
    if isinstance(cond, AssetMatches):
        (child,) = tree.children
        assert child.target == cond.key and tree.value is child.value
        previous = before.children[0] if before else None
        check_tree(cond.operand, child, previous, graph, requested, first, root)
        return
    if isinstance(cond, DepsCondition):
        deps = set(
            graph.non_virtual_ancestors(tree.target)
            if cond.through_virtual
            else graph.get(tree.target).parent_keys
        )
        if cond.allow_selection is not None:
            deps &= cond.allow_selection.resolve(graph)
        if cond.ignore_selection is not None:
            deps -= cond.ignore_selection.resolve(graph)
        assert [c.target for c in tree.children] == sorted(deps)
        assert tree.value is (any(values) if cond.mode == "any" else all(values))
        for i, child in enumerate(tree.children):
            check_tree(
                cond.operand,
                child,
                before.children[i] if before else None,
                graph,
                requested,
                first,
                root,
            )
        return
    for i, (sub, child) in enumerate(zip(cond.children, tree.children, strict=True)):
        assert child.target == tree.target
        check_tree(
            sub, child, before.children[i] if before else None, graph, requested, first, root
        )
    if isinstance(cond, AndCondition):
        assert tree.value is all(values)
    elif isinstance(cond, OrCondition):
        assert tree.value is any(values)
    elif isinstance(cond, NotCondition):
        assert tree.value is not values[0]
    elif isinstance(cond, SinceCondition):
        previous = before.value if before else False
        assert tree.value is ((previous or values[0]) and not values[1])
    elif isinstance(cond, NewlyTrueCondition):
        previous = before.children[0].value if before else False
        assert tree.value is (values[0] and not previous)
    elif str(cond) == "will_be_requested":  # an asset is not yet requested while evaluated
        assert tree.value is (tree.target in requested and tree.target != root)
    elif str(cond) == "initial_evaluation":
        assert tree.value is first
    elif str(cond) == "in_latest_time_window":
        assert tree.value is True


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(automated_graphs())
def test_evaluation_trees_follow_the_operators_tick_after_tick(case):
    defs, updates = case
    graph = defs.resolve_asset_graph()
    t = Ticker(defs)
    previous = {}
    for tick_number, update in enumerate([[], *updates]):
        for i in sorted(set(update)):
            key = f"n{i}"
            if graph.get(key).is_materializable:
                t.materialize(key)
        result = t.tick()
        requested = result.get_requested_keys()
        for key, evaluation in result.results.items():
            tree = evaluation.tree
            assert tree.value is evaluation.value
            assert evaluation.requested is (evaluation.value and graph.get(key).is_materializable)
            check_tree(
                graph.get(key).automation_condition,
                tree,
                previous.get(key),
                graph,
                requested,
                tick_number == 0,
                key,
            )
            previous[key] = tree


# allow() / ignore() on builders, through virtual assets ------------------------------


@pytest.mark.parametrize("order", ["resolve-first", "allow-first"])
def test_eager_through_virtual_allow_in_either_order_waits_only_for_allowed_ancestors(order):
    allowed = dg.AssetSelection.assets("A1", "A3")
    cond = (
        AC.eager().resolve_through_virtual().allow(allowed)
        if order == "resolve-first"
        else AC.eager().allow(allowed).resolve_through_virtual()
    )
    t = Ticker(three_ancestors_defs(cond))
    t.tick()
    t.report("A1")
    assert t.requested() == set()  # A3 missing blocks
    t.report("A2")
    assert t.requested() == set()  # A2 is not allowed: neither a trigger nor a blocker
    t.report("A3")
    assert t.requested() == {"D"}  # A2 never blocked, though it went missing first
    tree = t.result.get_evaluation("D").tree
    deps = [
        c.target.to_user_string() for c in find(tree, "any_deps_missing (through virtual)").children
    ]
    assert deps == ["A1", "A3"]


def test_eager_through_virtual_ignore_skips_a_missing_ancestor_behind_the_view():
    t = Ticker(
        three_ancestors_defs(
            AC.eager().ignore(dg.AssetSelection.assets("A2")).resolve_through_virtual()
        )
    )
    t.tick()
    t.report("A1", "A3")
    assert t.requested() == {"D"}


def test_a_selection_naming_an_undefined_asset_selects_nothing_as_in_dagster():
    t = Ticker(three_ancestors_defs(AC.eager().ignore(dg.AssetSelection.assets("nope", "A2"))))
    t.tick()
    t.report("A3")
    assert t.requested() == set()  # V is missing (A1, A2 are): "nope" ignores nothing
    only_unknown = Ticker(three_ancestors_defs(AC.eager().allow(dg.AssetSelection.assets("nope"))))
    only_unknown.tick()
    only_unknown.report("A1", "A2", "A3")
    assert only_unknown.requested() == set()
    assert only_unknown.result.errors == {}


# Oracle: the same ticks as Dagster on one small graph --------------------------------

_ORACLE_VERSION = {"A": "v1"}


def oracle_defs(mod, conditions):
    """A, foo -> B -> C; A returns the data version in `_ORACLE_VERSION`."""

    @mod.asset(automation_condition=conditions(mod).get("A"))
    def A():
        return mod.Output(1, data_version=mod.DataVersion(_ORACLE_VERSION["A"]))

    @mod.asset(automation_condition=conditions(mod).get("foo"))
    def foo():
        return 1

    @mod.asset(deps=[A, foo], automation_condition=conditions(mod).get("B"))
    def B():
        return 1

    @mod.asset(deps=[B], automation_condition=conditions(mod).get("C"))
    def C():
        return 1

    return [A, foo, B, C]


def oracle_ticks(mod, instance, conditions, steps):
    """What each tick requests, stepping through `steps` with `mod` (sheer or dagster)."""
    assets = oracle_defs(mod, conditions)
    defs = mod.Definitions(assets=assets)
    cursor, out = None, []
    for step in steps:
        if step == "tick":
            result = mod.evaluate_automation_conditions(defs=defs, instance=instance, cursor=cursor)
            cursor = result.cursor
            names = ("A", "foo", "B", "C")
            out.append([n for n in names if result.get_num_requested(mod.AssetKey(n))])
        elif step[0] == "version":
            _ORACLE_VERSION["A"] = step[1]
        else:
            _, names, tags = step
            mod.materialize(assets, instance=instance, selection=list(names), tags=tags)
    _ORACLE_VERSION["A"] = "v1"
    return out


def M(*names, tags=None):
    return ("materialize", names, tags)


_EAGER_STEPS = ["tick", M("A"), "tick", "tick", M("foo"), "tick", M("A"), "tick", M("foo"), "tick"]

ORACLE_SCENARIOS = {
    "eager_ignore_foo": (
        lambda m: dict.fromkeys(
            "BC", m.AutomationCondition.eager().ignore(m.AssetSelection.keys("foo"))
        ),
        _EAGER_STEPS,
        [[], ["B", "C"], [], [], ["B", "C"], []],
    ),
    "eager_allow_foo": (
        lambda m: dict.fromkeys(
            "BC", m.AutomationCondition.eager().allow(m.AssetSelection.keys("foo"))
        ),
        _EAGER_STEPS,
        [[], [], [], ["B"], [], ["B"]],
    ),
    "eager_allow_then_ignore": (
        lambda m: dict.fromkeys(
            "BC",
            m.AutomationCondition.eager()
            .allow(m.AssetSelection.keys("foo", "A"))
            .ignore(m.AssetSelection.keys("A")),
        ),
        _EAGER_STEPS,
        [[], [], [], ["B"], [], ["B"]],
    ),
    "eager_ignore_an_undefined_asset": (
        lambda m: dict.fromkeys(
            "BC", m.AutomationCondition.eager().ignore(m.AssetSelection.keys("nope"))
        ),
        _EAGER_STEPS,
        [[], [], [], ["B", "C"], [], ["B", "C"]],
    ),
    "data_version_changed": (
        lambda m: {
            "B": m.AutomationCondition.any_deps_match(m.AutomationCondition.data_version_changed()),
            "C": m.AutomationCondition.data_version_changed(),
        },
        [
            *["tick", M("A"), "tick", M("A"), "tick"],
            *[("version", "v2"), M("A"), "tick", "tick", M("B"), "tick"],
        ],
        [[], ["B"], [], ["B"], [], []],
    ),
    "executed_with_tags": (
        lambda m: {
            "B": m.AutomationCondition.any_deps_match(
                m.AutomationCondition.executed_with_tags(tag_keys={"x"})
            ),
            "C": m.AutomationCondition.any_deps_match(
                m.AutomationCondition.executed_with_tags(tag_values={"x": "1"})
            ),
        },
        ["tick", M("A"), "tick", M("A", tags={"x": "2"}), "tick", M("B", tags={"x": "1"}), "tick"],
        [[], [], ["B"], ["B", "C"]],
    ),
    "asset_matches": (
        lambda m: {
            "C": m.AutomationCondition.asset_matches("A", m.AutomationCondition.newly_updated()),
            "B": m.AutomationCondition.asset_matches("C", m.AutomationCondition.missing())
            & m.AutomationCondition.asset_matches("A", ~m.AutomationCondition.missing()),
        },
        ["tick", M("A"), "tick", "tick", M("C"), "tick"],
        [[], ["B", "C"], ["B"], []],
    ),
    "any_downstream_conditions": (
        lambda m: {
            "A": m.AutomationCondition.any_downstream_conditions(),
            "foo": m.AutomationCondition.code_version_changed()
            | (m.AutomationCondition.missing() & m.AutomationCondition.any_downstream_conditions()),
            "B": m.AutomationCondition.missing()
            & m.AutomationCondition.any_downstream_conditions(),
            "C": m.AutomationCondition.in_progress() | m.AutomationCondition.missing(),
        },
        ["tick", "tick", M("A"), "tick", M("foo"), "tick", M("B"), "tick", M("C"), "tick"],
        [["A", "foo", "B", "C"]] * 2 + [["foo", "B", "C"], ["B", "C"], ["C"], []],
    ),
    "new_updates_run_tags": (
        lambda m: {
            "B": m.AutomationCondition.any_deps_match(
                m.AutomationCondition.newly_updated()
                & m.AutomationCondition.any_new_update_has_run_tags(tag_keys={"x"})
            ),
            "C": m.AutomationCondition.any_deps_match(
                m.AutomationCondition.newly_updated()
                & ~m.AutomationCondition.all_new_updates_have_run_tags(tag_keys={"x"})
            ),
        },
        # foo first: Dagster reads no new update on the tick after an empty event log
        [
            *[M("foo"), "tick", M("A", tags={"x": "1"}), "tick"],
            *[M("B"), M("A", tags={"x": "1"}), "tick"],
            *[M("B", tags={"x": "1"}), M("B"), "tick"],
            *[M("B", tags={"x": "1"}), "tick", M("A"), "tick"],
        ],
        [[], ["B"], ["B", "C"], ["C"], [], []],
    ),
}


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("name", sorted(ORACLE_SCENARIOS))
def test_ticks_are_the_same_as_dagsters_on_the_same_graph(name, backend):
    if backend != "sqlite":
        pytest.skip("the oracle runs once")
    conditions, steps, expected = ORACLE_SCENARIOS[name]
    ours = oracle_ticks(dg, empty_instance(), conditions, steps)
    assert ours == expected
    dagster = pytest.importorskip("dagster")
    theirs = oracle_ticks(dagster, dagster.DagsterInstance.ephemeral(), conditions, steps)
    assert theirs == ours


# asset_matches -------------------------------------------------------------------------


def test_asset_matches_evaluates_the_condition_for_the_named_asset():
    t = Ticker(seed_defs(AC.asset_matches("A", AC.newly_updated())))
    t.tick()
    t.materialize("A")
    assert t.requested() == {"D"}
    tree = t.result.get_evaluation("D").tree
    assert tree.label == "asset_matches(A, newly_updated)" and tree.target == dg.AssetKey("D")
    (child,) = tree.children
    assert (child.label, child.value, child.target) == ("newly_updated", True, dg.AssetKey("A"))
    assert t.requested() == set()


def test_asset_matches_a_view_uses_what_the_view_means():
    t = Ticker(seed_defs(AC.asset_matches("C", ~AC.missing())))
    assert t.requested() == set()  # C is missing while A is
    t.materialize("A")
    assert t.requested() == {"D"}


def test_asset_matches_with_deps_inside_looks_at_the_named_assets_dependencies():
    cond = AC.asset_matches("C", AC.any_deps_match(AC.newly_updated()).resolve_through_virtual())
    t = Ticker(seed_defs(cond))
    t.tick()
    t.materialize("A")
    assert t.requested() == {"D"}
    (matched,) = t.result.get_evaluation("D").tree.children
    assert [c.target for c in matched.children] == [dg.AssetKey("A")]


# data_version_changed ------------------------------------------------------------------


def versioned_defs(condition, versions):
    @dg.asset
    def A():
        return dg.Output(1, data_version=dg.DataVersion(versions["A"]))

    @dg.asset(is_virtual=True, deps=[A])
    def V():
        return None

    @dg.asset(deps=[V], automation_condition=condition)
    def D():
        return 1

    return dg.Definitions(assets=[A, V, D])


def test_data_version_changed_is_false_on_the_first_tick_and_for_the_same_version():
    versions = {"A": "v1"}
    cond = AC.any_deps_match(AC.data_version_changed()).resolve_through_virtual()
    t = Ticker(versioned_defs(cond, versions))
    t.materialize("A")
    assert t.requested() == set()  # first tick: nothing to compare with
    t.materialize("A")
    assert t.requested() == set()  # re-materialized with the same data version
    versions["A"] = "v2"
    t.materialize("A")
    assert t.requested() == {"D"}
    assert t.requested() == set()


def test_data_version_changed_of_a_view_follows_what_is_behind_it():
    versions = {"A": "v1"}
    t = Ticker(versioned_defs(AC.any_deps_match(AC.data_version_changed()), versions))
    t.tick()
    t.materialize("A")
    assert t.requested() == {"D"}  # V's computed version changed: A went from missing to v1
    t.materialize("A")
    assert t.requested() == set()
    versions["A"] = "v2"
    t.materialize("A")
    assert t.requested() == {"D"}
    assert t.cursor.data_versions[dg.AssetKey("V")] is not None
    assert t.requested() == set()


def test_data_version_changed_of_an_external_asset_reads_its_reports():
    t = Ticker(three_ancestors_defs(AC.any_deps_match(AC.data_version_changed())))
    t.tick()
    t.report("A3", version="1")
    assert t.requested() == {"D"}
    t.report("A3", version="1")
    assert t.requested() == set()
    t.report("A3", version="2")
    assert t.requested() == {"D"}


# executed_with_tags and the run tags of new updates ------------------------------------


def test_executed_with_tags_reads_the_tags_of_the_run_that_last_materialized_the_asset():
    cond = AC.any_deps_match(AC.executed_with_tags(tag_keys={"team"}, tag_values={"env": "prod"}))
    t = Ticker(parent_child(None, cond))
    assert t.requested() == set()
    t.defs.materialize(["P"], instance=t.instance, tags={"team": "a", "env": "dev"})
    assert t.requested() == set()
    t.defs.materialize(["P"], instance=t.instance, tags={"team": "a", "env": "prod"})
    assert t.requested() == {"Q"}
    assert t.requested() == {"Q"}  # still the latest run: not only on the tick after it
    t.defs.materialize(["P"], instance=t.instance, tags={"env": "prod"})
    assert t.requested() == set()


def test_executed_with_tags_is_false_for_a_report_outside_any_run():
    t = Ticker(three_ancestors_defs(AC.any_deps_match(AC.executed_with_tags())))
    t.report("A3")
    assert t.requested() == set()


def test_executed_with_tags_sees_a_run_newer_than_the_ticks_read_of_the_runs():
    ctx_runs = []
    t = Ticker(parent_child(None, AC.any_deps_match(AC.executed_with_tags(tag_keys={"k"}))))
    t.defs.materialize(["P"], instance=t.instance, tags={"k": "1"})
    original = t.instance.get_runs
    t.instance.get_runs = lambda *a, **kw: ctx_runs  # the tick's read misses the run
    try:
        assert t.requested() == {"Q"}
    finally:
        t.instance.get_runs = original


def test_any_and_all_new_updates_have_run_tags_look_at_every_update_since_the_last_tick():
    any_x = AC.any_deps_match(AC.any_new_update_has_run_tags(tag_keys={"x"}))
    all_x = AC.any_deps_match(AC.all_new_updates_have_run_tags(tag_keys={"x"}))
    t_any, t_all = Ticker(parent_child(None, any_x)), Ticker(parent_child(None, all_x))
    for t in (t_any, t_all):
        t.tick()
    for runs, expect_any, expect_all in [
        ([{"x": "1"}], {"Q"}, {"Q"}),
        ([{"x": "1"}, {}], {"Q"}, set()),
        ([{}], set(), set()),
        ([], set(), set()),  # no new update: neither
    ]:
        for t in (t_any, t_all):
            for tags in runs:
                t.defs.materialize(["P"], instance=t.instance, tags=tags)
        assert t_any.requested() == expect_any
        assert t_all.requested() == expect_all


def test_new_update_run_tags_never_hold_for_a_report_outside_any_run():
    cond = AC.any_deps_match(AC.any_new_update_has_run_tags() | AC.all_new_updates_have_run_tags())
    t = Ticker(three_ancestors_defs(cond))
    t.tick()
    t.report("A3")
    assert t.requested() == set()


def test_run_tag_conditions_keep_the_tick_within_a_constant_number_of_statements():
    cond = (
        AC.eager()
        | AC.any_deps_match(AC.executed_with_tags(tag_keys={"k"}))
        | AC.any_deps_match(AC.any_new_update_has_run_tags(tag_keys={"k"}))
        | AC.any_deps_match(AC.data_version_changed())
    )

    def counts(n):
        defs = dg.Definitions(
            assets=[
                dg.AssetSpec(f"a{i}", deps=[f"a{i - 1}"] if i else [], automation_condition=cond)
                for i in range(n)
            ]
        )
        instance = empty_instance()
        t = Ticker(defs, instance)
        t.tick()
        for i in range(n):
            instance.report_runless_asset_event(dg.AssetMaterialization(f"a{i}"))
        statements = statements_during(instance, t.tick)
        instance.dispose()
        return len(statements)

    small, large = counts(5), counts(60)
    assert small == large <= 5  # ids, runs, new updates' runs, latest records for versions


# The cursor carries data versions -------------------------------------------------------


def test_the_cursor_round_trips_its_data_versions_and_reads_older_cursors_without_them():
    cursor = AutomationCursor(
        evaluation_id=2, data_versions={dg.AssetKey(["s", "a"]): "v1", dg.AssetKey("b"): None}
    )
    assert AutomationCursor.from_json(cursor.to_json()) == cursor
    import json

    old = json.loads(cursor.to_json())
    del old["data_versions"]
    assert AutomationCursor.from_json(json.dumps(old)).data_versions == {}


# any_downstream_conditions -------------------------------------------------------------


def chain_defs(conditions):
    """A -> B -> C, and A -> E, with the conditions given by name."""
    assets = []
    for name, deps in (("A", []), ("B", ["A"]), ("C", ["B"]), ("E", ["A"])):
        assets.append(dg.AssetSpec(name, deps=deps, automation_condition=conditions.get(name)))
    return dg.Definitions(assets=assets)


def test_any_downstream_conditions_evaluates_each_downstream_condition_for_the_target():
    t = Ticker(
        chain_defs(
            {
                "A": AC.any_downstream_conditions(),
                "B": AC.missing().with_label("b_cond"),
                "C": AC.missing().with_label("b_cond"),  # equal to B's: evaluated once
                "E": AC.in_progress(),
            }
        )
    )
    assert t.requested() == set()  # specs are never requested; A's value tells
    tree = t.result.get_evaluation("A").tree
    assert t.result.get_evaluation("A").value is True
    assert tree.label == "any_downstream_conditions"
    assert [(c.label, c.value) for c in tree.children] == [("B, C", True), ("E", False)]
    assert [c.children[0].label for c in tree.children] == ["b_cond", "in_progress"]
    assert all(c.children[0].target == dg.AssetKey("A") for c in tree.children)
    t.report("A")
    t.tick()
    assert t.result.get_evaluation("A").value is False


def test_any_downstream_conditions_skips_nested_ones_and_those_above_it():
    nested = AC.missing() & AC.any_downstream_conditions()
    t = Ticker(chain_defs({"A": AC.any_downstream_conditions(), "B": nested, "C": nested}))
    t.tick()
    tree = t.result.get_evaluation("A").tree
    # B's and C's condition is missing() & <false>: dropped whole, nothing is left
    assert tree.children == () and tree.value is False
    labelled = AC.any_downstream_conditions().with_label("downstream")
    t = Ticker(chain_defs({"A": labelled, "B": labelled | AC.missing(), "C": labelled}))
    t.tick()
    (b_cond,) = t.result.get_evaluation("A").tree.children  # C's equals A's: skipped
    assert b_cond.label == "B"
    assert t.result.get_evaluation("A").value is True  # A is missing
    assert t.result.errors == {}


def test_any_downstream_conditions_keeps_the_state_of_since_inside_across_ticks():
    t = Ticker(
        chain_defs(
            {
                "A": AC.any_downstream_conditions(),
                "B": AC.newly_updated().since(AC.newly_requested()).with_label("updated"),
            }
        )
    )
    t.tick()
    t.report("A")
    t.tick()
    assert t.result.get_evaluation("A").value is True
    t.tick()
    assert t.result.get_evaluation("A").value is True  # still: nothing reset it


# Deep and long conditions ------------------------------------------------------------------


def tree_depth(tree):
    deepest, todo = 0, [(tree, 1)]
    while todo:
        node, depth = todo.pop()
        deepest = max(deepest, depth)
        todo.extend((child, depth + 1) for child in node.children)
    return deepest


def test_a_condition_nested_300_levels_deep_is_evaluated_explained_and_stored_as_json():
    import json

    deep = AC.missing()
    for _ in range(149):
        deep = ~~deep
    deep = deep.newly_true()  # 298 nots between newly_true and missing: 300 levels
    t = Ticker(one_asset(deep))
    assert t.requested() == {"X"}
    from sheer.automation.conditions import MAX_EVALUATION_DEPTH

    assert MAX_EVALUATION_DEPTH == 300
    evaluation = t.result.get_evaluation("X")
    assert evaluation.error is None and tree_depth(evaluation.tree) == 300
    node = evaluation.tree
    while node.children:
        (node,) = node.children
    assert (node.label, node.value) == ("missing", True)
    stored = json.loads(json.dumps(evaluation.to_json()))
    assert stored["tree"]["label"] == str(deep) and stored["tree"]["value"] is True
    assert t.requested() == set()  # newly_true: only on the first tick


def test_a_condition_nested_deeper_than_300_levels_fails_only_its_own_asset_saying_how_deep():
    deep = AC.missing()
    for _ in range(100_000):
        deep = ~deep

    @dg.asset(automation_condition=deep)
    def too_deep():
        return 1

    @dg.asset(automation_condition=AC.missing())
    def fine():
        return 1

    t = Ticker(dg.Definitions(assets=[too_deep, fine]))
    for _ in range(2):
        result = t.tick()
        assert result.get_requested_keys() == {dg.AssetKey("fine")}
        evaluation = result.get_evaluation("too_deep")
        assert evaluation.value is False and evaluation.tree is None
        assert evaluation.error == (
            "Evaluating the automation condition of 'too_deep' failed: DefinitionError: This "
            "automation condition is nested 100,001 levels deep, more than the 300 levels an "
            "evaluation goes (its explanation tree is stored as nested JSON, and each level's "
            "label repeats the text of the levels below it). Fix: nest less: combine many "
            "sub-conditions with one chain of `&` or `|` rather than nesting them, and drop "
            "double negations (`~~c` is `c`)."
        )
        assert evaluation.to_json()["error"] == evaluation.error
    assert result.cursor.condition_ids[dg.AssetKey("too_deep")] == deep.unique_id


def test_a_50000_operand_or_built_in_a_loop_is_evaluated_and_explained():
    wide = AC.execution_failed()
    for i in range(50_000):
        wide = wide | (AC.in_progress() if i % 2 else AC.missing())
    t = Ticker(one_asset(wide))
    assert t.requested() == {"X"}
    tree = t.result.get_evaluation("X").tree
    assert len(tree.children) == 50_001 and tree.value is True
    assert [c.value for c in tree.children[:3]] == [False, True, False]
