"""AutomationCondition trees: labels, operators, replace() and resolve_through_virtual().

Pure tests of the condition objects; evaluation over ticks is in
test_automation_evaluator.py.
"""

import dataclasses
import pickle

import pytest

import sheer as dg
from sheer.automation.conditions import (
    AndCondition,
    DepsCondition,
    NewlyTrueCondition,
    NotCondition,
    OrCondition,
    SinceCondition,
)
from sheer.errors import DefinitionError

AC = dg.AutomationCondition


def walk(cond):
    yield cond
    for child in cond.children:
        yield from walk(child)


def deps_nodes(cond):
    return [c for c in walk(cond) if isinstance(c, DepsCondition)]


# Labels ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cond", "text"),
    [
        (AC.missing(), "missing"),
        (AC.newly_updated(), "newly_updated"),
        (AC.in_progress(), "in_progress"),
        (AC.execution_failed(), "execution_failed"),
        (AC.newly_requested(), "newly_requested"),
        (AC.will_be_requested(), "will_be_requested"),
        (AC.code_version_changed(), "code_version_changed"),
        (AC.initial_evaluation(), "initial_evaluation"),
        (AC.in_latest_time_window(), "in_latest_time_window"),
        (AC.cron_tick_passed("0 * * * *"), "cron_tick_passed(0 * * * *, UTC)"),
        (
            AC.cron_tick_passed("0 9 * * *", "Europe/Paris"),
            "cron_tick_passed(0 9 * * *, Europe/Paris)",
        ),
        (AC.missing() & AC.newly_updated(), "missing & newly_updated"),
        (AC.missing() | AC.newly_updated(), "missing | newly_updated"),
        (~AC.missing(), "~missing"),
        (~(AC.missing() | AC.newly_updated()), "~(missing | newly_updated)"),
        (
            (AC.missing() | AC.in_progress()) & AC.newly_updated(),
            "(missing | in_progress) & newly_updated",
        ),
        (AC.missing().since(AC.newly_updated()), "(missing) since (newly_updated)"),
        (AC.missing().newly_true(), "(missing).newly_true()"),
        (AC.missing().since_last_handled(), "(missing) since (handled)"),
        (AC.any_deps_match(AC.missing()), "any_deps_match(missing)"),
        (AC.all_deps_match(AC.newly_updated()), "all_deps_match(newly_updated)"),
        (
            AC.any_deps_match(AC.missing()).allow(dg.AssetSelection.assets("a")),
            "any_deps_match(missing).allow(key:a)",
        ),
        (
            AC.any_deps_match(AC.missing()).ignore(dg.AssetSelection.assets("a")),
            "any_deps_match(missing).ignore(key:a)",
        ),
        (
            AC.any_deps_match(AC.missing()).resolve_through_virtual(),
            "any_deps_match(missing) (through virtual)",
        ),
        (AC.any_deps_updated(), "any_deps_updated"),
        (AC.any_deps_missing(), "any_deps_missing"),
        (AC.any_deps_in_progress(), "any_deps_in_progress"),
        (
            AC.all_deps_updated_since_cron("0 * * * *"),
            "all_deps_updated_since_cron(0 * * * *, UTC)",
        ),
        (AC.newly_missing(), "newly_missing"),
        (AC.eager(), "eager"),
        (AC.on_cron("0 * * * *"), "on_cron(0 * * * *, UTC)"),
        (AC.on_missing(), "on_missing"),
        (AC.eager().resolve_through_virtual(), "eager (through virtual)"),
        (AC.any_deps_updated().resolve_through_virtual(), "any_deps_updated (through virtual)"),
    ],
)
def test_str_gives_a_readable_label(cond, text):
    assert str(cond) == text


def test_with_label_returns_a_relabelled_copy_and_leaves_the_original_alone():
    base = AC.missing() & AC.newly_updated()
    labelled = base.with_label("fresh_data")
    assert str(labelled) == "fresh_data"
    assert labelled.get_label() == "fresh_data"
    assert str(base) == "missing & newly_updated"
    assert base.get_label() is None
    assert labelled.with_label(None) == base


def test_a_label_shows_inside_a_bigger_tree():
    tree = AC.in_progress() | AC.missing().with_label("gone")
    assert str(tree) == "in_progress | gone"


