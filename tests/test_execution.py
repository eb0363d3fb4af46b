"""Tests for sheer.execution: materialize() end to end, under every executor.

Ordering is checked from what was recorded (event ids, and lines the asset functions
append to a file), never from how long anything took.
"""

from __future__ import annotations

import os
import tempfile
import time
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sheer as dg
from sheer.errors import ExecutionError
from sheer.execution import StepExecutionError
from sheer.versioning import derived_data_version, virtual_version

K = dg.AssetKey
IN_PROCESS = dg.in_process_executor
MULTIPROCESS = dg.multiprocess_executor.configured({"max_concurrent": 2})
EXECUTORS = [
    pytest.param(IN_PROCESS, id="in_process"),
    pytest.param(MULTIPROCESS, id="multiprocess"),
]


def note(log: Path, text: str) -> None:
    """Append one line, from whichever process runs the asset (O_APPEND keeps lines whole)."""
    with open(log, "a") as f:
        f.write(f"{text} {time.time()!r}\n")


def lines(log: Path) -> list[tuple[str, float]]:
    if not log.exists():
        return []
    out = []
    for line in log.read_text().splitlines():
        text, ts = line.rsplit(" ", 1)
        out.append((text, float(ts)))
    return out


def texts(log: Path) -> list[str]:
    return [text for text, _ in lines(log)]


def events_of(result: dg.ExecutionResult, kind: dg.EventType) -> list[dg.EventRecord]:
    return [e for e in result.all_events if e.event_type is kind]


def event(result: dg.ExecutionResult, kind: dg.EventType, step_key: str) -> dg.EventRecord:
    (found,) = [e for e in events_of(result, kind) if e.step_key == step_key]
    return found


def stored_files(instance: dg.Instance) -> list[str]:
    root = instance.storage_directory
    if not root.exists():
        return []
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


# The seed --------------------------------------------------------------------------------


@pytest.mark.parametrize("executor", EXECUTORS)
def test_the_seed_virtual_asset_snippet_feeds_a_downstream_asset(executor):
    @dg.asset
    def upstream_asset():
        return [1, 2, 3]

    @dg.asset(is_virtual=True)
    def my_virtual_asset(upstream_asset):
        return upstream_asset

    @dg.asset
    def total(my_virtual_asset):
        return sum(my_virtual_asset)

    result = dg.materialize(
        [upstream_asset, my_virtual_asset, total],
        selection=["upstream_asset", "total"],
        executor=executor,
    )

    assert result.success
    assert result.asset_value("total") == 6
    assert [e.asset_key for e in result.get_asset_materialization_events()] == [
        K("upstream_asset"),
        K("total"),
    ]


@pytest.mark.parametrize("executor", EXECUTORS)
def test_the_seed_virtual_spec_orders_the_assets_around_it(executor, tmp_path):
    log = tmp_path / "log"

    @dg.asset
    def upstream_asset():
        note(log, "upstream_asset")

    my_virtual_spec = dg.AssetSpec("my_virtual_asset", deps=["upstream_asset"], is_virtual=True)

    @dg.asset(deps=[my_virtual_spec])
    def a_report():
        note(log, "a_report")

    result = dg.materialize([upstream_asset, my_virtual_spec, a_report], executor=executor)

    assert result.success
    assert texts(log) == ["upstream_asset", "a_report"]


def _seed_chain(log: Path) -> list[dg.AssetsDefinition]:
    """z_up -> b(v) -> c(v) -> a_down: names that sort against the lineage."""

    @dg.asset
    def z_up():
        note(log, "z_up start")
        note(log, "z_up end")
        return 1

    @dg.asset(is_virtual=True)
    def b(z_up):
        return z_up + 1

    @dg.asset(is_virtual=True)
    def c(b):
        return b + 1

    @dg.asset
    def a_down(c):
        note(log, "a_down start")
        note(log, "a_down end")
        return c + 1

    return [z_up, b, c, a_down]


@pytest.mark.parametrize("executor", EXECUTORS)
def test_z_up_finishes_before_a_down_starts_through_unselected_virtual_assets(executor, tmp_path):
    log = tmp_path / "log"

    result = dg.materialize(_seed_chain(log), selection=["z_up", "a_down"], executor=executor)

    assert result.success
    assert result.asset_value("a_down") == 4
    z_done = event(result, dg.EventType.STEP_SUCCESS, "z_up")
    a_start = event(result, dg.EventType.STEP_START, "a_down")
    a_done = event(result, dg.EventType.STEP_SUCCESS, "a_down")
    assert z_done.storage_id < a_start.storage_id
    assert z_done.data["finished_at"] <= a_done.data["started_at"]
    recorded = lines(log)
    assert [text for text, _ in recorded] == [
        "z_up start",
        "z_up end",
        "a_down start",
        "a_down end",
    ]
    assert recorded[1][1] <= recorded[2][1]


# Property: every executed order respects the ordering through unselected virtual assets ---

NAMES = [f"n{i}" for i in range(8)]


@st.composite
def graphs_and_selections(draw: st.DrawFn) -> tuple[dict[str, list[str]], set[str], set[str]]:
    n = draw(st.integers(min_value=1, max_value=len(NAMES)))
    names = draw(st.permutations(NAMES))[:n]
    parents: dict[str, list[str]] = {}
    for j, name in enumerate(names):
        picks = draw(st.lists(st.booleans(), min_size=j, max_size=j))
        parents[name] = [names[i] for i, on in enumerate(picks) if on]
    virtual = {name for name in names if draw(st.booleans())}
    selected = {name for name in names if draw(st.booleans())}
    if not selected:
        selected = {names[-1]}
    return parents, virtual, selected


def reference_order(
    parents: Mapping[str, list[str]], virtual: set[str], selected: set[str]
) -> dict[str, set[str]]:
    """X waits for every selected P with a path P -> v1 -> ... -> X whose intermediate
    nodes are all unselected virtual assets (by brute force)."""
    out: dict[str, set[str]] = {}
    for x in selected:
        found: set[str] = set()
        stack, seen = list(parents[x]), set()
        while stack:
            p = stack.pop()
            if p in seen:
                continue
            seen.add(p)
            if p in selected:
                found.add(p)
            elif p in virtual:
                stack.extend(parents[p])
        out[x] = found
    return out


def logging_asset(name: str, deps: Iterable[str], virtual: bool, log: Path) -> dg.AssetsDefinition:
    def fn():
        note(log, f"start {name}")
        note(log, f"end {name}")

    return dg.asset(name=name, deps=list(deps), is_virtual=virtual)(fn)


@pytest.mark.parametrize("executor", EXECUTORS)
@settings(max_examples=15, deadline=None)
@given(case=graphs_and_selections())
def test_every_executed_order_respects_the_ordering_through_unselected_virtual_assets(
    executor, case
):
    parents, virtual, selected = case
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "log"
        assets = [logging_asset(n, ps, n in virtual, log) for n, ps in parents.items()]

        result = dg.materialize(assets, selection=sorted(selected), executor=executor)

        assert result.success
        ran = texts(log)
    assert sorted(t.split()[1] for t in ran if t.startswith("start")) == sorted(selected)
    for x, ups in reference_order(parents, virtual, selected).items():
        for p in ups:
            assert ran.index(f"end {p}") < ran.index(f"start {x}"), (p, x, ran)
            done = event(result, dg.EventType.STEP_SUCCESS, p)
            start = event(result, dg.EventType.STEP_START, x)
            assert done.storage_id < start.storage_id


