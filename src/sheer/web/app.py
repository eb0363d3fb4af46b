"""The UI server: one route table over `sheer.web.api`, with the safety rules.

- It binds to 127.0.0.1 unless told otherwise (see `sheer dev`).
- It answers only the host names it was started for: the loopback names, plus each
  `--allow-host`. Any other `Host` (a DNS-rebinding name pointed at this address) gets
  a plain 400 and no data, before any other check.
- State-changing requests are POSTs that must carry an allowed Origin and the
  per-session token (`X-Sheer-Token`, which the page reads from its own HTML). The
  allowed origins are http(s)://ACCEPTED-HOST:PORT for the port the server listens
  on, plus each `--allow-origin`, exactly.
- With an auth token (remote use), every request must present it: the
  `Authorization: Bearer ...` header, or the cookie set by opening `/?auth=TOKEN`.
  Tokens are compared in constant time, as bytes, so any text is just right or wrong.
- Bad requests get a 4xx JSON error; an unexpected failure gets a 500 JSON error
  without a stack trace. No endpoint runs code other than the defined assets.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import re
import secrets
import threading
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from sheer.backfills import cancel_backfill, create_backfill, execute_backfill, resume_backfill
from sheer.backfills.executor import backfill_not_found
from sheer.definitions.definitions import Definitions
from sheer.errors import SheerError, UnknownAssetError
from sheer.execution.run import execute_selection, plan_selection
from sheer.instance import Instance
from sheer.keys import AssetKey
from sheer.web import api

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
FROM_UI = {"sheer/from_ui": "true"}
AUTH_COOKIE = "sheer_auth"
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
REFUSED_HOST = "This server does not answer to that host name. Start it with --allow-host NAME."


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class UIState:
    """What the routes share: definitions, instance, the session token, launched runs."""

    def __init__(
        self,
        defs: Definitions,
        instance: Instance,
        *,
        auth_token: str | None,
        allowed_origins: frozenset[str],
    ) -> None:
        self.defs = defs
        self.instance = instance
        self.session_token = secrets.token_urlsafe(24)
        self.auth_token = auth_token
        self.allowed_origins = allowed_origins
        self.threads: dict[str, threading.Thread] = {}
        self.backfill_threads: dict[str, threading.Thread] = {}

    def launch(self, selection: Any) -> str:
        """Plan (so bad selections fail now, as a 400), then run in a background thread."""
        plan = plan_selection(self.defs, selection)
        keys = sorted(plan.selected_keys)
        run = self.instance.create_run(keys, tags=FROM_UI, queued=True, executor="in_process")

        def work() -> None:
            execute_selection(
                self.defs,
                keys,
                instance=self.instance,
                run_id=run.run_id,
                raise_on_error=False,
                tags=FROM_UI,
            )

        thread = threading.Thread(target=work, name=f"sheer-run-{run.run_id[:8]}", daemon=True)
        self.threads[run.run_id] = thread
        thread.start()
        return run.run_id

    def backfill(
        self, selection: Any, partition_range: tuple[str, str] | None, partitions: list[str] | None
    ) -> str:
        """Store a backfill (bad selections and keys fail now, as a 400), then run it in
        a background thread."""
        record = create_backfill(
            self.defs,
            self.instance,
            selection,
            partition_range=partition_range,
            partitions=partitions,
            tags=FROM_UI,
        )
        self.advance(record.backfill_id)
        return record.backfill_id

    def advance(self, backfill_id: str) -> None:
        """Run a backfill in a background thread, after this server's previous thread for
        it has ended: a resume right after a cancel waits for the canceled pass to stop
        (and to let go of the lease) instead of failing on it."""
        before = self.backfill_threads.get(backfill_id)

        def work() -> None:
            if before is not None:
                before.join()
            try:
                execute_backfill(self.defs, self.instance, backfill_id)
            except SheerError as exc:  # e.g. the daemon holds its lease: it goes on there
                log.warning("backfill %s: %s", backfill_id, exc.message)

        thread = threading.Thread(target=work, name=f"sheer-backfill-{backfill_id}", daemon=True)
        self.backfill_threads[backfill_id] = thread
        thread.start()


def _state(request: Request) -> UIState:
    return request.app.state.ui  # type: ignore[no-any-return]


def _int(request: Request, name: str, default: int, most: int = 1000) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not 0 < int(raw) <= most:
        raise ApiError(400, f"Query parameter {name} must be a whole number from 1 to {most}.")
    return int(raw)


def _key(request: Request) -> AssetKey:
    try:
        return AssetKey(request.path_params["key"])
    except SheerError as exc:
        raise ApiError(400, exc.message) from None


# Routes ----------------------------------------------------------------------------
async def index(request: Request) -> Response:
    ui = _state(request)
    given = request.query_params.get("auth")
    if given is not None and ui.auth_token is not None:
        if not same_secret(given, ui.auth_token):
            raise ApiError(401, "Wrong auth token.")
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(AUTH_COOKIE, given, httponly=True, samesite="strict")
        return response
    page = (STATIC / "index.html").read_text()
    return HTMLResponse(page.replace("{{SHEER_TOKEN}}", ui.session_token))


def graph(request: Request) -> Response:
    ui = _state(request)
    return JSONResponse(api.graph_payload(ui.defs, ui.instance))


def asset(request: Request) -> Response:
    """An asset; with `?partition=PK`, that partition's status and causes."""
    ui = _state(request)
    partition = request.query_params.get("partition")
    if partition is None:
        return JSONResponse(api.asset_payload(ui.defs, ui.instance, _key(request)))
    if not partition:
        name = _key(request).to_user_string()
        raise ApiError(
            400,
            f"Empty ?partition= for asset '{name}'. Fix: give one of its partition keys, "
            "e.g. ?partition=2026-01-02, or leave the parameter out for the whole asset.",
        )
    return JSONResponse(api.partition_payload(ui.defs, ui.instance, _key(request), partition))


