"""CompactionPlan: what a compaction removes, by id, and where the summary goes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = ["CompactionPlan", "PlanAction"]

PlanAction = Literal["summarize", "trim"]


@dataclass(frozen=True)
class CompactionPlan:
    """A compaction to apply. Items are named by id, never by position.

    Usage::

        plan = policy.plan(agent.chat_ctx, counter=counter)
        if plan is not None:
            print(plan.action, len(plan.remove_ids), plan.tokens_before, "->", plan.tokens_after)
    """

    action: PlanAction
    """``summarize``: fold ``remove_ids`` into one summary; ``trim``: drop them."""

    remove_ids: tuple[str, ...]
    """Items to fold or drop, in context order. Never empty."""

    insert_after_id: str | None
    """Where the summary goes: right after this item, ``None`` for the start of the context."""

    tokens_before: int
    """Tokens of the context when the plan was made."""

    tokens_after: int
    """Expected tokens after the plan (the summary estimated at its maximum size)."""

    folded_summary_ids: tuple[str, ...] = ()
    """Earlier summaries among ``remove_ids``, folded into the new summary."""

    fallback: Literal["trim"] | None = None
    """What to do when the summarizer fails: ``trim`` (token-budget policy) or nothing."""

    notes: tuple[str, ...] = field(default=())
    """Why the plan looks the way it does (e.g. ``"target_unreachable"``)."""

    def __post_init__(self) -> None:
        if not self.remove_ids:
            raise ValueError("a CompactionPlan removes at least one item")
        if len(set(self.remove_ids)) != len(self.remove_ids):
            raise ValueError("a CompactionPlan names each item once")

    @property
    def tokens_saved(self) -> int:
        """Expected tokens saved (before minus after)."""
        return self.tokens_before - self.tokens_after