# Inputs ------------------------------------------------------------------------------------


@pytest.mark.parametrize("executor", EXECUTORS)
def test_virtual_outputs_are_never_stored_by_the_default_io_manager(executor):
    @dg.asset
    def orders():
        return [1, 2]

    @dg.asset(is_virtual=True)
    def orders_view(orders):
        return orders

    @dg.asset
    def revenue(orders_view):
        return sum(orders_view)

    instance = dg.Instance.ephemeral()
    result = dg.materialize([orders, orders_view, revenue], instance=instance, executor=executor)

    assert result.success
    assert stored_files(instance) == ["orders", "revenue"]
    assert result.asset_value("orders_view") == [1, 2]  # recomputed, not loaded
    view = [e for e in result.get_asset_materialization_events() if e.asset_key == K("orders_view")]
    assert view[0].data["stored"] is False
    assert view[0].data["is_virtual"] is True


@pytest.mark.parametrize("executor", EXECUTORS)
def test_an_unselected_non_virtual_parent_is_loaded_by_its_io_manager(executor, tmp_path):
    log = tmp_path / "log"

    @dg.asset
    def parent():
        note(log, "parent")
        return 20

    @dg.asset(is_virtual=True)
    def view(parent):
        note(log, "view")
        return parent + 1

    @dg.asset
    def child(parent, view):
        return parent + view

    assets = [parent, view, child]
    instance = dg.Instance.from_url(f"sqlite:///{tmp_path}/i.db")
    first = dg.materialize(assets, selection=["parent"], instance=instance, executor=executor)
    second = dg.materialize(assets, selection=["child"], instance=instance, executor=executor)

    assert first.success and second.success
    assert second.asset_value("child") == 41
    assert texts(log) == ["parent", "view"]  # parent ran once; view was derived in run 2
    assert stored_files(instance) == ["child", "parent"]
    assert instance.storage_directory == tmp_path / "storage"


def test_an_unselected_parent_that_was_never_stored_fails_the_step_with_a_clear_message():
    @dg.asset
    def parent():
        return 1

    @dg.asset
    def child(parent):
        return parent

    result = dg.materialize([parent, child], selection=["child"], raise_on_error=False)

    assert not result.success
    (failure,) = result.get_step_failure_events()
    assert failure.data["error"]["cls_name"] == "NoStoredValueError"
    assert failure.data["error"]["message"].startswith(
        "Asset 'child' reads 'parent', but no value of it is stored (looked in "
    )


def test_a_virtual_parent_is_computed_once_per_run_and_shared_by_its_readers(tmp_path):
    log = tmp_path / "log"

    @dg.asset
    def source():
        return 2

    @dg.asset(is_virtual=True)
    def doubled(source):
        note(log, "doubled")
        return source * 2

    @dg.asset(is_virtual=True)
    def quadrupled(doubled):
        note(log, "quadrupled")
        return doubled * 2

    @dg.asset
    def left(doubled, quadrupled):
        return doubled + quadrupled

    @dg.asset
    def right(quadrupled):
        return quadrupled + 1

    result = dg.materialize(
        [source, doubled, quadrupled, left, right], selection=["source", "left", "right"]
    )

    assert result.success
    assert (result.asset_value("left"), result.asset_value("right")) == (12, 9)
    assert texts(log) == ["doubled", "quadrupled"]


def test_a_virtual_parent_is_memoized_within_a_worker_of_the_multiprocess_executor(tmp_path):
    log = tmp_path / "log"

    @dg.asset
    def source():
        return 2

    @dg.asset(is_virtual=True)
    def doubled(source):
        note(log, "doubled")
        return source * 2

    @dg.asset
    def left(doubled):
        return doubled + 1

    @dg.asset
    def right(doubled):
        return doubled + 2

    one_worker = dg.multiprocess_executor.configured({"max_concurrent": 1})
    result = dg.materialize(
        [source, doubled, left, right], executor=one_worker, selection=["source", "left", "right"]
    )

    assert result.success
    assert texts(log) == ["doubled"]


# Selection -------------------------------------------------------------------------------


VIRTUAL_SPEC_ERROR = (
    "Asset 'v' cannot be materialized: it is a virtual asset with no function (an AssetSpec): "
    "it is a lineage node only. Fix: leave it out of the selection; select the assets around it "
    "and Sheer orders them through it."
)


@pytest.mark.parametrize("selection", [["v"], "v", "up or v", ["up", "v"]])
def test_selecting_a_virtual_spec_explicitly_is_an_error_that_says_so(selection):
    @dg.asset
    def up():
        return 1

    v = dg.AssetSpec("v", deps=["up"], is_virtual=True)

    with pytest.raises(ExecutionError) as info:
        dg.materialize([up, v], selection=selection)

    assert str(info.value) == VIRTUAL_SPEC_ERROR
    assert info.value.key == K("v")


def test_selecting_an_external_spec_explicitly_is_an_error_that_says_so():
    raw = dg.AssetSpec("raw")

    @dg.asset(deps=[raw])
    def clean():
        return 1

    with pytest.raises(ExecutionError) as info:
        dg.materialize([raw, clean], selection=["raw", "clean"])

    assert str(info.value) == (
        "Asset 'raw' cannot be materialized: it is an external asset (an AssetSpec with no "
        "function): it is updated by reports and observations, not runs. Fix: leave it out of "
        "the selection; the assets that read it use its stored value."
    )


def test_a_virtual_spec_is_left_out_when_the_selection_does_not_name_it():
    @dg.asset
    def up():
        return 1

    v = dg.AssetSpec("v", deps=["up"], is_virtual=True)

    @dg.asset(deps=[v])
    def down():
        return 2

    result = dg.materialize([up, v, down])
    by_name = dg.materialize([up, v, down], selection="up+")

    assert [e.asset_key for e in result.get_asset_materialization_events()] == [K("up"), K("down")]
    assert by_name.success


def test_a_selection_with_nothing_to_run_is_an_error():
    v = dg.AssetSpec("v", is_virtual=True)

    with pytest.raises(ExecutionError) as info:
        dg.materialize([v], selection="is:virtual")

    assert str(info.value) == (
        "The selection contains no asset that can be materialized. Fix: select assets defined "
        "with @asset or @multi_asset."
    )


def test_definitions_materialize_runs_a_selection_on_the_given_instance(tmp_path):
    @dg.asset
    def a():
        return 1

    @dg.asset
    def b(a):
        return a + 1

    defs = dg.Definitions(assets=[a, b], executor=MULTIPROCESS)
    instance = dg.Instance.from_url(f"sqlite:///{tmp_path}/i.db")

    result = defs.materialize(["a"], instance=instance, tags={"team": "data"})

    assert result.success
    run = instance.get_run(result.run_id)
    assert run.status is dg.RunStatus.SUCCESS
    assert run.asset_selection == (K("a"),)
    assert run.tags == {"team": "data"}
    assert run.executor == "multiprocess"  # the Definitions default
    assert instance.get_latest_materialization("a").run_id == result.run_id
    assert instance.get_latest_materialization("b") is None


