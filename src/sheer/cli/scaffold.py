"""`sheer scaffold project NAME` and `sheer scaffold defs TYPE PATH`.

A scaffolded project loads at once (`sheer list defs`); a scaffolded asset file
lands under the project's defs folder and is picked up with no registration.
"""

from __future__ import annotations

import keyword
import re
from pathlib import Path

import click
from rich.console import Console

from sheer.cli.project import project_root, sheer_config
from sheer.definitions.loading import find_defs_folder
from sheer.errors import SheerError

console = Console(highlight=False, soft_wrap=True)

ASSET_TYPES = {
    "asset": False,
    "sheer.asset": False,
    "dagster.asset": False,
    "virtual_asset": True,
    "sheer.virtual_asset": True,
}

PYPROJECT = """[build-system]
requires = ["hatchling>=1.24"]
build-backend = "hatchling.build"

[project]
name = "{name}"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = ["sheer"]

[project.optional-dependencies]
dev = ["pytest"]

[tool.hatch.build.targets.wheel]
packages = ["src/{package}"]

[tool.sheer]
defs = "src/{package}/defs"
"""

README = """# {name}

A Sheer project. Assets live in Python files under `src/{package}/defs/`; any asset
defined there is picked up with no registration.

    sheer scaffold defs asset assets/orders.py
    sheer scaffold defs virtual_asset views/recent_orders.py
    sheer list defs
    sheer launch --assets '*'
    sheer status
"""

TEST = '''"""The project's definitions load and validate."""

from pathlib import Path

import sheer as dg

DEFS = Path(__file__).resolve().parents[1] / "src" / "{package}" / "defs"


def test_definitions_load():
    defs = dg.load_from_defs_folder(DEFS)
    graph = defs.resolve_asset_graph()
    assert len(graph) == len(graph.get_all_asset_keys())
'''

ASSET = '''"""{name}: describe what this asset holds."""

import sheer as dg


@dg.asset(group_name="{group}", kinds={{"python"}})
def {name}(context: dg.AssetExecutionContext) -> list[dict]:
    """Describe {name} here; upstream assets go in as parameters, e.g. `def {name}(orders):`."""
    rows = [{{"id": 1, "amount": 10.0}}, {{"id": 2, "amount": 32.5}}]
    context.add_output_metadata({{"rows": len(rows)}})
    return rows
'''

VIRTUAL_ASSET = '''"""{name}: a virtual asset (a view), derived on the fly from its inputs."""

import sheer as dg


@dg.asset(is_virtual=True, group_name="{group}", kinds={{"view"}}, code_version="1")
def {name}() -> list[dict]:
    """Describe {name} here. Add the assets it reads as parameters, e.g.
    `def {name}(orders):`, and bump code_version when you change its definition."""
    return []
'''


def register(main: click.Group) -> None:
    main.add_command(scaffold_group)


@click.group("scaffold")
def scaffold_group() -> None:
    """Create a project or a ready-to-edit definitions file.

    \b
    Examples:
      sheer scaffold project demo
      sheer scaffold defs asset assets/orders.py
    """


# A project (distribution) name as PEP 508 allows it: what pyproject.toml's `name` holds.
_PROJECT_NAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?")


def _project_name(name: str) -> str:
    if not _PROJECT_NAME.fullmatch(name):
        raise SheerError(
            f"Project name {name!r} is not a valid Python project name. Fix: use letters, "
            "digits, '-', '_' and '.', starting and ending with a letter or digit, "
            "e.g. 'my-shop'."
        )
    return name


def _module_part(part: str, path: str) -> str:
    """A folder or file name under the defs folder: the loader imports it by dotted
    name, so it must be a Python identifier as it is, not only once cleaned."""
    if not part.isidentifier() or keyword.iskeyword(part):
        raise SheerError(
            f"{path}: {part!r} cannot be imported as a Python module, and would break "
            f"loading the whole project. Fix: name it {_suggest(part)!r} (letters, "
            "digits and '_', not starting with a digit).",
            file=path,
        )
    return part


def _suggest(part: str) -> str:
    ident = re.sub(r"\W", "_", part, flags=re.ASCII) or "module"
    if ident[0].isdigit() or keyword.iskeyword(ident):
        ident = f"_{ident}" if ident[0].isdigit() else f"{ident}_"
    return ident


