"""BackfillPolicy: how the runs of a partitioned asset's backfill are split.

A single-run policy puts every targeted partition in one run (the asset's step gets the
whole range); a multi-run policy puts at most `max_partitions_per_run` partitions in each
run. Several assets backfilled together follow the most restrictive policy among them,
and an asset without one counts as `multi_run(1)`, as in Dagster.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum
from typing import NamedTuple

from sheer.errors import DefinitionError


class BackfillPolicyType(Enum):
    SINGLE_RUN = "SINGLE_RUN"
    MULTI_RUN = "MULTI_RUN"


class BackfillPolicy(NamedTuple):
    """How many partitions of an asset one backfill run takes: all of them
    (`BackfillPolicy.single_run()`) or at most `max_partitions_per_run`
    (`BackfillPolicy.multi_run(n)`).

    Example:
        >>> BackfillPolicy.multi_run(10).max_partitions_per_run
        10
        >>> BackfillPolicy.single_run().policy_type
        <BackfillPolicyType.SINGLE_RUN: 'SINGLE_RUN'>
    """

    max_partitions_per_run: int | None = 1

    @staticmethod
    def single_run() -> BackfillPolicy:
        """Every targeted partition in one run."""
        return BackfillPolicy(max_partitions_per_run=None)

    @staticmethod
    def multi_run(max_partitions_per_run: int = 1) -> BackfillPolicy:
        """Runs of at most `max_partitions_per_run` partitions each."""
        if (
            not isinstance(max_partitions_per_run, int)
            or isinstance(max_partitions_per_run, bool)
            or max_partitions_per_run < 1
        ):
            raise DefinitionError(
                f"BackfillPolicy.multi_run(max_partitions_per_run={max_partitions_per_run!r}): "
                "the number of partitions per run must be a whole number of at least 1. "
                "Fix: pass e.g. multi_run(10), or use BackfillPolicy.single_run() for one run."
            )
        return BackfillPolicy(max_partitions_per_run=max_partitions_per_run)

    @property
    def policy_type(self) -> BackfillPolicyType:
        if self.max_partitions_per_run:
            return BackfillPolicyType.MULTI_RUN
        return BackfillPolicyType.SINGLE_RUN

    def __str__(self) -> str:
        if self.max_partitions_per_run is None:
            return "BackfillPolicy.single_run()"
        return f"BackfillPolicy.multi_run(max_partitions_per_run={self.max_partitions_per_run})"


def resolve_backfill_policy(policies: Iterable[BackfillPolicy | None]) -> BackfillPolicy:
    """The policy that assets backfilled in the same runs follow: the one with the
    fewest partitions per run (no policy counts as one per run)."""

    def per_run(policy: BackfillPolicy | None) -> float:
        if policy is None:
            return 1
        if policy.max_partitions_per_run is None:
            return float("inf")
        return policy.max_partitions_per_run

    return min(policies, key=per_run, default=None) or BackfillPolicy.multi_run(1)