def asset_evaluations(request: Request) -> Response:
    ui = _state(request)
    key = _key(request)
    ui.defs.resolve_asset_graph().get(key)
    return JSONResponse(
        api.evaluations_payload(ui.instance, asset_key=key, limit=_int(request, "limit", 20))
    )


def select(request: Request) -> Response:
    text = request.query_params.get("q", "").strip()
    if not text:
        raise ApiError(400, "Give a selection in ?q=, e.g. ?q=%2Bdaily_revenue.")
    return JSONResponse(api.select_payload(_state(request).defs, text))


def runs(request: Request) -> Response:
    return JSONResponse(api.runs_payload(_state(request).instance, _int(request, "limit", 50)))


def run(request: Request) -> Response:
    ui = _state(request)
    record = ui.instance.get_run(request.path_params["run_id"])
    if record is None:
        raise ApiError(404, f"No run {request.path_params['run_id']!r}.")
    return JSONResponse(api.run_payload(ui.instance, record))


async def _json_body(request: Request, example: str) -> Any:
    try:
        return json.loads(await request.body() or b"{}")
    except ValueError:  # not JSON, or not UTF-8
        raise ApiError(400, f"The body must be JSON: {example}.") from None


async def launch(request: Request) -> Response:
    body = await _json_body(request, '{"selection": "..."}')
    selection = body.get("selection") if isinstance(body, dict) else None
    if not selection or not isinstance(selection, (str, list)):
        raise ApiError(400, 'Give what to materialize: {"selection": "a d"} or a list of keys.')
    run_id = await run_in_threadpool(_state(request).launch, selection)
    return JSONResponse({"run_id": run_id}, status_code=201)


BACKFILL_EXAMPLE = '{"selection": "raw report", "partition_range": ["2026-01-01", "2026-01-05"]}'
BACKFILL_FIELDS = ("selection", "partition_range", "partitions")


def _keys(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(k, str) and k for k in value)


def backfill_request(body: Any) -> tuple[Any, tuple[str, str] | None, list[str] | None]:
    """The selection, range and keys of a `POST /api/backfills` body, checked for shape
    (what they name is checked by `create_backfill`)."""
    if not isinstance(body, dict):
        raise ApiError(400, f"The body must be a JSON object: {BACKFILL_EXAMPLE}.")
    unknown = sorted(set(body) - set(BACKFILL_FIELDS))
    if unknown:
        raise ApiError(
            400,
            f"Unknown field {unknown[0]!r} in the backfill request. Fix: send only "
            f"{', '.join(BACKFILL_FIELDS)}, e.g. {BACKFILL_EXAMPLE}.",
        )
    selection = body.get("selection")
    if not selection or not isinstance(selection, (str, list)):
        raise ApiError(400, f"Give what to backfill: {BACKFILL_EXAMPLE}.")
    key_range, keys = body.get("partition_range"), body.get("partitions")
    if key_range is None and keys is None:
        raise ApiError(
            400,
            "Give the partitions to backfill: partition_range (the first and the last key) "
            f"or partitions (a list of keys), e.g. {BACKFILL_EXAMPLE}.",
        )
    if key_range is not None and keys is not None:
        raise ApiError(
            400, f"Give partition_range or partitions, not both: e.g. {BACKFILL_EXAMPLE}."
        )
    if key_range is not None and not (_keys(key_range) and len(key_range) == 2):
        raise ApiError(
            400,
            f"partition_range {json.dumps(key_range)} is not two partition keys. Fix: give "
            'the first and the last key, both included: ["2026-01-01", "2026-01-05"].',
        )
    if keys is not None and not (_keys(keys) and keys):
        raise ApiError(
            400,
            f"partitions {json.dumps(keys)} is not a list of partition keys. Fix: give "
            'e.g. ["2026-01-02", "2026-01-05"].',
        )
    return selection, (key_range[0], key_range[1]) if key_range else None, keys