def test_the_executor_given_to_the_call_wins_over_the_definitions_default():
    @dg.asset
    def a():
        return 1

    defs = dg.Definitions(assets=[a], executor=MULTIPROCESS)

    result = defs.materialize(executor="in_process")

    assert result.instance.get_run(result.run_id).executor == "in_process"


def test_a_custom_executor_plugs_in_by_subclassing_executor(tmp_path):
    from sheer.execution.executors import StepQueue

    class NewestFirst(dg.Executor):
        """Runs ready steps last-in first-out; still bound by the plan's ordering."""

        name = "newest_first"
        runs_in_process = True

        def __init__(self):
            self.ran: list[str] = []

        def execute(self, plan, runner, hooks):
            queue, ready = StepQueue(plan), []
            runner.open()
            try:
                while True:
                    while queue.has_ready():
                        ready.append(queue.pop())
                    if not ready:
                        break
                    step = ready.pop()
                    self.ran.append(step.key)
                    hooks.on_step_start(step)
                    outcome = runner.run(step)
                    hooks.on_step_done(step, outcome)
                    queue.succeeded(step)
            finally:
                runner.close()

    executor = NewestFirst()
    result = dg.materialize(
        _seed_chain(tmp_path / "log"), executor=executor, selection=["z_up", "a_down"]
    )

    assert result.success
    assert executor.ran == ["z_up", "a_down"]
    assert result.asset_value("a_down") == 4
    assert result.instance.get_run(result.run_id).executor == "newest_first"


def test_an_unknown_executor_name_is_an_error():
    @dg.asset
    def a():
        return 1

    with pytest.raises(ExecutionError) as info:
        dg.materialize([a], executor="threads")

    assert str(info.value) == (
        "Unknown executor 'threads'. Fix: use one of dask, in_process, multiprocess, or an "
        "Executor object such as multiprocess_executor.configured({'max_concurrent': 4})."
    )


# Resources, IO managers and the context ---------------------------------------------------


class Warehouse(dg.ConfigurableResource):
    prefix: str


@pytest.mark.parametrize("executor", EXECUTORS)
def test_resources_are_injected_by_parameter_name_and_through_context_resources(executor):
    @dg.asset
    def typed(warehouse: Warehouse):
        return f"{warehouse.prefix}.typed"

    @dg.asset
    def by_name(settings):
        return settings["schema"]

    @dg.asset(required_resource_keys={"settings", "warehouse"})
    def via_context(context: dg.AssetExecutionContext):
        return f"{context.resources.warehouse.prefix}.{context.resources.settings['schema']}"

    result = dg.materialize(
        [typed, by_name, via_context],
        resources={"warehouse": Warehouse(prefix="wh"), "settings": {"schema": "raw"}},
        executor=executor,
    )

    assert result.success
    assert result.asset_value("typed") == "wh.typed"
    assert result.asset_value("by_name") == "raw"
    assert result.asset_value("via_context") == "wh.raw"


@pytest.mark.parametrize("executor", EXECUTORS)
def test_configurable_resources_are_set_up_and_torn_down_around_their_use(executor, tmp_path):
    log = tmp_path / "log"

    class Connection(dg.ConfigurableResource):
        name: str

        def setup_for_execution(self, context):
            note(log, "setup")

        def teardown_after_execution(self, context):
            note(log, "teardown")

    @dg.asset
    def a(connection: Connection):
        note(log, f"use {connection.name}")
        return 1

    @dg.asset
    def b(connection: Connection, a):
        note(log, f"use {connection.name}")
        return a + 1

    result = dg.materialize(
        [a, b], resources={"connection": Connection(name="db")}, executor=executor
    )

    assert result.success
    if executor is IN_PROCESS:
        assert texts(log) == ["setup", "use db", "use db", "teardown"]
    else:  # a worker sets resources up for each step and tears them down after it
        assert texts(log) == ["setup", "use db", "teardown"] * 2


def test_a_missing_resource_fails_the_step_naming_it():
    @dg.asset(required_resource_keys={"warehouse"})
    def a(context):
        return 1

    result = dg.materialize([a], raise_on_error=False)

    (failure,) = result.get_step_failure_events()
    assert failure.data["error"]["message"] == (
        "Asset 'a' needs the resource 'warehouse', which this run does not have (it has: "
        "io_manager). Fix: pass it in Definitions(resources={'warehouse': ...}) or "
        "materialize(..., resources=...)."
    )


def test_io_manager_key_routes_one_asset_to_an_in_memory_io_manager():
    memory = dg.InMemoryIOManager()

    @dg.asset(io_manager_key="memory")
    def kept():
        return {"x": 1}

    @dg.asset
    def on_disk(kept):
        return kept["x"] + 1

    instance = dg.Instance.ephemeral()
    assets = [kept, on_disk]
    dg.materialize(assets, instance=instance, resources={"memory": memory}, selection=["kept"])
    second = dg.materialize(
        assets, instance=instance, resources={"memory": memory}, selection=["on_disk"]
    )

    assert memory.values == {K("kept"): {"x": 1}}
    assert second.asset_value("on_disk") == 2  # `kept` loaded from memory
    assert stored_files(instance) == ["on_disk"]


def test_the_multiprocess_executor_refuses_an_in_memory_io_manager():
    @dg.asset(io_manager_key="memory")
    def kept():
        return 1

    with pytest.raises(ExecutionError) as info:
        dg.materialize([kept], resources={"memory": dg.InMemoryIOManager()}, executor=MULTIPROCESS)

    assert str(info.value) == (
        "Resource 'memory' is an InMemoryIOManager, which keeps values inside one process, but "
        "the multiprocess executor runs steps in several. Fix: use FilesystemIOManager (the "
        "default) or the in-process executor."
    )


def test_the_context_describes_the_step():
    seen = {}
    instance = dg.Instance.ephemeral()

    @dg.asset
    def orders(context: dg.AssetExecutionContext):
        context.log.info("loading %s rows", 3)
        context.add_output_metadata({"rows": 3})
        seen.update(
            asset_key=context.asset_key,
            asset_keys=context.asset_keys,
            selected=context.selected_asset_keys,
            run_id=context.run_id,
            instance=context.instance,
            resources=context.resources.token,
        )
        return [1, 2, 3]

    result = dg.materialize([orders], instance=instance, resources={"token": "t0k"})

    assert seen == {
        "asset_key": K("orders"),
        "asset_keys": {K("orders")},
        "selected": {K("orders")},
        "run_id": result.run_id,
        "instance": instance,
        "resources": "t0k",
    }
    (log_line,) = events_of(result, dg.EventType.LOG_MESSAGE)
    assert (log_line.message, log_line.data["level"], log_line.step_key) == (
        "loading 3 rows",
        "INFO",
        "orders",
    )
    (mat,) = result.get_asset_materialization_events()
    assert mat.metadata == {"rows": 3}


