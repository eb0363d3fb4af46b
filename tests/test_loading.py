"""Loading definitions from files, modules and defs folders."""

import sys
import textwrap
from pathlib import Path

import pytest

import sheer as dg
from sheer.definitions.definitions import LazyDefinitions
from sheer.errors import DefinitionError, DefinitionsLoadError

ASSET_A = """
import sheer as dg

@dg.asset
def a():
    return 1
"""


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """Run in tmp_path; undo what loading adds to sys.path and sys.modules."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    before = set(sys.modules)
    yield
    for name in set(sys.modules) - before:
        del sys.modules[name]


def write(path: Path, text: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def asset_file(path: Path, name: str, *, deps: tuple[str, ...] = (), virtual: bool = False):
    return write(
        path,
        f"""
        import sheer as dg

        @dg.asset(deps={list(deps)!r}, is_virtual={virtual})
        def {name}():
            return 1
        """,
    )


def keys(defs: dg.Definitions) -> list[str]:
    return sorted(k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys())


# load_definitions ----------------------------------------------------------


def test_load_a_python_file_by_path(tmp_path):
    path = asset_file(tmp_path / "pipeline.py", "orders")
    assert keys(dg.load_definitions(path)) == ["orders"]
    assert keys(dg.load_definitions(str(path))) == ["orders"]


def test_load_a_python_file_relative_to_the_current_directory(tmp_path):
    asset_file(tmp_path / "sub" / "pipeline.py", "orders")
    assert keys(dg.load_definitions("sub/pipeline.py")) == ["orders"]


def test_a_file_with_a_definitions_object_uses_it(tmp_path):
    path = write(
        tmp_path / "pipeline.py",
        """
        import sheer as dg

        @dg.asset
        def kept():
            pass

        @dg.asset
        def left_out():
            pass

        defs = dg.Definitions(assets=[kept, dg.AssetSpec("view", deps=[kept], is_virtual=True)])
        """,
    )
    defs = dg.load_definitions(path)
    assert keys(defs) == ["kept", "view"]
    assert defs.resolve_asset_graph().get("view").is_virtual


def test_a_file_can_import_its_neighbours(tmp_path):
    write(tmp_path / "shared.py", ASSET_A)
    path = write(
        tmp_path / "pipeline.py",
        """
        import sheer as dg
        from shared import a

        @dg.asset(deps=[a])
        def b():
            pass
        """,
    )
    assert keys(dg.load_definitions(path)) == ["a", "b"]


def test_load_a_module_by_name(tmp_path):
    asset_file(tmp_path / "my_pipeline_mod.py", "orders")
    assert keys(dg.load_definitions("my_pipeline_mod")) == ["orders"]


def test_load_a_module_attribute(tmp_path):
    write(
        tmp_path / "my_attr_mod.py",
        """
        import sheer as dg

        small = dg.Definitions(assets=[dg.AssetSpec("one")])
        large = dg.Definitions(assets=[dg.AssetSpec("one"), dg.AssetSpec("two")])
        """,
    )
    assert keys(dg.load_definitions("my_attr_mod:small")) == ["one"]
    assert keys(dg.load_definitions("my_attr_mod:large")) == ["one", "two"]


def test_load_a_module_attribute_that_is_a_definitions_function(tmp_path):
    write(
        tmp_path / "my_fn_mod.py",
        """
        import sheer as dg

        @dg.definitions
        def defs():
            return dg.Definitions(assets=[dg.AssetSpec("made")])
        """,
    )
    assert keys(dg.load_definitions("my_fn_mod:defs")) == ["made"]
    assert keys(dg.load_definitions("my_fn_mod")) == ["made"]


def test_a_missing_module_attribute_suggests_close_names(tmp_path):
    path = write(tmp_path / "my_typo_mod.py", "import sheer as dg\ndefs = dg.Definitions()\n")
    with pytest.raises(DefinitionsLoadError) as info:
        dg.load_definitions("my_typo_mod:defz")
    assert str(info.value) == (
        "Module my_typo_mod has no attribute 'defz'. Did you mean 'defs'? "
        "Fix: point at a Definitions object, e.g. my_typo_mod:defs."
    )
    assert info.value.file == str(path)


def test_a_module_attribute_that_is_not_definitions(tmp_path):
    write(tmp_path / "my_int_mod.py", "number = 3\n")
    with pytest.raises(DefinitionsLoadError) as info:
        dg.load_definitions("my_int_mod:number")
    assert str(info.value) == (
        "my_int_mod:number is int, not Definitions. "
        "Fix: point at a Definitions object, e.g. my_int_mod:defs."
    )


def test_a_missing_file(tmp_path):
    with pytest.raises(DefinitionsLoadError) as info:
        dg.load_definitions("nowhere.py")
    assert str(info.value) == (
        "Cannot load definitions from 'nowhere.py': no such file. "
        "Fix: check the path, relative to the current directory."
    )
    assert info.value.file == "nowhere.py"


def test_a_module_that_is_not_importable(tmp_path):
    with pytest.raises(DefinitionsLoadError) as info:
        dg.load_definitions("no_such_module_here")
    assert str(info.value) == (
        "Cannot load definitions from module 'no_such_module_here': it is not importable "
        f"from {tmp_path}. Fix: install the project (pip install -e .), run from its folder, "
        "or pass a file path instead."
    )


def test_a_file_that_raises_at_import_names_the_file(tmp_path):
    path = write(tmp_path / "broken.py", "raise RuntimeError('kaboom')\n")
    with pytest.raises(DefinitionsLoadError) as info:
        dg.load_definitions(path)
    assert str(info.value) == (
        f"Loading definitions from {path} failed: RuntimeError: kaboom. "
        "Fix: correct the error shown in the traceback above, then load again."
    )
    assert info.value.file == str(path)
    assert isinstance(info.value.__cause__, RuntimeError)


def test_a_file_that_raises_can_be_loaded_once_fixed(tmp_path):
    path = write(tmp_path / "flaky.py", "raise RuntimeError('kaboom')\n")
    with pytest.raises(DefinitionsLoadError):
        dg.load_definitions(path)
    asset_file(path, "fixed")
    assert keys(dg.load_definitions(path)) == ["fixed"]


def test_load_definitions_of_a_folder_loads_it_as_a_defs_folder(tmp_path):
    asset_file(tmp_path / "defs" / "orders.py", "orders")
    assert keys(dg.load_definitions(tmp_path / "defs")) == ["orders"]


# load_from_defs_folder -----------------------------------------------------


def test_a_defs_folder_without_packages_with_nested_subfolders(tmp_path):
    defs_dir = tmp_path / "defs"
    asset_file(defs_dir / "raw.py", "raw")
    asset_file(defs_dir / "views" / "clean.py", "clean", deps=("raw",), virtual=True)
    asset_file(defs_dir / "views" / "deeper" / "report.py", "report", deps=("clean",))
    defs = dg.load_from_defs_folder(defs_dir)
    graph = defs.resolve_asset_graph()
    assert keys(defs) == ["clean", "raw", "report"]
    assert graph.get("clean").is_virtual
    assert graph.non_virtual_ancestors("report") == {dg.AssetKey("raw")}


def test_files_in_a_plain_folder_can_import_each_other(tmp_path):
    defs_dir = tmp_path / "defs"
    write(defs_dir / "a_file.py", ASSET_A)
    write(
        defs_dir / "b_file.py",
        """
        import sheer as dg
        from a_file import a

        @dg.asset(deps=[a])
        def b():
            pass
        """,
    )
    graph = dg.load_from_defs_folder(defs_dir).resolve_asset_graph()
    assert graph.get("b").parent_keys == {dg.AssetKey("a")}
    assert len(graph) == 2


FACTORY = """
import sheer as dg


