"""The `sheer` command as a user runs it: real processes (`python -m sheer ...`).

These check what CliRunner cannot: the entry point, a fresh interpreter per command
(so definitions, instance and stored values really go through the project folder and
the database), exit codes, and what lands on stdout and stderr. Every command costs a
whole interpreter start, so the file keeps to a dozen processes; the commands' details
are in `test_cli_commands.py`.
"""

import os
import re
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = str(ROOT / "examples" / "seed_chain" / "defs.py")
SHEER_SRC = str(ROOT / "src" / "sheer") + os.sep
SUMMARY = re.compile(
    r"^run (?P<run>[0-9a-f]{8}) (?P<word>succeeded|failed) in \d+\.\d\ds: "
    r"(?P<rest>.*)$",
    re.M,
)


def sheer(*args, cwd, code=0, env=None):
    """Run `python -m sheer ARGS` in `cwd`, without the caller's SHEER_* settings."""
    environ = {k: v for k, v in os.environ.items() if k not in ("SHEER_INSTANCE", "SHEER_HOME")}
    environ["COLUMNS"] = "200"  # wide enough that no table row wraps
    environ.update(env or {})
    proc = subprocess.run(
        [sys.executable, "-m", "sheer", *map(str, args)],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == code, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc


def table_rows(output):
    """The body rows of a rich table, by their first cell."""
    rows = {}
    for line in output.splitlines():
        if line.startswith("│"):
            cells = [c.strip() for c in line.strip("│").split("│")]
            rows[cells[0]] = cells
    return rows


@pytest.fixture
def clean_imports(monkeypatch):
    """Undo what loading definitions adds to sys.path and sys.modules."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    before = set(sys.modules)
    yield
    for name in set(sys.modules) - before:
        del sys.modules[name]


def test_a_new_user_flow_from_a_clean_folder(tmp_path, clean_imports):
    out = sheer("scaffold", "project", "demo", cwd=tmp_path).stdout
    assert out == "created project demo (definitions in src/demo/defs/)\n"
    demo = tmp_path / "demo"
    out = sheer("scaffold", "defs", "asset", "assets/orders.py", cwd=demo).stdout
    assert out == "wrote src/demo/defs/assets/orders.py\n"
    out = sheer("scaffold", "defs", "virtual_asset", "views/recent_orders.py", cwd=demo).stdout
    assert out == "wrote src/demo/defs/views/recent_orders.py\n"

    listed = sheer("list", "defs", cwd=demo).stdout
    assert "2 assets" in listed
    assert table_rows(listed) == {
        "orders": ["orders", "assets", "python", "", "", "", ""],
        "recent_orders": ["recent_orders", "views", "view", "yes", "", "1", ""],
    }

    launched = sheer("launch", "--assets", "*", cwd=demo)
    assert re.search(r"done .* 2/2", launched.stdout)
    assert SUMMARY.search(launched.stdout)["word"] == "succeeded"
    assert (demo / ".sheer" / "sheer.db").is_file()  # the project's default instance

    status = sheer("status", cwd=demo).stdout
    assert table_rows(status) == {
        "orders": ["orders", "FRESH", ""],
        "recent_orders (virtual)": ["recent_orders (virtual)", "FRESH", ""],
    }

    # The scaffolded project's own test passes with the new assets in it.
    test = runpy.run_path(str(demo / "tests" / "test_defs.py"))["test_definitions_load"]
    test()


def test_the_quickstart_shows_d_stale_after_a_alone_is_relaunched(tmp_path):
    instance = f"sqlite:///{tmp_path / 'i.db'}"
    everything = sheer(
        "launch", "-f", QUICKSTART, "--assets", "*", "--instance", instance, cwd=tmp_path
    )
    assert re.search(r"done .* 4/4", everything.stdout)
    assert SUMMARY.search(everything.stdout)["rest"] == (
        "4 materialized (A, B, C, D), 0 failed, 0 skipped"
    )

    only_a = sheer(
        "launch", "-f", QUICKSTART, "--assets", "A", "--instance", instance, cwd=tmp_path
    )
    assert SUMMARY.search(only_a.stdout)["rest"] == "1 materialized (A), 0 failed, 0 skipped"

    status = sheer("status", "-f", QUICKSTART, "--instance", instance, cwd=tmp_path).stdout
    assert table_rows(status) == {
        "A": ["A", "FRESH", ""],
        "B (virtual)": ["B (virtual)", "FRESH", ""],
        "C (virtual)": ["C (virtual)", "FRESH", ""],
        "D": ["D", "STALE", "stale: A has a new data version (via C, B)"],
    }


def test_a_failing_launch_exits_1_with_the_users_traceback(tmp_path):
    defs = tmp_path / "failing.py"
    defs.write_text(
        "import sheer as dg\n"
        "\n"
        "\n"
        "@dg.asset\n"
        "def boom() -> int:\n"
        "    raise ValueError('no rows today')\n"
    )
    proc = sheer(
        "launch",
        "-f",
        defs,
        "--assets",
        "*",
        "--instance",
        f"sqlite:///{tmp_path / 'i.db'}",
        cwd=tmp_path,
        code=1,
    )
    run_id = SUMMARY.search(proc.stdout)["run"]
    err = proc.stderr.splitlines()
    assert err[:4] == [
        "Traceback (most recent call last):",
        f'  File "{defs}", line 6, in boom',
        "    raise ValueError('no rows today')",
        "ValueError: no rows today",
    ]
    assert err[4:] == [
        f"error: Run {run_id} failed. Step boom failed for boom: ValueError: no rows today. "
        f"Fix the asset, then run `sheer runs show {run_id}` for details."
    ]


def test_definitions_that_fail_to_import_show_only_the_users_frames(tmp_path):
    (tmp_path / "settings.py").write_text("REGION = {}['region']\n")
    defs = tmp_path / "defs.py"
    defs.write_text("import sheer as dg\nimport settings\n")
    proc = sheer("list", "defs", "-f", defs, cwd=tmp_path, code=1)
    assert proc.stdout == ""
    err = proc.stderr.splitlines()
    assert [line for line in err if line.startswith("  File ")] == [
        f'  File "{defs}", line 2, in <module>',
        f'  File "{tmp_path / "settings.py"}", line 1, in <module>',
    ]
    assert not any(SHEER_SRC in line or "importlib" in line for line in err)
    assert err[-2] == "KeyError: 'region'"
    assert err[-1] == (
        f"error: Loading definitions from {defs} failed: KeyError: 'region'. Fix: correct the "
        "error shown in the traceback above, then load again."
    )


def test_an_instance_that_cannot_be_opened_is_one_line(tmp_path):
    (tmp_path / "a-file").write_text("")
    url = f"sqlite:///{tmp_path / 'a-file' / 'sheer.db'}"
    proc = sheer("runs", "--instance", url, cwd=tmp_path, code=1)
    assert proc.stdout == ""
    assert len(proc.stderr.splitlines()) == 1
    assert proc.stderr.startswith(f"error: Cannot open the instance storage at {url}: ")


def test_help_shows_examples(tmp_path):
    out = sheer("--help", cwd=tmp_path).stdout
    assert out.startswith("Usage: python -m sheer [OPTIONS] COMMAND [ARGS]...")
    assert "  Examples:\n    sheer scaffold project demo\n" in out
    for command in (
        "automation",
        "check",
        "dev",
        "launch",
        "lineage",
        "list",
        "runs",
        "scaffold",
        "status",
    ):
        assert re.search(rf"^  {command} ", out, re.M), command


def test_the_installed_sheer_script_runs_the_same_command(tmp_path):
    script = Path(sys.executable).with_name("sheer")
    if not script.is_file():
        pytest.skip("the sheer console script is not installed next to this interpreter")
    proc = subprocess.run(
        [str(script), "lineage", "-f", QUICKSTART, "--format", "text"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "A -> B (v)\nB (v) -> C (v)\nC (v) -> D\n"


def test_a_launch_whose_asset_calls_sys_exit_exits_1_naming_the_asset(tmp_path):
    defs = tmp_path / "exiting.py"
    defs.write_text(
        "import sys\n\nimport sheer as dg\n\n\n@dg.asset\ndef quits():\n    sys.exit(4)\n"
    )
    url = f"sqlite:///{tmp_path / 'i.db'}"
    proc = sheer("launch", "-f", defs, "--assets", "*", "--instance", url, cwd=tmp_path, code=1)
    assert SUMMARY.search(proc.stdout)["word"] == "failed"
    assert "Asset 'quits' called sys.exit(4)" in proc.stderr.splitlines()[-1]


def test_a_launch_whose_resource_teardown_raises_succeeds_and_warns_naming_the_resource(tmp_path):
    defs = tmp_path / "teardown.py"
    defs.write_text(
        "import sheer as dg\n\n\n"
        "class Warehouse(dg.ConfigurableResource):\n"
        "    def teardown_after_execution(self, context):\n"
        "        raise RuntimeError('connection already closed')\n\n\n"
        "@dg.asset\ndef orders(warehouse: Warehouse):\n    return 1\n\n\n"
        "defs = dg.Definitions(assets=[orders], resources={'warehouse': Warehouse()})\n"
    )
    url = f"sqlite:///{tmp_path / 'i.db'}"
    proc = sheer("launch", "-f", defs, "--assets", "*", "--instance", url, cwd=tmp_path)
    assert SUMMARY.search(proc.stdout)["word"] == "succeeded"
    (line,) = [w for w in proc.stderr.splitlines() if "failed to tear down" in w]
    assert line.startswith("Resource 'warehouse' failed to tear down: RuntimeError: connection")
    assert "their results stand" in line
