"""One process at a time advances a backfill: a lease in storage, per backfill.

The lease is the automation daemon's kind (`leases` table, by the database's clock;
a holder that died on the same host is seen at once). A daemon takes it for the
moment it advances a backfill; a process executing a backfill itself keeps it for as
long as it runs, renewed from a background thread, so a daemon never starts the same
backfill's runs meanwhile. Runs already started are recorded in storage, so whoever
holds the lease next continues from there.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sheer.instance import Instance
from sheer.processes import HOST
from sheer.storage.automation import AutomationStorage

LEASE_TTL = 120.0  # seconds a lease holds without renewal


def new_owner() -> str:
    """A lease owner name for this process."""
    return f"{HOST}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class BackfillLease:
    """The lease of one backfill for one owner."""

    def __init__(
        self, instance: Instance, backfill_id: str, owner: str, ttl: float = LEASE_TTL
    ) -> None:
        self._instance = instance
        self._store = AutomationStorage(instance.storage)
        self.name = f"backfill/{backfill_id}"
        self.owner = owner
        self.ttl = ttl
        self.lost = False  # a renewal found another holder: stop starting runs

    def acquire(self) -> bool:
        """Take or renew the lease; False while another live holder has it."""
        return self._store.acquire_lease(self.name, self.owner, self.ttl)

    def release(self) -> None:
        self._store.release_lease(self.name, self.owner)

    @contextmanager
    def kept(self) -> Iterator[None]:
        """Renew the lease every third of its time to live until the block ends, then
        release it. An in-memory instance needs no renewal: no other process sees it."""
        stop = threading.Event()
        thread = None
        if not self._instance.is_in_memory:
            thread = threading.Thread(
                target=self._renew, args=(stop,), name=f"sheer-{self.name}", daemon=True
            )
            thread.start()
        try:
            yield
        finally:
            stop.set()
            if thread is not None:
                thread.join()
            self.release()

    def _renew(self, stop: threading.Event) -> None:
        while not stop.wait(self.ttl / 3):
            try:
                if not self.acquire():
                    self.lost = True
                    return
            except Exception:  # the database briefly away: try again at the next renewal
                continue