def test_conditions_are_immutable():
    cond = AC.missing()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cond.kind = "newly_updated"


def test_equal_trees_are_equal_and_hash_alike():
    assert AC.eager() == AC.eager()
    assert hash(AC.eager()) == hash(AC.eager())
    assert AC.eager() != AC.eager().resolve_through_virtual()
    assert AC.eager().unique_id == AC.eager().unique_id
    assert AC.eager().unique_id != AC.eager().resolve_through_virtual().unique_id


def test_conditions_survive_pickling():
    cond = AC.eager().resolve_through_virtual() | AC.all_deps_updated_since_cron("0 * * * *").allow(
        dg.AssetSelection.groups("g")
    )
    str(cond), cond.unique_id  # anything cached on the object must not break pickling
    copy = pickle.loads(pickle.dumps(cond))
    assert copy == cond
    assert str(copy) == str(cond)
    assert copy.unique_id == cond.unique_id


def test_invalid_cron_schedule_is_a_definition_error():
    with pytest.raises(DefinitionError) as err:
        AC.cron_tick_passed("every hour")
    assert str(err.value) == (
        "Invalid cron schedule 'every hour'. Fix: use five fields, e.g. '0 9 * * *'."
    )
    with pytest.raises(DefinitionError):
        AC.on_cron("61 * * * *")


# Operators ------------------------------------------------------------------------


def test_and_flattens_unlabelled_ands_on_both_sides():
    a, b, c, d = AC.missing(), AC.newly_updated(), AC.in_progress(), AC.execution_failed()
    left = (a & b) & c
    right = a & (b & c)
    both = (a & b) & (c & d)
    assert isinstance(left, AndCondition)
    assert left.operands == (a, b, c)
    assert right.operands == (a, b, c)
    assert both.operands == (a, b, c, d)


def test_or_flattens_unlabelled_ors_on_both_sides():
    a, b, c, d = AC.missing(), AC.newly_updated(), AC.in_progress(), AC.execution_failed()
    assert isinstance((a | b) | c, OrCondition)
    assert ((a | b) | c).operands == (a, b, c)
    assert (a | (b | c)).operands == (a, b, c)
    assert ((a | b) | (c | d)).operands == (a, b, c, d)


def test_a_labelled_operand_is_kept_whole():
    a, b, c = AC.missing(), AC.newly_updated(), AC.in_progress()
    labelled = (a & b).with_label("both")
    tree = labelled & c
    assert tree.operands == (labelled, c)
    assert (c | (a | b).with_label("either")).operands == (c, (a | b).with_label("either"))


def test_and_and_or_do_not_flatten_into_each_other():
    a, b, c = AC.missing(), AC.newly_updated(), AC.in_progress()
    tree = (a | b) & c
    assert tree.operands == (a | b, c)
    assert isinstance(tree.operands[0], OrCondition)


def test_invert_wraps_without_simplifying():
    a = AC.missing()
    assert isinstance(~a, NotCondition)
    assert (~a).operand == a
    assert (~~a).operand == ~a


def test_since_newly_true_and_since_last_handled_build_the_expected_nodes():
    a, b = AC.missing(), AC.newly_updated()
    since = a.since(b)
    assert isinstance(since, SinceCondition)
    assert (since.trigger, since.reset) == (a, b)
    newly = a.newly_true()
    assert isinstance(newly, NewlyTrueCondition) and newly.operand == a
    handled = a.since_last_handled()
    assert handled.trigger == a
    assert str(handled.reset) == "handled"
    assert handled.reset.operands == (
        AC.newly_requested(),
        AC.newly_updated(),
        AC.initial_evaluation(),
    )


def test_eager_has_dagsters_shape():
    eager = AC.eager()
    assert [str(op) for op in eager.operands] == [
        "in_latest_time_window",
        "(newly_missing | any_deps_updated) since (handled)",
        "~any_deps_missing",
        "~any_deps_in_progress",
        "~in_progress",
    ]


def test_on_cron_has_dagsters_shape():
    cron = AC.on_cron("0 9 * * *")
    assert [str(op) for op in cron.operands] == [
        "in_latest_time_window",
        "(cron_tick_passed(0 9 * * *, UTC)) since (handled)",
        "all_deps_updated_since_cron(0 9 * * *, UTC)",
    ]


