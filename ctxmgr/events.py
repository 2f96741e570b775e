"""Events a ContextManager emits, and the result of a compaction. Numbers and ids only.

```python
manager.on("compaction_applied", lambda ev: metrics.observe(ev.tokens_before - ev.tokens_after))
manager.on("compaction_failed", lambda ev: log.warning("compaction failed at %s", ev.stage))
```
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from .plan import PlanAction

__all__ = [
    "EventTypes",
    "SkipReason",
    "FailureStage",
    "CompactionStartedEvent",
    "CompactionAppliedEvent",
    "CompactionSkippedEvent",
    "CompactionFailedEvent",
    "CompactionResult",
    "FallbackReason",
    "OverBudgetEvent",
    "UpdateGuardedEvent",
    "ForgetResult",
    "ManagerStats",
]

EventTypes = Literal[
    "compaction_started",
    "compaction_applied",
    "compaction_skipped",
    "compaction_failed",
    "over_budget",
    "update_guarded",
]

SkipReason = Literal[
    "below_trigger",
    "nothing_to_compact",
    "already_running",
    "not_quiescent",
    "plan_went_stale",
    "span_edited",
    "append_only_model",
    "not_running",
    "agent_inactive",
    "summarizer_resting",
]

FailureStage = Literal["plan", "summarize", "archive", "insert", "confirm", "delete", "verify"]

FallbackReason = Literal["summarizer_failed", "over_budget"]
"""Why a round trimmed instead of summarizing: the summarizer failed (token-budget
policy), or the context passed ``max_tokens`` before the summary was ready."""


@dataclass(frozen=True)
class CompactionStartedEvent:
    """A plan was made; the summary (if any) is being written."""

    request_id: str
    """Identifies this compaction in every later event."""
    action: PlanAction
    tokens_before: int
    """Tokens of the context when the plan was made."""
    items_planned: int
    """Items the plan folds or drops."""
    type: Literal["compaction_started"] = "compaction_started"


@dataclass(frozen=True)
class CompactionAppliedEvent:
    """A compaction landed and was verified."""

    request_id: str
    action: PlanAction
    tokens_before: int
    """Tokens when the plan was made."""
    tokens_after: int
    """Tokens right after the apply, counted on the live context."""
    removed_ids: tuple[str, ...]
    """Items folded into the summary or dropped, by id."""
    summary_id: str | None
    """Id of the new summary message (``None`` for a trim)."""
    summary_tokens: int
    """Tokens of the new summary message."""
    summarizer_input_tokens: int
    summarizer_output_tokens: int
    kept_ids: tuple[str, ...]
    """Items the plan named that the guard kept (arrived, in flight, protected) at apply time."""
    duration_s: float
    """From plan to verified apply."""
    fallback: bool = False
    """True when this trim replaced the round's summary (``fallback_reason`` says why)."""
    fallback_reason: FallbackReason | None = None
    fallback_error: BaseException | None = field(default=None, compare=False)
    """The summarizer's error, for ``summarizer_failed`` (may quote chat content)."""
    type: Literal["compaction_applied"] = "compaction_applied"


@dataclass(frozen=True)
class CompactionSkippedEvent:
    """A compaction was not attempted, or given up without touching the context."""

    reason: SkipReason
    tokens: int
    """Tokens of the context at the time."""
    request_id: str | None = None
    detail: str = ""
    """Why, in words, where the reason alone does not say (``append_only_model``: which
    plugin, and whether it declares it or ignores removals)."""
    type: Literal["compaction_skipped"] = "compaction_skipped"


@dataclass(frozen=True)
class CompactionFailedEvent:
    """A compaction failed; the context holds every item it held before, but ``removed_ids``
    (and with ``summary_id``, the summary too)."""

    request_id: str
    stage: FailureStage
    error: BaseException = field(compare=False)
    """The exception (its message may quote chat content: log it only at debug level)."""
    error_type: str = ""
    """The exception's class name."""
    removed_ids: tuple[str, ...] = ()
    """Planned items already gone when a delete step failed part-way (the server applied
    some deletes, or applied them without acknowledging): the archive holds them. Empty
    for every failure before the delete step."""
    summary_id: str | None = None
    """The summary, when it was inserted before the failure: it stays in the context,
    beside the span it summarizes (nothing is lost; the context is larger)."""
    type: Literal["compaction_failed"] = "compaction_failed"


@dataclass(frozen=True)
class OverBudgetEvent:
    """The context passed ``max_tokens``: the next request goes out over budget.

    Emitted when it crosses the limit, and again only after it came back under. On a
    pipeline, a request over the limit waits ``first_reply_wait_s`` for a round still
    writing its summary, which then trims instead (``fallback_reason="over_budget"``).
    """

    tokens: int
    max_tokens: int
    over_by: int
    """``tokens - max_tokens``."""
    compacting: bool
    """A round was in flight (writing its summary, or waiting to apply it)."""
    type: Literal["over_budget"] = "over_budget"


@dataclass(frozen=True)
class UpdateGuardedEvent:
    """An ``update_chat_ctx`` through the manager (the application's, a tool's) did not
    land whole: it dropped items the guard kept, or removals wait for a quiet moment.

    Removals that only waited (``deferred_ids``) are applied at the next quiet moment,
    with another of these events (also when they all landed); the others stay
    (``kept``, with the reason).
    """

    removed_ids: tuple[str, ...]
    kept: tuple[tuple[str, str], ...]
    """``(item id, reason)``: ``unseen`` (the caller's copy predates it), ``unsynced``
    (the server never confirmed it), ``tail_turns``/``tail_tokens``, ``protected`` (in
    flight on a realtime session), ``in_progress``, ``pair``, ``edit_deferred``, or
    ``not_quiescent`` (deferred, see ``deferred_ids``)."""
    deferred_ids: tuple[str, ...]
    """Removals the guard allows that wait for a quiet moment; retried until they land
    or the manager detaches."""
    replaced: bool
    """The update shared no conversation item with the agent's context: it replaced
    what the agent held (in-flight items aside), no tail kept."""
    type: Literal["update_guarded"] = "update_guarded"


@dataclass(frozen=True)
class ForgetResult:
    """What ``ContextManager.forget()`` did."""

    removed_ids: tuple[str, ...]
    kept: tuple[tuple[str, str], ...]
    """``(item id, reason)`` as in ``UpdateGuardedEvent.kept``: in flight on a realtime
    session, or deferred (``not_quiescent``: removed at the next quiet moment)."""
    redacted_summary_ids: tuple[str, ...]
    """Summaries in the context whose quotes of the items were blanked."""
    archived_removed: int
    """Items removed from the archive."""
    refused: str | None = None
    """Why nothing was done, when nothing was."""


@dataclass(frozen=True)
class CompactionResult:
    """What ``ContextManager.compact()`` did."""

    status: Literal["applied", "skipped", "failed"]
    event: CompactionAppliedEvent | CompactionSkippedEvent | CompactionFailedEvent


@dataclass
class ManagerStats:
    """Running totals of one manager (read ``manager.stats``)."""

    tokens: int = 0
    """Tokens of the context at the last count."""
    peak_tokens: int = 0
    compactions: int = 0
    skipped: int = 0
    failed: int = 0
    tokens_saved: int = 0
    """Sum of tokens_before - tokens_after over applied compactions."""
    items_removed: int = 0
    summarizer_input_tokens: int = 0
    summarizer_output_tokens: int = 0
    server_input_tokens: int | None = None
    """Input tokens the realtime server reported for its last response, if any."""
    over_budget: int = 0
    """How often the context passed ``max_tokens`` (``over_budget`` events)."""
