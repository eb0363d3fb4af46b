"""Shared fixtures: a fresh instance on each storage backend.

Tests that take `backend`, `instance_url`, `make_instance`, `instance` or
`new_instance` run twice: on an on-disk SQLite file in `tmp_path`, and on PostgreSQL
from `$SHEER_TEST_POSTGRES_URL` (`.ci/run` sets it; without it those runs are skipped).
On PostgreSQL every database is a schema of its own, named `sheer_t_<hex>`, reached
through the URL's `options=-csearch_path=<schema>` and dropped after the test. The
connections to a schema carry its name as their `application_name`, so a test can
find (and cut) its own connections without touching anyone else's.
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import SQLAlchemyError

import sheer as dg

POSTGRES_URL_ENV = "SHEER_TEST_POSTGRES_URL"
POSTGRES_SKIP_REASON = f"set {POSTGRES_URL_ENV} to run the PostgreSQL suite"

BACKENDS = [
    "sqlite",
    pytest.param(
        "postgresql",
        marks=pytest.mark.skipif(not os.environ.get(POSTGRES_URL_ENV), reason=POSTGRES_SKIP_REASON),
    ),
]


def schema_url(base: str, schema: str) -> str:
    """`base` with its search path (and application name) set to `schema`."""
    url = make_url(base).update_query_dict(
        {"options": f"-csearch_path={schema}", "application_name": schema}
    )
    return url.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[Engine]:
    """An engine on `$SHEER_TEST_POSTGRES_URL` itself, to create and drop schemas."""
    base = os.environ.get(POSTGRES_URL_ENV)
    if not base:
        pytest.skip(POSTGRES_SKIP_REASON)
    engine = create_engine(base, pool_pre_ping=True)
    try:
        with engine.connect() as conn:
            conn.execute(text("select 1"))
    except SQLAlchemyError as exc:
        engine.dispose()
        pytest.fail(
            f"{POSTGRES_URL_ENV}={base} is set, but the server cannot be reached: "
            f"{str(exc).splitlines()[0]}. Fix: start PostgreSQL, or unset the variable to "
            "skip the PostgreSQL suite.",
            pytrace=False,
        )
    yield engine
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The storage backend under test: "sqlite" or "postgresql"."""
    return str(request.param)


@contextmanager
def postgres_schema(admin: Engine) -> Iterator[str]:
    """A new empty schema for the duration of the block; yields its URL."""
    schema = f"sheer_t_{uuid.uuid4().hex[:16]}"
    with admin.begin() as conn:
        conn.execute(text(f'create schema "{schema}"'))
    try:
        yield schema_url(admin.url.render_as_string(hide_password=False), schema)
    finally:
        with admin.begin() as conn:
            # A connection left by a killed process could hold a lock: end them first.
            conn.execute(
                text(
                    "select pg_terminate_backend(pid) from pg_stat_activity "
                    "where application_name = :name and pid <> pg_backend_pid()"
                ),
                {"name": schema},
            )
            conn.execute(text("set local lock_timeout = '10s'"))
            conn.execute(text(f'drop schema "{schema}" cascade'))


@pytest.fixture
def new_database_url(
    backend: str, tmp_path, request: pytest.FixtureRequest
) -> Iterator[Callable[[], str]]:
    """Make an empty database of this test's backend; returns its URL. Each is removed
    when the test ends."""
    with ExitStack() as stack:
        count = itertools.count()

        def new() -> str:
            if backend == "sqlite":
                n = next(count)
                return f"sqlite:///{tmp_path / ('sheer.db' if n == 0 else f'sheer-{n}.db')}"
            return stack.enter_context(postgres_schema(request.getfixturevalue("postgres_admin")))

        yield new


@pytest.fixture
def instance_url(new_database_url: Callable[[], str]) -> str:
    """The URL of an empty database for this test only."""
    return new_database_url()


@pytest.fixture
def make_instance(instance_url: str, tmp_path) -> Iterator[Callable[[], dg.Instance]]:
    """Open another `Instance` on this test's database (values under `tmp_path`); each
    is disposed of when the test ends."""
    opened: list[dg.Instance] = []

    def make() -> dg.Instance:
        instance = dg.Instance.from_url(instance_url, root_dir=tmp_path)
        opened.append(instance)
        return instance

    yield make
    for instance in opened:
        instance.dispose()


@pytest.fixture
def instance(make_instance: Callable[[], dg.Instance]) -> dg.Instance:
    """A fresh instance, on each backend."""
    return make_instance()


@pytest.fixture
def new_instance(
    make_instance: Callable[[], dg.Instance], new_database_url: Callable[[], str], tmp_path
) -> Iterator[Callable[[], dg.Instance]]:
    """An instance on an empty database of this test's backend at each call, as
    `Instance.ephemeral()` gives one in memory: the test's own database first (the one
    `make_instance` opens), then new ones, each with its own folder of values."""
    opened: list[dg.Instance] = []

    def new() -> dg.Instance:
        if not opened:
            opened.append(make_instance())
        else:
            root = tmp_path / f"instance-{len(opened)}"
            opened.append(dg.Instance.from_url(new_database_url(), root_dir=root))
        return opened[-1]

    yield new
    for instance in opened[1:]:
        instance.dispose()