# replace() ------------------------------------------------------------------------


def test_replace_by_condition_replaces_every_equal_sub_condition():
    tree = AC.missing() & (AC.in_progress() | AC.missing())
    out = tree.replace(AC.missing(), AC.execution_failed())
    assert out == AC.execution_failed() & (AC.in_progress() | AC.execution_failed())
    assert tree == AC.missing() & (AC.in_progress() | AC.missing())  # unchanged


def test_replace_by_label_reaches_inside_operators_and_deps():
    eager = AC.eager()
    out = eager.replace("any_deps_missing", AC.any_deps_match(AC.execution_failed()))
    assert "~any_deps_match(execution_failed)" in [str(op) for op in out.operands]
    assert "~any_deps_missing" not in [str(op) for op in out.operands]
    handled = out.replace("handled", AC.newly_requested())
    assert str(handled.operands[1]) == "(newly_missing | any_deps_updated) since (newly_requested)"


def test_replace_can_swap_the_root_and_leaves_unmatched_trees_equal():
    tree = AC.missing() | AC.newly_updated()
    assert tree.replace(tree, AC.in_progress()) == AC.in_progress()
    assert tree.replace("no such label", AC.in_progress()) == tree


def test_replace_inside_a_deps_condition_keeps_its_options():
    sel = dg.AssetSelection.assets("a")
    deps = AC.any_deps_match(AC.missing()).allow(sel).resolve_through_virtual()
    out = deps.replace(AC.missing(), AC.newly_updated())
    assert out.operand == AC.newly_updated()
    assert out.allow_selection == sel
    assert out.through_virtual


# resolve_through_virtual() ------------------------------------------------------


@pytest.mark.parametrize(
    "build",
    [
        lambda d: d & AC.missing(),
        lambda d: AC.missing() | d,
        lambda d: ~d,
        lambda d: d.since(AC.newly_requested()),
        lambda d: AC.newly_requested().since(d),
        lambda d: d.newly_true(),
        lambda d: (~d).since_last_handled(),
        lambda d: (AC.missing() & ~(d | AC.in_progress())).with_label("nested"),
    ],
    ids=[
        "and",
        "or",
        "not",
        "since-trigger",
        "since-reset",
        "newly_true",
        "since_last_handled",
        "nested",
    ],
)
def test_resolve_through_virtual_reaches_deps_through_every_operator(build):
    tree = build(AC.any_deps_match(AC.newly_updated()))
    assert [d.through_virtual for d in deps_nodes(tree)] == [False]
    resolved = tree.resolve_through_virtual()
    assert [d.through_virtual for d in deps_nodes(resolved)] == [True]
    # everything but the flag is unchanged
    assert (
        resolved.replace(deps_nodes(resolved)[0], deps_nodes(tree)[0]).with_label(tree.get_label())
        == tree
    )


def test_resolve_through_virtual_marks_every_deps_condition_of_eager():
    eager = AC.eager()
    resolved = eager.resolve_through_virtual()
    assert [str(d) for d in deps_nodes(eager)] == [
        "any_deps_updated",
        "any_deps_missing",
        "any_deps_in_progress",
    ]
    assert [str(d) for d in deps_nodes(resolved)] == [
        "any_deps_updated (through virtual)",
        "any_deps_missing (through virtual)",
        "any_deps_in_progress (through virtual)",
    ]
    assert all(not d.through_virtual for d in deps_nodes(eager))  # the original is untouched


def test_resolve_through_virtual_reaches_deps_nested_in_deps():
    inner = AC.any_deps_match(AC.missing())
    outer = AC.all_deps_match(inner | AC.in_progress())
    resolved = outer.resolve_through_virtual()
    assert [d.through_virtual for d in deps_nodes(resolved)] == [True, True]


def test_resolve_through_virtual_on_on_cron_reaches_the_since_inside_all_deps():
    resolved = AC.on_cron("0 * * * *").resolve_through_virtual()
    assert str(resolved) == "on_cron(0 * * * *, UTC) (through virtual)"
    (deps,) = deps_nodes(resolved)
    assert deps.through_virtual and deps.mode == "all"
    assert isinstance(deps.operand.operands[0], SinceCondition)


def test_resolve_through_virtual_leaves_operands_alone():
    for cond in (AC.missing(), AC.newly_updated(), AC.cron_tick_passed("0 * * * *")):
        assert cond.resolve_through_virtual() == cond


