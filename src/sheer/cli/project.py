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
from sheer.errors import DefinitionsLoadError, StorageError
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
    pyproject = root / "pyproject.toml"
    try:
        data = tomllib.loads(pyproject.read_text())
    except tomllib.TOMLDecodeError as exc:
        # `from None`: the handler would print tomllib's frames as if they were user code.
        raise DefinitionsLoadError(
            f"Cannot read {pyproject}: {exc}. Fix: correct the TOML syntax.", file=str(pyproject)
        ) from None
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
    try:
        return Instance.from_url(url) if url else Instance.get()
    except (OSError, ImportError) as exc:
        # A database driver that is not installed (SQLAlchemy raises ImportError), or a
        # default folder that cannot be created: not StorageErrors of the storage layer.
        fix = (
            "install the database driver the URL names, e.g. pip install psycopg"
            if isinstance(exc, ImportError)
            else "point it at a folder you can write to"
        )
        raise StorageError(
            f"Cannot open the instance storage at {url or 'the default location'}: "
            f"{type(exc).__name__}: {exc}. Fix: {fix}.",
            file=url,
        ) from exc


def target_args(module: str | None, file: str | None) -> list[str]:
    """How a subprocess finds the same definitions."""
    if module:
        return ["-m", module]
    if file:
        return ["-f", str(Path(file).resolve())]
    return []
