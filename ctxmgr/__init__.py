"""ctxmgr: compact a LiveKit agent's chat context without losing or corrupting an item."""

from ._exceptions import AttachError, CtxmgrError, SettingsError, SummarizerError
from .guard import Boundary, GuardResult, KeepReason, TailWindow, frozen_boundary, guard_plan
from .plan import CompactionPlan, PlanAction
from .policy import (
    Policy,
    SummarizePolicy,
    TokenBudgetPolicy,
    TrimPolicy,
    policy_from_settings,
    tail_from_settings,
)
from .presets import available_presets, load_preset
from .settings import Settings, SummarizerSettings, TriggerSettings
from .tokens import TokenCounter
from .triggers import Trigger, TriggerDecision

__version__ = "0.1.0"

__all__ = [
    "AttachError",
    "Boundary",
    "CompactionPlan",
    "CtxmgrError",
    "GuardResult",
    "KeepReason",
    "PlanAction",
    "Policy",
    "Settings",
    "SettingsError",
    "SummarizePolicy",
    "SummarizerError",
    "SummarizerSettings",
    "TailWindow",
    "TokenBudgetPolicy",
    "TokenCounter",
    "Trigger",
    "TriggerDecision",
    "TriggerSettings",
    "TrimPolicy",
    "available_presets",
    "frozen_boundary",
    "guard_plan",
    "load_preset",
    "policy_from_settings",
    "tail_from_settings",
]
