"""The `sheer` command. Each command calls one library function and renders its result.

One error handler turns a `SheerError` into a one-line red message and exit code 1
(`--debug` shows the traceback); a failure inside the user's own code also shows
the user's traceback, never Sheer's.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable
from typing import Any

import click
from rich.console import Console
from rich.markup import escape

from sheer.errors import DefinitionsLoadError, SheerError

# With the separator, so that a user package named like `sheer_etl` is not taken for ours.
_SHEER_DIR = os.path.dirname(os.path.dirname(__file__)) + os.sep


def user_traceback(exc: BaseException) -> str:
    """The traceback of `exc` without the frames of Sheer and of the import machinery."""
    frames = [
        f
        for f in traceback.extract_tb(exc.__traceback__)
        if not f.filename.startswith(_SHEER_DIR) and "importlib" not in f.filename
    ]
    lines = traceback.format_list(frames)
    return (
        "Traceback (most recent call last):\n"
        + "".join(lines)
        + "".join(traceback.format_exception_only(type(exc), exc))
    )


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SheerError as exc:
            if ctx.params.get("debug"):
                raise
            err = Console(stderr=True, highlight=False, soft_wrap=True)
            cause = exc.__cause__
            if isinstance(exc, DefinitionsLoadError) and cause is not None:
                err.print(escape(user_traceback(cause)).rstrip())
            err.print(f"[bold red]error:[/] {escape(exc.message)}")
            sys.exit(1)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show full tracebacks.")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """Sheer: assets, virtual assets, and the runs that keep them fresh.

    \b
    Examples:
      sheer scaffold project demo
      sheer list defs
      sheer launch --assets '+daily_revenue'
      sheer status
    """
    ctx.obj = {"debug": debug}


def target_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """-m / -f: where the definitions are (default: the project's defs folder)."""
    fn = click.option("-f", "--file", "file", help="A Python file with definitions.")(fn)
    fn = click.option("-m", "--module", "module", help="A module with definitions.")(fn)
    return fn


def instance_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--instance",
        "instance_url",
        envvar="SHEER_INSTANCE",
        help="Instance URL (default: $SHEER_INSTANCE, else .sheer/ in the project).",
    )(fn)


def _register() -> None:
    from sheer.cli import backfill, dev, inspect_commands, run_commands, scaffold

    for module in (inspect_commands, run_commands, backfill, scaffold, dev):
        module.register(main)


_register()