def test_resolve_through_virtual_twice_is_the_same_as_once():
    once = AC.eager().resolve_through_virtual()
    assert once.resolve_through_virtual() == once
    assert str(once.resolve_through_virtual()) == "eager (through virtual)"


# allow() / ignore() ---------------------------------------------------------------


def test_allow_and_ignore_keep_the_through_virtual_flag_in_either_order():
    sel = dg.AssetSelection.assets("a")
    first = AC.any_deps_match(AC.newly_updated()).resolve_through_virtual().allow(sel)
    second = AC.any_deps_match(AC.newly_updated()).allow(sel).resolve_through_virtual()
    assert first == second
    assert first.through_virtual and first.allow_selection == sel
    third = AC.any_deps_match(AC.newly_updated()).ignore(sel).resolve_through_virtual()
    assert third.through_virtual and third.ignore_selection == sel


def test_allow_twice_allows_either_selection_as_in_dagster():
    a, b = dg.AssetSelection.assets("a"), dg.AssetSelection.assets("b")
    cond = AC.any_deps_match(AC.missing()).allow(a).allow(b)
    assert cond.allow_selection == b | a  # Dagster puts the newer selection first


def test_ignore_twice_ignores_both_selections():
    a, b = dg.AssetSelection.assets("a"), dg.AssetSelection.assets("b")
    cond = AC.any_deps_match(AC.missing()).ignore(a).ignore(b)
    assert cond.ignore_selection == b | a


def test_allow_on_a_builder_keeps_its_label():
    cond = AC.any_deps_updated().allow(dg.AssetSelection.assets("a"))
    assert str(cond) == "any_deps_updated"
    assert cond.allow_selection == dg.AssetSelection.assets("a")


# allow() / ignore() pushed down from the operators and builders --------------------

SEL_FOO = dg.AssetSelection.keys("foo")


def deps_selections(cond):
    return [(d.allow_selection, d.ignore_selection) for d in deps_nodes(cond)]


def test_dagsters_eager_ignore_example_reaches_every_dependency_operator_of_eager():
    cond = dg.AutomationCondition.eager().ignore(dg.AssetSelection.keys("foo"))
    assert deps_selections(cond) == [(None, SEL_FOO)] * 3
    assert str(cond) == "eager"  # the builder keeps its label, as in Dagster
    assert [str(d) for d in deps_nodes(cond)] == [
        "any_deps_updated",
        "any_deps_missing",
        "any_deps_in_progress",
    ]


def test_dagsters_on_cron_allow_example_reaches_all_deps_updated_since_cron():
    cond = dg.AutomationCondition.on_cron("@hourly").allow(dg.AssetSelection.groups("abc"))
    assert deps_selections(cond) == [(dg.AssetSelection.groups("abc"), None)]
    assert str(cond) == "on_cron(@hourly, UTC)"


@pytest.mark.parametrize("method", ["allow", "ignore"])
@pytest.mark.parametrize(
    "build",
    [
        lambda d: d & AC.missing(),
        lambda d: AC.missing() | d,
        lambda d: ~d,
        lambda d: d.since(AC.newly_requested()),
        lambda d: AC.newly_requested().since(d),
        lambda d: d.newly_true(),
        lambda d: (~d).since_last_handled(),
        lambda d: (AC.missing() & ~(d | AC.in_progress())).with_label("nested"),
    ],
    ids=[
        "and",
        "or",
        "not",
        "since-trigger",
        "since-reset",
        "newly_true",
        "since_last_handled",
        "nested",
    ],
)
def test_allow_and_ignore_reach_deps_through_every_operator(build, method):
    tree = build(AC.any_deps_match(AC.newly_updated()))
    out = getattr(tree, method)(SEL_FOO)
    expected = (SEL_FOO, None) if method == "allow" else (None, SEL_FOO)
    assert deps_selections(out) == [expected]
    assert out.get_label() == tree.get_label()
    # everything but the selection is unchanged
    assert out.replace(deps_nodes(out)[0], deps_nodes(tree)[0]) == tree
    assert deps_selections(tree) == [(None, None)]  # the original is untouched


