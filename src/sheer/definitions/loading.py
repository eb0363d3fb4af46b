"""Finding definitions in user code: a module, a `.py` file, or a project's `defs/` folder.

A `defs/` folder follows the convention of `dg` projects: every asset defined at
module level in any Python file under it is collected, so a scaffolded file is
picked up with no registration. Import failures become `DefinitionsLoadError`s that
name the file and keep the user's traceback.
"""

from __future__ import annotations

import gc
import hashlib
import importlib
import importlib.util
import sys
import tomllib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

from sheer.definitions.assets import AssetsDefinition
from sheer.definitions.definitions import Definitions, LazyDefinitions
from sheer.definitions.specs import AssetSpec
from sheer.errors import DefinitionsLoadError, did_you_mean


def load_definitions(target: str | Path) -> Definitions:
    """Load the definitions of a module (`"pkg.defs"`), a file (`"defs.py"`) or a folder.

    A module with a `Definitions` object uses it; otherwise a `@definitions` function
    is called; otherwise every asset and spec defined at module level is collected.
    `"module:attr"` picks one attribute. A folder is loaded as a defs folder.

    Example:
        >>> defs = load_definitions("examples/seed_chain/defs.py")  # doctest: +SKIP
    """
    text = str(target)
    attr = None
    if ":" in text and not Path(text).exists():
        text, attr = text.rsplit(":", 1)
    path = Path(text)
    if path.is_dir():
        return load_from_defs_folder(path)
    if text.endswith(".py") or path.is_file():
        if not path.is_file():
            raise DefinitionsLoadError(
                f"Cannot load definitions from '{text}': no such file. "
                "Fix: check the path, relative to the current directory.",
                file=text,
            )
        module = _import_file(path.resolve())
    else:
        module = _import_module(text)
    if attr is not None:
        return _from_attribute(module, attr)
    return definitions_from_modules([module], prefer_definitions=True)


def load_from_defs_folder(
    path: str | Path | None = None,
    *,
    path_within_project: str | Path | None = None,
    project_root: str | Path | None = None,
) -> Definitions:
    """Collect every asset defined in the Python files under a project's `defs/` folder.

    `path` may be the defs folder itself, a folder that contains `defs/`, or any path
    inside a project (Dagster's `path_within_project=`); `project_root=` finds the folder
    from the project's `pyproject.toml` (`[tool.sheer] defs`, or `[tool.dg.project]
    root_module`), else `src/<package>/defs`.
    """
    start = path if path is not None else path_within_project
    folder = find_defs_folder(
        Path(start) if start is not None else None,
        Path(project_root) if project_root is not None else None,
    )
    files = sorted(
        p for p in folder.rglob("*.py") if "__pycache__" not in p.parts and not _hidden(p, folder)
    )
    # Import finders cache directory listings; files added since the last load must be seen.
    importlib.invalidate_caches()
    with _collector_paused():
        modules = [_import_defs_file(f, folder) for f in files]
    return definitions_from_modules(modules, prefer_definitions=False)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a project's files are imported.

    Imports and decorators allocate many long-lived objects and few cycles, so the
    collector would only rescan them: a tenth to a fifth of loading a large project.
    Whatever cycles an import leaves are collected once it is enabled again.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def find_defs_folder(start: Path | None, project_root: Path | None) -> Path:
    if start is not None:
        start = start.resolve()
        if start.is_file():
            start = start.parent
        if start.name == "defs" and start.is_dir():
            return start
        if (start / "defs").is_dir():
            return start / "defs"
    root = project_root.resolve() if project_root is not None else _project_root(start)
    if root is not None:
        found = _defs_from_pyproject(root)
        if found is not None:
            return found
        candidates = sorted(root.glob("src/*/defs")) + sorted(root.glob("*/defs"))
        candidates = [c for c in candidates if c.is_dir() and ".venv" not in c.parts]
        if len(candidates) == 1:
            return candidates[0]
    where = start or project_root or Path.cwd()
    raise DefinitionsLoadError(
        f"No defs folder found from '{where}'. Sheer looks for a folder named 'defs' there, "
        "under src/<package>/ of the project, or as set in pyproject.toml. Fix: create "
        'src/<package>/defs/, pass its path, or set [tool.sheer] defs = "path/to/defs".',
        file=str(where),
    )