def _identifier(name: str, what: str) -> str:
    ident = re.sub(r"[^0-9A-Za-z_]", "_", name)
    if not ident or ident[0].isdigit() or keyword.iskeyword(ident):
        raise SheerError(
            f"{what} {name!r} cannot be a Python name. Fix: use letters, digits "
            "and '_', not starting with a digit, e.g. 'daily_revenue'."
        )
    return ident


def _write(path: Path, text: str, force: bool) -> None:
    if path.exists() and not force:
        raise SheerError(
            f"{path} already exists. Fix: choose another path, or pass --force to overwrite it.",
            file=str(path),
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@scaffold_group.command("project")
@click.argument("name")
@click.option("--force", is_flag=True, help="Overwrite files that exist.")
def scaffold_project(name: str, force: bool) -> None:
    """A new project folder NAME with a defs folder, configuration and a test.

    \b
    Example:
      sheer scaffold project demo && cd demo && sheer list defs
    """
    package = _identifier(_project_name(name).replace("-", "_").replace(".", "_"), "Project name")
    root = Path(name)
    if root.exists() and any(root.iterdir()) and not force:
        raise SheerError(
            f"Folder {root} exists and is not empty. Fix: choose another name, or pass --force.",
            file=str(root),
        )
    files = {
        root / "pyproject.toml": PYPROJECT.format(name=name, package=package),
        root / "README.md": README.format(name=name, package=package),
        root / ".gitignore": ".sheer/\n__pycache__/\n.venv/\n",
        root / "src" / package / "__init__.py": "",
        root / "src" / package / "defs" / "__init__.py": "",
        root / "tests" / "test_defs.py": TEST.format(package=package),
    }
    for path, text in files.items():
        _write(path, text, force=True)
    console.print(f"created project [bold]{name}[/] (definitions in src/{package}/defs/)")


@scaffold_group.command("defs")
@click.argument("asset_type", metavar="TYPE")
@click.argument("path")
@click.option("--force", is_flag=True, help="Overwrite the file if it exists.")
def scaffold_defs(asset_type: str, path: str, force: bool) -> None:
    """Write a ready-to-edit asset file at PATH under the project's defs folder.

    TYPE is asset (also sheer.asset) or virtual_asset (also sheer.virtual_asset).

    \b
    Examples:
      sheer scaffold defs asset assets/orders.py
      sheer scaffold defs virtual_asset views/recent_orders.py
    """
    if asset_type not in ASSET_TYPES:
        raise SheerError(
            f"Unknown type {asset_type!r}. Fix: use one of {', '.join(sorted(ASSET_TYPES))}."
        )
    defs = _defs_folder()
    target = _inside(defs, path)
    for part in (*target.parent.relative_to(defs).parts, target.stem):
        _module_part(part, path)
    name = _identifier(target.stem, "File name")
    group = _identifier(target.parent.name, "Folder") if target.parent != defs else "default"
    template = VIRTUAL_ASSET if ASSET_TYPES[asset_type] else ASSET
    _write(target, template.format(name=name, group=group), force)
    if (defs / "__init__.py").exists():  # keep the package importable by dotted name
        folder = target.parent
        while folder != defs:
            (folder / "__init__.py").touch(exist_ok=True)
            folder = folder.parent
    console.print(
        f"wrote {target.relative_to(Path.cwd()) if target.is_relative_to(Path.cwd()) else target}"
    )


def _defs_folder() -> Path:
    root = project_root()
    config = sheer_config(root)
    if root is not None and config.get("defs"):
        return (root / config["defs"]).resolve()
    return find_defs_folder(Path.cwd(), root)


def _inside(defs: Path, path: str) -> Path:
    raw = Path(path)
    if not raw.suffix:
        raw = raw.with_suffix(".py")
    if raw.suffix != ".py":
        raise SheerError(f"{path} is not a Python file. Fix: end it with .py.")
    # Relative paths are taken inside the defs folder (an explicit defs/ prefix too).
    if raw.is_absolute():
        target = raw.resolve()
    else:
        parts = raw.parts
        rel = Path(*parts[1:]) if parts and parts[0] == defs.name and len(parts) > 1 else raw
        target = (defs / rel).resolve()
    if not target.is_relative_to(defs):
        raise SheerError(
            f"{path} is outside the defs folder {defs}. Fix: give a path inside "
            "it, e.g. assets/orders.py.",
            file=path,
        )
    return target