def table(name):
    @dg.asset(name=name)
    def make():
        return name

    return make


orders = table("orders")
customers = table("customers")
also_orders = table("orders")  # the same key again: a mistake to report, not to drop
"""


def test_a_factory_making_the_same_key_twice_in_one_file_is_a_duplicate_key_error(tmp_path):
    defs_dir = tmp_path / "defs"
    write(defs_dir / "tables.py", FACTORY)
    with pytest.raises(DefinitionError) as info:
        dg.load_from_defs_folder(defs_dir).resolve_asset_graph()
    assert str(info.value) == (
        f"Asset 'orders' is defined twice, both times by the code at {defs_dir / 'tables.py'}:6 "
        "(a factory called twice with the same name?). Fix: give each call its own name, or a "
        "key_prefix."
    )


def test_a_factory_making_distinct_keys_loads_every_one(tmp_path):
    defs_dir = tmp_path / "defs"
    write(defs_dir / "tables.py", FACTORY.replace('table("orders")  #', 'table("refunds")  #'))
    assert keys(dg.load_from_defs_folder(defs_dir)) == ["customers", "orders", "refunds"]


def test_a_defs_folder_inside_a_package(tmp_path):
    pkg = tmp_path / "src" / "pkg_inside"
    write(pkg / "__init__.py")
    write(pkg / "defs" / "__init__.py")
    write(pkg / "defs" / "nested" / "__init__.py")
    write(pkg / "defs" / "one.py", ASSET_A)
    write(
        pkg / "defs" / "nested" / "two.py",
        """
        import sheer as dg
        from pkg_inside.defs.one import a

        @dg.asset(deps=[a])
        def two():
            pass
        """,
    )
    defs = dg.load_from_defs_folder(pkg / "defs")
    assert keys(defs) == ["a", "two"]
    assert "pkg_inside.defs.nested.two" in sys.modules


def test_a_folder_that_contains_defs_finds_it(tmp_path):
    asset_file(tmp_path / "proj" / "defs" / "x.py", "x")
    assert keys(dg.load_from_defs_folder(tmp_path / "proj")) == ["x"]


def test_path_within_project_may_be_a_file_next_to_defs(tmp_path):
    pkg = tmp_path / "src" / "pkg_within"
    write(pkg / "__init__.py")
    definitions_py = write(pkg / "definitions.py")
    write(pkg / "defs" / "__init__.py")
    asset_file(pkg / "defs" / "x.py", "x")
    assert keys(dg.load_from_defs_folder(path_within_project=definitions_py)) == ["x"]
    assert keys(dg.load_from_defs_folder(path_within_project=pkg)) == ["x"]


def test_path_within_project_deep_inside_finds_the_project_defs(tmp_path):
    write(tmp_path / "pyproject.toml", '[project]\nname = "deep"\n')
    pkg = tmp_path / "src" / "pkg_deep"
    asset_file(pkg / "defs" / "sub" / "x.py", "x")
    start = pkg / "defs" / "sub"
    assert keys(dg.load_from_defs_folder(path_within_project=start)) == ["x"]


def test_project_root_with_a_defs_setting_in_pyproject(tmp_path):
    root = tmp_path / "proj"
    write(root / "pyproject.toml", '[tool.sheer]\ndefs = "pipelines/assets"\n')
    asset_file(root / "pipelines" / "assets" / "x.py", "x")
    asset_file(root / "src" / "ignored" / "defs" / "y.py", "y")
    assert keys(dg.load_from_defs_folder(project_root=root)) == ["x"]


def test_project_root_defaults_to_src_package_defs(tmp_path):
    root = tmp_path / "proj"
    write(root / "pyproject.toml", '[project]\nname = "proj"\n')
    write(root / "src" / "pkg_default" / "__init__.py")
    write(root / "src" / "pkg_default" / "defs" / "__init__.py")
    asset_file(root / "src" / "pkg_default" / "defs" / "x.py", "x")
    assert keys(dg.load_from_defs_folder(project_root=root)) == ["x"]


def test_project_root_with_a_dg_root_module(tmp_path):
    root = tmp_path / "proj"
    write(root / "pyproject.toml", '[tool.dg.project]\nroot_module = "pkg_dg"\n')
    write(root / "src" / "pkg_dg" / "__init__.py")
    asset_file(root / "src" / "pkg_dg" / "defs" / "x.py", "x")
    assert keys(dg.load_from_defs_folder(project_root=root)) == ["x"]


def test_no_defs_folder_is_an_error(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DefinitionsLoadError) as info:
        dg.load_from_defs_folder(empty)
    assert str(info.value) == (
        f"No defs folder found from '{empty}'. Sheer looks for a folder named 'defs' there, "
        "under src/<package>/ of the project, or as set in pyproject.toml. Fix: create "
        'src/<package>/defs/, pass its path, or set [tool.sheer] defs = "path/to/defs".'
    )
    assert info.value.file == str(empty)


def test_a_definitions_function_in_a_defs_folder_is_called(tmp_path):
    defs_dir = tmp_path / "defs"
    write(
        defs_dir / "factory.py",
        """
        import sheer as dg

        @dg.asset
        def made():
            pass

        @dg.definitions
        def defs():
            return dg.Definitions(
                assets=[made, dg.AssetSpec("view", deps=[made], is_virtual=True)],
                resources={"db": "sqlite"},
            )
        """,
    )
    asset_file(defs_dir / "loose.py", "loose")
    defs = dg.load_from_defs_folder(defs_dir)
    assert keys(defs) == ["loose", "made", "view"]
    assert dict(defs.resources) == {"db": "sqlite"}


def test_a_definitions_function_must_return_definitions(tmp_path):
    path = write(
        tmp_path / "defs" / "wrong.py",
        """
        import sheer as dg

        @dg.definitions
        def defs():
            return []
        """,
    )
    with pytest.raises(DefinitionsLoadError) as info:
        dg.load_from_defs_folder(tmp_path / "defs")
    assert str(info.value) == (
        f"@definitions function defs in {path} returned list, not Definitions. "
        "Fix: return Definitions(assets=[...])."
    )


def test_a_defs_file_that_raises_names_the_file(tmp_path):
    asset_file(tmp_path / "defs" / "good.py", "good")
    bad = write(tmp_path / "defs" / "sub" / "bad.py", "1 / 0\n")
    with pytest.raises(DefinitionsLoadError) as info:
        dg.load_from_defs_folder(tmp_path / "defs")
    assert str(info.value) == (
        f"Loading definitions from {bad} failed: ZeroDivisionError: division by zero. "
        "Fix: correct the error shown in the traceback above, then load again."
    )
    assert info.value.file == str(bad)


def test_a_package_defs_file_that_raises_names_the_file(tmp_path):
    pkg = tmp_path / "pkg_raises"
    write(pkg / "__init__.py")
    write(pkg / "defs" / "__init__.py")
    bad = write(pkg / "defs" / "bad.py", "raise KeyError('k')\n")
    with pytest.raises(DefinitionsLoadError) as info:
        dg.load_from_defs_folder(pkg / "defs")
    assert info.value.file == str(bad)
    assert str(info.value).startswith(f"Loading definitions from {bad} failed: KeyError: ")


def test_hidden_folders_and_pycache_are_skipped(tmp_path):
    asset_file(tmp_path / "defs" / "x.py", "x")
    write(tmp_path / "defs" / ".hidden" / "y.py", "raise RuntimeError('never imported')\n")
    write(tmp_path / "defs" / "__pycache__" / "z.py", "raise RuntimeError('never imported')\n")
    assert keys(dg.load_from_defs_folder(tmp_path / "defs")) == ["x"]


def test_a_new_file_is_picked_up_with_no_registration(tmp_path):
    defs_dir = tmp_path / "defs"
    asset_file(defs_dir / "first.py", "first")
    assert keys(dg.load_from_defs_folder(defs_dir)) == ["first"]
    asset_file(defs_dir / "more" / "second.py", "second", deps=("first",))
    assert keys(dg.load_from_defs_folder(defs_dir)) == ["first", "second"]


def test_a_new_file_in_a_package_defs_folder_is_picked_up(tmp_path):
    pkg = tmp_path / "pkg_new_file"
    write(pkg / "__init__.py")
    write(pkg / "defs" / "__init__.py")
    asset_file(pkg / "defs" / "first.py", "first")
    assert keys(dg.load_from_defs_folder(pkg / "defs")) == ["first"]
    asset_file(pkg / "defs" / "second.py", "second")
    assert keys(dg.load_from_defs_folder(pkg / "defs")) == ["first", "second"]


def test_a_definitions_function_is_called_by_the_loader_not_at_import(tmp_path):
    write(
        tmp_path / "defs" / "lazy.py",
        """
        import sheer as dg

        CALLS = []

        @dg.definitions
        def defs():
            CALLS.append(1)
            return dg.Definitions(assets=[dg.AssetSpec("lazy_made")])
        """,
    )
    defs = dg.load_from_defs_folder(tmp_path / "defs")
    assert keys(defs) == ["lazy_made"]
    module = next(
        m
        for m in sys.modules.values()
        if getattr(m, "__file__", None) == str(tmp_path / "defs" / "lazy.py")
    )
    assert isinstance(module.defs, LazyDefinitions)
    assert module.CALLS == [1]  # importing built nothing; the loader called it once


def test_a_defs_file_finds_its_data_with_file_relative_path(tmp_path):
    (tmp_path / "defs" / "data").mkdir(parents=True)
    (tmp_path / "defs" / "data" / "seed.csv").write_text("a,b\n")
    write(
        tmp_path / "defs" / "seeded.py",
        """
        import sheer as dg

        SEED = dg.file_relative_path(__file__, "data/seed.csv")

        @dg.asset
        def seeded():
            with open(SEED) as f:
                return f.read()
        """,
    )
    defs = dg.load_from_defs_folder(tmp_path / "defs")
    assert dg.materialize(list(defs.assets)).asset_value("seeded") == "a,b\n"


def test_a_definitions_function_with_parameters_is_an_error():
    with pytest.raises(DefinitionError) as info:

        @dg.definitions
        def defs(context):
            return dg.Definitions()

    assert str(info.value) == (
        f"@definitions function defs (defined at {info.value.file}) takes parameters "
        "(context). Dagster passes a ComponentLoadContext there; Sheer has no components, so "
        "it passes nothing. Fix: take no parameters."
    )


def test_calling_a_definitions_function_that_returns_something_else_is_an_error():
    @dg.definitions
    def defs():
        return [dg.AssetSpec("a")]

    with pytest.raises(DefinitionError) as info:
        defs()
    assert str(info.value) == (
        "@definitions function defs returned list, not Definitions. Fix: return "
        "Definitions(assets=[...])."
    )


def test_a_defs_file_with_a_definitions_function_contributes_only_what_it_returns(tmp_path):
    write(
        tmp_path / "defs" / "declared.py",
        """
        import sheer as dg

        @dg.asset
        def kept():
            return 1

        @dg.asset
        def left_out():
            return 2

        @dg.definitions
        def defs():
            return dg.Definitions(assets=[kept])
        """,
    )
    asset_file(tmp_path / "defs" / "loose.py", "loose")
    assert keys(dg.load_from_defs_folder(tmp_path / "defs")) == ["kept", "loose"]