def test_the_context_instance_in_a_worker_process_opens_the_same_instance(tmp_path):
    @dg.asset
    def where(context):
        return context.instance.url

    instance = dg.Instance.from_url(f"sqlite:///{tmp_path}/i.db")
    result = dg.materialize([where], instance=instance, executor=MULTIPROCESS)

    assert result.asset_value("where") == f"sqlite:///{tmp_path}/i.db"


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:"])
def test_the_context_instance_of_an_in_memory_instance_is_refused_in_a_worker(url):
    @dg.asset
    def where(context):
        return context.instance.url

    result = dg.materialize(
        [where], instance=dg.Instance.from_url(url), executor=MULTIPROCESS, raise_on_error=False
    )

    (failure,) = result.get_step_failure_events()
    assert failure.error["message"] == (
        "context.instance is not available here: the run's instance is in memory, in another "
        "process. Fix: use an instance on disk (Instance.from_url) or the in-process executor."
    )


def test_context_asset_key_in_a_step_of_several_assets_is_an_error():
    @dg.multi_asset(specs=[dg.AssetSpec("m1"), dg.AssetSpec("m2")])
    def both(context):
        return context.asset_key

    with pytest.raises(StepExecutionError) as info:
        dg.materialize([both])

    assert str(info.value).splitlines()[0] == (
        "Asset 'm1', 'm2' failed in step both: ExecutionError: context.asset_key needs a step "
        "of exactly one asset; this step computes m1, m2. Fix: use context.selected_asset_keys."
    )


# multi_assets ----------------------------------------------------------------------------


@pytest.mark.parametrize("executor", EXECUTORS)
def test_a_multi_asset_yielding_outputs_by_name_hands_each_value_downstream(executor):
    @dg.multi_asset(specs=[dg.AssetSpec("m1"), dg.AssetSpec("m2")])
    def both():
        yield dg.Output(1, output_name="m1", metadata={"part": "one"})
        yield dg.Output(2, output_name="m2")

    @dg.asset
    def total(m1, m2):
        return m1 + m2

    result = dg.materialize([both, total], executor=executor)

    assert result.asset_value("total") == 3
    assert result.output_for_node("both", "m1") == 1
    assert result.output_for_node("both", "m2") == 2
    assert result.output_for_node("total") == 3
    mats = {e.asset_key.to_user_string(): e for e in result.get_asset_materialization_events()}
    assert sorted(mats) == ["m1", "m2", "total"]
    assert mats["m1"].metadata == {"part": "one"}
    assert mats["m1"].step_key == mats["m2"].step_key == "both"


def test_a_multi_asset_returning_materialize_results_records_each_without_storing_values():
    @dg.multi_asset(specs=[dg.AssetSpec("t1"), dg.AssetSpec("t2")])
    def tables():
        return (
            dg.MaterializeResult(asset_key="t1", metadata={"rows": 1}, data_version="t1-v1"),
            dg.MaterializeResult(asset_key="t2", metadata={"rows": 2}),
        )

    instance = dg.Instance.ephemeral()
    result = dg.materialize([tables], instance=instance)

    mats = {e.asset_key.to_user_string(): e for e in result.get_asset_materialization_events()}
    assert mats["t1"].metadata == {"rows": 1}
    assert mats["t1"].data_version == dg.DataVersion("t1-v1")
    assert mats["t2"].metadata == {"rows": 2}
    assert stored_files(instance) == []


def test_a_multi_asset_of_outs_missing_a_value_for_a_selected_asset_fails_naming_it():
    @dg.multi_asset(outs={"t1": dg.AssetOut(), "t2": dg.AssetOut()})
    def tables():
        yield dg.Output(1, output_name="t1")

    result = dg.materialize([tables], raise_on_error=False)

    (failure,) = result.get_step_failure_events()
    assert failure.data["error"]["message"] == (
        "Asset 't2' was selected, but tables did not return or yield a result for it. Fix: yield "
        "MaterializeResult(asset_key='t2') or Output(..., output_name='t2')."
    )


def test_a_multi_asset_of_specs_yielding_no_result_for_a_spec_still_materializes_it():
    # Dagster: a spec's output carries no value (Nothing), so it is emitted implicitly.
    @dg.multi_asset(specs=[dg.AssetSpec("t1"), dg.AssetSpec("t2")])
    def tables():
        yield dg.MaterializeResult(asset_key="t1", metadata={"rows": 1})

    result = dg.materialize([tables])

    mats = {e.asset_key.to_user_string(): e for e in result.get_asset_materialization_events()}
    assert sorted(mats) == ["t1", "t2"]
    assert mats["t1"].metadata == {"rows": 1}
    assert mats["t2"].metadata == {}


def test_a_subsettable_multi_asset_of_specs_materializes_only_what_it_yields():
    # Dagster: with can_subset=True the outputs of specs are optional.
    @dg.multi_asset(specs=[dg.AssetSpec("c1"), dg.AssetSpec("c2")], can_subset=True)
    def tables():
        yield dg.MaterializeResult(asset_key="c1")

    result = dg.materialize([tables])

    assert [e.asset_key for e in result.get_asset_materialization_events()] == [K("c1")]


@pytest.mark.parametrize("executor", EXECUTORS)
def test_a_subsettable_multi_asset_runs_only_the_selected_subset(executor, tmp_path):
    log = tmp_path / "log"

    @dg.multi_asset(
        specs=[dg.AssetSpec("m1"), dg.AssetSpec("m2"), dg.AssetSpec("m3")], can_subset=True
    )
    def three(context):
        note(log, ",".join(sorted(k.to_user_string() for k in context.selected_asset_keys)))
        for key in sorted(context.selected_asset_keys):
            yield dg.Output(key.to_user_string(), output_name=key.to_user_string())

    result = dg.materialize([three], selection=["m1", "m3"], executor=executor)

    assert texts(log) == ["m1,m3"]
    assert [e.asset_key for e in result.get_asset_materialization_events()] == [K("m1"), K("m3")]
    assert {e.step_key for e in result.get_asset_materialization_events()} == {"three[m1,m3]"}
    assert result.asset_value("m3") == "m3"


# Generators -------------------------------------------------------------------------------
# As in Dagster: a generator, whether the function's body or what it returns, is iterated,
# and each item is a result for an output not seen before; never a silent last element.


def _yield_one():
    yield dg.Output(1, metadata={"rows": 1})


def _return_genexp():
    return (dg.Output(x, metadata={"rows": 1}) for x in [1])


def _return_generator():
    return _yield_one()


@pytest.mark.parametrize("fn", [_yield_one, _return_genexp, _return_generator])
@pytest.mark.parametrize("executor", EXECUTORS)
def test_a_generator_asset_is_iterated_for_its_output(executor, fn):
    numbers = dg.asset(fn, name="numbers")

    result = dg.materialize([numbers], executor=executor)

    assert result.output_for_node("numbers") == 1
    (mat,) = result.get_asset_materialization_events()
    assert mat.metadata == {"rows": 1}


