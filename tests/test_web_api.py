"""The UI server's JSON API (sheer/web/app.py over sheer/web/api.py), with Starlette's
TestClient: every endpoint and its errors, the Origin and session-token checks on state
changes, the optional auth token, and no stack trace in any answer."""

from __future__ import annotations

import re
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.exceptions import StarletteDeprecationWarning

import sheer as dg
from sheer.automation.daemon import AutomationDaemon
from sheer.web import api
from sheer.web.app import AUTH_COOKIE, create_app

with warnings.catch_warnings():  # Starlette asks for httpx2 instead; httpx works
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

pytestmark = pytest.mark.filterwarnings("ignore::starlette.exceptions.StarletteDeprecationWarning")

ORIGIN = "http://127.0.0.1:3000"
BASE = ORIGIN  # the test client addresses the server by a loopback name, as a browser would
PG_URL = "postgresql+psycopg://user:secret@db.example/sheer"
FINISHED = {"SUCCESS", "FAILURE", "CANCELED"}


def make_defs() -> dg.Definitions:
    """raw -> view (virtual) -> report (eager through virtual); boom fails; s/t has a prefix."""

    @dg.asset(group_name="core", description="The raw numbers.")
    def raw() -> int:
        return 1

    @dg.asset(is_virtual=True, group_name="core")
    def view(raw: int) -> int:
        return raw + 1

    @dg.asset(
        group_name="core",
        code_version="1",
        automation_condition=dg.AutomationCondition.eager().resolve_through_virtual(),
    )
    def report(context: dg.AssetExecutionContext, view: int) -> int:
        context.add_output_metadata({"rows": view * 2})
        return view * 2

    @dg.asset(group_name="other")
    def boom() -> int:
        raise ValueError("kaput")

    prefixed = dg.AssetSpec(["s", "t"], deps=["raw"], group_name="other")
    return dg.Definitions(assets=[raw, view, report, boom, prefixed])


@pytest.fixture
def instance(tmp_path: Path) -> dg.Instance:
    return dg.Instance.from_url(f"sqlite:///{tmp_path / 'sheer.db'}")


@pytest.fixture
def defs() -> dg.Definitions:
    return make_defs()


@pytest.fixture
def client(defs: dg.Definitions, instance: dg.Instance) -> Iterator[TestClient]:
    with TestClient(create_app(defs, instance, port=3000), base_url=BASE) as c:
        yield c


def session_token(client: TestClient) -> str:
    return session_token_of(client.get("/").text)


def session_token_of(page: str) -> str:
    match = re.search(r'<meta name="sheer-token" content="([^"]+)"', page)
    assert match
    return match.group(1)


def post_run(client: TestClient, body: Any, **headers: str) -> Any:
    base = {"Origin": ORIGIN, "X-Sheer-Token": session_token(client)}
    return client.post("/api/runs", json=body, headers={**base, **headers})


def wait_for_run(client: TestClient, run_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        detail = client.get(f"/api/runs/{run_id}").json()
        if detail["run"]["status"] in FINISHED:
            return detail
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} did not finish")


def assert_error(response: Any, status: int, *words: str) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    message = response.json()["error"]
    for word in words:
        assert word in message, message
    assert "Traceback" not in response.text
    return message


