"""Resources: configured objects (clients, connections) handed to asset functions.

`ConfigurableResource` is a frozen pydantic model, as in Dagster: its fields are its
configuration, validated once when it is built. Any other object can be a resource too.
Resources reach a function through a parameter with the resource's key as its name,
or through `context.resources` for keys in `required_resource_keys`.

In a run, a resource is set up when a step first needs it (once per process) and torn
down after the run in process, or after each step in a worker process. A setup that
raises fails only the steps that need the resource; a teardown that raises is a
warning, as the steps are done.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pydantic import BaseModel, ConfigDict


class ConfigurableResource(BaseModel):
    """Base class for resources configured by typed fields.

    Example:
        >>> class Warehouse(ConfigurableResource):
        ...     path: str
        >>> Warehouse(path="db.duckdb").path
        'db.duckdb'
    """

    model_config = ConfigDict(
        frozen=True, extra="forbid", arbitrary_types_allowed=True, populate_by_name=True
    )

    def setup_for_execution(self, context: Any) -> None:
        """Called once per process of a run, before a step first uses the resource."""

    def teardown_after_execution(self, context: Any) -> None:
        """Called after the last step that used the resource; raising here is a warning."""

    @contextmanager
    def yield_for_execution(self, context: Any) -> Iterator[ConfigurableResource]:
        self.setup_for_execution(context)
        try:
            yield self
        finally:
            self.teardown_after_execution(context)

    def get_resource_definition(self) -> ConfigurableResource:
        return self


def is_resource_annotation(annotation: Any, fn_globals: dict[str, Any]) -> bool:
    """True when a parameter annotation names a ConfigurableResource subclass."""
    if isinstance(annotation, str):
        # A postponed annotation: look up its name, dotted names included ('res.Warehouse').
        head, *rest = annotation.split("[")[0].strip().split(".")
        annotation = fn_globals.get(head)
        for part in rest:
            annotation = getattr(annotation, part, None)
    return inspect.isclass(annotation) and issubclass(annotation, ConfigurableResource)