def _yield_plain():
    yield 5


def _return_plain_generator():
    return (x for x in [1, 2])


@pytest.mark.parametrize(
    ("fn", "message"),
    [
        pytest.param(
            _yield_plain,
            "Asset '_yield_plain' yielded a value of type int, not an Output or "
            "MaterializeResult: the body of a generator asset is iterated, and each item must "
            "be a result for an output. Fix: yield Output(value), or return the value instead "
            "of yielding it.",
            id="yielded",
        ),
        pytest.param(
            _return_plain_generator,
            "Asset '_return_plain_generator' returned a generator, which is iterated for "
            "results, and it yielded a value of type int, not an Output or MaterializeResult. "
            "Fix: return the value itself (a list(...), not a generator), or yield Output(value).",
            id="returned",
        ),
    ],
)
@pytest.mark.parametrize("executor", EXECUTORS)
def test_a_generator_yielding_a_plain_value_fails_the_step_and_stores_nothing(
    executor, fn, message
):
    instance = dg.Instance.ephemeral()
    plain = dg.asset(fn)

    with pytest.raises(StepExecutionError) as info:
        dg.materialize([plain], instance=instance, executor=executor)

    assert info.value.key == plain.key
    (failure,) = [
        e for e in instance.get_event_records() if e.event_type is dg.EventType.STEP_FAILURE
    ]
    assert failure.data["error"]["cls_name"] == "ExecutionError"
    assert failure.data["error"]["message"] == message
    assert stored_files(instance) == []
    assert instance.get_latest_materialization_event(plain.key) is None


def test_a_multi_asset_yielding_a_plain_value_fails_naming_it():
    @dg.multi_asset(outs={"a": dg.AssetOut(), "b": dg.AssetOut()})
    def pair():
        yield 1
        yield 2

    result = dg.materialize([pair], raise_on_error=False)

    (failure,) = result.get_step_failure_events()
    assert failure.data["error"]["message"] == (
        "The multi_asset 'pair' yielded a value of type int, not an Output or MaterializeResult: "
        "with several outputs, each item must say which asset it is for. Fix: yield "
        "Output(value, output_name=...) or MaterializeResult(asset_key=...) for each asset."
    )


def _two_outputs():
    yield dg.Output(1)
    yield dg.Output(2)


def _materialize_result_then_output():
    yield dg.MaterializeResult(metadata={"rows": 1})
    yield dg.Output(2)


@pytest.mark.parametrize("fn", [_two_outputs, _materialize_result_then_output])
def test_two_results_for_one_output_fail_the_step_naming_the_asset_and_output(fn):
    instance = dg.Instance.ephemeral()
    twice = dg.asset(fn, name="twice")

    result = dg.materialize([twice], instance=instance, raise_on_error=False)

    assert not result.success
    (failure,) = result.get_step_failure_events()
    assert failure.data["error"]["message"] == (
        "Asset 'twice' yielded two results for its output 'result': an output takes one "
        "result, and keeping either would silently drop the other. Fix: yield one Output or "
        "MaterializeResult per output (merge their metadata into one)."
    )
    assert result.get_asset_materialization_events() == []
    assert stored_files(instance) == []


def test_a_multi_asset_yielding_one_output_twice_fails_and_records_neither_asset():
    @dg.multi_asset(outs={"a": dg.AssetOut(), "b": dg.AssetOut()})
    def pair():
        yield dg.Output(1, output_name="a")
        yield dg.Output(1, output_name="a")
        yield dg.Output(2, output_name="b")

    @dg.multi_asset(specs=[dg.AssetSpec("t1"), dg.AssetSpec("t2")])
    def tables():
        yield dg.MaterializeResult(asset_key="t1")
        yield dg.MaterializeResult(asset_key="t2")
        yield dg.MaterializeResult(asset_key="t2")

    result = dg.materialize([pair, tables], raise_on_error=False)

    messages = sorted(e.data["error"]["message"] for e in result.get_step_failure_events())
    assert messages == [
        "The multi_asset 'pair' yielded two results for asset 'a' (output 'a'): an output "
        "takes one result, and keeping either would silently drop the other. Fix: yield one "
        "Output or MaterializeResult per output (merge their metadata into one).",
        "The multi_asset 'tables' yielded two results for asset 't2' (output 't2'): an output "
        "takes one result, and keeping either would silently drop the other. Fix: yield one "
        "Output or MaterializeResult per output (merge their metadata into one).",
    ]
    assert result.get_asset_materialization_events() == []


def test_an_output_yielded_under_an_unknown_name_fails_with_did_you_mean():
    @dg.multi_asset(outs={"orders": dg.AssetOut(), "users": dg.AssetOut()})
    def tables():
        yield dg.Output(1, output_name="order")
        yield dg.Output(2, output_name="users")

    result = dg.materialize([tables], raise_on_error=False)

    (failure,) = result.get_step_failure_events()
    assert failure.data["error"]["message"] == (
        "The multi_asset 'tables' yielded an Output for output 'order', which it does not have "
        "(its outputs: orders, users). Did you mean 'orders'? Fix: set Output(output_name=...) "
        "to one of its outputs."
    )


def test_a_generator_with_no_result_for_a_value_output_fails_naming_it():
    @dg.asset
    def empty():
        return
        yield dg.Output(1)

    result = dg.materialize([empty], raise_on_error=False)

    (failure,) = result.get_step_failure_events()
    assert failure.data["error"]["message"] == (
        "Asset 'empty' was selected, but empty did not return or yield a result for it. Fix: "
        "yield MaterializeResult(asset_key='empty') or Output(..., output_name='result')."
    )


def test_an_asset_yielding_an_asset_materialization_fails_rather_than_dropping_it():
    @dg.asset
    def reporter():
        yield dg.AssetMaterialization("elsewhere", metadata={"rows": 3})
        yield dg.Output(1)

    result = dg.materialize([reporter], raise_on_error=False)

    (failure,) = result.get_step_failure_events()
    assert failure.data["error"]["message"] == (
        "Asset 'reporter' yielded an AssetMaterialization for 'elsewhere', but Sheer does not "
        "record events yielded by an asset function yet, so it would be silently dropped. Fix: "
        "put its metadata on the asset's own Output(metadata=...) or "
        "MaterializeResult(metadata=...), or report it with "
        "instance.report_runless_asset_event(...)."
    )
    assert result.get_asset_materialization_events() == []


async def _async_value():
    return 1


async def _async_outputs():
    yield dg.Output(1)


@pytest.mark.parametrize(
    ("fn", "kind"), [(_async_value, "a coroutine"), (_async_outputs, "an async generator")]
)
def test_an_async_asset_fails_saying_sheer_does_not_run_them_yet(fn, kind):
    instance = dg.Instance.ephemeral()
    asynchronous = dg.asset(fn, name="asynchronous")

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "coroutine ... was never awaited"
        result = dg.materialize([asynchronous], instance=instance, raise_on_error=False)

    (failure,) = result.get_step_failure_events()
    assert failure.data["error"]["message"] == (
        f"Asset 'asynchronous' returned {kind}, as an async def function does, and Sheer does "
        "not run async assets yet, so its body would never run. Fix: define it with def, and "
        "run the async code inside it with asyncio.run(...)."
    )
    assert stored_files(instance) == []


