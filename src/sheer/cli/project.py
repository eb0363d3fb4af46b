"""Finding a project's definitions and instance, the way every command does it.

Definitions: `-m module`, `-f file.py`, else `[tool.sheer]` in the project's
pyproject.toml (`module = "pkg.defs"` or `defs = "src/pkg/defs"`), else the `defs/`
folder of the project in the current directory. Instance: `--instance URL`, else
`$SHEER_INSTANCE`, else `Instance.get()`.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import click

from sheer.definitions.definitions import Definitions
from sheer.definitions.loading import load_definitions, load_from_defs_folder
from sheer.instance import Instance


def project_root(start: Path | None = None) -> Path | None:
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / "pyproject.toml").is_file():
            return candidate
    return None


def sheer_config(root: Path | None) -> dict[str, str]:
    if root is None:
        return {}
    data = tomllib.loads((root / "pyproject.toml").read_text())
    return dict(data.get("tool", {}).get("sheer", {}))


def load_target(module: str | None, file: str | None) -> Definitions:
    """The definitions named by -m / -f, else by the project's configuration."""
    if module and file:
        raise click.UsageError("pass -m MODULE or -f FILE, not both")
    if module:
        return load_definitions(module)
    if file:
        return load_definitions(Path(file))
    root = project_root()
    config = sheer_config(root)
    if config.get("module"):
        src = root / "src" if root is not None and (root / "src").is_dir() else root
        import sys

        if src is not None and str(src) not in sys.path:
            sys.path.insert(0, str(src))
        return load_definitions(config["module"])
    return load_from_defs_folder(Path.cwd())


def open_instance(url: str | None) -> Instance:
    """`--instance URL` (click also reads $SHEER_INSTANCE into it), else the default."""
    if url:
        return Instance.from_url(url)
    return Instance.get()


def target_args(module: str | None, file: str | None) -> list[str]:
    """How a subprocess finds the same definitions."""
    if module:
        return ["-m", module]
    if file:
        return ["-f", str(Path(file).resolve())]
    return []
