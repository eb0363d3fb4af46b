"""Resources in a run: each set up on first need, once per process; a setup that fails fails
only the steps that need the resource, naming it; a teardown that fails is a warning."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

import sheer as dg
from sheer.errors import ExecutionError
from sheer.execution import StepExecutionError

K = dg.AssetKey
IN_PROCESS = dg.in_process_executor
MULTIPROCESS = dg.multiprocess_executor.configured({"max_concurrent": 2})
EXECUTORS = [
    pytest.param(IN_PROCESS, id="in_process"),
    pytest.param(MULTIPROCESS, id="multiprocess"),
]


def note(log: Path, text: str) -> None:
    """Append one line, from whichever process runs the code (O_APPEND keeps lines whole)."""
    with open(log, "a") as f:
        f.write(f"{text}\n")


def texts(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def warnings_of(result: dg.ExecutionResult) -> list[dg.EventRecord]:
    return [
        e
        for e in result.all_events
        if e.event_type is dg.EventType.LOG_MESSAGE and e.data.get("level") == "WARNING"
    ]


class Unreachable(dg.ConfigurableResource):
    host: str

    def setup_for_execution(self, context: Any) -> None:
        raise RuntimeError(f"no route to host {self.host}")


SETUP_ERROR = (
    "Resource 'warehouse' failed to set up: RuntimeError: no route to host db.internal. "
    "Asset '{asset}' needs it, so its step did not run; steps that do not use 'warehouse' "
    "go on. Fix: correct the resource's configuration or what its setup connects to (its "
    "traceback is above)."
)


# Setup ------------------------------------------------------------------------------------


@pytest.mark.parametrize("executor", EXECUTORS)
def test_a_resource_whose_setup_raises_fails_only_the_steps_that_need_it(executor):
    @dg.asset
    def by_parameter(warehouse: Unreachable):
        return 1

    @dg.asset(required_resource_keys={"warehouse"})
    def by_key(context):
        return 2

    @dg.asset
    def downstream(by_parameter):
        return by_parameter

    @dg.asset
    def free():
        return 3

    @dg.asset
    def after_free(free):
        return free + 1

    result = dg.materialize(
        [by_parameter, by_key, downstream, free, after_free],
        resources={"warehouse": Unreachable(host="db.internal")},
        executor=executor,
        raise_on_error=False,
    )

    assert result.success is False
    failures = {e.step_key: e.error for e in result.get_step_failure_events()}
    assert sorted(failures) == ["by_key", "by_parameter"]
    assert failures["by_parameter"]["cls_name"] == "ExecutionError"
    assert failures["by_parameter"]["message"] == SETUP_ERROR.format(asset="by_parameter")
    assert failures["by_key"]["message"] == SETUP_ERROR.format(asset="by_key")
    # The setup's own traceback is kept: the user's frame that raised.
    assert "in setup_for_execution\n" in failures["by_parameter"]["traceback"]
    assert (
        'raise RuntimeError(f"no route to host {self.host}")'
        in (failures["by_parameter"]["traceback"])
    )
    assert [e.step_key for e in result.get_step_skipped_events()] == ["downstream"]
    assert sorted(e.asset_key for e in result.get_asset_materialization_events()) == [
        K("after_free"),
        K("free"),
    ]
    assert result.asset_value("after_free") == 4


def test_the_run_error_of_a_failed_setup_names_the_resource_and_keeps_its_traceback():
    @dg.asset
    def loads(warehouse: Unreachable):
        return 1

    with pytest.raises(StepExecutionError) as info:
        dg.materialize([loads], resources={"warehouse": Unreachable(host="db.internal")})

    assert str(info.value).splitlines()[0] == (
        "Asset 'loads' failed in step loads: ExecutionError: " + SETUP_ERROR.format(asset="loads")
    )
    assert "in setup_for_execution\n" in info.value.user_traceback
    assert isinstance(info.value.__cause__, ExecutionError)
    assert isinstance(info.value.__cause__.__cause__, RuntimeError)


def test_a_failed_setup_is_not_tried_again_by_the_next_step_that_needs_it(tmp_path):
    log = tmp_path / "log"

    class Flaky(dg.ConfigurableResource):
        def setup_for_execution(self, context: Any) -> None:
            note(log, "setup")
            raise RuntimeError("down")

    @dg.asset
    def first(flaky: Flaky):
        return 1

    @dg.asset
    def second(flaky: Flaky):
        return 2

    result = dg.materialize([first, second], resources={"flaky": Flaky()}, raise_on_error=False)

    assert result.failed_step_keys == ["first", "second"]
    assert texts(log) == ["setup"]


def test_resources_are_set_up_on_first_need_once_per_run_and_unused_ones_never(tmp_path):
    log = tmp_path / "log"

    class Connection(dg.ConfigurableResource):
        name: str

        def setup_for_execution(self, context: Any) -> None:
            note(log, f"setup {self.name}")

        def teardown_after_execution(self, context: Any) -> None:
            note(log, f"teardown {self.name}")

    @dg.asset
    def plain():
        note(log, "plain")
        return 1

    @dg.asset
    def first(shared: Connection, plain):
        note(log, "first")
        return plain

    @dg.asset(required_resource_keys={"shared"})
    def second(context, first):
        note(log, f"second {context.resources.shared.name}")
        return first

    result = dg.materialize(
        [plain, first, second],
        resources={"shared": Connection(name="shared"), "unused": Connection(name="unused")},
    )

    assert result.success
    assert texts(log) == ["plain", "setup shared", "first", "second shared", "teardown shared"]


def test_context_resources_still_reaches_a_resource_the_asset_did_not_declare(tmp_path):
    log = tmp_path / "log"

    class Connection(dg.ConfigurableResource):
        def setup_for_execution(self, context: Any) -> None:
            note(log, "setup")

    @dg.asset
    def undeclared(context):
        note(log, "before")
        return type(context.resources.conn).__name__

    @dg.asset
    def unknown(context):
        return context.resources.nope

    result = dg.materialize(
        [undeclared, unknown], resources={"conn": Connection()}, raise_on_error=False
    )

    assert result.asset_value("undeclared") == "Connection"
    assert texts(log) == ["before", "setup"]  # set up when read, not before
    (failure,) = result.get_step_failure_events()
    assert failure.error["message"] == (
        "No resource 'nope' in context.resources (it has: conn, io_manager)."
    )


@pytest.mark.parametrize("executor", EXECUTORS)
def test_a_yield_for_execution_that_raises_before_yielding_names_the_resource(executor):
    class Pool(dg.ConfigurableResource):
        @contextmanager
        def yield_for_execution(self, context: Any) -> Iterator[Pool]:
            raise ConnectionError("refused")
            yield self

    @dg.asset
    def queries(pool: Pool):
        return 1

    @dg.asset
    def free():
        return 2

    result = dg.materialize(
        [queries, free], resources={"pool": Pool()}, executor=executor, raise_on_error=False
    )

    (failure,) = result.get_step_failure_events()
    assert failure.error["message"].startswith(
        "Resource 'pool' failed to set up: ConnectionError: refused. Asset 'queries' needs it, "
    )
    assert [e.asset_key for e in result.get_asset_materialization_events()] == [K("free")]


@pytest.mark.parametrize("executor", EXECUTORS)
def test_an_io_manager_that_cannot_be_set_up_fails_its_assets_before_they_run(executor, tmp_path):
    log = tmp_path / "log"

    class Lake(dg.ConfigurableIOManager):
        def setup_for_execution(self, context: Any) -> None:
            raise PermissionError("bucket is read-only")

        def handle_output(self, context: Any, obj: Any) -> None:
            pass

        def load_input(self, context: Any) -> Any:
            return None

    @dg.asset(io_manager_key="lake")
    def to_lake():
        note(log, "to_lake ran")
        return 1

    @dg.asset
    def elsewhere():
        return 2

    result = dg.materialize(
        [to_lake, elsewhere], resources={"lake": Lake()}, executor=executor, raise_on_error=False
    )

    (failure,) = result.get_step_failure_events()
    assert failure.step_key == "to_lake"
    assert failure.error["message"].startswith(
        "Resource 'lake' failed to set up: PermissionError: bucket is read-only. Asset "
        "'to_lake' needs it, "
    )
    assert texts(log) == []
    assert [e.asset_key for e in result.get_asset_materialization_events()] == [K("elsewhere")]


# Teardown ---------------------------------------------------------------------------------


class LeakyConnection(dg.ConfigurableResource):
    def teardown_after_execution(self, context: Any) -> None:
        raise OSError("socket already closed")


class LeakyGenerator(dg.ConfigurableResource):
    @contextmanager
    def yield_for_execution(self, context: Any) -> Iterator[LeakyGenerator]:
        yield self
        raise OSError("socket already closed")


TEARDOWN_WARNING = (
    "Resource 'conn' failed to tear down: OSError: socket already closed. The steps that "
    "used it had finished, so their results stand. Fix: make its teardown "
    "(teardown_after_execution, or the code after its yield) succeed, e.g. close what it "
    "opened only once."
)


@pytest.mark.parametrize("resource", [LeakyConnection, LeakyGenerator])
@pytest.mark.parametrize("executor", EXECUTORS)
def test_a_teardown_that_raises_leaves_the_step_materialized_with_a_warning(executor, resource):
    @dg.asset
    def uses(conn: dg.ConfigurableResource):
        return 1

    @dg.asset
    def after(uses):
        return uses + 1

    result = dg.materialize([uses, after], resources={"conn": resource()}, executor=executor)

    assert result.success
    assert result.get_step_failure_events() == []
    assert sorted(e.asset_key for e in result.get_asset_materialization_events()) == [
        K("after"),
        K("uses"),
    ]
    assert result.instance.get_run(result.run_id).status is dg.RunStatus.SUCCESS
    (warning,) = warnings_of(result)
    assert warning.message == TEARDOWN_WARNING
    assert warning.data["resource"] == "conn"
    assert warning.data["error"]["cls_name"] == "OSError"
    assert "socket already closed" in warning.data["error"]["traceback"]
    # In process the run's resources are torn down after its last step; a worker tears
    # down after each step, so the warning belongs to the step.
    assert warning.step_key == (None if executor is IN_PROCESS else "uses")


def test_a_teardown_that_raises_is_logged_and_the_other_resources_are_still_torn_down(
    tmp_path, caplog
):
    log = tmp_path / "log"

    class Tidy(dg.ConfigurableResource):
        def teardown_after_execution(self, context: Any) -> None:
            note(log, "tidy torn down")

    @dg.asset
    def uses(tidy: Tidy, conn: LeakyConnection):
        return 1

    with caplog.at_level(logging.WARNING, logger="sheer"):
        result = dg.materialize([uses], resources={"tidy": Tidy(), "conn": LeakyConnection()})

    assert result.success
    assert texts(log) == ["tidy torn down"]
    assert [r.getMessage() for r in caplog.records if r.name == "sheer"] == [TEARDOWN_WARNING]


def test_a_failing_teardown_after_a_failed_step_keeps_the_step_error(tmp_path):
    @dg.asset
    def fails(conn: LeakyConnection):
        raise ValueError("bad rows")

    result = dg.materialize([fails], resources={"conn": LeakyConnection()}, raise_on_error=False)

    (failure,) = result.get_step_failure_events()
    assert failure.error["message"] == "bad rows"
    assert [w.message for w in warnings_of(result)] == [TEARDOWN_WARNING]