# The page and the session ------------------------------------------------------------
def test_the_page_carries_a_session_token_and_the_bundle_is_served(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert "{{SHEER_TOKEN}}" not in page.text
    token = session_token(client)
    assert len(token) >= 24
    assert session_token(client) == token  # one token per server session
    for path, kind in [
        ("/static/app.js", "javascript"),
        ("/static/layout-worker.js", "javascript"),
        ("/static/app.css", "text/css"),
    ]:
        response = client.get(path)
        assert response.status_code == 200, path
        assert kind in response.headers["content-type"]
        assert len(response.content) > 1000, path


def test_session(client: TestClient, instance: dg.Instance) -> None:
    assert client.get("/api/session").json() == {
        "instance": instance.url,
        "assets": 5,
        "auth_required": False,
    }


# Graph, assets, selection ----------------------------------------------------------
def test_graph_has_every_asset_edge_and_status(client: TestClient) -> None:
    payload = client.get("/api/graph").json()
    by_key = {a["key"]: a for a in payload["assets"]}
    assert sorted(by_key) == ["boom", "raw", "report", "s/t", "view"]
    assert sorted(map(tuple, payload["edges"])) == [
        ("raw", "s/t"),
        ("raw", "view"),
        ("view", "report"),
    ]
    assert payload["groups"] == ["core", "other"]
    assert by_key["view"]["is_virtual"] is True
    assert by_key["s/t"]["is_external"] is True
    assert {a["status"] for a in payload["assets"]} == {"MISSING"}
    assert by_key["report"]["automation_condition"] == "eager (through virtual)"


def test_asset_definition_and_history(
    client: TestClient, defs: dg.Definitions, instance: dg.Instance
) -> None:
    defs.materialize(instance=instance, selection=["raw", "view", "report"])
    report = client.get("/api/assets/report").json()
    assert report["status"] == "FRESH"
    assert report["deps"] == ["view"]
    assert report["code_version"] == "1"
    assert report["non_virtual_ancestors"] == ["raw"]
    [materialization] = report["materializations"]
    assert materialization["metadata"] == {"rows": 4}
    assert materialization["data_version"]
    assert materialization["provenance"]["through_virtual"].keys() == {"raw"}
    view = client.get("/api/assets/view").json()
    assert view["is_virtual"] is True
    assert view["children"] == ["report"]
    # A key with a prefix travels as a path.
    prefixed = client.get("/api/assets/s/t")
    assert prefixed.status_code == 200
    assert prefixed.json()["key"] == "s/t"
    assert client.get("/api/assets/s/t/evaluations").json() == {"evaluations": []}


def test_stale_causes_name_the_root_through_the_view(
    client: TestClient, defs: dg.Definitions, instance: dg.Instance
) -> None:
    defs.materialize(instance=instance, selection=["raw", "view", "report"])
    defs.materialize(instance=instance, selection=["raw"])  # a new unique version
    graph = {a["key"]: a for a in client.get("/api/graph").json()["assets"]}
    assert graph["report"]["status"] == "STALE"
    assert graph["report"]["root_causes"] == ["raw has a new data version (via view)"]
    assert graph["view"]["status"] == "FRESH"
    [cause] = client.get("/api/assets/report").json()["root_causes"]
    assert cause == {
        "text": "raw has a new data version (via view)",
        "category": "DATA",
        "reason": "has a new data version",
        "key": "raw",  # the root, as in Dagster
        "partition": None,
        "dependency": None,
        "via": ["view"],
        "path": ["raw", "view", "report"],
    }
    [direct] = client.get("/api/assets/report").json()["stale_causes"]
    assert (direct["key"], direct["dependency"], direct["path"]) == (
        "report",
        "raw",
        ["raw", "view", "report"],
    )


def test_unknown_asset_is_404(client: TestClient) -> None:
    assert_error(client.get("/api/assets/nope"), 404, "nope")
    assert_error(client.get("/api/assets/nope/evaluations"), 404, "nope")


def test_select(client: TestClient) -> None:
    assert client.get("/api/select", params={"q": "+report"}).json() == {
        "selection": "+report",
        "keys": ["raw", "report", "view"],
    }
    assert client.get("/api/select", params={"q": "is:virtual"}).json()["keys"] == ["view"]
    assert client.get("/api/select", params={"q": "group:core and not is:virtual"}).json()[
        "keys"
    ] == ["raw", "report"]


@pytest.mark.parametrize("query", ["", "   ", "group:core and (", "+nope", "key:"])
def test_bad_selection_is_4xx_with_a_message(client: TestClient, query: str) -> None:
    response = client.get("/api/select", params={"q": query})
    assert response.status_code in (400, 404), response.text
    assert response.json()["error"]
    assert "Traceback" not in response.text


def test_a_bad_selection_is_400_and_an_unknown_name_404(client: TestClient) -> None:
    assert_error(client.get("/api/select"), 400, "?q=")
    assert_error(client.get("/api/select", params={"q": "group:core and ("}), 400)
    assert_error(client.get("/api/select", params={"q": "+nope"}), 404, "nope")


# Runs ------------------------------------------------------------------------------
def test_launch_a_run_and_follow_it(client: TestClient) -> None:
    response = post_run(client, {"selection": ["raw", "report"]})
    assert response.status_code == 201, response.text
    run_id = response.json()["run_id"]
    detail = wait_for_run(client, run_id)
    assert detail["run"]["status"] == "SUCCESS"
    assert detail["run"]["tags"] == {"sheer/from_ui": "true"}
    assert sorted(detail["run"]["assets"]) == ["raw", "report"]
    steps = detail["steps"]
    assert [s["step"] for s in steps] == ["raw", "report"]  # ordered through the view
    assert all(s["status"] == "success" and s["duration"] is not None for s in steps)
    assert steps[0]["finished_at"] <= steps[1]["started_at"]
    types = [e["type"] for e in detail["events"]]
    assert types[0] == "RUN_START" and types[-1] == "RUN_SUCCESS"
    listed = client.get("/api/runs").json()["runs"]
    assert [r["run_id"] for r in listed] == [run_id]
    assert client.get("/api/runs", params={"limit": 1}).json()["runs"][0]["run_id"] == run_id
    graph = {a["key"]: a for a in client.get("/api/graph").json()["assets"]}
    assert graph["report"]["status"] == "FRESH"


def test_launch_by_selection_string(client: TestClient) -> None:
    response = post_run(client, {"selection": "raw"})
    assert response.status_code == 201
    assert wait_for_run(client, response.json()["run_id"])["run"]["status"] == "SUCCESS"


def test_a_failed_run_reports_the_users_error_and_marks_the_asset(client: TestClient) -> None:
    run_id = post_run(client, {"selection": ["boom"]}).json()["run_id"]
    detail = wait_for_run(client, run_id)
    assert detail["run"]["status"] == "FAILURE"
    [step] = detail["steps"]
    assert step["status"] == "failure"
    assert step["error"]["cls_name"] == "ValueError"
    assert step["error"]["message"] == "kaput"
    assert "raise ValueError" in step["error"]["traceback"]  # the user's own code
    graph = {a["key"]: a for a in client.get("/api/graph").json()["assets"]}
    assert graph["boom"]["run_state"] == "failed"


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({}, ["selection"]),
        ({"selection": ""}, ["selection"]),
        ({"selection": 5}, ["selection"]),
        ([1, 2], ["selection"]),
    ],
)
def test_launch_without_a_selection_is_400(client: TestClient, body: Any, words: list[str]) -> None:
    assert_error(post_run(client, body), 400, *words)


