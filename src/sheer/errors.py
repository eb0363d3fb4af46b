"""The exceptions Sheer raises, in a few families under one root, `SheerError`.

Every message says what happened, why, and how to fix it; the exceptions also carry
the facts as fields (the asset key, the file where it was defined) so tools can show
them without parsing text. This module imports nothing from Sheer.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # keys.py raises InvalidKeyError: a real import would be a cycle
    from sheer.keys import AssetKey


class SheerError(Exception):
    """Root of every error Sheer raises on purpose."""

    def __init__(
        self, message: str, *, key: AssetKey | str | None = None, file: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.key = key
        self.file = file

    def __str__(self) -> str:
        return self.message


# Definition family: problems in the user's asset code, found when it is loaded.
class DefinitionError(SheerError):
    """A definition is invalid; raised when definitions are built or loaded."""


class InvalidKeyError(DefinitionError, ValueError):
    """A string or list cannot be an asset key."""


class DuplicateKeyError(DefinitionError):
    """One asset key is defined in two places."""


class CycleError(DefinitionError):
    """The asset dependencies form a cycle; `.cycle` lists the keys in order."""

    def __init__(self, message: str, *, cycle: Sequence[AssetKey]) -> None:
        super().__init__(message, key=cycle[0] if cycle else None)
        self.cycle = list(cycle)


class UnresolvedInputError(DefinitionError):
    """A function parameter names neither an asset nor a resource."""


class VirtualInputError(DefinitionError):
    """A virtual asset without a function is asked to provide a data input."""


class DefinitionsLoadError(DefinitionError):
    """A module, file or defs folder could not be loaded."""


class MultipleDefinitionErrors(DefinitionError):
    """Several definition problems, collected and raised at once; `.errors` holds each."""

    def __init__(self, errors: Sequence[DefinitionError]) -> None:
        lines = [f"{len(errors)} problems in the definitions:"]
        lines += [f"  {i}. {e.message}" for i, e in enumerate(errors, 1)]
        super().__init__("\n".join(lines), key=errors[0].key, file=errors[0].file)
        self.errors = list(errors)


# Selection family: a selection names something the graph does not have.
class SelectionError(SheerError, ValueError):
    """A selection cannot be parsed or resolved."""


class UnknownAssetError(SelectionError, KeyError):
    """A key that no definition in the graph has."""

    def __str__(self) -> str:  # KeyError would quote the message
        return self.message


class SelectionSyntaxError(SelectionError):
    """A selection string does not parse."""


# Execution and storage families are filled in by the modules that raise them.
class ExecutionError(SheerError):
    """A run could not be planned or did not complete."""


class StepExecutionError(ExecutionError):
    """A step of a run raised; carries the asset key, the run id and the user's traceback."""

    def __init__(
        self, message: str, *, key: AssetKey | str | None, run_id: str, user_traceback: str
    ) -> None:
        super().__init__(message, key=key)
        self.run_id = run_id
        self.user_traceback = user_traceback


class StorageError(SheerError):
    """The instance's storage cannot be opened, migrated, read or written."""


class RunNotQueuedError(StorageError):
    """A run to start is not QUEUED: it does not exist, or another process has it."""


def did_you_mean(name: str, candidates: Iterable[str], *, n: int = 3) -> str:
    """A ' Did you mean ...?' suffix naming the closest candidates, or ''."""
    close = difflib.get_close_matches(name, list(candidates), n=n, cutoff=0.6)
    if not close:
        return ""
    return " Did you mean " + " or ".join(repr(c) for c in close) + "?"
