"""ctxmgr: compact a LiveKit agent's chat context without losing or corrupting an item."""

from ._exceptions import (
    AttachError,
    CtxmgrError,
    RealtimeSyncError,
    SettingsError,
    SummarizerError,
)
from .apply import UpdateOutcome
from .archive import Archive, ArchivedItem, Compaction, MemoryArchive, SQLiteArchive
from .events import (
    CompactionAppliedEvent,
    CompactionFailedEvent,
    CompactionResult,
    CompactionSkippedEvent,
    CompactionStartedEvent,
    EventTypes,
    FailureStage,
    FallbackReason,
    ForgetResult,
    ManagerStats,
    OverBudgetEvent,
    SkipReason,
    UpdateGuardedEvent,
)
from .guard import Boundary, GuardResult, KeepReason, TailWindow, frozen_boundary, guard_plan
from .manager import ContextManager
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
from .summarizer import Summarizer, SummaryResult, summary_message
from .tokens import TokenCounter
from .triggers import Trigger, TriggerDecision

__version__ = "0.1.0"

__all__ = [
    "Archive",
    "ArchivedItem",
    "AttachError",
    "Boundary",
    "Compaction",
    "CompactionAppliedEvent",
    "CompactionFailedEvent",
    "CompactionPlan",
    "CompactionResult",
    "CompactionSkippedEvent",
    "CompactionStartedEvent",
    "ContextManager",
    "CtxmgrError",
    "EventTypes",
    "FailureStage",
    "FallbackReason",
    "ForgetResult",
    "GuardResult",
    "KeepReason",
    "ManagerStats",
    "MemoryArchive",
    "OverBudgetEvent",
    "PlanAction",
    "Policy",
    "RealtimeSyncError",
    "SQLiteArchive",
    "Settings",
    "SettingsError",
    "SkipReason",
    "SummarizePolicy",
    "Summarizer",
    "SummarizerError",
    "SummarizerSettings",
    "SummaryResult",
    "TailWindow",
    "TokenBudgetPolicy",
    "TokenCounter",
    "Trigger",
    "TriggerDecision",
    "TriggerSettings",
    "TrimPolicy",
    "UpdateGuardedEvent",
    "UpdateOutcome",
    "available_presets",
    "frozen_boundary",
    "guard_plan",
    "load_preset",
    "policy_from_settings",
    "summary_message",
    "tail_from_settings",
]
