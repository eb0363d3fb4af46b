"""The `sheer` command, run in-process with click's CliRunner on the quickstart."""

import re
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from sheer.cli import main
from sheer.errors import UnknownAssetError

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = "examples/seed_chain/defs.py"
GUIDES = re.compile(r"^[\s│├└─]+")


@pytest.fixture
def runner(monkeypatch):
    monkeypatch.chdir(ROOT)
    return CliRunner()


@pytest.fixture
def clean_imports(monkeypatch):
    """Undo what loading a module by name adds to sys.path and sys.modules."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    before = set(sys.modules)
    yield
    for name in set(sys.modules) - before:
        del sys.modules[name]


def table_rows(output: str) -> dict[str, list[str]]:
    """The body rows of a rich table, by their first cell."""
    rows = {}
    for line in output.splitlines():
        if line.startswith("│"):
            cells = [c.strip() for c in line.strip("│").split("│")]
            rows[cells[0]] = cells
    return rows


def tree_labels(output: str) -> list[str]:
    return [GUIDES.sub("", line) for line in output.splitlines()[1:] if line.strip()]


def test_list_defs_shows_every_asset_and_marks_virtual_ones(runner):
    result = runner.invoke(main, ["list", "defs", "-f", QUICKSTART])
    assert result.exit_code == 0, result.output
    assert "4 assets" in result.stdout
    header = next(line for line in result.stdout.splitlines() if line.startswith("┃"))
    assert [c.strip() for c in header.strip("┃").split("┃")] == [
        "key",
        "group",
        "kinds",
        "virtual",
        "deps",
        "code version",
        "automation",
    ]
    rows = table_rows(result.stdout)
    assert list(rows) == ["A", "B", "C", "D"]
    assert rows["A"] == ["A", "quickstart", "table", "", "", "", ""]
    assert rows["B"] == ["B", "quickstart", "view", "yes", "A", "", ""]
    assert rows["C"] == ["C", "quickstart", "view", "yes", "B", "", ""]
    assert rows["D"] == ["D", "quickstart", "table", "", "C", "", ""]


def test_list_defs_with_a_selection(runner):
    result = runner.invoke(main, ["list", "defs", "-f", QUICKSTART, "--assets", "is:virtual"])
    assert result.exit_code == 0, result.output
    assert "2 assets" in result.stdout
    assert sorted(table_rows(result.stdout)) == ["B", "C"]


def test_lineage_shows_the_chain_with_virtual_assets_marked(runner):
    result = runner.invoke(main, ["lineage", "-f", QUICKSTART])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "lineage (virtual assets in cyan)"
    assert tree_labels(result.stdout) == ["A", "B (virtual)", "C (virtual)", "D"]


def test_lineage_plain_prints_one_edge_per_line(runner):
    result = runner.invoke(main, ["lineage", "-f", QUICKSTART, "--plain"])
    assert result.exit_code == 0, result.output
    assert result.stdout == "A -> B (v)\nB (v) -> C (v)\nC (v) -> D\n"


def test_lineage_of_a_selection(runner):
    result = runner.invoke(main, ["lineage", "-f", QUICKSTART, "--plain", "C or D"])
    assert result.exit_code == 0, result.output
    assert result.stdout == "C (v) -> D\n"


def test_an_unknown_asset_in_a_selection_exits_1_with_an_error(runner):
    result = runner.invoke(main, ["lineage", "-f", QUICKSTART, "nosuch"])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert " ".join(result.stderr.split()) == (
        "error: No asset named 'nosuch' in the definitions. Fix: use one of the 4 defined "
        "keys (`sheer list defs` lists them)."
    )


def test_an_error_message_is_one_line(runner):
    result = runner.invoke(main, ["lineage", "-f", QUICKSTART, "nosuch"])
    assert result.exit_code == 1
    assert len(result.stderr.splitlines()) == 1


def test_a_selection_that_does_not_parse_exits_1(runner):
    result = runner.invoke(main, ["lineage", "-f", QUICKSTART, "key:(("])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: Cannot parse the selection 'key:(('")


def test_debug_raises_the_error_with_its_traceback(runner):
    result = runner.invoke(main, ["--debug", "lineage", "-f", QUICKSTART, "nosuch"])
    assert result.exit_code == 1
    assert isinstance(result.exception, UnknownAssetError)
    assert result.stderr == ""


def test_module_and_file_together_is_a_usage_error(runner):
    result = runner.invoke(main, ["lineage", "-f", QUICKSTART, "-m", "pkg.defs"])
    assert result.exit_code == 2
    assert "Error: pass -m MODULE or -f FILE, not both" in result.stderr


def test_a_module_target(runner, monkeypatch, clean_imports):
    monkeypatch.chdir(ROOT / "examples" / "seed_chain")
    result = runner.invoke(main, ["lineage", "-m", "defs", "--plain"])
    assert result.exit_code == 0, result.output
    assert result.stdout == "A -> B (v)\nB (v) -> C (v)\nC (v) -> D\n"


def test_without_a_target_the_project_defs_folder_is_loaded(
    runner, tmp_path, monkeypatch, clean_imports
):
    defs_dir = tmp_path / "defs"
    defs_dir.mkdir()
    (defs_dir / "assets.py").write_text(
        "import sheer as dg\n"
        "table = dg.AssetSpec('table')\n"
        "view = dg.AssetSpec('view', deps=[table], is_virtual=True)\n"
    )
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, ["lineage", "--plain"])
    assert result.exit_code == 0, result.output
    assert result.stdout == "table -> view (v)\n"


def test_without_a_target_or_defs_folder_exits_1(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, ["list", "defs"])
    assert result.exit_code == 1
    assert " ".join(result.stderr.split()).startswith(
        f"error: No defs folder found from '{tmp_path}'."
    )


def test_brackets_in_an_error_message_are_printed(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, ["list", "defs"])
    assert result.exit_code == 1
    assert "[tool.sheer] defs" in " ".join(result.stderr.split())
