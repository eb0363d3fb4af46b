"""Declarative automation: conditions, one tick's evaluation, and the daemon."""

from sheer.automation.conditions import AutomationCondition, NodeResult
from sheer.automation.daemon import AutomationDaemon, TickOutcome
from sheer.automation.evaluator import (
    AssetEvaluation,
    AutomationCursor,
    AutomationTickResult,
    evaluate_automation_conditions,
)

__all__ = [
    "AssetEvaluation",
    "AutomationCondition",
    "AutomationCursor",
    "AutomationDaemon",
    "AutomationTickResult",
    "NodeResult",
    "TickOutcome",
    "evaluate_automation_conditions",
]