def test_a_generator_that_raises_midway_keeps_the_user_traceback_and_stores_nothing():
    instance = dg.Instance.ephemeral()

    @dg.asset
    def halfway():
        yield dg.Output(1)
        raise ValueError("second half failed")

    with pytest.raises(StepExecutionError) as info:
        dg.materialize([halfway], instance=instance)

    tb = info.value.user_traceback
    line = halfway.fn.__code__.co_firstlineno + 3
    assert tb.splitlines()[1] == f'  File "{__file__}", line {line}, in halfway'
    assert "sheer/execution" not in tb
    assert tb.rstrip().endswith("ValueError: second half failed")
    assert stored_files(instance) == []


# Results ----------------------------------------------------------------------------------


def test_the_result_reports_success_run_id_values_and_materializations():
    @dg.asset
    def a():
        return 1

    @dg.asset
    def b(a):
        return a + 1

    instance = dg.Instance.ephemeral()
    result = dg.materialize([a, b], instance=instance)

    assert result.success is True
    assert instance.get_run(result.run_id).status is dg.RunStatus.SUCCESS
    assert result.asset_value("b") == 2
    assert result.asset_value(K("a")) == 1
    assert result.output_for_node("b") == 2
    assert [(e.asset_key, e.run_id) for e in result.get_asset_materialization_events()] == [
        (K("a"), result.run_id),
        (K("b"), result.run_id),
    ]


def test_asking_the_result_for_an_unknown_node_is_an_error():
    @dg.asset
    def a():
        return 1

    result = dg.materialize([a])

    with pytest.raises(ExecutionError) as info:
        result.output_for_node("b")

    assert str(info.value) == f"No step named 'b' in run {result.run_id[:8]}; steps: ['a']."


def test_asking_the_result_for_an_asset_outside_the_run_is_an_error():
    @dg.asset
    def a():
        return 1

    @dg.asset
    def b(a):
        return a

    result = dg.materialize([a, b], selection=["a"])

    with pytest.raises(ExecutionError) as info:
        result.asset_value("b")

    assert str(info.value) == (
        f"Asset 'b' was not part of run {result.run_id[:8]}. Fix: ask for one of the assets the "
        "run materialized."
    )


@pytest.mark.parametrize("executor", EXECUTORS)
def test_a_selected_virtual_asset_with_a_function_runs_and_records_without_storing(executor):
    calls = []

    @dg.asset
    def table():
        return 5

    @dg.asset(is_virtual=True, code_version="view-v2")
    def view(table):
        calls.append("view")
        return table * 10

    instance = dg.Instance.ephemeral()
    result = dg.materialize([table, view], instance=instance, executor=executor)

    assert result.success
    (table_mat, view_mat) = result.get_asset_materialization_events()
    assert view_mat.asset_key == K("view")
    assert view_mat.code_version == "view-v2"
    assert view_mat.data["stored"] is False
    assert view_mat.data_version == dg.DataVersion(
        virtual_version("view-v2", [(K("table"), table_mat.data_version.value)])
    )
    assert stored_files(instance) == ["table"]
    assert result.asset_value("view") == 50
    if executor is IN_PROCESS:
        assert calls == ["view"]


# Events and provenance -------------------------------------------------------------------


def test_a_successful_run_records_its_events_in_order():
    @dg.asset
    def a():
        return 1

    @dg.asset
    def b(a):
        return a

    result = dg.materialize([a, b])

    assert [(e.event_type.value, e.step_key) for e in result.all_events] == [
        ("RUN_START", None),
        ("STEP_START", "a"),
        ("ASSET_MATERIALIZATION", "a"),
        ("STEP_SUCCESS", "a"),
        ("STEP_START", "b"),
        ("ASSET_MATERIALIZATION", "b"),
        ("STEP_SUCCESS", "b"),
        ("RUN_SUCCESS", None),
    ]
    ids = [e.storage_id for e in result.all_events]
    assert ids == sorted(ids)


def test_a_materialization_carries_metadata_data_version_code_version_and_provenance():
    @dg.asset(code_version="a1")
    def a():
        return dg.Output(1, data_version="a-v1")

    @dg.asset(is_virtual=True, code_version="b1")
    def b(a):
        return a

    @dg.asset(is_virtual=True, code_version="c1")
    def c(b):
        return b

    @dg.asset
    def e():
        return dg.Output(2, data_version="e-v7")

    @dg.asset(code_version="d1")
    def d(c, e):
        return dg.MaterializeResult(metadata={"rows": 2}, value=c + e)

    result = dg.materialize([a, b, c, d, e], selection=["a", "d", "e"])

    mats = {m.asset_key.to_user_string(): m for m in result.get_asset_materialization_events()}
    b_version = virtual_version("b1", [(K("a"), "a-v1")])
    c_version = virtual_version("c1", [(K("b"), b_version)])
    inputs = {K("c"): c_version, K("e"): "e-v7"}
    d_mat = mats["d"]
    assert d_mat.metadata == {"rows": 2}
    assert d_mat.code_version == "d1"
    assert d_mat.data_version == dg.DataVersion(derived_data_version("d1", inputs))
    prov = d_mat.provenance
    assert prov.code_version == "d1"
    assert prov.input_versions == inputs
    assert prov.through_virtual == {K("a"): "a-v1"}
    assert prov.virtual_code_versions == {K("b"): "b1", K("c"): "c1"}
    assert mats["a"].data_version == dg.DataVersion("a-v1")
    assert mats["a"].provenance.input_versions == {}
    assert result.asset_value("d") == 3


def test_outputs_of_one_step_record_the_new_versions_of_the_siblings_they_depend_on():
    @dg.multi_asset(
        specs=[
            dg.AssetSpec("m1"),
            dg.AssetSpec("mv", deps=["m1"], is_virtual=True, code_version="view-1"),
            dg.AssetSpec("m2", deps=["mv"]),
            dg.AssetSpec("m3", deps=["m1"], code_version="m3-1"),
        ]
    )
    def outputs():
        for key in ("m1", "mv", "m2", "m3"):
            yield dg.MaterializeResult(asset_key=key)

    instance = dg.Instance.ephemeral()
    result = dg.materialize([outputs], instance=instance)

    mats = {m.asset_key.to_user_string(): m for m in result.get_asset_materialization_events()}
    m1 = mats["m1"].data_version.value
    view = virtual_version("view-1", [(K("m1"), m1)])
    assert mats["mv"].data_version == dg.DataVersion(view)
    assert mats["m2"].provenance.input_versions == {K("mv"): view}
    assert mats["m2"].provenance.through_virtual == {K("m1"): m1}
    assert mats["m3"].provenance.input_versions == {K("m1"): m1}
    assert mats["m3"].data_version == dg.DataVersion(derived_data_version("m3-1", {K("m1"): m1}))
    resolver = dg.StaleStatusResolver(instance, dg.Definitions(assets=[outputs]))
    assert {k: resolver.get_status(k) for k in ("m1", "mv", "m2", "m3")} == {
        k: dg.StaleStatus.FRESH for k in ("m1", "mv", "m2", "m3")
    }


