"""Resources: configured objects (clients, connections) handed to asset functions.

`ConfigurableResource` is a frozen pydantic model, as in Dagster: its fields are its
configuration, validated once when it is built. Any other object can be a resource too.
Resources reach a function through a parameter with the resource's key as its name,
or through `context.resources` for keys in `required_resource_keys`.
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
        """Called once per run before the resource is first used. Override as needed."""

    def teardown_after_execution(self, context: Any) -> None:
        """Called once per run after the last step. Override as needed."""

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