def test_allow_does_not_reach_deps_nested_in_a_deps_condition_as_in_dagster():
    inner = AC.any_deps_match(AC.missing())
    outer = AC.all_deps_match(inner | AC.in_progress()) & AC.missing()
    out = outer.allow(SEL_FOO)
    assert deps_selections(out) == [(SEL_FOO, None), (None, None)]


def test_allow_does_not_reach_inside_asset_matches_as_in_dagster():
    cond = AC.asset_matches("x", AC.any_deps_updated()) | AC.any_deps_missing()
    out = cond.allow(SEL_FOO)
    assert deps_selections(out) == [(None, None), (SEL_FOO, None)]


def test_allow_twice_on_eager_allows_either_and_allow_then_ignore_sets_both():
    a, b = dg.AssetSelection.assets("a"), dg.AssetSelection.assets("b")
    assert deps_selections(AC.eager().allow(a).allow(b)) == [(b | a, None)] * 3
    assert deps_selections(AC.eager().allow(a).ignore(b)) == [(a, b)] * 3
    assert AC.eager().allow(a).ignore(b) == AC.eager().ignore(b).allow(a)


@pytest.mark.parametrize(
    "builder",
    [AC.eager, lambda: AC.on_cron("0 * * * *"), AC.on_missing, AC.any_deps_updated],
    ids=["eager", "on_cron", "on_missing", "any_deps_updated"],
)
def test_allow_ignore_and_resolve_through_virtual_commute(builder):
    a, b = dg.AssetSelection.assets("a"), dg.AssetSelection.assets("b")
    first = builder().resolve_through_virtual().allow(a).ignore(b)
    second = builder().allow(a).resolve_through_virtual().ignore(b)
    third = builder().allow(a).ignore(b).resolve_through_virtual()
    assert first == second == third
    assert all(d.through_virtual for d in deps_nodes(first))
    assert deps_selections(first) == [(a, b)] * len(deps_nodes(first))


def test_operands_have_no_allow_or_ignore_as_in_dagster():
    for cond in (AC.missing(), AC.cron_tick_passed("0 * * * *"), AC.data_version_changed()):
        assert not hasattr(cond, "allow") and not hasattr(cond, "ignore")


def test_allow_on_a_condition_without_deps_returns_an_equal_tree():
    tree = AC.missing().newly_true() & ~AC.in_progress()
    assert tree.allow(SEL_FOO) == tree


# The builders added with Dagster's names -------------------------------------------


@pytest.mark.parametrize(
    ("cond", "text"),
    [
        (AC.data_version_changed(), "data_version_changed"),
        (AC.executed_with_tags(), "executed_with_tags"),
        (
            AC.executed_with_tags(tag_keys={"b", "a"}, tag_values={"k": "v", "j": "w"}),
            "executed_with_tags(tag_keys={a,b}, tag_values={j:w,k:v})",
        ),
        (
            AC.any_new_update_has_run_tags(tag_keys={"x"}),
            "any_new_update_has_run_tags(tag_keys={x})",
        ),
        (
            AC.all_new_updates_have_run_tags(tag_values={"x": "1"}),
            "all_new_updates_have_run_tags(tag_values={x:1})",
        ),
        (AC.asset_matches("a/b", AC.missing()), "asset_matches(a/b, missing)"),
        (AC.asset_matches(["a", "b"], ~AC.missing()), "asset_matches(a/b, ~missing)"),
    ],
)
def test_new_builders_read_as_their_names(cond, text):
    assert str(cond) == text


def test_asset_matches_coerces_its_key_like_dagster():
    assert AC.asset_matches("a/b", AC.missing()).key == dg.AssetKey(["a", "b"])
    assert AC.asset_matches(dg.AssetKey("x"), AC.missing()).key == dg.AssetKey("x")


def test_executed_with_tags_equal_whatever_the_order_of_its_tags():
    one = AC.executed_with_tags(tag_keys={"a", "b"}, tag_values={"k": "v", "j": "w"})
    two = AC.executed_with_tags(tag_keys={"b", "a"}, tag_values={"j": "w", "k": "v"})
    assert one == two and hash(one) == hash(two)


def test_executed_with_tags_refuses_a_string_as_tag_keys():
    with pytest.raises(TypeError) as err:
        AC.executed_with_tags(tag_keys="nightly")
    assert str(err.value) == (
        "tag_keys='nightly' is a string, not a set of tag keys. Fix: pass tag_keys={'nightly'}."
    )