def test_launch_with_bad_json_is_400(client: TestClient) -> None:
    headers = {
        "Origin": ORIGIN,
        "X-Sheer-Token": session_token(client),
        "Content-Type": "application/json",
    }
    assert_error(client.post("/api/runs", content=b"{not json", headers=headers), 400, "JSON")
    assert_error(client.post("/api/runs", content=b"\xff\xfe", headers=headers), 400, "JSON")


def test_launch_of_unknown_or_bad_selection_is_4xx(client: TestClient) -> None:
    assert_error(post_run(client, {"selection": ["nope"]}), 404, "nope")
    assert_error(post_run(client, {"selection": "group:core and ("}), 400)
    assert client.get("/api/runs").json() == {"runs": []}  # nothing was launched


def test_unknown_run_is_404(client: TestClient) -> None:
    assert_error(client.get("/api/runs/no-such-run"), 404, "no-such-run")


@pytest.mark.parametrize("value", ["0", "-1", "abc", "1001", "1.5"])
def test_bad_limit_is_400(client: TestClient, value: str) -> None:
    for path in ("/api/runs", "/api/automation/ticks", "/api/assets/raw/evaluations"):
        assert_error(client.get(path, params={"limit": value}), 400, "limit")


# Automation ------------------------------------------------------------------------
def test_ticks_and_evaluations(
    client: TestClient, defs: dg.Definitions, instance: dg.Instance
) -> None:
    daemon = AutomationDaemon(defs, instance)  # launches in this process
    daemon.tick()
    defs.materialize(instance=instance, selection=["raw"])
    outcome = daemon.tick()
    assert [k.to_user_string() for k in outcome.requested] == ["report"]

    ticks = client.get("/api/automation/ticks").json()["ticks"]
    assert [t["tick_id"] for t in ticks] == [outcome.tick_id, outcome.tick_id - 1]
    assert ticks[0]["requested"] == ["report"]
    assert ticks[0]["status"] == "SUCCESS" and len(ticks[0]["run_ids"]) == 1
    assert client.get("/api/automation/ticks", params={"limit": 1}).json()["ticks"] == ticks[:1]

    detail = client.get(f"/api/automation/ticks/{outcome.tick_id}").json()
    assert detail["tick"] == ticks[0]
    by_key = {e["key"]: e for e in detail["evaluations"]}
    report = by_key["report"]
    assert report["value"] is True and report["requested"] is True
    assert report["tree"]["label"] == "eager (through virtual)"
    notes = []

    def walk(node: dict[str, Any]) -> None:
        if node.get("note"):
            notes.append(node["note"])
        for child in node.get("children", []):
            walk(child)

    walk(report["tree"])
    assert "through virtual assets" in notes

    history = client.get("/api/assets/report/evaluations").json()["evaluations"]
    assert history[0]["tick_id"] == outcome.tick_id
    latest = client.get("/api/assets/report").json()["latest_evaluation"]
    assert latest["tick_id"] == outcome.tick_id and latest["tree"] == report["tree"]