def test_provenance_reads_stored_versions_of_unselected_ancestors_behind_virtual_parents():
    @dg.asset
    def a():
        return dg.Output(1, data_version="a-old")

    @dg.asset(is_virtual=True)
    def v(a):
        return a

    @dg.asset
    def d(v):
        return v

    instance = dg.Instance.ephemeral()
    dg.materialize([a, v, d], selection=["a"], instance=instance)
    result = dg.materialize([a, v, d], selection=["d"], instance=instance)

    (mat,) = result.get_asset_materialization_events()
    assert mat.provenance.through_virtual == {K("a"): "a-old"}
    assert mat.provenance.input_versions == {K("v"): virtual_version(None, [(K("a"), "a-old")])}


def test_without_a_code_version_each_materialization_gets_a_new_data_version():
    @dg.asset
    def a():
        return 1

    instance = dg.Instance.ephemeral()
    first = dg.materialize([a], instance=instance).get_asset_materialization_events()[0]
    second = dg.materialize([a], instance=instance).get_asset_materialization_events()[0]

    assert first.data_version != second.data_version


def test_with_a_code_version_the_data_version_is_a_hash_of_code_and_inputs():
    @dg.asset(code_version="1")
    def a():
        return 1

    instance = dg.Instance.ephemeral()
    first = dg.materialize([a], instance=instance).get_asset_materialization_events()[0]
    second = dg.materialize([a], instance=instance).get_asset_materialization_events()[0]

    assert first.data_version == second.data_version
    assert first.data_version == dg.DataVersion(derived_data_version("1", {}))


# Failure -----------------------------------------------------------------------------------


def _failing_graph(log: Path) -> list[dg.AssetsDefinition]:
    """ok -> broken -> v(virtual) -> after_broken; ok -> sibling (independent of broken)."""

    @dg.asset
    def ok():
        note(log, "ok")
        return 1

    @dg.asset
    def broken(ok):
        raise ValueError(f"bad input {ok}")

    @dg.asset(is_virtual=True)
    def v(broken):
        return broken

    @dg.asset(deps=[v])
    def after_broken():
        note(log, "after_broken")

    @dg.asset
    def sibling(ok):
        note(log, "sibling")
        return ok + 1

    return [ok, broken, v, after_broken, sibling]


FAILING_SELECTION = ["ok", "broken", "after_broken", "sibling"]


@pytest.mark.parametrize("executor", EXECUTORS)
def test_a_failing_step_fails_the_run_and_skips_only_what_depends_on_it(executor, tmp_path):
    log = tmp_path / "log"
    instance = dg.Instance.ephemeral()

    result = dg.materialize(
        _failing_graph(log),
        selection=FAILING_SELECTION,
        instance=instance,
        executor=executor,
        raise_on_error=False,
    )

    assert result.success is False
    assert sorted(texts(log)) == ["ok", "sibling"]
    kinds = [(e.event_type.value, e.step_key) for e in result.all_events]
    assert kinds[0] == ("RUN_START", None)
    assert kinds[-1] == ("RUN_FAILURE", None)
    assert ("STEP_FAILURE", "broken") in kinds
    assert ("STEP_SKIPPED", "after_broken") in kinds
    assert ("STEP_SUCCESS", "sibling") in kinds
    assert [e.step_key for e in result.get_step_skipped_events()] == ["after_broken"]
    (skipped,) = result.get_step_skipped_events()
    assert skipped.message == "Step after_broken skipped: upstream step broken failed."
    assert [e.asset_key for e in result.get_asset_materialization_events()] == [
        K("ok"),
        K("sibling"),
    ]
    run = instance.get_run(result.run_id)
    assert run.status is dg.RunStatus.FAILURE
    assert run.error.startswith("Asset 'broken' failed in step broken: ValueError: bad input 1")
    assert instance.get_latest_materialization("sibling").run_id == result.run_id
    assert instance.get_latest_materialization("after_broken") is None


@pytest.mark.parametrize("executor", EXECUTORS)
def test_a_failing_step_raises_an_error_naming_the_asset_with_the_user_traceback(
    executor, tmp_path
):
    assets = _failing_graph(tmp_path / "log")
    broken = assets[1]
    instance = dg.Instance.ephemeral()

    with pytest.raises(StepExecutionError) as info:
        dg.materialize(assets, selection=FAILING_SELECTION, instance=instance, executor=executor)

    err = info.value
    line = broken.fn.__code__.co_firstlineno + 2
    assert err.key == K("broken")
    assert err.user_traceback.startswith("Traceback (most recent call last):\n")
    assert f'File "{__file__}", line {line}, in broken\n' in err.user_traceback
    assert 'raise ValueError(f"bad input {ok}")' in err.user_traceback
    assert err.user_traceback.rstrip().endswith("ValueError: bad input 1")
    assert "sheer/execution" not in err.user_traceback
    assert str(err) == (
        "Asset 'broken' failed in step broken: ValueError: bad input 1\n"
        + err.user_traceback.rstrip()
    )
    (run,) = instance.get_runs()
    assert run.run_id == err.run_id
    assert run.status is dg.RunStatus.FAILURE
    # Everything recorded before and after the failure is still there.
    kinds = [e.event_type for e in instance.get_event_records(run_id=err.run_id)]
    assert kinds.count(dg.EventType.ASSET_MATERIALIZATION) == 2
    assert kinds.count(dg.EventType.STEP_FAILURE) == 1
    assert kinds[-1] is dg.EventType.RUN_FAILURE
    if executor is IN_PROCESS:
        assert isinstance(err.__cause__, ValueError)


def test_a_failure_event_carries_the_error_and_the_step_timings(tmp_path):
    result = dg.materialize(
        _failing_graph(tmp_path / "log"), selection=FAILING_SELECTION, raise_on_error=False
    )

    (failure,) = result.get_step_failure_events()
    assert failure.asset_key == K("broken")
    assert failure.message == "Step broken failed for broken: ValueError: bad input 1"
    assert failure.error["cls_name"] == "ValueError"
    assert failure.error["message"] == "bad input 1"
    assert failure.data["started_at"] <= failure.data["finished_at"]
    (run_failure,) = events_of(result, dg.EventType.RUN_FAILURE)
    assert run_failure.message.startswith(
        f"Run {result.run_id[:8]} failed. Asset 'broken' failed in step broken: "
        "ValueError: bad input 1\nTraceback"
    )