def test_new_builders_survive_pickling():
    for cond in (
        AC.data_version_changed(),
        AC.executed_with_tags(tag_keys={"a"}, tag_values={"b": "c"}),
        AC.any_new_update_has_run_tags(tag_keys={"x"}),
        AC.asset_matches("x", AC.eager().allow(SEL_FOO)),
    ):
        assert pickle.loads(pickle.dumps(cond)) == cond


# Enums -------------------------------------------------------------------------------


def test_operand_kinds_and_deps_modes_are_enums_with_the_old_values():
    from sheer.automation.conditions import DepsMode, OperandKind

    assert AC.missing().kind is OperandKind.MISSING
    assert AC.run_in_progress().kind is OperandKind.IN_PROGRESS
    assert AC.any_deps_match(AC.missing()).mode is DepsMode.ANY
    assert AC.all_deps_match(AC.missing()).mode is DepsMode.ALL
    assert [m.value for m in DepsMode] == ["any", "all"]
    assert OperandKind("newly_updated") is OperandKind.NEWLY_UPDATED


def test_unique_ids_are_the_ones_stored_before_operand_kinds_became_enums():
    # Pinned from the release that used plain strings: a stored cursor keeps its state.
    assert AC.eager().unique_id == "0972e440b5916c18"
    assert AC.on_cron("0 * * * *").unique_id == "559f200df15735fe"
    assert AC.on_missing().unique_id == "f76b80a33ce3d035"
    assert AC.eager().resolve_through_virtual().unique_id == "8f028c289c295332"
    allowed = AC.any_deps_match(AC.missing()).allow(dg.AssetSelection.assets("a"))
    assert allowed.unique_id == "c7a15af45e6ef9c0"


# replace() by name, and deep trees ---------------------------------------------------


def test_replace_by_an_operand_name_replaces_it_everywhere_as_in_dagster():
    out = AC.eager().replace("missing", AC.execution_failed())
    assert "missing" not in [str(c) for c in walk(out)]
    assert [str(c) for c in walk(out)].count("execution_failed") == 2


def test_replace_by_an_operator_name_replaces_the_first_match_from_the_root():
    tree = AC.any_deps_match(AC.missing()) & ~AC.all_deps_match(AC.newly_updated())
    out = tree.replace("ANY_DEPS_MATCH", AC.in_progress())
    assert out == AC.in_progress() & ~AC.all_deps_match(AC.newly_updated())
    assert tree.replace("AND", AC.missing()) == AC.missing()


def test_names_are_dagsters_names():
    dagster = pytest.importorskip("dagster")
    for build in (
        lambda m: m.AutomationCondition.missing() & m.AutomationCondition.in_progress(),
        lambda m: m.AutomationCondition.missing() | m.AutomationCondition.in_progress(),
        lambda m: ~m.AutomationCondition.missing(),
        lambda m: m.AutomationCondition.missing().since(m.AutomationCondition.newly_updated()),
        lambda m: m.AutomationCondition.missing().newly_true(),
        lambda m: m.AutomationCondition.any_deps_match(m.AutomationCondition.missing()),
        lambda m: m.AutomationCondition.all_deps_match(m.AutomationCondition.missing()),
        lambda m: m.AutomationCondition.asset_matches("a/b", m.AutomationCondition.missing()),
        lambda m: m.AutomationCondition.data_version_changed(),
        lambda m: m.AutomationCondition.executed_with_tags(tag_keys={"a"}),
        lambda m: m.AutomationCondition.code_version_changed(),
        lambda m: m.AutomationCondition.newly_requested(),
        lambda m: m.AutomationCondition.cron_tick_passed("@hourly"),
        lambda m: m.AutomationCondition.executed_with_tags(
            tag_keys={"b", "a"}, tag_values={"k": "v", "j": "w"}
        ),
        lambda m: m.AutomationCondition.any_new_update_has_run_tags(tag_values={"k": "v"}),
        lambda m: m.AutomationCondition.any_downstream_conditions(),
    ):
        assert build(dg).name == build(dagster).name


def deep_not_chain(depth):
    cond = AC.any_deps_match(AC.newly_updated())
    for _ in range(depth):
        cond = NotCondition(operand=cond)
    return cond


