"""`sheer dev`: the UI server and the automation daemon for the current project.

The options that expose the UI beyond this machine are checked before anything loads:
a non-loopback `--host` needs `--auth-token` and at least one `--allow-host`. The
banner never shows the instance's password, nor an auth token taken from the
environment. The web modules are imported only when `sheer dev` runs, so other
commands do not load Starlette.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Sequence

import click
from click.core import ParameterSource
from rich.console import Console

from sheer.cli import instance_option, target_options
from sheer.cli.project import load_target, open_instance, target_args

console = Console(highlight=False, soft_wrap=True)
_ANY_ADDRESS = frozenset({"0.0.0.0", "::", ""})


def _checked_token(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value and not re.fullmatch(r"[\x21-\x7e]+", value):
        raise click.BadParameter(
            "the token travels in HTTP headers and cookies, so it must be printable ASCII "
            'without spaces. Fix: use e.g. "$(openssl rand -hex 16)".'
        )
    return value


def _checked_hosts(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> tuple[str, ...]:
    from sheer.web.app import host_name

    for value in values:
        if host_name(value) in (None, *_ANY_ADDRESS):
            raise click.BadParameter(
                f"{value!r} is not a host name or address. Fix: give the name clients use "
                "in their URLs, e.g. --allow-host my-server.example.com."
            )
    return values


def _checked_origins(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> tuple[str, ...]:
    for value in values:
        if not re.fullmatch(r"https?://[^/\s]+/?", value.strip()):
            raise click.BadParameter(
                f"{value!r} is not an origin. Fix: give it as the browser sends it, "
                "scheme://host[:port], e.g. --allow-origin https://sheer.example.com."
            )
    return values


def register(main: click.Group) -> None:
    main.add_command(dev)


@click.command("dev")
@target_options
@instance_option
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to bind; keep 127.0.0.1 unless you set --auth-token and --allow-host.",
)
@click.option("--port", default=3000, show_default=True, type=int)
@click.option(
    "--auth-token",
    default=None,
    envvar="SHEER_AUTH_TOKEN",
    callback=_checked_token,
    help="Require this token on every request (for remote use; default $SHEER_AUTH_TOKEN).",
)
@click.option(
    "--allow-host",
    "allow_hosts",
    multiple=True,
    metavar="NAME",
    callback=_checked_hosts,
    help="A host name the UI answers to besides localhost (repeatable); "
    "required with a non-loopback --host.",
)
@click.option(
    "--allow-origin",
    "allow_origins",
    multiple=True,
    metavar="ORIGIN",
    callback=_checked_origins,
    help="An origin whose pages may launch runs, besides those of the allowed hosts "
    "on --port, e.g. https://sheer.example.com (repeatable, matched exactly).",
)
@click.option("--no-daemon", is_flag=True, help="Do not run the automation daemon.")
@click.option("--interval", default="30s", show_default=True, help="Automation tick interval.")
def dev(
    module: str | None,
    file: str | None,
    instance_url: str | None,
    host: str,
    port: int,
    auth_token: str | None,
    allow_hosts: tuple[str, ...],
    allow_origins: tuple[str, ...],
    no_daemon: bool,
    interval: str,
) -> None:
    """Start the UI (and the automation daemon) for the current project.

    \b
    Examples:
      sheer dev
      sheer dev -f examples/quickstart/warehouse.py --port 3001
      sheer dev --host 0.0.0.0 --allow-host my-server.example.com \\
        --auth-token "$(openssl rand -hex 16)"
    """
    import uvicorn

    from sheer.automation.daemon import AutomationDaemon
    from sheer.cli.run_commands import parse_interval
    from sheer.web.app import create_app

    problem = remote_problem(host, auth_token=auth_token, allow_hosts=allow_hosts)
    if problem:
        raise click.UsageError(problem)
    defs = load_target(module, file)
    instance = open_instance(instance_url)
    app = create_app(
        defs,
        instance,
        auth_token=auth_token,
        port=port,
        allowed_hosts=allow_hosts,
        extra_origins=allow_origins,
    )
    daemon = None
    if not no_daemon:
        daemon = AutomationDaemon(
            defs, instance, launch_args=target_args(module, file), cwd=os.getcwd()
        )
        thread = threading.Thread(
            target=daemon.run_forever,
            args=(parse_interval(interval),),
            name="sheer-automation",
            daemon=True,
        )
        thread.start()
    from_env = click.get_current_context().get_parameter_source("auth_token")
    text = banner(
        host=host,
        port=port,
        instance_url=instance.url,
        auth_token=auth_token,
        token_from_env=from_env is ParameterSource.ENVIRONMENT,
        allow_hosts=allow_hosts,
    )
    console.print(text, markup=False)
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning")
    finally:
        if daemon is not None:
            daemon.stop()


def remote_problem(host: str, *, auth_token: str | None, allow_hosts: Sequence[str]) -> str | None:
    """Why the UI cannot be served on `host` as asked, with the fix; None when it can
    (always for a loopback address)."""
    from sheer.web.app import host_name, is_loopback

    if is_loopback(host):
        return None
    name = host_name(host)
    example = host if name and name not in _ANY_ADDRESS else "my-server.example.com"
    missing = [
        *([] if auth_token else ['--auth-token "$(openssl rand -hex 16)"']),
        *([] if allow_hosts else [f"--allow-host {example} (once for each name clients use)"]),
    ]
    if not missing:
        return None
    return (
        f"Binding to {host} exposes the UI to the network, so every request must carry an "
        "auth token, and the UI answers only the host names it was started for (no other "
        f"site can reach it through DNS rebinding). Fix: add {' and '.join(missing)}."
    )


def banner(
    *,
    host: str,
    port: int,
    instance_url: str,
    auth_token: str | None,
    token_from_env: bool,
    allow_hosts: Sequence[str],
) -> str:
    """The line `sheer dev` prints: a URL on a host the UI answers to, and the instance
    without its password. A token from the environment is named, not shown."""
    from sheer.web.api import redact_url
    from sheer.web.app import host_name, is_loopback, netloc

    shown = host_name(host) or host
    if not is_loopback(host) and allow_hosts:
        shown = host_name(allow_hosts[0]) or allow_hosts[0]
    url = f"http://{netloc(shown, port)}/"
    if auth_token:
        url += "?auth=$SHEER_AUTH_TOKEN" if token_from_env else f"?auth={auth_token}"
    return f"Sheer UI on {url} (instance {redact_url(instance_url)}); Ctrl-C to stop"