async def backfill_create(request: Request) -> Response:
    body = await _json_body(request, BACKFILL_EXAMPLE)
    selection, key_range, keys = backfill_request(body)
    backfill_id = await run_in_threadpool(_state(request).backfill, selection, key_range, keys)
    return JSONResponse({"backfill_id": backfill_id}, status_code=201)


def backfills(request: Request) -> Response:
    limit = _int(request, "limit", 50)
    return JSONResponse(api.backfills_payload(_state(request).instance, limit))


def _backfill_id(request: Request) -> str:
    """The path's backfill id, known to the instance (else a 404 naming the fix)."""
    backfill_id: str = request.path_params["backfill_id"]
    if _state(request).instance.backfills.get_status(backfill_id) is None:
        raise ApiError(404, backfill_not_found(backfill_id).message)
    return backfill_id


def backfill(request: Request) -> Response:
    backfill_id = request.path_params["backfill_id"]
    payload = api.backfill_payload(_state(request).instance, backfill_id)
    if payload is None:
        raise ApiError(404, backfill_not_found(backfill_id).message)
    return JSONResponse(payload)


def backfill_cancel(request: Request) -> Response:
    ui = _state(request)
    backfill_id = cancel_backfill(ui.instance, _backfill_id(request)).backfill_id
    return JSONResponse(api.backfill_payload(ui.instance, backfill_id))


def backfill_resume(request: Request) -> Response:
    ui = _state(request)
    backfill_id = resume_backfill(ui.instance, _backfill_id(request)).backfill_id
    ui.advance(backfill_id)
    return JSONResponse(api.backfill_payload(ui.instance, backfill_id))


def ticks(request: Request) -> Response:
    return JSONResponse(api.ticks_payload(_state(request).instance, _int(request, "limit", 50)))


def tick(request: Request) -> Response:
    tick_id = int(request.path_params["tick_id"])
    payload = api.tick_payload(
        _state(request).instance, tick_id, limit=_int(request, "limit", 10000, most=100000)
    )
    if payload is None:
        raise ApiError(404, f"No automation tick {tick_id}.")
    return JSONResponse(payload)


def session(request: Request) -> Response:
    ui = _state(request)
    return JSONResponse(
        api.session_payload(ui.defs, ui.instance, auth_required=ui.auth_token is not None)
    )


ROUTES = [
    Route("/", index),
    Route("/api/session", session),
    Route("/api/graph", graph),
    Route("/api/select", select),
    Route("/api/assets/{key:path}/evaluations", asset_evaluations),
    Route("/api/assets/{key:path}", asset),
    Route("/api/runs", runs, methods=["GET"]),
    Route("/api/runs", launch, methods=["POST"]),
    Route("/api/runs/{run_id}", run),
    Route("/api/backfills", backfills, methods=["GET"]),
    Route("/api/backfills", backfill_create, methods=["POST"]),
    Route("/api/backfills/{backfill_id}", backfill),
    Route("/api/backfills/{backfill_id}/cancel", backfill_cancel, methods=["POST"]),
    Route("/api/backfills/{backfill_id}/resume", backfill_resume, methods=["POST"]),
    Route("/api/automation/ticks", ticks),
    Route("/api/automation/ticks/{tick_id:int}", tick),
]


# Safety and errors -----------------------------------------------------------------
Handler = Callable[[Request], Awaitable[Response]]


async def guard(request: Request, call_next: Handler) -> Response:
    ui = _state(request)
    opening = request.url.path == "/" and "auth" in request.query_params  # checked by index()
    if ui.auth_token is not None and not opening:
        given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        given = given or request.cookies.get(AUTH_COOKIE, "")
        if not same_secret(given, ui.auth_token):
            return _error(
                401,
                "This server needs its auth token: open /?auth=TOKEN once, or send "
                "'Authorization: Bearer TOKEN'.",
            )
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        if request.method != "POST":
            return _error(405, f"{request.method} is not allowed; state changes are POSTs.")
        origin = request.headers.get("origin")
        if origin is None or origin.lower() not in ui.allowed_origins:
            return _error(403, f"Origin {origin!r} may not change state on this server.")
        token = request.headers.get("x-sheer-token", "")
        if not same_secret(token, ui.session_token):
            return _error(403, "Missing or wrong session token (X-Sheer-Token). Reload the page.")
    try:
        return await call_next(request)
    except Exception as exc:  # never a stack trace to the client
        return _exception_response(exc)