def test_allow_resolve_through_virtual_and_replace_do_not_recurse_on_deep_trees():
    deep = deep_not_chain(5000)  # far deeper than the interpreter's recursion limit
    allowed = deep.allow(SEL_FOO).resolve_through_virtual()
    node = allowed
    while isinstance(node, NotCondition):
        node = node.operand
    assert node.allow_selection == SEL_FOO and node.through_virtual
    replaced = deep.replace("ANY_DEPS_MATCH", AC.missing())
    node = replaced
    while isinstance(node, NotCondition):
        node = node.operand
    assert node is not None and str(node) == "missing"


# any_downstream_conditions -------------------------------------------------------------


def test_any_downstream_conditions_reads_as_its_name():
    cond = AC.any_downstream_conditions()
    assert str(cond) == "any_downstream_conditions"
    assert cond.name == "ANY_DOWNSTREAM_CONDITIONS"
    assert pickle.loads(pickle.dumps(cond)) == cond


def test_without_nested_reads_nested_any_downstream_conditions_as_false():
    from sheer.automation.downstream import without_nested

    adc = AC.any_downstream_conditions()
    assert without_nested(adc) is None
    assert without_nested(AC.missing() & adc) is None
    assert without_nested(AC.missing() | adc) == AC.missing()
    assert without_nested(AC.missing() | adc | AC.in_progress()) == AC.missing() | AC.in_progress()
    assert without_nested(adc.with_label("kept")) == adc.with_label("kept")
    labelled = (AC.missing() | adc).with_label("kept")
    assert without_nested(labelled) is labelled
    assert without_nested(~adc) == ~adc  # only & and | collapse, as in Dagster
    eager = AC.eager()
    assert without_nested(eager) is eager


# without() -----------------------------------------------------------------------------


def test_dagsters_eager_without_any_deps_missing_example_drops_that_operand():
    condition = dg.AutomationCondition.eager().without(~dg.AutomationCondition.any_deps_missing())
    assert str(condition) == "eager"
    assert "~any_deps_missing" not in [str(o) for o in condition.operands]
    assert len(condition.operands) == len(AC.eager().operands) - 1


def test_without_an_operand_that_is_not_there_says_which_are():
    with pytest.raises(DefinitionError) as err:
        (AC.missing() & AC.in_progress()).without(AC.newly_updated())
    assert str(err.value) == (
        "without(newly_updated): it is not one of the operands of missing & in_progress "
        "(missing, in_progress). Fix: pass one of those operands, built the same way."
    )


def test_without_refuses_to_leave_fewer_than_two_operands():
    with pytest.raises(DefinitionError) as err:
        (AC.missing() & AC.in_progress()).without(AC.missing())
    assert str(err.value) == (
        "without(missing) would leave missing & in_progress with fewer than two operands. "
        "Fix: use the remaining operand itself instead."
    )


def test_dagsters_on_cron_ignore_and_allow_examples():
    condition = dg.AutomationCondition.on_cron("@hourly").ignore(dg.AssetSelection.assets("foo"))
    assert deps_selections(condition) == [(None, dg.AssetSelection.assets("foo"))]
    condition = dg.AutomationCondition.on_cron("@hourly").allow(dg.AssetSelection.groups("abc"))
    assert deps_selections(condition) == [(dg.AssetSelection.groups("abc"), None)]


def test_dagsters_any_important_deps_missing_example():
    any_important_deps_missing = dg.AutomationCondition.any_deps_match(
        dg.AutomationCondition.missing(),
    ).allow(dg.AssetSelection.groups("important"))
    new_code_version = dg.AutomationCondition.code_version_changed().since(
        dg.AutomationCondition.newly_requested()
    )
    my_condition = new_code_version & ~any_important_deps_missing
    assert str(my_condition) == (
        "(code_version_changed) since (newly_requested) & "
        "~any_deps_match(missing).allow(group:important)"
    )


# Long and deep trees: no recursion, and linear to build ----------------------------------