def _project_root(start: Path | None) -> Path | None:
    here = start or Path.cwd().resolve()
    for candidate in (here, *here.parents):
        if (candidate / "pyproject.toml").is_file():
            return candidate
    return None


def _defs_from_pyproject(root: Path) -> Path | None:
    pyproject = root / "pyproject.toml"
    if not pyproject.is_file():
        return None
    try:
        data = tomllib.loads(pyproject.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise DefinitionsLoadError(
            f"Cannot read {pyproject}: {exc}. Fix: correct the TOML syntax.", file=str(pyproject)
        ) from exc
    tool = data.get("tool", {})
    defs = tool.get("sheer", {}).get("defs")
    if defs:
        path: Path = (root / defs).resolve()
        return path
    root_module = tool.get("dg", {}).get("project", {}).get("root_module")
    if root_module:
        for base in (root / "src", root):
            candidate = base.joinpath(*root_module.split("."), "defs")
            if candidate.is_dir():
                return candidate
    return None


def _hidden(path: Path, folder: Path) -> bool:
    rel = path.relative_to(folder).parts
    return any(part.startswith(".") for part in rel)


def definitions_from_modules(
    modules: Iterable[ModuleType], *, prefer_definitions: bool
) -> Definitions:
    """Merge what the modules define: Definitions objects, @definitions functions, assets.

    As in Dagster, a module that holds a `Definitions` object or a `@definitions`
    function contributes only those; the assets of the other modules are collected.
    """
    found_defs: list[Definitions] = []
    assets: dict[object, AssetsDefinition | AssetSpec] = {}  # by identity
    seen: set[object] = set()
    for module in modules:
        values = list(vars(module).values())
        declares = [v for v in values if isinstance(v, (Definitions, LazyDefinitions))]
        for value in declares:
            identity = _identity(value)
            if identity in seen:
                continue
            seen.add(identity)
            if isinstance(value, LazyDefinitions):
                value = _call_definitions(value, module)
            found_defs.append(value)
        if declares:
            continue
        # One module holding two objects of the same identity made them both (a factory
        # called twice with the same name): both are kept, so the duplicate key is an
        # error, not one silently dropped. Across modules, an identity is one definition.
        made_here: dict[object, int] = {}
        for value in values:
            if isinstance(value, (AssetsDefinition, AssetSpec)):
                identity = _identity(value)
                first = made_here.setdefault(identity, id(value))
                assets.setdefault(identity if first == id(value) else (identity, id(value)), value)
    if prefer_definitions and found_defs:
        return Definitions.merge(*found_defs)
    # Assets also held by a collected Definitions object are not added twice.
    held = {_identity(a) for d in found_defs for a in d.assets}
    loose = Definitions(assets=[a for i, a in assets.items() if i not in held])
    return Definitions.merge(*found_defs, loose)


def _identity(value: object) -> object:
    """What makes two loaded objects the same definition.

    A file in a defs folder that is not a package imports its neighbours under their
    plain names ('from orders import orders'), so one definition can be loaded twice
    as two objects; both have the same keys and the same source line.
    """
    if isinstance(value, AssetsDefinition) and value.source:
        return ("asset", value.source, value.keys)
    if isinstance(value, AssetSpec) and value.source:
        return ("spec", value.source, value.key)
    return id(value)


def _call_definitions(lazy: LazyDefinitions, module: ModuleType) -> Definitions:
    result = lazy.load_fn()
    if not isinstance(result, Definitions):
        raise DefinitionsLoadError(
            f"@definitions function {lazy.__name__} in {module.__file__} returned "
            f"{type(result).__name__}, not Definitions. Fix: return Definitions(assets=[...]).",
            file=module.__file__,
        )
    return result


def _from_attribute(module: ModuleType, attr: str) -> Definitions:
    if not hasattr(module, attr):
        names = [n for n in vars(module) if not n.startswith("_")]
        raise DefinitionsLoadError(
            f"Module {module.__name__} has no attribute '{attr}'.{did_you_mean(attr, names)} "
            f"Fix: point at a Definitions object, e.g. {module.__name__}:defs.",
            file=getattr(module, "__file__", None),
        )
    value = getattr(module, attr)
    if callable(value) and not isinstance(value, (AssetsDefinition, Definitions)):
        value = value()
    if isinstance(value, Definitions):
        return value
    if isinstance(value, (AssetsDefinition, AssetSpec)):
        return Definitions(assets=[value])
    raise DefinitionsLoadError(
        f"{module.__name__}:{attr} is {type(value).__name__}, not Definitions. "
        f"Fix: point at a Definitions object, e.g. {module.__name__}:defs.",
        file=getattr(module, "__file__", None),
    )


def file_relative_path(dunderfile: str, relative_path: str) -> str:
    """The absolute path of `relative_path` taken from the folder of the file `dunderfile`
    (pass `__file__`), so a project finds its files from any working directory.

    Example:
        >>> file_relative_path("/project/defs/orders.py", "../data/orders.csv")
        '/project/data/orders.csv'
    """
    return str((Path(dunderfile).parent / relative_path).resolve())


def _import_module(name: str) -> ModuleType:
    cwd = str(Path.cwd())
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and name.startswith(exc.name):
            raise DefinitionsLoadError(
                f"Cannot load definitions from module '{name}': it is not importable from "
                f"{cwd}. Fix: install the project (pip install -e .), run from its folder, "
                "or pass a file path instead.",
                file=name,
            ) from exc
        raise _load_error(name, exc) from exc
    except Exception as exc:
        raise _load_error(name, exc) from exc


def _import_defs_file(path: Path, folder: Path) -> ModuleType:
    package_root = _package_root(path.parent)
    if package_root is not None:
        rel = path.relative_to(package_root).with_suffix("")
        parts = [p for p in rel.parts if p != "__init__"]
        root = str(package_root)
        if root not in sys.path:
            sys.path.insert(0, root)
        try:
            return importlib.import_module(".".join(parts))
        except Exception as exc:
            raise _load_error(str(path), exc) from exc
    return _import_file(path, name=_synthetic_name(path, folder))


def _package_root(directory: Path) -> Path | None:
    """The folder above the topmost package containing `directory`, or None."""
    if not (directory / "__init__.py").is_file():
        return None
    while (directory / "__init__.py").is_file():
        directory = directory.parent
    return directory


def _synthetic_name(path: Path, folder: Path) -> str:
    # Stable per folder, unique per file, and a plain identifier so that pickling
    # functions by reference works in worker processes.
    digest = hashlib.sha1(str(folder).encode()).hexdigest()[:8]
    rel = path.relative_to(folder).with_suffix("")
    return f"sheer_defs_{digest}__" + "__".join(rel.parts)


def _import_file(path: Path, name: str | None = None) -> ModuleType:
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:8]
    module_name = name or f"sheer_user_{digest}__{path.stem}"
    existing = sys.modules.get(module_name)
    if existing is not None and getattr(existing, "__file__", None) == str(path):
        return existing
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise DefinitionsLoadError(f"Cannot import {path}: not a Python file.", file=str(path))
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    parent = str(path.parent)
    added = parent not in sys.path
    if added:
        sys.path.insert(0, parent)  # so the file can import its neighbours
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(module_name, None)
        raise _load_error(str(path), exc) from exc
    finally:
        if added:
            sys.path.remove(parent)
    return module


def _load_error(where: str, exc: BaseException) -> DefinitionsLoadError:
    return DefinitionsLoadError(
        f"Loading definitions from {where} failed: {type(exc).__name__}: {exc}. "
        "Fix: correct the error shown in the traceback above, then load again.",
        file=where,
    )
