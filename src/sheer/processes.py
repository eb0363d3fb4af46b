"""Processes on this host: whether the one that wrote a record is still alive.

A run or a lease records the host, the pid and the pid's start time of the process
that holds it. On the same host that is enough to know at once that the holder died
(a later process that reuses the pid has another start time); across hosts only
heartbeats can tell.
"""

from __future__ import annotations

import os
import socket

HOST = socket.gethostname()


def process_start_marker(pid: int) -> str | None:
    """The start time of process `pid` (Linux), to tell it from a later process reusing the id."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read().decode(errors="replace")
    except OSError:
        return None
    return stat.rsplit(")", 1)[-1].split()[19]


def process_alive(pid: int, marker: str | None) -> bool:
    """Whether process `pid`, started at `marker` (None: any start), still runs here."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    if marker is not None:
        current = process_start_marker(pid)
        if current is not None and current != marker:
            return False
        state = _process_state(pid)
        if state == "Z":  # a zombie has exited; only its parent has not reaped it
            return False
    return True


def _process_state(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().decode(errors="replace").rsplit(")", 1)[-1].split()[0]
    except OSError:
        return None
