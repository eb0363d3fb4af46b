"""Event ids that are safe to follow on PostgreSQL, with writers committing in parallel.

A reader following event ids ("what is new since id n", the automation tick's cursor)
must never see id n + 1 while id n can still commit: it would move past n for good.
SQLite has one writer at a time, so its commits land in id order. PostgreSQL's sequence
hands out ids in the order writers ask, but their transactions commit in any order, so
readers stop below the oldest id still in flight: the *watermark*.

How a reader knows what is in flight, with no table and no extra commit:

- A writer, before it draws its first id, takes a shared transaction-level advisory lock
  whose key holds a lower bound of the ids it will draw: the sequence's next value at
  that moment. The lock shows in `pg_locks` at once and goes away when the transaction
  ends (after its rows are visible). Writers never wait for each other: every one of them
  takes its lock in shared mode, and nothing takes these locks exclusively.
- A reader reads, in this order: the sequence's next value S; the bounds of the writers'
  locks; then, in a later statement (a newer snapshot), its rows, keeping ids below
  W = min(S, bounds). An id j < W was drawn before S was read, so its writer held its
  lock before that: either the lock was seen (and W <= its bound <= j, a contradiction),
  or the writer had ended, so its rows are in the reader's snapshot, or gone (a rollback).

Ids at or above W are read a moment later, once their writers have ended: nothing is
lost, nothing is seen out of order. The lock key is (hash of the schema, bound modulo
2^31); a reader decodes a bound as the value nearest S, so ids need not fit in 32 bits.
A writer of events registers in the statement that draws its first ids (the lock is
that INSERT's one-time filter), so registering costs no round trip.

The latest-record index holds one row per entity, the newest event of each kind: its
upsert keeps the higher id whatever the commit order. An entity whose row a writer past
W has already moved has no row "as of W"; `latest_ids_below` reads its ids below W from
the event log instead (the few entities the writers in flight overtook).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import Connection, func, or_, select, text

from sheer.events import EventType
from sheer.storage.schema import event_logs

_NEXT_ID = "SELECT last_value + CAST(is_called AS integer) AS next_id FROM event_logs_id_seq"
_SCHEMA_KEY = "hashtext(current_schema())"

_REGISTER = (
    f"pg_advisory_xact_lock_shared({_SCHEMA_KEY}, CAST((({_NEXT_ID}) %% 2147483648) AS integer))"
)
REGISTER_WRITER = text(f"SELECT {_REGISTER}".replace("%%", "%"))
"""Run first in a transaction that writes events, before any id is drawn."""


def insert_events_sql(columns: Sequence[str], rows: int) -> str:
    """`INSERT INTO event_logs ... RETURNING id` of `rows` rows (driver placeholders),
    that registers its writer first: the lock is the statement's one-time filter,
    checked before the first row, and so its first id, is made. One round trip, where a
    separate registration would be two."""
    row = "(" + ", ".join(["%s"] * len(columns)) + ")"
    names = ", ".join(f'"{c}"' for c in columns)
    return (
        f"INSERT INTO event_logs ({names}) SELECT * FROM (VALUES {', '.join([row] * rows)}) "
        f"AS v({names}) WHERE (SELECT {_REGISTER}) IS NOT NULL RETURNING id"
    )


def write_events_sql(
    columns: Sequence[str], rows: int, latest: Mapping[str, tuple[Sequence[str], Sequence[int]]]
) -> str:
    """One statement that writes `rows` events and their latest-index rows, for a
    transaction of its own (autocommit): it registers its writer, draws the ids (in the
    rows' order), inserts the events and upserts the index, then returns the ids.

    `latest` maps an index column (`last_materialization_id`, `last_observation_id`) to
    the index's own columns copied with it (driver placeholders, after the event's) and
    the positions of the rows that move it, at most one per entity. An index row moves
    only to a newer id: writers commit in any order. The upserts are not read by the
    final SELECT, so they run after the events are inserted."""
    names = ", ".join(f'"{c}"' for c in columns)
    row = ", ".join(["%s"] * len(columns))
    values = ", ".join(f"({i}, {row})" for i in range(rows))
    parts = [
        f"v AS (SELECT nextval('event_logs_id_seq') AS id, * FROM (VALUES {values}) AS "
        f"r(ord, {names}) WHERE (SELECT {_REGISTER}) IS NOT NULL)",
        f"ins AS (INSERT INTO event_logs ({names}, id) SELECT {names}, id FROM v RETURNING id)",
    ]
    for kind, (copied, positions) in sorted(latest.items()):
        taken = {
            "asset_key": "v.asset_key",
            "partition": "coalesce(v.partition, '')",
            kind: "v.id",
            "updated_at": "v.timestamp",
        }
        if kind == "last_materialization_id":
            taken["last_run_id"] = "v.run_id"
        own = ", ".join(["%s"] * len(copied))
        rows_of = ", ".join(f"({i}, {own})" for i in positions)
        target = ", ".join(f'"{c}"' for c in [*taken, *copied])
        changed = [c for c in [*taken, *copied] if c not in ("asset_key", "partition")]
        parts.append(
            f"{kind} AS (INSERT INTO asset_latest ({target}) "
            f"SELECT {', '.join([*taken.values(), *(f'l.{c}' for c in copied)])} "
            f"FROM (VALUES {rows_of}) AS l(ord, {', '.join(copied)}) JOIN v ON v.ord = l.ord "
            'ON CONFLICT ("asset_key", "partition") DO UPDATE SET '
            + ", ".join(f'"{c}" = excluded."{c}"' for c in changed)
            + f" WHERE asset_latest.{kind} IS NULL OR asset_latest.{kind} < excluded.{kind})"
        )
    return f"WITH {', '.join(parts)} SELECT id FROM ins"


# The sequence is read first (the outer row), the locks after it (a subquery on it).
_WATERMARK = text(
    f"""
    SELECT least(s.next_id, (
        SELECT min(s.next_id + 1073741824
                   - mod(mod(s.next_id + 1073741824 - l.objid::bigint, 2147483648)
                         + 2147483648, 2147483648))
        FROM pg_locks AS l
        WHERE l.locktype = 'advisory' AND l.objsubid = 2
          AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
          AND l.classid::bigint = ({_SCHEMA_KEY}::bigint & 4294967295)
    ))
    FROM ({_NEXT_ID}) AS s
    """
)


def watermark(conn: Connection) -> int:
    """The lowest event id that may still commit: every id below it that will ever be
    visible is visible to the statements `conn` runs next (PostgreSQL only)."""
    return int(conn.execute(_WATERMARK).scalar_one())


LatestIds = tuple[int, int, str | None]
"""(latest materialization id, latest observation id, run of that materialization) of
one entity; 0 for no record."""


def latest_ids_below(
    conn: Connection, names: Sequence[str], below: int, partition: str | None
) -> dict[str, LatestIds]:
    """The latest ids of these assets among the events below `below`, from the event log
    (one index range per asset and kind)."""
    e = event_logs
    kinds = [t.value for t in EventType.asset_event_types()]
    in_partition = or_(e.c.partition.is_(None), e.c.partition == "")
    if partition:
        in_partition = e.c.partition == partition
    newest = (
        select(func.max(e.c.id).label("id"))
        .where(e.c.asset_key.in_(list(names)), e.c.event_type.in_(kinds), e.c.id < below)
        .where(in_partition)
        .group_by(e.c.asset_key, e.c.event_type)
        .subquery()
    )
    stmt = select(e.c.asset_key, e.c.event_type, e.c.id, e.c.run_id).join(
        newest, e.c.id == newest.c.id
    )
    out: dict[str, LatestIds] = {}
    for name, kind, event_id, run_id in conn.execute(stmt):
        mat, obs, run = out.get(name, (0, 0, None))
        if kind == EventType.ASSET_MATERIALIZATION.value:
            mat, run = int(event_id), run_id
        else:
            obs = int(event_id)
        out[name] = (mat, obs, run)
    return out
