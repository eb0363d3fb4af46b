"""`sheer dev`: the UI server and the automation daemon for the current project."""

from __future__ import annotations

import os
import threading

import click
from rich.console import Console

from sheer.cli import instance_option, target_options
from sheer.cli.project import load_target, open_instance, target_args

console = Console(highlight=False, soft_wrap=True)


def register(main: click.Group) -> None:
    main.add_command(dev)


@click.command("dev")
@target_options
@instance_option
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to bind; keep 127.0.0.1 unless you set --auth-token.",
)
@click.option("--port", default=3000, show_default=True, type=int)
@click.option(
    "--auth-token",
    default=None,
    envvar="SHEER_AUTH_TOKEN",
    help="Require this token on every request (for remote use).",
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
    no_daemon: bool,
    interval: str,
) -> None:
    """Start the UI (and the automation daemon) for the current project.

    \b
    Examples:
      sheer dev
      sheer dev -f examples/quickstart/warehouse.py --port 3001
      sheer dev --host 0.0.0.0 --auth-token "$(openssl rand -hex 16)"
    """
    import uvicorn

    from sheer.automation.daemon import AutomationDaemon
    from sheer.cli.run_commands import parse_interval
    from sheer.web.app import create_app

    if host not in ("127.0.0.1", "localhost", "::1") and not auth_token:
        raise click.UsageError(
            f"Binding to {host} exposes the UI to the network; pass --auth-token as well."
        )
    defs = load_target(module, file)
    instance = open_instance(instance_url)
    app = create_app(defs, instance, auth_token=auth_token, host=host, port=port)
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
    url = f"http://{host}:{port}/" + (f"?auth={auth_token}" if auth_token else "")
    console.print(f"Sheer UI on [bold]{url}[/] (instance {instance.url}); Ctrl-C to stop")
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning")
    finally:
        if daemon is not None:
            daemon.stop()