def test_unknown_tick_is_404(client: TestClient) -> None:
    assert_error(client.get("/api/automation/ticks/12345"), 404, "12345")
    assert_error(client.get("/api/automation/ticks/abc"), 404)


# Safety ----------------------------------------------------------------------------
def test_post_needs_an_allowed_origin(client: TestClient) -> None:
    token = session_token(client)
    body = {"selection": ["raw"]}
    assert_error(
        client.post("/api/runs", json=body, headers={"X-Sheer-Token": token}), 403, "Origin"
    )
    for origin in ("http://evil.example", "http://127.0.0.1:3001", "null"):
        assert_error(
            client.post("/api/runs", json=body, headers={"Origin": origin, "X-Sheer-Token": token}),
            403,
            "Origin",
        )
    for origin in ("http://localhost:3000", ORIGIN):
        response = client.post(
            "/api/runs", json=body, headers={"Origin": origin, "X-Sheer-Token": token}
        )
        assert response.status_code == 201
        wait_for_run(client, response.json()["run_id"])


def test_post_needs_the_session_token(client: TestClient) -> None:
    body = {"selection": ["raw"]}
    assert_error(
        client.post("/api/runs", json=body, headers={"Origin": ORIGIN}), 403, "X-Sheer-Token"
    )
    assert_error(
        client.post("/api/runs", json=body, headers={"Origin": ORIGIN, "X-Sheer-Token": "guess"}),
        403,
        "X-Sheer-Token",
    )
    assert client.get("/api/runs").json() == {"runs": []}


def test_a_token_from_another_server_is_refused(
    defs: dg.Definitions, instance: dg.Instance
) -> None:
    with (
        TestClient(create_app(defs, instance, port=3000), base_url=BASE) as one,
        TestClient(create_app(defs, instance, port=3000), base_url=BASE) as two,
    ):
        response = two.post(
            "/api/runs",
            json={"selection": ["raw"]},
            headers={"Origin": ORIGIN, "X-Sheer-Token": session_token(one)},
        )
        assert_error(response, 403, "X-Sheer-Token")


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
def test_other_methods_are_405(client: TestClient, method: str) -> None:
    headers = {"Origin": ORIGIN, "X-Sheer-Token": session_token(client)}
    for path in ("/api/runs", "/api/runs/x", "/api/graph"):
        assert_error(client.request(method, path, headers=headers), 405, method)


def test_post_to_a_read_only_endpoint_is_405(client: TestClient) -> None:
    headers = {"Origin": ORIGIN, "X-Sheer-Token": session_token(client)}
    assert_error(client.post("/api/graph", headers=headers), 405)


def test_unknown_path_is_a_json_404(client: TestClient) -> None:
    assert_error(client.get("/api/nothing-here"), 404)


# The optional auth token -----------------------------------------------------------
@pytest.fixture
def guarded(defs: dg.Definitions, instance: dg.Instance) -> Iterator[TestClient]:
    app = create_app(defs, instance, port=3000, auth_token="s3cret")
    with TestClient(app, base_url=BASE) as c:
        yield c


def test_auth_token_is_required_everywhere(guarded: TestClient) -> None:
    for path in ("/", "/api/session", "/api/graph", "/api/runs", "/static/app.js"):
        assert_error(guarded.get(path), 401, "auth token")
    assert_error(guarded.get("/api/graph", headers={"Authorization": "Bearer wrong"}), 401)
    assert_error(
        guarded.post("/api/runs", json={"selection": ["raw"]}, headers={"Origin": ORIGIN}), 401
    )