@pytest.mark.parametrize(
    "executor",
    [
        IN_PROCESS,
        dg.multiprocess_executor.configured({"max_concurrent": 3}),
    ],
    ids=["in_process", "multiprocess"],
)
def test_a_step_behind_two_failures_is_skipped_once_and_running_steps_still_finish(
    executor, tmp_path
):
    @dg.asset
    def f1():
        raise ValueError("one")

    @dg.asset
    def f2():
        raise ValueError("two")

    @dg.asset(deps=[f1, f2])
    def both():
        return 1

    @dg.asset
    def slow(context):
        # Still running when both failures are recorded (bounded, in case they never are).
        deadline = time.monotonic() + 20
        while (
            time.monotonic() < deadline
            and len(
                context.instance.get_event_records(dg.EventType.STEP_FAILURE, run_id=context.run_id)
            )
            < 2
        ):
            time.sleep(0.01)
        return 5

    instance = dg.Instance.from_url(f"sqlite:///{tmp_path}/i.db")
    with pytest.raises(StepExecutionError) as info:
        dg.materialize([f1, f2, both, slow], instance=instance, executor=executor)

    assert str(info.value).splitlines()[0] == (
        "Asset 'f1' failed in step f1: ValueError: one (1 more steps failed)"
    )
    events = instance.get_event_records(run_id=info.value.run_id)
    assert [e.step_key for e in events if e.event_type is dg.EventType.STEP_SKIPPED] == ["both"]
    assert [e.step_key for e in events if e.event_type is dg.EventType.STEP_SUCCESS] == ["slow"]
    assert instance.get_latest_materialization("slow").run_id == info.value.run_id


def test_a_worker_process_that_dies_fails_its_step_and_the_rest_of_the_run_goes_on(tmp_path):
    log = tmp_path / "log"

    @dg.asset
    def a():
        return 1

    @dg.asset
    def crash(a):
        os._exit(3)  # as if killed, or out of memory

    @dg.asset
    def after_crash(crash):
        note(log, "after_crash")

    @dg.asset
    def other(a):
        note(log, "other")
        return a + 1

    @dg.asset
    def other_down(other):
        note(log, "other_down")
        return other + 1

    one_worker = dg.multiprocess_executor.configured({"max_concurrent": 1})
    result = dg.materialize(
        [a, crash, after_crash, other, other_down], executor=one_worker, raise_on_error=False
    )

    assert result.success is False
    assert texts(log) == ["other", "other_down"]
    assert result.asset_value("other_down") == 3
    (failure,) = result.get_step_failure_events()
    assert failure.step_key == "crash"
    assert failure.error["cls_name"] == "WorkerProcessDied"
    assert failure.error["message"] == (
        "The worker process running asset 'crash' (step crash) died: it exited with code 3. "
        "The other steps went on in their own workers. Fix: if it ran out of memory (the "
        "kernel's out-of-memory killer sends SIGKILL), give it more memory or lower "
        "max_concurrent; if the asset's code ends its own process (os._exit, os.kill), raise "
        "an exception instead."
    )
    assert [e.step_key for e in result.get_step_skipped_events()] == ["after_crash"]
    assert result.instance.get_run(result.run_id).error.startswith(
        "Asset 'crash' failed in step crash: WorkerProcessDied: The worker process running "
        "asset 'crash' (step crash) died: it exited with code 3."
    )


@pytest.mark.parametrize("how", ["sigkill", "os_exit"])
def test_a_worker_that_dies_fails_only_its_step_while_the_steps_in_flight_finish(how, tmp_path):
    import signal

    started = tmp_path / "survivor-started"

    @dg.asset
    def killer():
        # Dies only once the survivor runs in another worker (bounded, in case it never does).
        deadline = time.monotonic() + 20
        while not started.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        if how == "sigkill":
            os.kill(os.getpid(), signal.SIGKILL)
        os._exit(1)

    @dg.asset
    def survivor(context):
        started.touch()
        # Still running when the killer's failure is recorded: it was in flight then.
        deadline = time.monotonic() + 20
        failures: list[dg.EventRecord] = []
        while not failures and time.monotonic() < deadline:
            failures = context.instance.get_event_records(
                dg.EventType.STEP_FAILURE, run_id=context.run_id
            )
            time.sleep(0.01)
        return [e.step_key for e in failures]

    @dg.asset
    def after_killer(killer):
        return 1

    @dg.asset
    def after_survivor(survivor):
        return survivor

    instance = dg.Instance.from_url(f"sqlite:///{tmp_path}/i.db")
    result = dg.materialize(
        [killer, survivor, after_killer, after_survivor],
        instance=instance,
        executor=dg.multiprocess_executor.configured({"max_concurrent": 2}),
        raise_on_error=False,
    )

    assert result.success is False
    (failure,) = result.get_step_failure_events()
    assert failure.step_key == "killer"
    how_it_ended = "killed by signal 9 (SIGKILL)" if how == "sigkill" else "it exited with code 1"
    assert failure.error["message"].startswith(
        f"The worker process running asset 'killer' (step killer) died: {how_it_ended}. "
    )
    assert [e.step_key for e in result.get_step_skipped_events()] == ["after_killer"]
    assert result.asset_value("after_survivor") == ["killer"]
    assert sorted(e.step_key for e in events_of(result, dg.EventType.STEP_SUCCESS)) == [
        "after_survivor",
        "survivor",
    ]


def test_an_outcome_that_does_not_pickle_fails_its_step_and_the_worker_goes_on():
    import threading

    @dg.asset
    def locked(context):
        context.add_output_metadata({"lock": threading.Lock()})
        return 1

    @dg.asset
    def after(locked):
        return locked

    @dg.asset
    def other():
        return 2

    one_worker = dg.multiprocess_executor.configured({"max_concurrent": 1})
    result = dg.materialize([locked, after, other], executor=one_worker, raise_on_error=False)

    (failure,) = result.get_step_failure_events()
    assert failure.error["message"] == (
        "The worker process running asset 'locked' (step locked) could not send its outcome "
        "back: TypeError: cannot pickle '_thread.lock' object. Fix: give metadata and log "
        "messages values that pickle (text, numbers, lists and dicts of them)."
    )
    assert [e.step_key for e in result.get_step_skipped_events()] == ["after"]
    assert result.asset_value("other") == 2


def test_a_failing_virtual_parent_fails_the_step_that_reads_it():
    @dg.asset
    def a():
        return 1

    @dg.asset(is_virtual=True)
    def v(a):
        raise RuntimeError("view is broken")

    @dg.asset
    def d(v):
        return v

    with pytest.raises(StepExecutionError) as info:
        dg.materialize([a, v, d], selection=["a", "d"])

    assert str(info.value).splitlines()[0] == (
        "Asset 'd' failed in step d: RuntimeError: view is broken"
    )
    assert "in v\n" in info.value.user_traceback


@pytest.mark.parametrize("executor", EXECUTORS)
def test_sys_exit_in_an_asset_fails_its_step_and_the_run_goes_on(executor):
    import sys

    @dg.asset
    def exits():
        sys.exit(4)

    @dg.asset
    def sibling():
        return 1

    result = dg.materialize([exits, sibling], executor=executor, raise_on_error=False)

    assert result.success is False
    (failure,) = result.get_step_failure_events()
    assert failure.step_key == "exits"
    assert failure.error["message"] == (
        "Asset 'exits' called sys.exit(4), which would end the whole run. "
        "Fix: raise an exception to fail the asset instead of exiting."
    )
    assert [e.asset_key for e in result.get_asset_materialization_events()] == [K("sibling")]