def same_secret(given: str, expected: str) -> bool:
    """Constant-time comparison of encoded bytes: a non-ASCII token is a wrong one, not
    a TypeError (headers arrive decoded as Latin-1, so any byte can be in `given`)."""
    return hmac.compare_digest(
        given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass")
    )


_HOST = re.compile(r"(?:\[(?P<ipv6>[0-9a-f:.]+)\]|(?P<name>[a-z0-9_.-]+))(?::[0-9]{1,5})?")


def host_name(value: str) -> str | None:
    """The host of a `Host` header or an `--allow-host` value: lowercased, an IPv6
    address without its brackets, the port dropped; None when it is malformed."""
    value = value.strip().lower()
    match = _HOST.fullmatch(value)
    if match is None:
        return value if _is_ipv6(value) else None  # a bare '::1'
    ipv6 = match["ipv6"]
    if ipv6 is not None:
        return ipv6 if _is_ipv6(ipv6) else None
    return match["name"]


def _is_ipv6(value: str) -> bool:
    try:
        return ipaddress.ip_address(value).version == 6
    except ValueError:
        return False


def is_loopback(host: str) -> bool:
    """True for a bind address or name that only this machine can reach."""
    name = host_name(host)
    if name is None:
        return False
    try:
        return name in LOOPBACK_HOSTS or ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def netloc(host: str, port: int) -> str:
    """`host:port` as it appears in a URL (an IPv6 address in brackets)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class HostGuard:
    """Refuse, with a plain 400 and no data, a request whose `Host` is not one of
    `hosts`: a page on another name that resolves to this address (DNS rebinding)
    must not read the graph, the runs or the session."""

    def __init__(self, app: ASGIApp, *, hosts: frozenset[str]) -> None:
        self.app = app
        self.hosts = hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            host = host_name(Headers(scope=scope).get("host", ""))
            if host not in self.hosts:
                await PlainTextResponse(REFUSED_HOST, status_code=400)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _exception_response(exc: Exception) -> JSONResponse:
    if isinstance(exc, ApiError):
        return _error(exc.status, exc.message)
    if isinstance(exc, UnknownAssetError):
        return _error(404, exc.message)
    if isinstance(exc, SheerError):
        return _error(400, exc.message)
    if isinstance(exc, HTTPException):
        return _error(exc.status_code, str(exc.detail))
    return _error(500, f"Internal error ({type(exc).__name__}); see the server's log.")


async def _http_error(request: Request, exc: Exception) -> Response:
    return _exception_response(exc)


def create_app(
    defs: Definitions,
    instance: Instance,
    *,
    auth_token: str | None = None,
    port: int = 3000,
    allowed_hosts: Iterable[str] = (),
    extra_origins: Iterable[str] = (),
) -> Starlette:
    """The UI application for one project and instance.

    Args:
        defs: The project's definitions.
        instance: Where runs and materializations are read and written.
        auth_token: When given, every request must present it (remote use).
        port: The port the server listens on; the allowed origins carry it.
        allowed_hosts: Host names answered besides the loopback names (`--allow-host`).
        extra_origins: Origins allowed to change state besides those of the accepted
            hosts, matched exactly (`--allow-origin`).
    """
    hosts = LOOPBACK_HOSTS | {_checked_host(h) for h in allowed_hosts}
    origins = frozenset(
        {f"{scheme}://{netloc(h, port)}" for h in hosts for scheme in ("http", "https")}
        | {o.strip().lower().rstrip("/") for o in extra_origins}
    )
    from starlette.middleware import Middleware
    from starlette.middleware.base import BaseHTTPMiddleware

    app = Starlette(
        routes=[*ROUTES, Mount("/static", StaticFiles(directory=STATIC), name="static")],
        middleware=[
            Middleware(HostGuard, hosts=hosts),  # first: a refused host learns nothing
            Middleware(BaseHTTPMiddleware, dispatch=guard),
        ],
        exception_handlers={HTTPException: _http_error, Exception: _http_error},
    )
    app.state.ui = UIState(defs, instance, auth_token=auth_token, allowed_origins=origins)
    return app


def _checked_host(value: str) -> str:
    name = host_name(value)
    if name is None:
        raise ValueError(f"{value!r} is not a host name or address.")
    return name