def test_auth_by_bearer_header(guarded: TestClient) -> None:
    headers = {"Authorization": "Bearer s3cret"}
    assert guarded.get("/api/session", headers=headers).json()["auth_required"] is True
    assert guarded.get("/api/graph", headers=headers).status_code == 200
    page = guarded.get("/", headers=headers)
    token = re.search(r'content="([^"]+)"', page.text.split("sheer-token", 1)[1]).group(1)
    response = guarded.post(
        "/api/runs",
        json={"selection": ["raw"]},
        headers={**headers, "Origin": ORIGIN, "X-Sheer-Token": token},
    )
    assert response.status_code == 201


def test_auth_by_cookie_from_the_auth_link(guarded: TestClient) -> None:
    assert_error(guarded.get("/", params={"auth": "wrong"}), 401, "Wrong auth token")
    response = guarded.get("/", params={"auth": "s3cret"}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    cookie = response.headers["set-cookie"]
    assert f"{AUTH_COOKIE}=s3cret" in cookie
    assert "httponly" in cookie.lower() and "samesite=strict" in cookie.lower()
    # The client keeps the cookie: the page and the API now answer.
    assert guarded.get("/").status_code == 200
    assert guarded.get("/api/graph").status_code == 200


# Errors never leak ------------------------------------------------------------------
def test_an_unexpected_failure_is_a_500_without_a_stack_trace(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret detail in /home/someone/project.py")

    monkeypatch.setattr(api, "graph_payload", broken)
    monkeypatch.setattr(api, "asset_payload", broken)
    for path in ("/api/graph", "/api/assets/raw"):
        message = assert_error(client.get(path), 500, "Internal error (RuntimeError)")
        assert "secret" not in message and "/home/" not in message


# Hosts: only the names the server was started for (DNS rebinding) ------------------
REFUSED_HOST = "This server does not answer to that host name. Start it with --allow-host NAME."


def assert_refused_host(response: Any) -> None:
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text == REFUSED_HOST


@pytest.mark.parametrize("path", ["/", "/api/session", "/api/graph", "/api/runs", "/static/app.js"])
def test_a_request_for_another_host_is_refused(client: TestClient, path: str) -> None:
    assert_refused_host(client.get(path, headers={"Host": "evil.example"}))


@pytest.mark.parametrize(
    "host",
    [
        "evil.example:3000",
        "localhost.evil.example",
        "127.0.0.1.nip.io",
        "0.0.0.0:3000",
        "localhost:abc",
        "[::1",
        "",
    ],
)
def test_hosts_that_are_not_loopback_names_are_refused(client: TestClient, host: str) -> None:
    assert_refused_host(client.get("/api/session", headers={"Host": host}))


def test_a_refused_host_gets_no_data_even_with_the_auth_token(guarded: TestClient) -> None:
    bearer = {"Authorization": "Bearer s3cret"}
    token = session_token_of(guarded.get("/", headers=bearer).text)
    evil = {**bearer, "Host": "evil.example"}
    assert_refused_host(guarded.get("/api/session", headers=evil))
    response = guarded.post(
        "/api/runs",
        json={"selection": ["raw"]},
        headers={**evil, "Origin": "http://evil.example", "X-Sheer-Token": token},
    )
    assert_refused_host(response)
    assert guarded.get("/api/runs", headers=bearer).json() == {"runs": []}


@pytest.mark.parametrize(
    "host",
    [
        "localhost",
        "localhost:3000",
        "LocalHost:3000",
        "127.0.0.1",
        "127.0.0.1:3000",
        "[::1]",
        "[::1]:3000",
        "localhost:8443",  # any port: a proxy in front may listen elsewhere
    ],
)
def test_loopback_hosts_are_accepted_with_or_without_the_port(
    client: TestClient, host: str
) -> None:
    response = client.get("/api/session", headers={"Host": host})
    assert response.status_code == 200, response.text
    assert client.get("/static/app.js", headers={"Host": host}).status_code == 200


def test_allowed_hosts_are_accepted_with_the_loopback_names(
    defs: dg.Definitions, instance: dg.Instance
) -> None:
    app = create_app(defs, instance, port=3000, allowed_hosts=["my-server.example.com"])
    with TestClient(app, base_url="http://my-server.example.com:3000") as c:
        for host in ("my-server.example.com", "My-Server.Example.COM:3000", "localhost:3000"):
            assert c.get("/api/session", headers={"Host": host}).status_code == 200, host
        for host in ("evil.example", "other.example.com", "example.com"):
            assert_refused_host(c.get("/api/session", headers={"Host": host}))


# Origins that may change state --------------------------------------------------------
def test_the_origin_of_an_accepted_host_may_post(
    defs: dg.Definitions, instance: dg.Instance
) -> None:
    app = create_app(
        defs, instance, port=3000, auth_token="s3cret", allowed_hosts=["my-server.example.com"]
    )
    with TestClient(app, base_url="http://my-server.example.com:3000") as c:
        c.get("/", params={"auth": "s3cret"})  # as the banner's link does
        token = session_token(c)
        body = {"selection": ["raw"]}
        for origin in (
            "http://my-server.example.com:3000",
            "https://my-server.example.com:3000",
            "http://localhost:3000",
        ):
            response = c.post(
                "/api/runs", json=body, headers={"Origin": origin, "X-Sheer-Token": token}
            )
            assert response.status_code == 201, (origin, response.text)
            wait_for_run(c, response.json()["run_id"])
        for origin in (
            "http://my-server.example.com:3001",
            "http://my-server.example.com",
            "http://evil.example:3000",
            "http://0.0.0.0:3000",
        ):
            response = c.post(
                "/api/runs", json=body, headers={"Origin": origin, "X-Sheer-Token": token}
            )
            assert_error(response, 403, "Origin")


def test_an_ipv6_loopback_origin_may_post(client: TestClient) -> None:
    token = session_token(client)
    response = client.post(
        "/api/runs",
        json={"selection": ["raw"]},
        headers={"Host": "[::1]:3000", "Origin": "http://[::1]:3000", "X-Sheer-Token": token},
    )
    assert response.status_code == 201, response.text
    wait_for_run(client, response.json()["run_id"])


def test_an_extra_origin_is_allowed_exactly(defs: dg.Definitions, instance: dg.Instance) -> None:
    app = create_app(defs, instance, port=3000, extra_origins={"https://ui.example.com"})
    with TestClient(app, base_url=BASE) as c:
        token = session_token(c)
        body = {"selection": ["raw"]}
        response = c.post(
            "/api/runs",
            json=body,
            headers={"Origin": "https://ui.example.com", "X-Sheer-Token": token},
        )
        assert response.status_code == 201, response.text
        wait_for_run(c, response.json()["run_id"])
        for origin in (
            "https://ui.example.com:444",
            "http://ui.example.com",
            "https://evil.example",
        ):
            response = c.post(
                "/api/runs", json=body, headers={"Origin": origin, "X-Sheer-Token": token}
            )
            assert_error(response, 403, "Origin")


# Secrets ------------------------------------------------------------------------------
def test_redact_url_hides_passwords() -> None:
    assert api.redact_url(PG_URL) == "postgresql+psycopg://user:***@db.example/sheer"
    assert "s3cr" not in api.redact_url("postgresql://u:s3cr%40t@h:5432/d?sslmode=require")
    assert "pw" not in api.redact_url("postgresql+psycopg://u@h/d?password=pw").split("?")[1]
    assert api.redact_url("sqlite:////tmp/sheer.db") == "sqlite:////tmp/sheer.db"
    assert api.redact_url("sqlite://") == "sqlite://"
    assert "secret" not in api.redact_url("not a url user:secret@host")


def test_session_never_shows_the_instance_password(
    client: TestClient, instance: dg.Instance, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(instance.storage, "url", PG_URL)  # the session only shows the URL
    response = client.get("/api/session")
    assert response.json()["instance"] == "postgresql+psycopg://user:***@db.example/sheer"
    assert "secret" not in response.text


@pytest.mark.parametrize("token", ["pässwörd", "s3cret\u00e9", "\u2603"])
def test_a_non_ascii_auth_token_is_401(guarded: TestClient, token: str) -> None:
    header = {"Authorization": b"Bearer " + token.encode()}
    assert_error(guarded.get("/api/graph", headers=header), 401, "auth token")
    cookie = {"Cookie": f"{AUTH_COOKIE}=".encode() + token.encode()}
    assert_error(guarded.get("/api/graph", headers=cookie), 401, "auth token")
    assert_error(guarded.get("/", params={"auth": token}), 401, "Wrong auth token")


def test_a_non_ascii_session_token_is_403(client: TestClient) -> None:
    response = client.post(
        "/api/runs",
        json={"selection": ["raw"]},
        headers={"Origin": ORIGIN, "X-Sheer-Token": "tök".encode()},
    )
    assert_error(response, 403, "X-Sheer-Token")
