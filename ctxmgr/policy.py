"""Policies decide *what* to compact; every plan then passes the guard.

```python
policy = policy_from_settings(Settings(policy="summarize"))
plan = policy.plan(agent.chat_ctx, counter=TokenCounter())
```

All built-in policies cut at turn boundaries (before a user message), from the
oldest turn onwards, deep enough to reach the low-water ``target_tokens`` in one
go: each compaction rewrites the start of the context and re-bills the rest
without the prompt-cache discount, so one deep cut beats many shallow ones.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

from livekit.agents import llm

from .chat_items import group_units, is_instruction, is_structural, is_summary, is_user_turn_start
from .guard import Boundary, TailWindow, frozen_boundary, guard_plan
from .plan import CompactionPlan, PlanAction
from .settings import Settings
from .tokens import REPLY_PRIMING_TOKENS, TOKENS_PER_MESSAGE, TokenCounter

__all__ = [
    "Policy",
    "TrimPolicy",
    "SummarizePolicy",
    "TokenBudgetPolicy",
    "policy_from_settings",
]


@runtime_checkable
class Policy(Protocol):
    """Decides what to compact. Implementations must be pure (no I/O, no awaiting)."""

    @property
    def name(self) -> str:
        """Short name used in events and logs."""
        ...

    @property
    def tail(self) -> TailWindow:
        """The tail window the guard protects for this policy."""
        ...

    @property
    def summary_tokens(self) -> int:
        """Expected size of a summary (0 for policies that never summarize)."""
        ...

    def plan(
        self,
        chat_ctx: llm.ChatContext,
        *,
        counter: TokenCounter,
        protected_ids: Collection[str] = (),
    ) -> CompactionPlan | None:
        """The compaction to apply now, or ``None`` when nothing can or need be removed."""
        ...


@dataclass(frozen=True)
class _TurnPolicy:
    target_tokens: int
    tail: TailWindow = TailWindow()
    summary_tokens: int = 0
    name: str = "turns"
    action: PlanAction = "trim"
    fallback: Literal["trim"] | None = None

    def plan(
        self,
        chat_ctx: llm.ChatContext,
        *,
        counter: TokenCounter,
        protected_ids: Collection[str] = (),
    ) -> CompactionPlan | None:
        items = list(chat_ctx.items)
        counts = counter.count_items(items)
        boundary = frozen_boundary(items, counts, self.tail, protected_ids)
        remove_ids, notes = self._select(items, counts, boundary)
        if not remove_ids:
            return None
        total = sum(counts) + REPLY_PRIMING_TOKENS
        draft = CompactionPlan(
            action=self.action,
            remove_ids=tuple(remove_ids),
            insert_after_id=None,
            tokens_before=total,
            tokens_after=total,
            fallback=self.fallback,
            notes=notes,
        )
        return guard_plan(
            items,
            draft,
            counter=counter,
            tail=self.tail,
            protected_ids=protected_ids,
            summary_tokens=self.summary_tokens,
            counts=counts,
            boundary=boundary,
        ).plan

    def _removable(self, item: llm.ChatItem) -> bool:
        if is_instruction(item) or is_structural(item):
            return False
        return self.action == "summarize" or not is_summary(item)

    def _select(
        self, items: Sequence[llm.ChatItem], counts: Sequence[int], boundary: Boundary
    ) -> tuple[list[str], tuple[str, ...]]:
        # A cut at k removes what is removable in items[:k]. Valid cuts sit at a turn
        # start (or the boundary) and split no call from its output.
        units = group_units(items)
        span: dict[str, tuple[int, int]] = {}
        for i, item in enumerate(items):
            unit = units.get(item.id)
            if unit is not None:
                lo, hi = span.get(unit, (i, i))
                span[unit] = (min(lo, i), max(hi, i))
        # straddle[k] > 0: some unit has members both before k and at/after k
        straddle = [0] * (len(items) + 2)
        for lo, hi in span.values():
            if lo < hi:
                straddle[lo + 1] += 1
                straddle[hi + 1] -= 1
        total = sum(counts) + REPLY_PRIMING_TOKENS
        summary_cost = self.summary_tokens + TOKENS_PER_MESSAGE + 1
        removed, best, straddling, conversation = 0, 0, 0, False
        for k in range(1, boundary.index + 1):
            straddling += straddle[k]
            if self._removable(items[k - 1]):
                removed += counts[k - 1]
                conversation = conversation or not is_summary(items[k - 1])
            at_turn = k == boundary.index or is_user_turn_start(items[k])
            # folding a summary alone into a new summary would only rewrite it
            if not at_turn or straddling > 0 or not conversation:
                continue
            best = k
            after = total - removed + (summary_cost if self.action == "summarize" else 0)
            if after <= self.target_tokens:
                break
        else:
            if best:
                return self._ids(items, best), ("target_unreachable",)
        return self._ids(items, best), ()

    def _ids(self, items: Sequence[llm.ChatItem], k: int) -> list[str]:
        return [item.id for item in items[:k] if self._removable(item)]


class TrimPolicy(_TurnPolicy):
    """Drops the oldest whole turns (calls with their outputs); earlier summaries stay."""

    def __init__(self, *, target_tokens: int, tail: TailWindow = TailWindow()) -> None:
        super().__init__(target_tokens=target_tokens, tail=tail, name="trim", action="trim")


class SummarizePolicy(_TurnPolicy):
    """Folds the oldest turns, and any earlier summary, into one running summary."""

    def __init__(
        self,
        *,
        target_tokens: int,
        tail: TailWindow = TailWindow(),
        summary_tokens: int = 400,
        name: str = "summarize",
        fallback: Literal["trim"] | None = None,
    ) -> None:
        super().__init__(
            target_tokens=target_tokens,
            tail=tail,
            summary_tokens=summary_tokens,
            name=name,
            action="summarize",
            fallback=fallback,
        )


class TokenBudgetPolicy(SummarizePolicy):
    """Summarizes; its plans ask for a trim when the summarizer fails or the budget still fails."""

    def __init__(
        self, *, target_tokens: int, tail: TailWindow = TailWindow(), summary_tokens: int = 400
    ) -> None:
        super().__init__(
            target_tokens=target_tokens,
            tail=tail,
            summary_tokens=summary_tokens,
            name="token_budget",
            fallback="trim",
        )


def tail_from_settings(settings: Settings) -> TailWindow:
    """The tail window a ``Settings`` describes."""
    return TailWindow(settings.keep_last_turns, settings.keep_last_tokens)


def policy_from_settings(settings: Settings) -> Policy:
    """The built-in policy for ``settings.strategy``."""
    tail = tail_from_settings(settings)
    target = settings.effective_target_tokens
    summary_tokens = settings.summarizer.max_summary_tokens
    if settings.strategy == "trim":
        return TrimPolicy(target_tokens=target, tail=tail)
    if settings.strategy == "summarize":
        return SummarizePolicy(target_tokens=target, tail=tail, summary_tokens=summary_tokens)
    return TokenBudgetPolicy(target_tokens=target, tail=tail, summary_tokens=summary_tokens)