def test_a_100000_deep_not_chain_prints_compares_and_hashes():
    deep, twin = deep_not_chain(100_000), deep_not_chain(100_000)
    assert str(deep) == "~" * 100_000 + "any_deps_match(newly_updated)"
    text = repr(deep)
    assert text.startswith("NotCondition(operand=" * 3)
    assert text.endswith(
        "through_virtual=False, allow_selection=None, ignore_selection=None, "
        "label=None)" + ", label=None)" * 100_000
    )
    assert deep == twin and hash(deep) == hash(twin) and deep.unique_id == twin.unique_id
    assert deep != deep_not_chain(99_999)
    assert deep != deep_not_chain(100_000).replace("newly_updated", AC.missing())


def alternating_chain(count):
    """`((c0 & c1) | c2) & c3 ...`: each operator nests the previous one, as deep as long."""
    cond = AC.missing()
    for i in range(count):
        leaf = AC.asset_matches(f"a{i}", AC.newly_updated())
        cond = (cond & leaf) if i % 2 else (cond | leaf)
    return cond


def test_a_50000_deep_and_or_chain_built_in_a_loop_prints_compares_and_hashes():
    deep, twin = alternating_chain(50_000), alternating_chain(50_000)
    text = str(deep)
    assert text.startswith("(" * 49_999 + "missing | asset_matches(a0, newly_updated))")
    assert text.endswith(" & asset_matches(a49999, newly_updated)")
    assert repr(deep).startswith("AndCondition(operands=(OrCondition(operands=(AndCondition(")
    assert deep == twin and hash(deep) == hash(twin) and deep.unique_id == twin.unique_id
    assert deep != alternating_chain(49_999)


def test_a_50000_operand_and_chain_built_in_a_loop_is_one_and_as_in_dagster():
    leaves = [AC.asset_matches(f"a{i}", AC.missing()) for i in range(50_000)]
    forward = leaves[0]
    for leaf in leaves[1:]:
        forward = forward & leaf
    backward = leaves[-1]
    for leaf in reversed(leaves[:-1]):
        backward = leaf & backward
    assert isinstance(forward, AndCondition) and forward.operands == tuple(leaves)
    assert backward == forward and hash(backward) == hash(forward)
    assert str(forward) == " & ".join(f"asset_matches(a{i}, missing)" for i in range(50_000))
    assert forward.unique_id == AndCondition(operands=tuple(leaves)).unique_id


def test_and_and_or_flatten_unlabelled_sides_of_the_same_kind_as_in_dagster():
    a, b, c, d = AC.missing(), AC.newly_updated(), AC.execution_failed(), AC.newly_requested()
    assert ((a & b) & c).operands == (a, b, c)
    assert (a & (b & c)).operands == (a, b, c)
    assert ((a & b) & (c & d)).operands == (a, b, c, d)
    assert ((a | b) | (c | d)).operands == (a, b, c, d)
    labelled = (a & b).with_label("ab")
    assert (labelled & c).operands == (labelled, c)
    assert (c & labelled).operands == (c, labelled)
    assert ((a | b) & c).operands == (a | b, c)
    explicit = AndCondition(operands=(AndCondition(operands=(a, b)), c))
    assert (explicit & d).operands == (AndCondition(operands=(a, b)), c, d)  # one level
    dagster = pytest.importorskip("dagster")
    m = dagster.AutomationCondition
    da, db, dc = m.missing(), m.newly_updated(), m.execution_failed()
    assert [type(o).__name__ for o in ((da & db) & dc).operands] == [
        "MissingAutomationCondition",
        "NewlyUpdatedCondition",
        "ExecutionFailedAutomationCondition",
    ]
    assert len((da & (db & dc)).operands) == 3
    assert len(((da & db).with_label("x") & dc).operands) == 2


@pytest.mark.parametrize("side", ["left", "right"])
def test_building_an_and_chain_in_a_loop_copies_each_operand_once(monkeypatch, side):
    from sheer.automation import operators

    copied = []
    gather = operators.joined_operands

    def counting(node):
        operands = gather(node)
        copied.append(len(operands))
        return operands

    monkeypatch.setattr(operators, "joined_operands", counting)

    def operands_copied(count):
        copied.clear()
        cond = AC.missing()
        for i in range(count):
            leaf = AC.asset_matches(f"a{i}", AC.missing())
            cond = cond & leaf if side == "left" else leaf & cond
        assert len(cond.operands) == count + 1
        return sum(copied)

    assert operands_copied(50_000) == 50_001
    assert operands_copied(100_000) == 100_001  # twice the operators, twice the copies
